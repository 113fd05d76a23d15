"""Jobs and documents coming in: creation (Create-Job, Print-Job), documents uploaded
or sent in-band, resubmission. Closing and the step to fetchable are in closing.py,
documents by reference in server/documents/by_reference.py."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator

from server.accounting.quotas import REFUSE
from server.context import Caller, ServiceContext
from server.documents import by_reference
from server.documents.slots import UploadSlot
from server.documents.spool import SpooledFile
from server.jobs import closing, tickets
from server.stores.documents import Document
from server.stores.jobs import Job
from server.stores.queues import Queue
from stanzas import client_ops as ops
from stanzas.errors import NotPossible
from stanzas.groups import JobTicket
from stanzas.states import JobState
from stanzas.states import JobStateReason as R

log = logging.getLogger(__name__)


async def commit_upload(
    ctx: ServiceContext, slot: UploadSlot, spooled: SpooledFile
) -> tuple[Job, Document]:
    """A whole document has arrived: record it and, if it was the last (or a CloseJob
    came meanwhile), close the job. Committed before the uploader hears 201."""
    async with ctx.db.transaction():
        job = await ctx.jobs.get(slot.job_id)
        if job is None or job.job_state.is_terminal or job.is_closed:
            state = job.job_state.value if job else "gone"
            raise NotPossible(f"job {slot.job_id} no longer takes documents (it is {state})")
        document = await ctx.documents.insert(
            Document(
                job_id=job.job_id,
                document_number=slot.document_number,
                document_name=slot.document_name,
                document_format=slot.document_format,
                document_size=spooled.size,
                document_digest=spooled.digest,
                spool_name=spooled.name,
                last_document=slot.last_document,
                time_at_creation=ctx.now(),
                document_ticket=slot.document_ticket or JobTicket(),
            )
        )
        ctx.job_log.document_received(job, document)
        ctx.traffic.document_bytes_in += document.document_size
        close_asked = ctx.slots.take_close_request(job.job_id)  # a CloseJob came meanwhile
        last = slot.last_document or close_asked
        job = await closing.close_or_count(ctx, job, last, job.number_of_documents + 1)
    return job, document


# --- idempotency keys (CreateJob, PrintJob) -----------------------------------------------


def request_digest(req: ops.CreateJob) -> str:
    """What makes a request sent again the same request: everything it asks for but its
    key (the document by its SHA-256), as one SHA-256."""
    asked = req.model_dump(
        mode="json", exclude={"idempotency_key", "document_data"}, exclude_none=True
    )
    asked["operation"] = req.ELEMENT
    if isinstance(req, ops.PrintJob):
        asked["document-data"] = hashlib.sha256(req.document_data).hexdigest()
    return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()


async def created_before(
    ctx: ServiceContext, caller: Caller, req: ops.CreateJob, digest: str | None
) -> Job | None:
    """The job an earlier request with this one's idempotency key created, if any: only
    the caller's own (keys are per owner, so another owner's key is no way to any of
    their jobs). The same key with a different request is refused, not answered with a
    job it did not ask for. Its JobEvents now go to the asking session."""
    if req.idempotency_key is None:
        return None
    job = await ctx.jobs.get_by_key(caller.bare, req.idempotency_key)
    if job is None:
        return None
    if job.request_digest != digest:
        raise NotPossible(
            f"idempotency-key {req.idempotency_key} was used for job {job.job_id}, made by a "
            "different request; a new job needs a new key"
        )
    if job.notify_jid != caller.jid:
        job = await ctx.jobs.update(job, notify_jid=caller.jid)
    log.info("job %d: %s sent its request again (idempotency-key)", job.job_id, caller.bare)
    return job


async def commit_output(
    ctx: ServiceContext, slot: UploadSlot, spooled: SpooledFile
) -> tuple[Job, Document]:
    """A document the device produced (Put<Service>JobDocumentData) has arrived whole:
    it becomes the job's next document, kept for the owner. Committed before the device
    hears the answer (or the PUT's 201)."""
    async with ctx.db.transaction():
        job = await ctx.jobs.get(slot.job_id)
        if job is None or job.job_state.is_terminal:
            state = job.job_state.value if job else "gone"
            raise NotPossible(f"job {slot.job_id} takes no more documents (it is {state})")
        number = slot.document_number
        document = await ctx.documents.insert(
            Document(
                job_id=job.job_id,
                document_number=number,
                document_name=slot.document_name,
                document_format=slot.document_format,
                document_size=spooled.size,
                document_digest=spooled.digest,
                spool_name=spooled.name,
                last_document=slot.last_document,
                time_at_creation=ctx.now(),
            )
        )
        ctx.job_log.document_received(job, document)
        ctx.traffic.document_bytes_in += document.document_size
        job = await ctx.jobs.update(job, number_of_documents=number, time_last_activity=ctx.now())
    return job, document


async def insert_job(
    ctx: ServiceContext,
    caller: Caller,
    queue: Queue,
    name: str,
    ticket: JobTicket,
    dropped: list[str],
    *,
    resubmitted_from: int | None = None,
    closed_with: int = 0,
    idempotency_key: str | None = None,
    digest: str | None = None,
) -> Job:
    """A new job: open and incoming; or, with `closed_with` documents whose data the
    caller inserts in the same transaction, closed and complete at birth (Print-Job).
    KeyTaken (nothing written) if the owner has a job with `idempotency_key` already."""
    held = tickets.is_held(ticket)
    now = ctx.now()
    reasons: tuple[str, ...] = (R.JOB_HOLD_UNTIL_SPECIFIED,) if held else ()
    reasons = reasons if closed_with else (R.JOB_INCOMING, *reasons)
    message = ""
    over = await ctx.quotas.exceeded(caller.bare, queue.printer_name)
    if over is not None and idempotency_key is not None:
        if await ctx.jobs.get_by_key(caller.bare, idempotency_key) is not None:
            over = None  # sent again: its first job answers it (and is counted already)
    if over is not None:
        if queue.configuration.quota_exceeded_action == REFUSE:
            ctx.job_log.job_refused(caller.bare, queue.printer_name, over.message)
            raise NotPossible(f"not accepted: {over.message}")
        held, message = True, f"held: {over.message}"
        reasons = (*reasons, R.ACCOUNT_LIMIT_REACHED)
    job = await ctx.job_states.create(
        job_uuid=uuid.uuid4().urn,
        printer_name=queue.printer_name,
        service_type=queue.service_type,
        owner=caller.bare,
        notify_jid=caller.jid,
        job_name=name,
        job_ticket=ticket,
        job_priority=ticket.job_priority or 50,
        job_state=JobState.PENDING_HELD if held else JobState.PENDING,
        job_state_reasons=reasons,
        job_state_message=message,
        is_closed=bool(closed_with),
        number_of_documents=closed_with,
        time_at_creation=now,
        time_last_activity=now,
        resubmitted_from=resubmitted_from,
        unsupported_elements=tuple(dropped),
        idempotency_key=idempotency_key,
        request_digest=digest,
    )
    job = await ctx.queue_states.hold_if_held_new(job)  # HoldNew<Service>Jobs
    ctx.job_states.born(job)
    return job


async def insert_printed_job(
    ctx: ServiceContext,
    caller: Caller,
    queue: Queue,
    name: str,
    ticket: JobTicket,
    dropped: list[str],
    document_name: str,
    document_format: str,
    spooled: SpooledFile,
    *,
    idempotency_key: str | None = None,
    digest: str | None = None,
) -> Job:
    """Print-Job: the job, its one document (already spooled) and its closing, in one
    transaction: committed, and fetchable unless held, when this returns."""
    async with ctx.db.transaction():
        job = await insert_job(
            ctx,
            caller,
            queue,
            name,
            ticket,
            dropped,
            closed_with=1,
            idempotency_key=idempotency_key,
            digest=digest,
        )
        document = await ctx.documents.insert(
            Document(
                job_id=job.job_id,
                document_number=1,
                document_name=document_name,
                document_format=document_format,
                document_size=spooled.size,
                document_digest=spooled.digest,
                spool_name=spooled.name,
                last_document=True,
                time_at_creation=job.time_at_creation,
            )
        )
        ctx.job_log.document_received(job, document)
        ctx.traffic.document_bytes_in += document.document_size
        return job


async def commit_inline(ctx: ServiceContext, slot: UploadSlot, data: bytes) -> tuple[Job, Document]:
    """The bytes came in the request: spooled and committed as an upload (or, for a
    device's output, a PUT) would be, holding the slot meanwhile so that no other
    document of the job can take the same number."""
    commit = commit_output if slot.produced else commit_upload
    try:
        spooled = await ctx.spool.receive(
            chunks_of(data),
            prefix=f"{slot.job_id}-{slot.document_number}",
            max_size=ctx.settings.http.max_document_size,
            expected_size=slot.expected_size,
            expected_digest=slot.expected_digest,
        )
        try:
            return await commit(ctx, slot, spooled)
        except BaseException:
            ctx.spool.discard(spooled.name)
            raise
    finally:
        ctx.slots.take_upload(slot.token)


async def chunks_of(data: bytes) -> AsyncIterator[bytes]:
    """In-band document data as the spool takes it."""
    yield data


# --- Resubmit<Service>Job ------------------------------------------------------------------


async def resubmit(
    ctx: ServiceContext,
    caller: Caller,
    original: Job,
    queue: Queue,
    ticket: JobTicket,
    dropped: list[str],
    documents: list[Document],
) -> Job:
    """A new job with the original's documents: data kept in the spool is linked, not
    copied; documents by reference are fetched again (seed 001)."""
    linked: list[str] = []
    try:
        async with ctx.db.transaction():
            job = await insert_job(
                ctx,
                caller,
                queue,
                original.job_name,
                ticket,
                dropped,
                resubmitted_from=original.job_id,
            )
            for document in documents:
                spool_name = None
                if document.document_uri is None and document.spool_name is not None:
                    spool_name = f"{job.job_id}-{document.document_number}-resubmit"
                    os.link(ctx.spool.path(document.spool_name), ctx.spool.path(spool_name))
                    linked.append(spool_name)
                copy = await ctx.documents.insert(
                    Document(
                        job_id=job.job_id,
                        document_number=document.document_number,
                        document_name=document.document_name,
                        document_format=document.document_format,
                        document_size=document.document_size if spool_name else 0,
                        document_digest=document.document_digest if spool_name else "",
                        spool_name=spool_name,
                        last_document=document.last_document,
                        time_at_creation=ctx.now(),
                        document_uri=document.document_uri,
                        document_ticket=document.document_ticket,
                    )
                )
                if copy.has_data:
                    ctx.job_log.document_received(job, copy)
            job = await closing.close_or_count(ctx, job, True, len(documents))
    except BaseException:
        for name in linked:
            ctx.spool.discard(name)
        raise
    for document in await ctx.documents.list_awaiting_data(job.job_id):
        by_reference.start_fetch(ctx, document)
    return job
