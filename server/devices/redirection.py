"""Remedial redirection (seed 000, "Remedial Action in response to Abort or Downstream Job
Cancel"; issue 13): a job a device gives up goes back to the other devices of its queue
that can print it, the user's ticket unchanged, and the job's reasons and message say
what happened (each redirection is a JobEvent to the submitter).

When, by the queue's configuration:
- a device aborts the job (UpdateJobState aborted, or refuses it at AcknowledgeJob) for
  a reason listed in redirect-reasons: one of the job-state-reasons it reports, its
  printer-state-reasons, or its refusal's status, compared without the -error, -warning
  or -report suffix (media-jam-error is media-jam);
- a device that acknowledged the job has been offline for redirect-time seconds and the
  job's data never went to it (FetchDocument answered: it may be printing) and it never
  started it (housekeeping looks, every housekeeping_interval).
Never more than redirect-max times (default 3); a job the device reports partly printed
(job-impressions-completed) only where redirect-partial is set; only to a device that
has not given the job up before and can print it. Otherwise the abort stands (or the job
waits for its device).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from server.context import ServiceContext
from server.devices.dispatch import unsupported
from server.devices.rollup import serving
from server.stores.devices import Device
from server.stores.jobs import Job
from stanzas.states import JobState
from stanzas.states import JobStateReason as R

log = logging.getLogger(__name__)

REDIRECT_MAX = 3  # redirections per job, where the queue says nothing
JOB_REDIRECTED = R.JOB_REDIRECTED
_SUFFIXES = ("-error", "-warning", "-report")


def _base(keyword: str) -> str:
    for suffix in _SUFFIXES:
        if keyword.endswith(suffix):
            return keyword[: -len(suffix)]
    return keyword


async def after_abort(
    ctx: ServiceContext,
    device: Device,
    job: Job,
    reasons: Iterable[str],
    message: str | None,
    impressions: int | None,
) -> Job | None:
    """The job, redirected, if the device's abort is one the queue redirects; else None."""
    queue = await ctx.queues.get(job.printer_name)
    listed = set(queue.configuration.redirect_reasons or ()) if queue else set()
    seen = {_base(r) for r in (*reasons, *device.printer_state_reasons)}
    matched = sorted(listed & seen)
    if not matched:
        return None
    why = f"{device.name} aborted it ({', '.join(matched)}"
    why += f": {message})" if message else ")"
    return await redirect(ctx, job, device, why, impressions)


async def redirect(
    ctx: ServiceContext, job: Job, device: Device, why: str, impressions: int | None = None
) -> Job | None:
    """Back to the queue's other devices (None when the queue's rules say no)."""
    queue = await ctx.queues.get(job.printer_name)
    if queue is None or job.job_state.is_terminal:
        return None
    config = queue.configuration
    most = config.redirect_max or REDIRECT_MAX
    if job.redirect_count >= most:
        log.info("job %s: not redirected again (%s times already)", job.job_id, most)
        return None
    if max(impressions or 0, job.job_impressions_completed) and not config.redirect_partial:
        log.info("job %s: partly printed at %s, so not redirected", job.job_id, device.name)
        return None
    given_up = {*job.redirected_from, device.output_device_uuid}
    others = [
        d
        for d in await serving(ctx, job.printer_name)
        if d.output_device_uuid not in given_up and not await unsupported(ctx, d, job)
    ]
    if not others:
        return None
    count = job.redirect_count + 1
    message = (
        f"redirected: {why}; it goes to another device of {job.printer_name} "
        f"(redirection {count} of at most {most})"
    )
    log.info("job %s %s", job.job_id, message)
    return await ctx.job_states.change(
        job,
        JobState.PENDING,
        reasons=[JOB_REDIRECTED],
        message=message[:1023],
        output_device_uuid=None,
        output_device_assigned=None,
        output_device_job_id=None,
        output_device_job_state=None,
        job_impressions_completed=0,
        redirect_count=count,
        redirected_from=tuple(sorted(given_up)),
    )


async def offline_sweep(ctx: ServiceContext, now: int) -> None:
    """Redirect the jobs held by devices offline longer than their queue's redirect-time
    that never got the job's data and never started it."""
    for device in await ctx.devices.list_all():
        if device.time_offline is None:
            continue
        gone = now - device.time_offline
        for job in await ctx.jobs.list_bound_active(device.output_device_uuid):
            queue = await ctx.queues.get(job.printer_name)
            limit = queue.configuration.redirect_time if queue else None
            if limit is None or gone < limit:
                continue
            async with ctx.db.transaction():
                current = await ctx.jobs.get(job.job_id)
                if (
                    current is None
                    or current.output_device_uuid != device.output_device_uuid
                    or current.time_at_processing is not None
                    or current.time_documents_fetched is not None
                ):
                    continue
                await redirect(ctx, current, device, f"{device.name} is offline for {gone} s")
