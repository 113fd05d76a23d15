"""Background duties: the multiple-operation time-out and the data-retention policy.

`sweep` does one round and is what tests call; `run` repeats it every
`housekeeping_interval` seconds while the service runs.
"""

from __future__ import annotations

import asyncio
import logging

from server import intake, job_actions
from server.service import CloudImagingService
from server.stores.jobs import Job
from server.stores.queues import Queue
from stanzas.states import JobState
from stanzas.states import JobStateReason as R

log = logging.getLogger(__name__)

# Defaults where a queue's configuration says nothing.
MULTIPLE_OPERATION_TIME_OUT = 300  # seconds (PWG 5100.5 suggests at least 60)
MULTIPLE_OPERATION_TIME_OUT_ACTION = "process-job"  # abort-job | hold-job | process-job
DOCUMENT_RETENTION = "discard"  # seed 000: discard right after processing
DOCUMENT_RETENTION_PERIOD = 24 * 3600
JOB_HISTORY_PERIOD = 30 * 24 * 3600


async def run(svc: CloudImagingService) -> None:
    while True:
        try:
            await sweep(svc)
        except Exception:
            log.exception("housekeeping round failed")
        await asyncio.sleep(svc.settings.housekeeping_interval)


async def sweep(svc: CloudImagingService, now: int | None = None) -> None:
    now = svc.now() if now is None else now
    queues = {q.printer_name: q for q in await svc.queues.list_all()}
    for job in await svc.jobs.list_open_idle(before=now):
        queue = queues.get(job.printer_name)
        if queue is not None:
            await _time_out(svc, job, queue, now)
    for job in await svc.jobs.list_ended_before(before=now):
        queue = queues.get(job.printer_name)
        if queue is not None:
            await _retain(svc, job, queue, now)


async def _time_out(svc: CloudImagingService, job: Job, queue: Queue, now: int) -> None:
    config = queue.configuration
    limit = config.multiple_operation_time_out or MULTIPLE_OPERATION_TIME_OUT
    if job.time_last_activity + limit > now or svc.slots.upload_in_progress(job.job_id):
        return
    action = config.multiple_operation_time_out_action or MULTIPLE_OPERATION_TIME_OUT_ACTION
    message = f"no document arrived for {limit} s (multiple-operation-time-out: {action})"
    async with svc.db.transaction():
        if action == "abort-job" or job.number_of_documents == 0:
            await svc.states.change(
                job, JobState.ABORTED, reasons=[R.ABORTED_BY_SYSTEM], message=message
            )
            return
        job = await intake.close_or_count(svc, job, True, job.number_of_documents)
        if action == "hold-job":
            await job_actions.hold(svc, job, "indefinite", message)
        else:
            await svc.jobs.update(job, job_state_message=message)


async def _retain(svc: CloudImagingService, job: Job, queue: Queue, now: int) -> None:
    config = queue.configuration
    ended = job.time_at_completed or 0
    history = config.job_history_period
    history = JOB_HISTORY_PERIOD if history is None else history
    if history and ended + history <= now:
        await forget_job(svc, job)
        return
    if (config.document_retention or DOCUMENT_RETENTION) == "timed":
        period = config.document_retention_period or DOCUMENT_RETENTION_PERIOD
        if ended + period <= now:
            await svc.discard_documents(job.job_id)


def discards_at_end(queue: Queue | None) -> bool:
    """Seed 000's default: document data goes right after processing (JobStates does
    it in the transaction that ends the job)."""
    policy = (queue.configuration.document_retention if queue else None) or DOCUMENT_RETENTION
    return policy == "discard"


async def forget_job(svc: CloudImagingService, job: Job) -> None:
    """The job's history period is over: the job, its documents and their data go."""
    await svc.discard_documents(job.job_id)
    await svc.jobs.delete(job.job_id)
