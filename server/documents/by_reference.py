"""Documents by reference (Send<Service>Uri): the service fetches each into its spool;
a failure aborts the job with document-access-error (seed 000)."""

from __future__ import annotations

import logging
import ssl

from server.context import ServiceContext
from server.documents.uploads import file_name
from server.documents.uri_fetch import FetchPolicy, UriFetchError, fetch_to_spool
from server.jobs.closing import release_if_complete
from server.queues import policy
from server.stores.documents import Document
from server.stores.queues import Queue
from stanzas.errors import CloudImagingError
from stanzas.states import DocumentState, JobState
from stanzas.states import JobStateReason as R

log = logging.getLogger(__name__)


def fetch_policy(ctx: ServiceContext, queue: Queue | None, uri: str) -> FetchPolicy:
    """The by-reference rules for `uri` on `queue`: public hosts, private ones where the
    queue allows them; a link into the XMPP server's file share (documents/uploads.py)
    is fetched from that origin only, and named by its file, not its URL."""
    allow = bool(queue and queue.configuration.allow_private_document_uris)
    limit = ctx.settings.http.max_document_size
    if queue is not None:
        limit = policy.max_size(queue.configuration, limit)  # the queue's max-document-size
    upload = ctx.upload_origins.of(uri)
    if upload is None:
        return FetchPolicy(allow_private=allow, max_size=limit)
    limit = min(limit, ctx.settings.chat_print.max_size)
    return FetchPolicy(
        allow_private=allow,
        max_size=limit,
        allow_origins=(upload,),
        max_redirects=0,
        display_name=f"the shared file {file_name(uri)}",
    )


def trust(ctx: ServiceContext, uri: str) -> ssl.SSLContext | None:
    """Whose certificates a fetch of `uri` trusts (None: the system's CAs)."""
    if ctx.upload_origins.of(uri) is not None:
        return ctx.upload_origins.ssl_context()
    return ctx.uri_ssl_context


def start_fetch(ctx: ServiceContext, document: Document) -> None:
    ctx.tasks.spawn(fetch_document(ctx, document.job_id, document.document_number))


async def fetch_document(ctx: ServiceContext, job_id: int, number: int) -> None:
    """Fetch one document by reference into the spool; any failure aborts the job with
    document-access-error and a message saying what went wrong (seed 000)."""
    document = await ctx.documents.get(job_id, number)
    job = await ctx.jobs.get(job_id)
    if document is None or job is None or document.document_uri is None or document.has_data:
        return
    queue = await ctx.queues.get(job.printer_name)
    try:
        spooled, _content_type = await fetch_to_spool(
            document.document_uri,
            ctx.spool,
            prefix=f"{job_id}-{number}",
            policy=fetch_policy(ctx, queue, document.document_uri),
            ssl_context=trust(ctx, document.document_uri),
        )
    except UriFetchError as exc:
        await _fetch_failed(ctx, job_id, number, exc.message)
        return
    except CloudImagingError as exc:
        await _fetch_failed(ctx, job_id, number, exc.message)
        return
    async with ctx.db.transaction():
        job = await ctx.jobs.get(job_id)
        document = await ctx.documents.get(job_id, number)
        if job is None or document is None or job.job_state.is_terminal:
            ctx.spool.discard(spooled.name)
            return
        document = await ctx.documents.update(
            document,
            spool_name=spooled.name,
            document_size=spooled.size,
            document_digest=spooled.digest,
        )
        ctx.job_log.document_received(job, document)
        ctx.traffic.document_bytes_in += document.document_size
        await release_if_complete(ctx, job)


async def _fetch_failed(ctx: ServiceContext, job_id: int, number: int, why: str) -> None:
    log.info("job %s document %s: %s", job_id, number, why)
    async with ctx.db.transaction():
        job = await ctx.jobs.get(job_id)
        document = await ctx.documents.get(job_id, number)
        if job is None or document is None or job.job_state.is_terminal:
            return
        message = f"document {number} could not be fetched: {why}"
        await ctx.job_states.change_document(
            document, DocumentState.ABORTED, reasons=[R.DOCUMENT_ACCESS_ERROR], message=message
        )
        await ctx.job_states.change(
            job, JobState.ABORTED, reasons=[R.DOCUMENT_ACCESS_ERROR], message=message
        )


async def resume_fetches(ctx: ServiceContext) -> None:
    """After a restart: fetches that were under way start again."""
    for document in await ctx.documents.list_awaiting_data():
        start_fetch(ctx, document)
