"""Background duties: the multiple-operation time-out and the data-retention policy.

`sweep` does one round and is what tests call; `run` repeats it every
`housekeeping_interval` seconds while the service runs.
"""

from __future__ import annotations

import asyncio
import logging

from server.context import ServiceContext
from server.jobs import actions as job_actions
from server.jobs import closing
from server.stores.jobs import Job
from server.stores.queues import Queue
from stanzas.states import JobState
from stanzas.states import JobStateReason as R

log = logging.getLogger(__name__)

# Defaults where a queue's configuration says nothing.
MULTIPLE_OPERATION_TIME_OUT = 300  # seconds (PWG 5100.5 suggests at least 60)
MULTIPLE_OPERATION_TIME_OUT_ACTION = "process-job"  # abort-job | hold-job | process-job


async def run(ctx: ServiceContext) -> None:
    while True:
        try:
            await sweep(ctx)
        except Exception:
            log.exception("housekeeping round failed")
        await asyncio.sleep(ctx.settings.housekeeping_interval)


async def sweep(ctx: ServiceContext, now: int | None = None) -> None:
    now = ctx.now() if now is None else now
    queues = {q.printer_name: q for q in await ctx.queues.list_all()}
    for job in await ctx.jobs.list_open_idle(before=now):
        queue = queues.get(job.printer_name)
        if queue is not None:
            await _time_out(ctx, job, queue, now)
    # Quotas set by another instance, and jobs held over a quota whose period reset.
    if ctx.quotas.due():
        await ctx.quotas.release_held()
    else:
        await ctx.quotas.load()
    for job in await ctx.jobs.list_ended_before(before=now):
        queue = queues.get(job.printer_name)
        if queue is not None:
            await ctx.retention.apply(job, queue, now)


async def _time_out(ctx: ServiceContext, job: Job, queue: Queue, now: int) -> None:
    config = queue.configuration
    limit = config.multiple_operation_time_out or MULTIPLE_OPERATION_TIME_OUT
    if job.time_last_activity + limit > now or ctx.slots.upload_in_progress(job.job_id):
        return
    action = config.multiple_operation_time_out_action or MULTIPLE_OPERATION_TIME_OUT_ACTION
    message = f"no document arrived for {limit} s (multiple-operation-time-out: {action})"
    async with ctx.db.transaction():
        if action == "abort-job" or job.number_of_documents == 0:
            await ctx.job_states.change(
                job, JobState.ABORTED, reasons=[R.ABORTED_BY_SYSTEM], message=message
            )
            return
        if action == "hold-job":
            job = await closing.close_or_count(ctx, job, True, job.number_of_documents)
            await job_actions.hold(ctx.job_states, job, "indefinite", message)
        else:
            await closing.close_or_count(ctx, job, True, job.number_of_documents, message=message)
