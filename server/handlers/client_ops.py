"""Handlers of the client operations this issue needs (seed 001, Table 1 subset)."""

from __future__ import annotations

from server.handlers.access import readable_job
from server.handlers.registry import operation
from server.service import Caller, CloudImagingService
from server.stores.queues import Queue
from stanzas import client_ops as ops
from stanzas.errors import (
    AttributesNotSupported,
    DocumentFormatNotSupported,
    NotAcceptingJobs,
    NotAuthorized,
    NotFound,
    NotPossible,
)
from stanzas.groups import JobTicket
from stanzas.states import JobState
from stanzas.states import JobStateReason as R

GENERIC_FORMAT = "application/octet-stream"  # "let the device detect it" (IPP auto-sense)


@operation(ops.CreateJob)
async def create_job(
    svc: CloudImagingService, caller: Caller, req: ops.CreateJob
) -> ops.CreateJobResponse:
    if not svc.is_local_user(caller):
        raise NotAuthorized("jobs are created by user accounts of this server")
    queue = await svc.queues.get(req.printer_name)
    if queue is None or queue.service_type != req.service_type.value:
        raise NotFound(f"no {req.service_type.value} queue named {req.printer_name!r}")
    if not (queue.is_accepting_jobs and queue.printer_is_accepting_jobs):
        raise NotAcceptingJobs(f"queue {queue.printer_name} is not accepting jobs")
    ticket = req.job_ticket or JobTicket()
    check_ticket(queue, ticket)
    held = ticket.job_hold_until not in (None, "no-hold")
    job = await svc.jobs.insert(
        job_uuid=svc.new_job_uuid(),
        printer_name=queue.printer_name,
        service_type=queue.service_type,
        owner=caller.bare,
        notify_jid=caller.jid,
        job_name=req.job_name or "untitled",
        job_ticket=ticket,
        job_priority=ticket.job_priority or 50,
        job_state=JobState.PENDING_HELD if held else JobState.PENDING,
        job_state_reasons=(
            (R.JOB_INCOMING, R.JOB_HOLD_UNTIL_SPECIFIED) if held else (R.JOB_INCOMING,)
        ),
        time_at_creation=svc.now(),
    )
    # The insert ran in autocommit mode: the job is durable before this answer leaves.
    return ops.CreateJobResponse(job=job.to_status(with_ticket=True))


@operation(ops.SendDocument)
async def send_document(
    svc: CloudImagingService, caller: Caller, req: ops.SendDocument
) -> ops.SendDocumentResponse:
    job = await readable_job(svc, caller, req.job_id)
    if job.owner != caller.bare:
        raise NotAuthorized(f"only the owner adds documents to job {job.job_id}")
    if job.job_state.is_terminal or job.is_closed:
        raise NotPossible(f"job {job.job_id} takes no more documents")
    if req.no_data:
        if not req.last_document:
            raise NotPossible("no-data is only allowed with last-document")
        job = await svc.close_or_count(job, True, job.number_of_documents)
        return ops.SendDocumentResponse(
            job_id=job.job_id,
            job_state=job.job_state,
            job_state_reasons=list(job.job_state_reasons),
        )
    if svc.slots.upload_in_progress(job.job_id):
        raise NotPossible(f"a document upload for job {job.job_id} is already in progress")
    queue = await svc.queues.get(job.printer_name)
    supported = queue.capabilities.document_format_supported if queue else None
    if supported and req.document_format not in (*supported, GENERIC_FORMAT):
        raise DocumentFormatNotSupported(
            f"{req.document_format} is not supported by {job.printer_name} "
            f"(supported: {', '.join(supported)})"
        )
    if req.document_size is not None and req.document_size > svc.settings.http.max_document_size:
        raise NotPossible(f"documents are limited to {svc.settings.http.max_document_size} octets")
    number = job.number_of_documents + 1
    slot = svc.slots.new_upload(
        job_id=job.job_id,
        document_number=number,
        document_name=req.document_name or f"document-{number}",
        document_format=req.document_format,
        last_document=req.last_document,
        owner=caller.bare,
        expected_size=req.document_size,
        expected_digest=req.document_digest,
    )
    return ops.SendDocumentResponse(
        job_id=job.job_id,
        document_number=number,
        upload_uri=f"{svc.public_url}/uploads/{slot.token}",
        job_state=job.job_state,
        job_state_reasons=list(job.job_state_reasons),
    )


@operation(ops.GetJobElements)
async def get_job_elements(
    svc: CloudImagingService, caller: Caller, req: ops.GetJobElements
) -> ops.GetJobElementsResponse:
    job = await readable_job(svc, caller, req.job_id)
    return ops.GetJobElementsResponse(job=job.to_status(with_ticket=True))


@operation(ops.CancelJob)
async def cancel_job(
    svc: CloudImagingService, caller: Caller, req: ops.CancelJob
) -> ops.CancelJobResponse:
    async with svc.db.transaction():
        job = await readable_job(svc, caller, req.job_id)
        if job.job_state.is_terminal:
            raise NotPossible(f"job {job.job_id} is already {job.job_state.value}")
        if job.cancel_requested:
            raise NotPossible(f"job {job.job_id} is already being canceled")
        reason = R.JOB_CANCELED_BY_USER if job.owner == caller.bare else R.JOB_CANCELED_BY_OPERATOR
        message = req.message or f"canceled by {caller.bare}"
        if job.output_device_uuid is None:
            # No device holds it yet: it ends here and no device ever sees it.
            job = await svc.states.change(job, JobState.CANCELED, reasons=[reason], message=message)
        else:
            # A device holds it: cancel is a request until the device confirms.
            job = await svc.states.change(
                job,
                job.job_state,
                add=[R.PROCESSING_TO_STOP_POINT, reason],
                message=message,
                cancel_requested=reason,
            )
    return ops.CancelJobResponse(job=job.to_status())


def check_ticket(queue: Queue, ticket: JobTicket) -> None:
    """Refuse ticket values the queue's device said it does not support (seed 001:
    answer with the unsupported elements)."""
    caps = queue.capabilities
    unsupported: list[str] = []
    pairs = [
        ("media", ticket.media, caps.media_supported),
        ("sides", ticket.sides, caps.sides_supported),
        ("print-color-mode", ticket.print_color_mode, caps.print_color_mode_supported),
        ("print-quality", ticket.print_quality, caps.print_quality_supported),
    ]
    for name, value, supported in pairs:
        if value is not None and supported and value not in supported:
            unsupported.append(f"{name}={value}")
    if (
        ticket.copies is not None
        and caps.copies_supported
        and ticket.copies > caps.copies_supported
    ):
        unsupported.append(f"copies={ticket.copies}")
    if ticket.finishings and caps.finishings_supported:
        unsupported += [
            f"finishings={f}" for f in ticket.finishings if f not in caps.finishings_supported
        ]
    if unsupported:
        raise AttributesNotSupported("unsupported: " + ", ".join(unsupported))
