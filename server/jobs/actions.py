"""Job changes several operations share (users', operators' and administrators').

Each goes through JobStates.change; the pushes they cause (cancel, suspend, resume
to the device; JobEvents to the owner) follow from the committed change.
"""

from __future__ import annotations

from server.jobs.states import JobStates
from server.stores.jobs import Job
from stanzas.errors import NotPossible
from stanzas.states import JobState
from stanzas.states import JobStateReason as R

CANCEL_REASONS = (R.JOB_CANCELED_BY_USER, R.JOB_CANCELED_BY_OPERATOR)


def cancel_refusal(job: Job) -> str | None:
    """Why a job cannot be canceled (seed 001 Cancel<Service>Job), or None."""
    if job.job_state.is_terminal:
        return f"job {job.job_id} is already {job.job_state.value}"
    if job.cancel_requested or R.PROCESSING_TO_STOP_POINT in job.job_state_reasons:
        return f"job {job.job_id} is already being canceled"
    return None


async def request_cancel(states: JobStates, job: Job, reason: str, message: str) -> Job:
    """Cancel now if no device holds the job; otherwise ask the device and wait for it
    (the job keeps processing-to-stop-point until the device confirms)."""
    refusal = cancel_refusal(job)
    if refusal:
        raise NotPossible(refusal)
    if job.output_device_uuid is None:
        return await states.change(job, JobState.CANCELED, reasons=[reason], message=message)
    return await states.change(
        job,
        job.job_state,
        add=[R.PROCESSING_TO_STOP_POINT, reason],
        message=message,
        cancel_requested=reason,
    )


async def hold(states: JobStates, job: Job, until: str, message: str | None) -> Job:
    """pending → pending-held (job-hold-until given)."""
    if job.job_state == JobState.PENDING_HELD:
        return job
    if job.job_state != JobState.PENDING or job.output_device_uuid is not None:
        raise NotPossible(f"job {job.job_id} is {job.job_state.value} and can no longer be held")
    return await states.change(
        job, JobState.PENDING_HELD, add=[R.JOB_HOLD_UNTIL_SPECIFIED], message=message
    )


async def release(states: JobStates, job: Job, message: str | None) -> Job:
    """pending-held → pending (and fetchable once all its documents are in)."""
    if job.job_state != JobState.PENDING_HELD:
        return job
    # Held over a quota too: only the quota's reset or an administrator's raise of it
    # releases that hold (server/accounting/quotas.py).
    held = R.ACCOUNT_LIMIT_REACHED in job.job_state_reasons
    state = JobState.PENDING_HELD if held else JobState.PENDING
    return await states.change(job, state, remove=[R.JOB_HOLD_UNTIL_SPECIFIED], message=message)


async def suspend(states: JobStates, job: Job, message: str | None) -> Job:
    """Seed SuspendCurrent<Service>Job: processing-stopped with job-suspended."""
    return await states.change(
        job, JobState.PROCESSING_STOPPED, add=[R.JOB_SUSPENDED], message=message
    )


async def resume(states: JobStates, job: Job, message: str | None) -> Job:
    """Seed Resume<Service>Job: from processing-stopped to pending, job-suspended gone;
    the device resumes it and reports it processing again."""
    if job.job_state != JobState.PROCESSING_STOPPED or R.JOB_SUSPENDED not in job.job_state_reasons:
        raise NotPossible(f"job {job.job_id} is not suspended")
    return await states.change(job, JobState.PENDING, remove=[R.JOB_SUSPENDED], message=message)
