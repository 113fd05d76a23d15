"""The HTTPS endpoint for document bytes: PUT /uploads/{token}, GET /documents/{token}."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from server.context import ServiceContext
from server.joblog.recorder import REQUEST, Request
from server.jobs import intake
from stanzas.errors import CloudImagingError, NotFound

log = logging.getLogger(__name__)

# Bytes per thread hop when a document is sent over TLS. aiohttp's FileResponse uses
# sendfile on plain HTTP, but over TLS it falls back to 256 KiB reads, each awaited
# before the next starts; we read bigger pieces, the next one while this one is sent.
SEND_CHUNK = 4 * 1024 * 1024
DIGEST_HEADER = "X-Document-SHA256"

# IPP status -> HTTP status for the byte path.
_HTTP_STATUS = {
    "client-error-not-found": 404,
    "client-error-not-authorized": 403,
    "client-error-not-possible": 409,
    "client-error-request-entity-too-large": 413,
    "client-error-document-access-error": 422,
    "client-error-bad-request": 400,
}


async def _body(request: web.Request) -> AsyncIterator[bytes]:
    """The request body as it arrived, one piece at a time. iter_chunked and iter_any
    join buffered pieces into new bytes: a copy of every byte (bench/documents.py,
    about 0.15 s of CPU per GB)."""
    async for piece, _end_of_http_chunk in request.content.iter_chunks():
        yield piece


def _error(error: CloudImagingError) -> web.Response:
    return web.json_response(
        {"status": error.status, "message": error.message},
        status=_HTTP_STATUS.get(error.status, 500),
    )


def make_app(ctx: ServiceContext) -> web.Application:
    async def upload(request: web.Request) -> web.Response:
        slot = ctx.slots.take_upload(request.match_info["token"])
        if slot is None:
            return _error(NotFound("unknown or expired upload slot"))
        try:
            spooled = await ctx.spool.receive(
                _body(request),
                prefix=f"{slot.job_id}-{slot.document_number}",
                max_size=ctx.settings.http.max_document_size,
                expected_size=slot.expected_size,
                expected_digest=slot.expected_digest,
            )
        except CloudImagingError as error:
            return _error(error)
        commit = intake.commit_output if slot.produced else intake.commit_upload
        token = REQUEST.set(Request("HTTP-PUT", slot.owner))  # for the job log
        try:
            job, document = await commit(ctx, slot, spooled)
        except CloudImagingError as error:
            ctx.spool.discard(spooled.name)
            return _error(error)
        except Exception:
            ctx.spool.discard(spooled.name)
            raise
        finally:
            REQUEST.reset(token)
        return web.json_response(
            {
                "job-id": job.job_id,
                "document-number": document.document_number,
                "document-size": document.document_size,
                "document-digest": document.document_digest,
                "job-state": job.job_state.value,
                "job-state-reasons": list(job.job_state_reasons),
            },
            status=201,
        )

    async def download(request: web.Request) -> web.StreamResponse:
        slot = ctx.slots.take_download(request.match_info["token"])
        if slot is None:
            return _error(NotFound("unknown or expired download slot"))
        path = ctx.spool.path(slot.spool_name)
        headers = {DIGEST_HEADER: slot.digest, "Content-Type": "application/octet-stream"}
        ctx.traffic.document_bytes_out += slot.size  # counted as it is handed out
        if not request.secure:
            if not path.exists():
                return _error(NotFound("the document data is gone"))
            return web.FileResponse(path, headers=headers)
        try:
            f = path.open("rb", buffering=0)  # a few microseconds: not worth a thread hop
        except FileNotFoundError:
            return _error(NotFound("the document data is gone"))
        return await _send_file(request, f, headers)

    app = web.Application()
    app.router.add_put("/uploads/{token}", upload)
    app.router.add_get("/documents/{token}", download)
    return app


async def _send_file(
    request: web.Request, f: io.FileIO, headers: dict[str, str]
) -> web.StreamResponse:
    """The whole file as the body, SEND_CHUNK bytes per thread hop, the next piece read
    while this one is encrypted and sent. `f` is closed once no thread uses it."""
    loop = asyncio.get_running_loop()
    try:
        size = os.fstat(f.fileno()).st_size
        response = web.StreamResponse(headers=headers)
        response.content_length = size
        await response.prepare(request)
        ahead: asyncio.Future[bytes] = loop.run_in_executor(None, f.read, SEND_CHUNK)
    except BaseException:
        f.close()
        raise
    try:
        while chunk := await ahead:
            ahead = loop.run_in_executor(None, f.read, SEND_CHUNK)
            await response.write(chunk)
        await response.write_eof()
    finally:
        # The peer may have gone away with a read under way: close after it.
        ahead.add_done_callback(lambda done: done.cancelled() or done.exception())
        ahead.add_done_callback(lambda _: f.close())
    return response


def server_ssl_context(cert_file: Path | None, key_file: Path | None) -> ssl.SSLContext | None:
    if cert_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


async def start_http(
    ctx: ServiceContext, routes: Callable[[web.Application], None] | None = None
) -> web.AppRunner:
    """Serve the byte path (and the `routes` added to it: /metrics, /healthz); sets
    ctx.public_url to where it listens."""
    settings = ctx.settings.http
    app = make_app(ctx)
    if routes is not None:
        routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(
        runner,
        settings.host,
        settings.port,
        ssl_context=server_ssl_context(settings.cert_file, settings.key_file),
    )
    await site.start()
    port = int(runner.addresses[0][1]) if runner.addresses else settings.port
    scheme = "https" if settings.cert_file else "http"
    ctx.public_url = settings.public_url or f"{scheme}://{settings.host}:{port}"
    return runner
