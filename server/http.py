"""The HTTPS endpoint for document bytes: PUT /uploads/{token}, GET /documents/{token}."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from aiohttp import web

from server import intake
from server.service import CloudImagingService
from stanzas.errors import CloudImagingError, NotFound

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
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


def _error(error: CloudImagingError) -> web.Response:
    return web.json_response(
        {"status": error.status, "message": error.message},
        status=_HTTP_STATUS.get(error.status, 500),
    )


def make_app(svc: CloudImagingService) -> web.Application:
    async def upload(request: web.Request) -> web.Response:
        slot = svc.slots.take_upload(request.match_info["token"])
        if slot is None:
            return _error(NotFound("unknown or expired upload slot"))
        try:
            spooled = await svc.spool.receive(
                request.content.iter_chunked(CHUNK),
                prefix=f"{slot.job_id}-{slot.document_number}",
                max_size=svc.settings.http.max_document_size,
                expected_size=slot.expected_size,
                expected_digest=slot.expected_digest,
            )
        except CloudImagingError as error:
            return _error(error)
        try:
            job, document = await intake.commit_upload(svc, slot, spooled)
        except CloudImagingError as error:
            svc.spool.discard(spooled.name)
            return _error(error)
        except Exception:
            svc.spool.discard(spooled.name)
            raise
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
        slot = svc.slots.take_download(request.match_info["token"])
        if slot is None:
            return _error(NotFound("unknown or expired download slot"))
        path = svc.spool.path(slot.spool_name)
        if not path.exists():
            return _error(NotFound("the document data is gone"))
        return web.FileResponse(
            path,
            headers={DIGEST_HEADER: slot.digest, "Content-Type": "application/octet-stream"},
        )

    app = web.Application()
    app.router.add_put("/uploads/{token}", upload)
    app.router.add_get("/documents/{token}", download)
    return app


def server_ssl_context(cert_file: Path | None, key_file: Path | None) -> ssl.SSLContext | None:
    if cert_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


async def start_http(svc: CloudImagingService) -> web.AppRunner:
    """Serve the byte path; sets svc.public_url to where it listens."""
    settings = svc.settings.http
    runner = web.AppRunner(make_app(svc), access_log=None)
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
    svc.public_url = settings.public_url or f"{scheme}://{settings.host}:{port}"
    return runner
