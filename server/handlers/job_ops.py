"""Handlers of the client job operations (seed 001, Table 1)."""

from __future__ import annotations

from typing import Any

from server.context import Caller, ServiceContext
from server.devices import dispatch, rollup
from server.faults import crash_point
from server.handlers.access import job_for
from server.handlers.registry import operation
from server.handlers.roles import CLIENT
from server.jobs import actions as job_actions
from server.jobs import closing, intake, schedule, tickets
from server.queues import permissions, policy
from server.stores.devices import Device
from server.stores.jobs import Job, KeyTaken
from server.stores.queues import Queue
from stanzas import client_ops as ops
from stanzas.errors import (
    BadRequest,
    CloudImagingError,
    NotAcceptingJobs,
    NotAuthorized,
    NotFound,
    NotPossible,
)
from stanzas.groups import JobTicket
from stanzas.states import JobState, ServiceType
from stanzas.states import JobStateReason as R

ACTIVE = (JobState.PROCESSING, JobState.PROCESSING_STOPPED)
GROUPS = ("job-status", "job-ticket", "job-receipt")


async def queue_for(
    ctx: ServiceContext, caller: Caller, name: str, service_type: ServiceType
) -> Queue:
    """The queue a client request names, if the caller may use it (its permissions)."""
    queue = await ctx.queues.get(name)
    if queue is None or queue.service_type != service_type.value:
        raise NotFound(f"no {service_type.value} queue named {name!r}")
    await permissions.require_open(ctx, caller, queue)
    await ctx.queue_states.require_up(queue.printer_name)  # down: only RestartService
    return queue


async def settle_ticket(
    ctx: ServiceContext, queue: Queue, ticket: JobTicket, mandatory: list[str] | None = None
) -> tuple[JobTicket, list[str]]:
    """The ticket as the queue takes it: its policies refuse what they forbid; then, as
    one of its devices can print it (the one that can do the most of it), with what no
    device does dropped (refused when mandatory)."""
    policy.check_ticket(ticket, queue.configuration, queue.printer_name)
    devices = [d.capabilities for d in await rollup.serving(ctx, queue.printer_name)]
    return tickets.settle_on_devices(
        ticket, devices or [queue.capabilities], queue.configuration, mandatory
    )


async def _new_job_terms(
    ctx: ServiceContext, caller: Caller, req: ops.CreateJob
) -> tuple[Queue, JobTicket, list[str]]:
    """What CreateJob and PrintJob check first: a client, an accepting queue, and the
    ticket settled against it (with the elements it dropped)."""
    queue = await queue_for(ctx, caller, req.printer_name, req.service_type)
    if not (queue.is_accepting_jobs and queue.printer_is_accepting_jobs):
        raise NotAcceptingJobs(f"queue {queue.printer_name} is not accepting jobs")
    mandatory = list(req.job_mandatory_elements or ())
    sends = req.service_type in (ServiceType.EMAIL_OUT, ServiceType.FAX_OUT)
    if sends:  # an EmailOut or FaxOut job is nothing without where it goes
        mandatory.append("destination-uris")
    ticket, dropped = await settle_ticket(ctx, queue, req.job_ticket or JobTicket(), mandatory)
    if sends and not ticket.destination_uris:
        raise BadRequest(f"a {req.service_type.value} job needs destination-uris")
    return queue, ticket, dropped


def _created(job: Job) -> dict[str, Any]:
    """CreateJob's and PrintJob's answer: the job with its ticket, and what was dropped."""
    return {
        "job": job.to_status(with_ticket=True),
        "unsupported_elements": list(job.unsupported_elements) or None,
    }


@operation(ops.CreateJob, role=CLIENT)
async def create_job(
    ctx: ServiceContext, caller: Caller, req: ops.CreateJob
) -> ops.CreateJobResponse:
    digest = intake.request_digest(req) if req.idempotency_key else None
    try:
        queue, ticket, dropped = await _new_job_terms(ctx, caller, req)
        job = await intake.insert_job(
            ctx,
            caller,
            queue,
            req.job_name or "untitled",
            ticket,
            dropped,
            idempotency_key=req.idempotency_key,
            digest=digest,
        )
    except (CloudImagingError, KeyTaken) as error:
        # Sent again: the first one's job, even if the queue refuses new ones by now.
        job = await _sent_before(ctx, caller, req, digest, error)
    else:
        crash_point("after-create-commit")
    # Committed (maybe with a group of others) before this answer leaves.
    return ops.CreateJobResponse(**_created(job))


@operation(ops.PrintJob, role=CLIENT)
async def print_job(ctx: ServiceContext, caller: Caller, req: ops.PrintJob) -> ops.PrintJobResponse:
    digest = intake.request_digest(req) if req.idempotency_key else None
    try:
        job = await _print_job(ctx, caller, req, digest)
    except (CloudImagingError, KeyTaken) as error:
        # Sent again: the first one's job; the copy of the document just spooled is gone.
        job = await _sent_before(ctx, caller, req, digest, error)
    else:
        crash_point("after-create-commit")
    return ops.PrintJobResponse(**_created(job))


async def _print_job(
    ctx: ServiceContext, caller: Caller, req: ops.PrintJob, digest: str | None
) -> Job:
    queue, ticket, dropped = await _new_job_terms(ctx, caller, req)
    tickets.check_format(req.document_format, queue.capabilities, queue.printer_name)
    limit = ctx.settings.http.max_document_size
    policy.check_document(
        req.document_format, len(req.document_data), queue.configuration, limit, queue.printer_name
    )
    # Spooled (and fsynced) first: nothing is inserted for data that does not check out.
    spooled = await ctx.spool.receive(
        intake.chunks_of(req.document_data),
        prefix="print",
        max_size=policy.max_size(queue.configuration, limit),
        expected_digest=req.document_digest,
    )
    name = req.job_name or req.document_name or "untitled"
    try:
        return await intake.insert_printed_job(
            ctx,
            caller,
            queue,
            name,
            ticket,
            dropped,
            req.document_name or "document-1",
            req.document_format,
            spooled,
            idempotency_key=req.idempotency_key,
            digest=digest,
        )
    except BaseException:
        ctx.spool.discard(spooled.name)
        raise


async def _sent_before(
    ctx: ServiceContext,
    caller: Caller,
    req: ops.CreateJob,
    digest: str | None,
    error: CloudImagingError | KeyTaken,
) -> Job:
    """The request failed, or its key was taken: if an earlier request with its key made
    a job, that job is the answer; otherwise the failure stands. Asked only then, so a
    first request costs no look-up."""
    job = await intake.created_before(ctx, caller, req, digest)
    if job is not None:
        return job
    if isinstance(error, KeyTaken):  # its job went meanwhile (history retention)
        raise NotPossible(f"idempotency-key {req.idempotency_key} is in use; try again")
    raise error


@operation(ops.CloseJob, role=CLIENT)
async def close_job(ctx: ServiceContext, caller: Caller, req: ops.CloseJob) -> ops.CloseJobResponse:
    async with ctx.db.transaction():
        job = await job_for(ctx, caller, req.job_id, operators=False)
        # Accepted in any state and when already closed (seed 001). An upload already
        # under way still lands: the job closes when it does.
        if not job.is_closed and not job.job_state.is_terminal:
            if ctx.slots.upload_in_progress(job.job_id):
                ctx.slots.close_after_upload(job.job_id)
            else:
                job = await closing.close_or_count(ctx, job, True, job.number_of_documents)
    return ops.CloseJobResponse(job=job.to_status())


@operation(ops.GetJobElements, role=CLIENT)
async def get_job_elements(
    ctx: ServiceContext, caller: Caller, req: ops.GetJobElements
) -> ops.GetJobElementsResponse:
    job = await job_for(ctx, caller, req.job_id)
    groups = set(req.requested_elements or GROUPS)
    unknown = groups - set(GROUPS)
    if unknown:
        raise NotPossible(f"unknown element groups: {', '.join(sorted(unknown))}")
    status = await ctx.queue_states.lazy_status(
        job, job.to_status(with_ticket="job-ticket" in groups)
    )
    receipt = None
    if "job-receipt" in groups:
        queue = await ctx.queues.get(job.printer_name)
        default = queue.configuration.default_job_ticket if queue else None
        receipt = tickets.effective(job.job_ticket, default)
    return ops.GetJobElementsResponse(job=status, job_receipt=receipt)


async def job_list(
    ctx: ServiceContext,
    caller: Caller,
    req: ops.GetActiveJobs | ops.GetJobHistory,
    *,
    active: bool,
) -> ops.JobList:
    """The active jobs (oldest first, in hand-out order) or the ended ones (newest first)."""
    if req.printer_name is not None:
        await queue_for(ctx, caller, req.printer_name, req.service_type)
    jobs = await ctx.jobs.list_jobs(
        active=active,
        service_type=req.service_type.value,
        printer_name=req.printer_name,
        owner=caller.bare if req.my_jobs else None,
        limit=req.limit or 1000,
    )
    if req.printer_name is None:  # other users' jobs of queues closed to the caller: none
        jobs = await _visible(ctx, caller, jobs)
    if active:  # in the order the queues hand them out (server/jobs/schedule.py)
        jobs = await schedule.in_order(ctx, jobs)
    operator = ctx.is_operator(caller)
    summaries = [j.to_summary(full=operator or j.owner == caller.bare) for j in jobs]
    return ops.JobList(job=await ctx.queue_states.lazy_statuses(jobs, summaries))


@operation(ops.GetActiveJobs, role=CLIENT)
async def get_active_jobs(
    ctx: ServiceContext, caller: Caller, req: ops.GetActiveJobs
) -> ops.JobList:
    return await job_list(ctx, caller, req, active=True)


@operation(ops.GetJobHistory, role=CLIENT)
async def get_job_history(
    ctx: ServiceContext, caller: Caller, req: ops.GetJobHistory
) -> ops.JobList:
    return await job_list(ctx, caller, req, active=False)


@operation(ops.CancelJob, role=CLIENT)
async def cancel_job(
    ctx: ServiceContext, caller: Caller, req: ops.CancelJob
) -> ops.CancelJobResponse:
    async with ctx.db.transaction():
        job = await job_for(ctx, caller, req.job_id)
        job = await job_actions.request_cancel(
            ctx.job_states,
            job,
            _cancel_reason(job, caller),
            req.message or f"canceled by {caller.bare}",
        )
    return ops.CancelJobResponse(job=job.to_status())


@operation(ops.CancelMyJobs, role=CLIENT)
async def cancel_my_jobs(
    ctx: ServiceContext, caller: Caller, req: ops.CancelMyJobs
) -> ops.CancelMyJobsResponse:
    """All or nothing (seed 001): first every candidate's ownership, then every
    candidate's state; only if both pass is anything canceled."""
    async with ctx.db.transaction():
        if req.job_ids:
            found = {i: await ctx.jobs.get(i) for i in dict.fromkeys(req.job_ids)}
            missing = [i for i, j in found.items() if j is None]
            if missing:
                raise NotFound(f"no such jobs: {_ids(missing)}", job_ids=missing)
            candidates = [j for j in found.values() if j is not None]
            foreign = [j.job_id for j in candidates if j.owner != caller.bare]
            if foreign:
                raise NotAuthorized(f"not your jobs: {_ids(foreign)}", job_ids=foreign)
        else:
            if req.printer_name is not None:
                await queue_for(ctx, caller, req.printer_name, req.service_type)
            # All my active jobs; one already being canceled is on its way to a final
            # state, so it is left alone rather than failing the whole request.
            candidates = [
                j
                for j in await ctx.jobs.list_jobs(
                    active=True,
                    service_type=req.service_type.value,
                    printer_name=req.printer_name,
                    owner=caller.bare,
                    limit=100_000,
                )
                if not job_actions.cancel_refusal(j)
            ]
        ended = [j.job_id for j in candidates if j.job_state.is_terminal]
        live = [j for j in candidates if not j.job_state.is_terminal]
        stuck = [j.job_id for j in live if job_actions.cancel_refusal(j)]
        if stuck:
            raise NotPossible(f"cannot be canceled: {_ids(stuck)}", job_ids=stuck)
        message = req.message or f"canceled by {caller.bare}"
        for job in live:
            await job_actions.request_cancel(ctx.job_states, job, R.JOB_CANCELED_BY_USER, message)
    return ops.CancelMyJobsResponse(
        job_ids=[j.job_id for j in live],
        already_terminated_job_ids=ended if req.job_ids and ended else None,
    )


@operation(ops.CancelCurrentJob, role=CLIENT)
async def cancel_current_job(
    ctx: ServiceContext, caller: Caller, req: ops.CancelCurrentJob
) -> ops.JobsResponse:
    """Seed 001 CancelCurrent<Service>Job rules 1-5."""
    queue = await queue_for(ctx, caller, req.printer_name, req.service_type)
    async with ctx.db.transaction():
        targets = await _current_targets(ctx, caller, queue, req.job_id)
        refused = [j.job_id for j in targets if job_actions.cancel_refusal(j)]
        if refused:
            raise NotPossible(f"already being canceled: {_ids(refused)}", job_ids=refused)
        message = req.message or f"canceled by {caller.bare}"
        done = [
            await job_actions.request_cancel(ctx.job_states, j, _cancel_reason(j, caller), message)
            for j in targets
        ]
    return ops.JobsResponse(job=[j.to_status() for j in done])


@operation(ops.SuspendCurrentJob, role=CLIENT)
async def suspend_current_job(
    ctx: ServiceContext, caller: Caller, req: ops.SuspendCurrentJob
) -> ops.JobsResponse:
    """Seed 001 SuspendCurrent<Service>Job rules a, b and 1-5 (owner or administrator)."""
    queue = await queue_for(ctx, caller, req.printer_name, req.service_type)
    async with ctx.db.transaction():
        targets = await _current_targets(ctx, caller, queue, req.job_id, operators=False)
        fresh = [j for j in targets if R.JOB_SUSPENDED not in j.job_state_reasons]
        if not fresh:
            raise NotPossible("the current job is already suspended")
        if req.job_id is not None and len(fresh) != len(targets):
            raise NotPossible(f"job {req.job_id} is already suspended")
        done = [await job_actions.suspend(ctx.job_states, j, req.message) for j in fresh]
    return ops.JobsResponse(job=[j.to_status() for j in done])


@operation(ops.ResumeJob, role=CLIENT)
async def resume_job(ctx: ServiceContext, caller: Caller, req: ops.ResumeJob) -> ops.JobResponse:
    async with ctx.db.transaction():
        job = await job_for(ctx, caller, req.job_id)
        job = await job_actions.resume(ctx.job_states, job, req.message)
    return ops.JobResponse(job=job.to_status())


@operation(ops.SetJobElements, role=CLIENT)
async def set_job_elements(
    ctx: ServiceContext, caller: Caller, req: ops.SetJobElements
) -> ops.JobResponse:
    """Atomic (seed 001): validated as if the job had been submitted so; all or nothing.
    Only jobs no device holds yet can change (RFC 3380 Set-Job-Attributes)."""
    async with ctx.db.transaction():
        job = await job_for(ctx, caller, req.job_id, operators=False)
        if job.job_state.is_terminal or job.output_device_uuid is not None:
            raise NotPossible(f"job {job.job_id} is {job.job_state.value}; it can no longer change")
        queue = await ctx.queue_states.existing(job.printer_name)
        ticket = tickets.edit(job.job_ticket, req.job_ticket, req.delete_elements)
        policy.check_ticket(ticket, queue.configuration, queue.printer_name)
        if req.job_ticket is not None:
            tickets.require_supported(req.job_ticket, queue.capabilities)
        changes: dict[str, object] = {
            "job_ticket": ticket,
            "job_priority": ticket.job_priority or 50,
        }
        if req.job_name is not None:
            changes["job_name"] = req.job_name
        job = await ctx.jobs.update(job, **changes)
        if tickets.is_held(ticket):
            job = await job_actions.hold(
                ctx.job_states, job, ticket.job_hold_until or "", req.message
            )
        else:
            job = await job_actions.release(ctx.job_states, job, req.message)
        job = await ctx.jobs.get(job.job_id) or job
    return ops.JobResponse(job=job.to_status(with_ticket=True))


@operation(ops.ResubmitJob, role=CLIENT)
async def resubmit_job(
    ctx: ServiceContext, caller: Caller, req: ops.ResubmitJob
) -> ops.JobResponse:
    """Seed 001 Resubmit<Service>Job: a new job from a retained completed or canceled
    one, overrides applied, documents by value copied, by reference fetched again."""
    original = await job_for(ctx, caller, req.job_id)
    if original.job_state not in (JobState.COMPLETED, JobState.CANCELED):
        raise NotPossible(
            f"job {original.job_id} is {original.job_state.value}; only "
            "completed or canceled jobs can be resubmitted"
        )
    queue = await ctx.queues.get(original.printer_name)
    if queue is None or not (queue.is_accepting_jobs and queue.printer_is_accepting_jobs):
        raise NotAcceptingJobs(f"queue {original.printer_name} is not accepting jobs")
    await permissions.require_open(ctx, caller, queue)
    documents = await ctx.documents.list(original.job_id)
    lost = [d.document_number for d in documents if not d.has_data and not d.document_uri]
    if lost or not documents:
        raise NotPossible(f"job {original.job_id}'s document data is no longer retained")
    merged = tickets.edit(original.job_ticket, req.job_ticket, None)
    ticket, dropped = await settle_ticket(ctx, queue, merged)
    job = await intake.resubmit(ctx, caller, original, queue, ticket, dropped, documents)
    return ops.JobResponse(
        job=job.to_status(with_ticket=True), unsupported_elements=dropped or None
    )


@operation(ops.ValidateJobTicket, role=CLIENT)
async def validate_job_ticket(
    ctx: ServiceContext, caller: Caller, req: ops.ValidateJobTicket
) -> ops.ValidateResponse:
    queue = await queue_for(ctx, caller, req.printer_name, req.service_type)
    _ticket, dropped = await settle_ticket(ctx, queue, req.job_ticket, req.job_mandatory_elements)
    return ops.ValidateResponse(unsupported_elements=dropped or None)


@operation(ops.ReleaseJobs, role=CLIENT)
async def release_jobs(
    ctx: ServiceContext, caller: Caller, req: ops.ReleaseJobs
) -> ops.ReleaseJobsResponse:
    """IPP Release-Job for jobs held for release at a device (PWG 5100.11): the owner's
    (or an administrator's), at a device that serves the job's queue and can print it.
    All or nothing when jobs are named; without names, every job of the sender's that
    waits on a queue the device serves and that it can print."""
    async with ctx.db.transaction():
        jobs: list[Job] = []
        if req.job_ids:  # whose the jobs are is checked before anything else is said
            found = {i: await ctx.jobs.get(i) for i in dict.fromkeys(req.job_ids)}
            missing = [i for i, j in found.items() if j is None]
            if missing:
                raise NotFound(f"no such jobs: {_ids(missing)}", job_ids=missing)
            jobs = [j for j in found.values() if j is not None]
            foreign = [
                j.job_id for j in jobs if j.owner != caller.bare and not ctx.is_admin(caller)
            ]
            if foreign:
                raise NotAuthorized(f"not your jobs: {_ids(foreign)}", job_ids=foreign)
        device = await ctx.devices.get_by_name(req.output_device)
        if device is None or not device.approved:
            raise NotFound(f"no device named {req.output_device}")
        serves = set(await ctx.queue_devices.queues_of(device.output_device_uuid))
        message = req.message or f"released at {device.name} by {caller.bare}"
        if req.job_ids:
            waiting = [j.job_id for j in jobs if not job_actions.waits_for_release(j)]
            if waiting:
                raise NotPossible(f"not waiting for release: {_ids(waiting)}", job_ids=waiting)
            elsewhere = [j.job_id for j in jobs if not await _releasable_at(ctx, j, device, serves)]
            if elsewhere:
                raise NotPossible(
                    f"device {device.name} does not serve or cannot print: {_ids(elsewhere)}",
                    job_ids=elsewhere,
                )
        else:
            jobs = [
                j
                for j in await ctx.jobs.list_by_owner(caller.bare, limit=1000)
                if job_actions.waits_for_release(j) and await _releasable_at(ctx, j, device, serves)
            ]
            jobs.sort(key=lambda j: j.job_id)  # released (and so printed) in arrival order
        for job in jobs:
            await job_actions.release_at(ctx.job_states, ctx.jobs, job, device.name, message)
    return ops.ReleaseJobsResponse(output_device=device.name, job_ids=[j.job_id for j in jobs])


async def _releasable_at(ctx: ServiceContext, job: Job, device: Device, serves: set[str]) -> bool:
    return job.printer_name in serves and not await dispatch.unsupported(ctx, device, job)


# --- shared steps ----------------------------------------------------------------------


async def _visible(ctx: ServiceContext, caller: Caller, jobs: list[Job]) -> list[Job]:
    """The caller's own jobs, and others' on the queues open to the caller."""
    open_queues: dict[str, bool] = {}
    shown = []
    for job in jobs:
        if job.owner != caller.bare and job.printer_name not in open_queues:
            queue = await ctx.queues.get(job.printer_name)
            open_queues[job.printer_name] = queue is not None and await permissions.is_open(
                ctx, caller, queue
            )
        if job.owner == caller.bare or open_queues[job.printer_name]:
            shown.append(job)
    return shown


async def _current_targets(
    ctx: ServiceContext,
    caller: Caller,
    queue: Queue,
    job_id: int | None,
    *,
    operators: bool = True,
) -> list[Job]:
    def may(job: Job) -> bool:
        return (
            job.owner == caller.bare
            or ctx.is_admin(caller)
            or (operators and ctx.is_operator(caller))
        )

    if job_id is not None:
        job = await ctx.jobs.get(job_id)
        if job is None or job.printer_name != queue.printer_name:
            raise NotFound(f"no job {job_id} on {queue.printer_name}")
        if not may(job):
            raise NotAuthorized(f"job {job_id} belongs to another user")
        if job.job_state not in ACTIVE:
            raise NotPossible(f"job {job_id} is {job.job_state.value}, not the current job")
        return [job]
    current = [j for j in await ctx.jobs.list_active(queue.printer_name) if j.job_state in ACTIVE]
    mine = [j for j in current if may(j)]
    if not mine:
        raise NotPossible(f"no job of yours is processing on {queue.printer_name}")
    return mine


def _cancel_reason(job: Job, caller: Caller) -> str:
    return R.JOB_CANCELED_BY_USER if job.owner == caller.bare else R.JOB_CANCELED_BY_OPERATOR


def _ids(ids: list[int]) -> str:
    return ", ".join(map(str, ids))
