"""Handlers of the Device Manager → Service operations (seed 001, Table 3)."""

from __future__ import annotations

import contextlib
from typing import Any

from server.context import Caller, ServiceContext
from server.devices import registration, reports
from server.documents import handout
from server.handlers.access import device_job
from server.handlers.registry import operation
from server.handlers.roles import DEVICE, REGISTERED_DEVICE, REGISTRANT
from server.jobs import intake, tickets
from server.stores.devices import Device
from server.stores.documents import Document
from server.stores.jobs import Job
from stanzas import device_ops as ops
from stanzas.errors import (
    NotAuthorized,
    NotFetchable,
    NotFound,
    NotPossible,
    OperationNotSupported,
)
from stanzas.groups import ServiceStatus
from stanzas.states import DocumentState, JobState, RegistrationState, ServiceType
from stanzas.states import JobStateReason as R


@operation(ops.RegisterDevice, role=REGISTRANT)
async def register_device(
    ctx: ServiceContext, caller: Caller, req: ops.RegisterDevice
) -> ops.RegisterDeviceResponse:
    async with ctx.db.transaction():
        existing = await ctx.devices.get(req.output_device_uuid)
        if existing is not None and existing.jid != caller.bare:
            raise NotAuthorized(f"{req.output_device_uuid} is registered to another account")
        holder = await ctx.devices.get_by_printer(req.printer_name)
        if holder is not None and holder.output_device_uuid != req.output_device_uuid:
            raise NotPossible(f"queue {req.printer_name!r} is served by another device")
        approved = await registration.auto_approves(ctx, req.printer_name) or ctx.is_admin(caller)
        state = (
            existing.registration_state
            if existing
            else (RegistrationState.APPROVED if approved else RegistrationState.PENDING)
        )
        now = ctx.now()
        queue = await ctx.queues.create(req.printer_name, req.service_type.value, now)
        changes: dict[str, object] = {"output_device_uuid": req.output_device_uuid}
        if req.printer_info is not None:
            changes["printer_info"] = req.printer_info
        if req.printer_location is not None:
            changes["printer_location"] = req.printer_location
        if req.capabilities is not None:
            changes["capabilities"] = req.capabilities
        changes.update(_status_changes(req.status))
        changes = await registration.keep_admin_description(ctx, queue.printer_name, changes)
        await ctx.queues.update(queue, **changes)
        device = await ctx.devices.upsert(
            Device(
                output_device_uuid=req.output_device_uuid,
                jid=caller.bare,
                printer_name=req.printer_name,
                registration_state=state,
                time_registered=existing.time_registered if existing else now,
                time_last_seen=now,
            )
        )
    return ops.RegisterDeviceResponse(
        output_device_uuid=device.output_device_uuid,
        printer_name=device.printer_name,
        registration_state=device.registration_state,
    )


@operation(ops.DeregisterDevice, role=REGISTERED_DEVICE)
async def deregister_device(
    ctx: ServiceContext, device: Device, req: ops.DeregisterDevice
) -> ops.DeregisterDeviceResponse:
    async with ctx.db.transaction():
        for job in await ctx.jobs.list_bound_active(device.output_device_uuid):
            await reports.return_to_fetchable(ctx, job)
        queue = await ctx.queues.get(device.printer_name)
        if queue is not None:
            await ctx.queues.update(queue, output_device_uuid=None)
        await ctx.devices.delete(device.output_device_uuid)
    return ops.DeregisterDeviceResponse(output_device_uuid=device.output_device_uuid)


@operation(ops.GetFetchableJobs, role=DEVICE)
async def get_fetchable_jobs(
    ctx: ServiceContext, device: Device, req: ops.GetFetchableJobs
) -> ops.GetFetchableJobsResponse:
    jobs = await ctx.jobs.list_fetchable(device.printer_name, req.limit or 100)
    return ops.GetFetchableJobsResponse(
        job=[
            ops.FetchableJob(
                job_id=j.job_id,
                job_name=j.job_name,
                job_originating_user_name=j.owner,
                job_priority=j.job_priority,
                number_of_documents=j.number_of_documents,
            )
            for j in jobs
        ]
    )


@operation(ops.FetchJob, role=DEVICE)
async def fetch_job(ctx: ServiceContext, device: Device, req: ops.FetchJob) -> ops.FetchJobResponse:
    job = await device_job(ctx, device, req.job_id)
    # A job already bound to this device may be fetched again (a restarted manager).
    bound_here = job.output_device_uuid == device.output_device_uuid
    if not (job.is_fetchable or (bound_here and not job.job_state.is_terminal)):
        raise NotFetchable(f"job {job.job_id} is not fetchable (it is {job.job_state.value})")
    await ctx.queue_states.check_fetch(job)  # a paused queue hands out nothing new
    queue = await ctx.queues.get(job.printer_name)
    default = queue.configuration.default_job_ticket if queue else None
    documents = await ctx.documents.list(job.job_id)
    return ops.FetchJobResponse(
        job_id=job.job_id,
        job_uuid=job.job_uuid,
        job_name=job.job_name,
        job_originating_user_name=job.owner,
        job_state=job.job_state,
        job_state_reasons=list(job.job_state_reasons),
        number_of_documents=job.number_of_documents,
        job_ticket=tickets.effective(job.job_ticket, default),
        document_numbers=[d.document_number for d in documents if not d.document_state.is_terminal],
    )


@operation(ops.AcknowledgeJob, role=DEVICE)
async def acknowledge_job(
    ctx: ServiceContext, device: Device, req: ops.AcknowledgeJob
) -> ops.AcknowledgeJobResponse:
    async with ctx.db.transaction():
        job = await device_job(ctx, device, req.job_id)
        if job.job_state.is_terminal:
            # Canceled before the device took it: the answer tells the manager to drop it.
            return _ack_response(job)
        if job.output_device_uuid is None and not job.is_fetchable:
            raise NotFetchable(f"job {job.job_id} is not fetchable (it is {job.job_state.value})")
        if req.fetch_status_code == "successful-ok":
            job = await ctx.job_states.change(
                job,
                job.job_state,
                add=[R.JOB_QUEUED],
                output_device_uuid=device.output_device_uuid,
                output_device_job_id=req.output_device_job_id,
            )
        else:
            job = await ctx.job_states.change(
                job,
                JobState.ABORTED,
                reasons=[R.ABORTED_BY_SYSTEM, *_reject_reasons(req.fetch_status_code)],
                message=f"rejected by the device: {req.fetch_status_message or ''} "
                f"({req.fetch_status_code})".replace(":  (", ": ("),
                output_device_uuid=device.output_device_uuid,
            )
    return _ack_response(job)


@operation(ops.FetchDocument, role=DEVICE)
async def fetch_document(
    ctx: ServiceContext, device: Device, req: ops.FetchDocument
) -> ops.FetchDocumentResponse:
    job = await _bound_job(ctx, device, req.job_id)
    if job.job_state.is_terminal:
        raise NotFetchable(f"job {job.job_id} has ended ({job.job_state.value})")
    document = await ctx.documents.get(job.job_id, req.document_number)
    if document is None:
        raise NotFound(f"job {job.job_id} has no document {req.document_number}")
    if document.spool_name is None:
        raise NotFound(f"the data of document {req.document_number} was discarded")
    where = handout.hand_out(ctx, document, inline=req.document_data_accepted, holder=device.jid)
    return _fetched(job, document, **where)


def _fetched(job: Job, document: Document, **where: Any) -> ops.FetchDocumentResponse:
    return ops.FetchDocumentResponse(
        job_id=job.job_id,
        document_number=document.document_number,
        document_name=document.document_name,
        document_format=document.document_format,
        document_size=document.document_size,
        document_digest=document.document_digest,
        last_document=document.last_document,
        **where,
    )


@operation(ops.AcknowledgeDocument, role=DEVICE)
async def acknowledge_document(
    ctx: ServiceContext, device: Device, req: ops.AcknowledgeDocument
) -> ops.AcknowledgeDocumentResponse:
    # A successful fetch changes nothing here (the device reports the document's
    # progress): only a failed one needs a transaction.
    failed = req.fetch_status_code != "successful-ok"
    async with ctx.db.transaction() if failed else contextlib.nullcontext():
        job = await _bound_job(ctx, device, req.job_id)
        document = await ctx.documents.get(job.job_id, req.document_number)
        if document is None:
            raise NotFound(f"job {job.job_id} has no document {req.document_number}")
        if failed and not job.job_state.is_terminal:
            why = req.fetch_status_message or "not fetched"
            message = f"document {document.document_number}: {why} ({req.fetch_status_code})"
            document = await ctx.job_states.change_document(
                document, DocumentState.ABORTED, reasons=[R.DOCUMENT_ACCESS_ERROR], message=message
            )
            job = await ctx.job_states.change(
                job, JobState.ABORTED, reasons=[R.DOCUMENT_ACCESS_ERROR], message=message
            )
    return ops.AcknowledgeDocumentResponse(
        job_id=job.job_id,
        document_number=document.document_number,
        document_state=document.document_state,
        job_state=job.job_state,
        job_state_reasons=list(job.job_state_reasons),
    )


@operation(ops.PutJobDocumentData, role=DEVICE)
async def put_job_document_data(
    ctx: ServiceContext, device: Device, req: ops.PutJobDocumentData
) -> ops.PutJobDocumentDataResponse:
    job = await _bound_job(ctx, device, req.job_id)
    if job.service_type != ServiceType.SCAN.value:
        service = job.service_type.capitalize() if job.service_type == "print" else job.service_type
        raise OperationNotSupported(f"{service} queues produce no document data for the service")
    if job.job_state.is_terminal:
        raise NotPossible(f"job {job.job_id} has ended ({job.job_state.value})")
    if ctx.slots.upload_in_progress(job.job_id):
        raise NotPossible(f"a document upload for job {job.job_id} is already in progress")
    limit = ctx.settings.http.max_document_size
    if req.document_size is not None and req.document_size > limit:
        raise NotPossible(f"documents are limited to {limit} octets")
    number = job.number_of_documents + 1
    slot = ctx.slots.new_upload(
        job_id=job.job_id,
        document_number=number,
        document_name=req.document_name or f"scan-{number}",
        document_format=req.document_format,
        last_document=req.last_document,
        owner=device.jid,
        expected_size=req.document_size,
        expected_digest=req.document_digest,
        produced=True,
    )
    if req.document_data is None:
        return ops.PutJobDocumentDataResponse(
            job_id=job.job_id,
            document_number=number,
            upload_uri=f"{ctx.public_url}/uploads/{slot.token}",
        )
    job, _ = await intake.commit_inline(ctx, slot, req.document_data)
    return ops.PutJobDocumentDataResponse(job_id=job.job_id, document_number=number)


@operation(ops.UpdateServiceState, role=DEVICE)
async def update_service_state(
    ctx: ServiceContext, device: Device, req: ops.UpdateServiceState
) -> ops.UpdateServiceStateResponse:
    async with ctx.db.transaction():
        queue = await ctx.queues.get(device.printer_name)
        if queue is None:
            raise NotFound(f"queue {device.printer_name} is gone")
        changes: dict[str, object] = _status_changes(req.status)
        if req.capabilities is not None:
            # Sparse: what the update names replaces what was there; the rest stays.
            merged = queue.capabilities.model_copy(
                update=req.capabilities.model_dump(exclude_none=True)
            )
            changes["capabilities"] = merged
        queue = await ctx.queues.update(queue, **changes)
    return ops.UpdateServiceStateResponse(
        output_device_uuid=device.output_device_uuid, status=queue.to_status()
    )


@operation(ops.UpdateJobState, role=DEVICE)
async def update_job_state(
    ctx: ServiceContext, device: Device, req: ops.UpdateJobState
) -> ops.UpdateJobStateResponse:
    async with ctx.db.transaction():
        job = await _bound_job(ctx, device, req.job_id)
        job = await reports.apply_device_report(
            ctx,
            job,
            req.job_state,
            req.job_state_reasons,
            message=req.job_state_message,
            output_device_job_id=req.output_device_job_id,
            output_device_job_state=req.output_device_job_state,
            job_impressions_completed=req.job_impressions_completed,
            job_media_sheets_completed=req.job_media_sheets_completed,
        )
    return ops.UpdateJobStateResponse(
        job_id=job.job_id, job_state=job.job_state, job_state_reasons=list(job.job_state_reasons)
    )


@operation(ops.UpdateDocumentState, role=DEVICE)
async def update_document_state(
    ctx: ServiceContext, device: Device, req: ops.UpdateDocumentState
) -> ops.UpdateDocumentStateResponse:
    async with ctx.db.transaction():
        job = await _bound_job(ctx, device, req.job_id)
        document = await ctx.documents.get(job.job_id, req.document_number)
        if document is None:
            raise NotFound(f"job {job.job_id} has no document {req.document_number}")
        if not document.document_state.is_terminal:
            document = await ctx.job_states.change_document(
                document,
                req.document_state,
                reasons=req.document_state_reasons,
                message=req.document_state_message,
            )
    return ops.UpdateDocumentStateResponse(document=document.to_status())


@operation(ops.UpdateFetchableJobs, role=DEVICE)
async def update_fetchable_jobs(
    ctx: ServiceContext, device: Device, req: ops.UpdateFetchableJobs
) -> ops.UpdateFetchableJobsResponse:
    """The resync (seed 001): jobs bound here but not listed go back to the fetchable
    list; listed jobs take the state the manager reports; jobs that ended or were
    canceled meanwhile are named back so that the manager stops them."""
    held = {h.job_id: h for h in req.job}
    cancel: list[int] = []
    async with ctx.db.transaction():
        for job in await ctx.jobs.list_bound_active(device.output_device_uuid):
            if job.job_id not in held:
                await reports.return_to_fetchable(ctx, job)
        for report in held.values():
            found = await ctx.jobs.get(report.job_id)
            if found is None or found.printer_name != device.printer_name:
                continue
            job = found
            if job.job_state.is_terminal or (
                job.output_device_uuid not in (None, device.output_device_uuid)
            ):
                cancel.append(job.job_id)
                continue
            if job.output_device_uuid is None:
                if not job.is_fetchable:
                    cancel.append(job.job_id)
                    continue
                # Fetched and meant to be acknowledged before the manager went away.
                job = await ctx.job_states.change(
                    job,
                    job.job_state,
                    add=[R.JOB_QUEUED],
                    output_device_uuid=device.output_device_uuid,
                    output_device_job_id=report.output_device_job_id,
                )
            job = await reports.apply_device_report(
                ctx,
                job,
                report.job_state,
                report.job_state_reasons,
                output_device_job_id=report.output_device_job_id,
            )
            if job.cancel_requested:
                cancel.append(job.job_id)
        fetchable = [j.job_id for j in await ctx.jobs.list_fetchable(device.printer_name)]
    return ops.UpdateFetchableJobsResponse(fetchable_job_ids=fetchable, cancel_job_ids=cancel)


async def _bound_job(ctx: ServiceContext, device: Device, job_id: int) -> Job:
    job = await device_job(ctx, device, job_id)
    if job.output_device_uuid != device.output_device_uuid:
        raise NotFetchable(f"job {job_id} has not been acknowledged by this device")
    return job


def _ack_response(job: Job) -> ops.AcknowledgeJobResponse:
    return ops.AcknowledgeJobResponse(
        job_id=job.job_id, job_state=job.job_state, job_state_reasons=list(job.job_state_reasons)
    )


def _reject_reasons(status: str) -> list[str]:
    if status == "client-error-document-format-not-supported":
        return [R.UNSUPPORTED_DOCUMENT_FORMAT]
    if status == "client-error-document-access-error":
        return [R.DOCUMENT_ACCESS_ERROR]
    return []


def _status_changes(status: ServiceStatus | None) -> dict[str, object]:
    if status is None:
        return {}
    changes: dict[str, object] = {}
    if status.printer_state is not None:
        changes["printer_state"] = status.printer_state
    if status.printer_state_reasons is not None:
        changes["printer_state_reasons"] = tuple(status.printer_state_reasons)
    if status.printer_state_message is not None:
        changes["printer_state_message"] = status.printer_state_message
    if status.printer_is_accepting_jobs is not None:
        changes["printer_is_accepting_jobs"] = status.printer_is_accepting_jobs
    return changes
