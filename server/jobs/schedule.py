"""The order in which a queue hands out its jobs: job-priority, then arrival, unless an
operator promoted a job (seed 001 Promote<Service>Job; IPP Promote-Job and
Schedule-Job-After).

A promotion writes an explicit rank for every job then waiting in the queue, so the order
an operator saw is the order kept; jobs that arrive later (no rank) follow the ranked ones
by job-priority. The same key orders the fetchable lists (server/stores/jobs.py).
"""

from __future__ import annotations

from server.context import ServiceContext
from server.queues.states import is_current
from server.stores.jobs import Job
from stanzas.errors import NotFound, NotPossible
from stanzas.states import JobState

# Seed: the predecessor must be 'Pending', 'Processing' or 'ProcessingStopped'.
PREDECESSOR_STATES = (JobState.PENDING, JobState.PROCESSING, JobState.PROCESSING_STOPPED)


def _waiting(job: Job) -> bool:
    """Waiting in the queue: pending and not at a device yet (not being canceled)."""
    return (
        job.job_state == JobState.PENDING
        and job.output_device_uuid is None
        and job.cancel_requested is None
    )


async def in_order(ctx: ServiceContext, jobs: list[Job]) -> list[Job]:
    """Jobs as the queue will deal with them: those at the device first, then the waiting
    ones in hand-out order, then held ones and the rest by job id."""
    ranks = await ctx.schedule.ranks(j.job_id for j in jobs)

    def key(job: Job) -> tuple[int, bool, int, int, int]:
        group = 0 if is_current(job) else 1 if _waiting(job) else 2
        rank = ranks.get(job.job_id)
        if group != 1:
            return (group, False, 0, 0, job.job_id)
        return (group, rank is None, rank or 0, -job.job_priority, job.job_id)

    return sorted(jobs, key=key)


async def promote(
    ctx: ServiceContext, job_id: int, predecessor_id: int | None
) -> tuple[Job, list[int]]:
    """Schedule the job next (after the jobs at the device), or right after a predecessor.
    Returns the job and the waiting jobs' new order."""
    async with ctx.db.transaction():
        job = await ctx.jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        if not _waiting(job):
            where = "at its device" if job.output_device_uuid else job.job_state.value
            raise NotPossible(f"job {job_id} is {where}; only pending jobs can be promoted")
        after: Job | None = None
        if predecessor_id is not None:
            after = await ctx.jobs.get(predecessor_id)
            if after is None or after.printer_name != job.printer_name:
                raise NotFound(f"no job {predecessor_id} on {job.printer_name}")
            if after.job_state not in PREDECESSOR_STATES:
                raise NotPossible(
                    f"job {predecessor_id} is {after.job_state.value}; a predecessor must be "
                    "pending, processing or processing-stopped"
                )
            if after.job_id == job.job_id:
                raise NotPossible("a job cannot follow itself")
        active = await ctx.jobs.list_active(job.printer_name)
        waiting = [j for j in await in_order(ctx, active) if _waiting(j) and j.job_id != job_id]
        position = 0
        if after is not None and _waiting(after):
            position = next(i for i, j in enumerate(waiting) if j.job_id == after.job_id) + 1
        waiting.insert(position, job)
        order = [j.job_id for j in waiting]
        await ctx.schedule.set_ranks({jid: i + 1 for i, jid in enumerate(order)})
    return job, order
