"""Closing a job, and the step that makes it fetchable: a job becomes fetchable only
when it is closed and every document's data is in the spool (`job-incoming` stays among
its reasons until then)."""

from __future__ import annotations

from typing import Any

from server.context import ServiceContext
from server.stores.jobs import Job
from stanzas.states import JobState
from stanzas.states import JobStateReason as R


async def close_or_count(
    ctx: ServiceContext, job: Job, last: bool, count: int, *, message: str | None = None
) -> Job:
    """Count a new document; with `last`, close the job (fetchable once all data is in),
    with `message` as its job-state-message."""
    now = ctx.now()
    if not last:
        return await ctx.jobs.update(job, number_of_documents=count, time_last_activity=now)
    if count == 0:
        return await ctx.job_states.change(
            job,
            JobState.ABORTED,
            reasons=[R.ABORTED_BY_SYSTEM],
            message="the job was closed without any document",
            is_closed=True,
        )
    closing: dict[str, Any] = {
        "is_closed": True,
        "number_of_documents": count,
        "time_last_activity": now,
    }
    if await _complete(ctx, job.with_changes(**closing)):
        return await _release(ctx, job, message=message, **closing)  # closed, released: one write
    return await ctx.job_states.change(job, job.job_state, message=message, **closing)


async def close_hardcopy(ctx: ServiceContext, job: Job) -> Job:
    """Add<Service>HardcopyDocument with last-document: closed and, since the device
    produces the data, at once no longer incoming (fetchable if pending)."""
    return await ctx.job_states.change(
        job,
        job.job_state,
        remove=[R.JOB_INCOMING],
        is_closed=True,
        time_last_activity=ctx.now(),
    )


async def release_if_complete(ctx: ServiceContext, job: Job) -> Job:
    """A closed job whose documents are all in: no longer incoming, fetchable if pending."""
    return await _release(ctx, job) if await _complete(ctx, job) else job


async def _complete(ctx: ServiceContext, job: Job) -> bool:
    return (
        job.is_closed
        and not job.job_state.is_terminal
        and R.JOB_INCOMING in job.job_state_reasons
        and not await ctx.documents.awaiting_data(job.job_id)
    )


async def _release(
    ctx: ServiceContext, job: Job, *, message: str | None = None, **fields: Any
) -> Job:
    """No longer incoming: fetchable now if pending (JobStates decides)."""
    return await ctx.job_states.change(
        job, job.job_state, remove=[R.JOB_INCOMING], message=message, **fields
    )
