"""Handlers of the client document operations (seed 001, Table 1)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from server.context import Caller, ServiceContext
from server.documents import by_reference, handout
from server.documents.slots import UploadSlot
from server.handlers.access import job_for
from server.handlers.job_ops import queue_for
from server.handlers.registry import operation
from server.handlers.roles import CLIENT
from server.jobs import closing, intake, tickets
from server.queues import policy
from server.stores.documents import Document
from server.stores.jobs import Job
from stanzas import client_ops as ops
from stanzas.errors import NotFound, NotPossible, OperationNotSupported, UriSchemeNotSupported
from stanzas.groups import JobTicket
from stanzas.states import DocumentState, JobState, ServiceType
from stanzas.states import JobStateReason as R

URI_SCHEMES = ("http", "https")


def _open_for_documents(job: Job) -> None:
    if job.job_state.is_terminal or job.is_closed:
        raise NotPossible(f"job {job.job_id} takes no more documents (inputs are closed)")


def _takes_digital(job: Job) -> None:
    if job.service_type == ServiceType.SCAN.value:
        raise NotPossible(f"scan job {job.job_id} takes hardcopy (AddHardcopyDocument)")


@operation(ops.SendDocument, role=CLIENT)
async def send_document(
    ctx: ServiceContext, caller: Caller, req: ops.SendDocument
) -> ops.SendDocumentResponse:
    job = await job_for(ctx, caller, req.job_id)
    if req.no_data:
        if not req.last_document:
            raise NotPossible("no-data is only allowed with last-document")
        if not job.is_closed and not job.job_state.is_terminal:
            job = await closing.close_or_count(ctx, job, True, job.number_of_documents)
        return ops.SendDocumentResponse(
            job_id=job.job_id,
            job_state=job.job_state,
            job_state_reasons=list(job.job_state_reasons),
        )
    _open_for_documents(job)
    _takes_digital(job)
    if ctx.slots.upload_in_progress(job.job_id):
        raise NotPossible(f"a document upload for job {job.job_id} is already in progress")
    queue = await ctx.queue_states.existing(job.printer_name)
    tickets.check_format(req.document_format, queue.capabilities, queue.printer_name)
    if req.document_ticket is not None:
        tickets.require_supported(req.document_ticket, queue.capabilities)
        policy.check_ticket(req.document_ticket, queue.configuration, queue.printer_name)
    limit = ctx.settings.http.max_document_size
    if req.document_size is not None and req.document_size > limit:
        raise NotPossible(f"documents are limited to {limit} octets")
    policy.check_document(
        req.document_format, req.document_size, queue.configuration, limit, queue.printer_name
    )
    if req.document_data is not None:
        policy.check_size(len(req.document_data), queue.configuration, limit, queue.printer_name)
    number = job.number_of_documents + 1
    slot = ctx.slots.new_upload(
        job_id=job.job_id,
        document_number=number,
        document_name=req.document_name or f"document-{number}",
        document_format=req.document_format,
        last_document=req.last_document,
        owner=caller.bare,
        expected_size=req.document_size,
        expected_digest=req.document_digest,
        document_ticket=req.document_ticket,
        max_size=policy.max_size(queue.configuration, limit),
    )
    if req.document_data is not None:
        return await _commit_inline(ctx, slot, req.document_data)
    await ctx.jobs.update(job, time_last_activity=ctx.now())
    return ops.SendDocumentResponse(
        job_id=job.job_id,
        document_number=number,
        upload_uri=f"{ctx.public_url}/uploads/{slot.token}",
        job_state=job.job_state,
        job_state_reasons=list(job.job_state_reasons),
    )


async def _commit_inline(
    ctx: ServiceContext, slot: UploadSlot, data: bytes
) -> ops.SendDocumentResponse:
    job, document = await intake.commit_inline(ctx, slot, data)
    return ops.SendDocumentResponse(
        job_id=job.job_id,
        document_number=document.document_number,
        job_state=job.job_state,
        job_state_reasons=list(job.job_state_reasons),
    )


@operation(ops.SendUri, role=CLIENT)
async def send_uri(ctx: ServiceContext, caller: Caller, req: ops.SendUri) -> ops.SendUriResponse:
    async with ctx.db.transaction():
        job = await job_for(ctx, caller, req.job_id)
        _open_for_documents(job)
        _takes_digital(job)
        scheme = urlsplit(req.document_uri).scheme.lower()
        if scheme not in URI_SCHEMES:
            raise UriSchemeNotSupported(f"{scheme}: URIs are not supported (use http or https)")
        queue = await ctx.queue_states.existing(job.printer_name)
        tickets.check_format(req.document_format, queue.capabilities, queue.printer_name)
        policy.check_format(req.document_format, queue.configuration, queue.printer_name)
        if req.document_ticket is not None:
            tickets.require_supported(req.document_ticket, queue.capabilities)
        if ctx.slots.upload_in_progress(job.job_id):
            raise NotPossible(f"a document upload for job {job.job_id} is already in progress")
        number = job.number_of_documents + 1
        document = await ctx.documents.insert(
            Document(
                job_id=job.job_id,
                document_number=number,
                document_name=req.document_name
                or req.document_uri.rsplit("/", 1)[-1][:255]
                or f"document-{number}",
                document_format=req.document_format,
                document_size=0,
                document_digest="",
                spool_name=None,
                last_document=req.last_document,
                time_at_creation=ctx.now(),
                document_uri=req.document_uri,
                document_ticket=req.document_ticket or JobTicket(),
            )
        )
        job = await closing.close_or_count(ctx, job, req.last_document, number)
        ctx.db.after_commit(lambda: by_reference.start_fetch(ctx, document))
    return ops.SendUriResponse(
        job_id=job.job_id,
        document_number=number,
        job_state=job.job_state,
        job_state_reasons=list(job.job_state_reasons),
    )


@operation(ops.AddHardcopyDocument, role=CLIENT)
async def add_hardcopy_document(
    ctx: ServiceContext, caller: Caller, req: ops.AddHardcopyDocument
) -> ops.AddHardcopyDocumentResponse:
    async with ctx.db.transaction():
        job = await job_for(ctx, caller, req.job_id)
        _open_for_documents(job)
        if job.service_type == ServiceType.PRINT.value:
            raise OperationNotSupported("Print jobs take digital documents, not hardcopy")
        if job.service_type != ServiceType.SCAN.value:
            # EmailOut/FaxOut from hardcopy needs a device that both scans and sends.
            raise OperationNotSupported(
                f"{job.service_type} from hardcopy is not offered: the device does not scan"
            )
        if not req.last_document:
            raise NotPossible("a scan job takes one hardcopy document: the stack the device scans")
        ticket = job.job_ticket
        if req.input_source is not None:
            queue = await ctx.queues.get(job.printer_name)
            assert queue is not None
            ticket = ticket.model_copy(update={"input_source": req.input_source})
            tickets.require_supported(ticket, queue.capabilities)
            job = await ctx.jobs.update(job, job_ticket=ticket)
        # Closed, and fetchable (nothing awaits data: the device produces it).
        job = await closing.close_hardcopy(ctx, job)
    return ops.AddHardcopyDocumentResponse(job_id=job.job_id, document_number=1)


@operation(ops.GetDocumentData, role=CLIENT)
async def get_document_data(
    ctx: ServiceContext, caller: Caller, req: ops.GetDocumentData
) -> ops.GetDocumentDataResponse:
    """A document's bytes for the job's owner or an administrator (not operators: they
    manage jobs, not read them): in the answer when small and accepted, else behind a
    one-time download URL."""
    job = await job_for(ctx, caller, req.job_id, operators=False)
    document = await ctx.documents.get(job.job_id, req.document_number)
    if document is None:
        raise NotFound(f"job {job.job_id} has no document {req.document_number}")
    if document.spool_name is None:
        raise NotPossible(f"document {req.document_number} holds no data (none yet, or discarded)")
    where = handout.hand_out(ctx, document, inline=req.document_data_accepted, holder=caller.bare)
    return _document_data(document, **where)


def _document_data(document: Document, **where: Any) -> ops.GetDocumentDataResponse:
    return ops.GetDocumentDataResponse(
        job_id=document.job_id,
        document_number=document.document_number,
        document_name=document.document_name,
        document_format=document.document_format,
        document_size=document.document_size,
        document_digest=document.document_digest,
        **where,
    )


@operation(ops.GetDocuments, role=CLIENT)
async def get_documents(
    ctx: ServiceContext, caller: Caller, req: ops.GetDocuments
) -> ops.GetDocumentsResponse:
    job = await job_for(ctx, caller, req.job_id)
    documents = await ctx.documents.list(job.job_id)
    return ops.GetDocumentsResponse(
        job_id=job.job_id, job_name=job.job_name, document=[d.to_status() for d in documents]
    )


@operation(ops.GetDocumentElements, role=CLIENT)
async def get_document_elements(
    ctx: ServiceContext, caller: Caller, req: ops.GetDocumentElements
) -> ops.GetDocumentElementsResponse:
    job = await job_for(ctx, caller, req.job_id)
    document = await _document(ctx, job, req.document_number)
    return ops.GetDocumentElementsResponse(document=document.to_status())


@operation(ops.CancelDocument, role=CLIENT)
async def cancel_document(
    ctx: ServiceContext, caller: Caller, req: ops.CancelDocument
) -> ops.DocumentResponse:
    """Seed 001 Cancel<Service>Document: the document ends canceled, the others go on;
    a closed job whose documents have all ended completes. Only documents no device
    has fetched yet can be canceled here."""
    async with ctx.db.transaction():
        job = await job_for(ctx, caller, req.job_id)
        document = await _document(ctx, job, req.document_number)
        if document.document_state.is_terminal:
            raise NotPossible(
                f"document {document.document_number} is already {document.document_state.value}"
            )
        if job.output_device_uuid is not None:
            raise NotPossible(f"job {job.job_id} is already on its device; cancel the job instead")
        document = await ctx.job_states.change_document(
            document,
            DocumentState.CANCELED,
            reasons=[
                R.JOB_CANCELED_BY_USER if job.owner == caller.bare else R.JOB_CANCELED_BY_OPERATOR
            ],
            message=req.message or f"canceled by {caller.bare}",
        )
        remaining = [
            d for d in await ctx.documents.list(job.job_id) if not d.document_state.is_terminal
        ]
        if job.is_closed and not remaining:
            await ctx.job_states.change(
                job, JobState.COMPLETED, message="every document of the job was canceled"
            )
        elif job.is_closed:
            await closing.release_if_complete(ctx, job)
    return ops.DocumentResponse(document=document.to_status())


@operation(ops.SetDocumentElements, role=CLIENT)
async def set_document_elements(
    ctx: ServiceContext, caller: Caller, req: ops.SetDocumentElements
) -> ops.DocumentResponse:
    """Atomic, validated as if submitted so; the document's state does not change."""
    async with ctx.db.transaction():
        job = await job_for(ctx, caller, req.job_id, operators=False)
        document = await _document(ctx, job, req.document_number)
        if document.document_state.is_terminal or job.output_device_uuid is not None:
            raise NotPossible(f"document {document.document_number} can no longer change")
        queue = await ctx.queue_states.existing(job.printer_name)
        ticket = tickets.edit(document.document_ticket, req.document_ticket, req.delete_elements)
        if req.document_ticket is not None:
            tickets.require_supported(req.document_ticket, queue.capabilities)
        changes: dict[str, object] = {"document_ticket": ticket}
        if req.document_name is not None:
            changes["document_name"] = req.document_name
        document = await ctx.documents.update(document, **changes)
    return ops.DocumentResponse(document=document.to_status())


@operation(ops.ValidateDocumentTicket, role=CLIENT)
async def validate_document_ticket(
    ctx: ServiceContext, caller: Caller, req: ops.ValidateDocumentTicket
) -> ops.ValidateResponse:
    queue = await queue_for(ctx, caller, req.printer_name, req.service_type)
    problems = tickets.unsupported(req.document_ticket, queue.capabilities)
    return ops.ValidateResponse(unsupported_elements=sorted(problems) or None)


async def _document(ctx: ServiceContext, job: Job, number: int) -> Document:
    document = await ctx.documents.get(job.job_id, number)
    if document is None:
        raise NotFound(f"job {job.job_id} has no document {number}")
    return document
