"""A device's reports about its jobs, rolled up into the service's view of them (seed 000
asks for both): UpdateJobState, the resync (UpdateFetchableJobs), and a device that no
longer holds a job it acknowledged."""

from __future__ import annotations

from typing import Any

from server.context import ServiceContext
from server.jobs.states import JOB_TRANSITIONS
from server.stores.jobs import Job
from stanzas.states import JobState
from stanzas.states import JobStateReason as R

# Reasons the service itself holds on a bound job; a device's report does not erase them.
_SERVICE_REASONS = (
    R.PROCESSING_TO_STOP_POINT,
    R.JOB_CANCELED_BY_USER,
    R.JOB_CANCELED_BY_OPERATOR,
    R.JOB_SUSPENDED,
    R.JOB_REDIRECTED,  # it went to another device: the user is told to the end
)


async def apply_device_report(
    ctx: ServiceContext,
    job: Job,
    state: JobState,
    reasons: list[str],
    *,
    message: str | None = None,
    **fields: object,
) -> Job:
    """Roll the device's view of a job up into the service's (seed 000 asks for both)."""
    if job.job_state.is_terminal:
        return job
    if state == JobState.PENDING_HELD:
        state = JobState.PENDING  # the device holds it; for the service it is still on its way
    if R.JOB_SUSPENDED in job.job_state_reasons and not state.is_terminal:
        state = JobState.PROCESSING_STOPPED  # suspended until Resume<Service>Job
    # The service alone sets and clears its own reasons (cancel requested, suspended): a
    # device echoing one must not bring it back after the service cleared it.
    kept = [r for r in job.job_state_reasons if r in _SERVICE_REASONS]
    new_reasons = [*kept, *(r for r in reasons if r not in _SERVICE_REASONS)]
    if state == JobState.CANCELED and not job.cancel_requested:
        new_reasons.append(R.JOB_CANCELED_AT_DEVICE)
    present: dict[str, Any] = {k: v for k, v in fields.items() if v is not None}
    if state not in JOB_TRANSITIONS[job.job_state]:
        return job
    return await ctx.job_states.change(job, state, reasons=new_reasons, message=message, **present)


async def return_to_fetchable(ctx: ServiceContext, job: Job) -> None:
    """The device no longer holds a job it acknowledged: make it fetchable again."""
    unbind: dict[str, Any] = {
        "output_device_uuid": None,
        "output_device_assigned": None,
        "output_device_job_id": None,
        "output_device_job_state": None,
    }
    if job.cancel_requested:
        await ctx.job_states.change(
            job, JobState.CANCELED, reasons=[job.cancel_requested], **unbind
        )
        return
    await ctx.job_states.change(job, JobState.PENDING, reasons=[], **unbind)  # fetchable again
