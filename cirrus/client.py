"""The async client library: users' operations on the Cloud Imaging Service over XMPP.

The CLI and the IPP gateway are built on it. Document bytes go over HTTPS to the
one-time upload URL the service hands out; everything else is XMPP.

What a caller can rely on (docs/client.md, "The client library"):

- every failure is a CloudImagingError with an IPP status, and says whether the request
  reached the service (`delivered`): NotDelivered (never did: safe to send again),
  OutcomeUnknown and NoAnswer (sent, then the connection or the service went away, or
  the time-out ran out: it may have been done), anything else (the service refused it);
- every call has a time-out: `request_timeout` per request (ClientSettings), and
  `with client.time_limit(seconds):` bounds everything inside the block together,
  HTTPS uploads and waits for a job's end included;
- the connection is visible: `online`, `add_connection_listener`, and
  `connection_events()`; after a loss the session reconnects by itself within a
  second or two of the server's return (stanzas/backoff.py).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import mimetypes
import secrets
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import aiohttp

from stanzas import client_ops as ops
from stanzas.backoff import Backoff
from stanzas.errors import (
    CloudImagingError,
    DocumentAccessError,
    NoAnswer,
    NotDelivered,
    NotFound,
    OutcomeUnknown,
    WaitTimeout,
    error_for,
)
from stanzas.groups import DocumentStatus, JobStatus, JobTicket, ServiceElements
from stanzas.session import REQUEST_TIMEOUT, ServiceSession, time_left, time_limit, tls_context
from stanzas.states import ServiceType
from stanzas.types import INLINE_DOCUMENT_MAX

READ_CHUNK = 4 * 1024 * 1024  # bytes per thread hop reading a document file
# Up to this size send_document reads the file twice (digest first, for the service to
# check); above it, once (hashed while streaming, compared with the service's answer).
MEASURE_LIMIT = 64 * 1024 * 1024

# Formats by file suffix, for what the mimetypes module does not know or guesses badly.
_FORMATS = {
    ".pdf": "application/pdf",
    ".ps": "application/postscript",
    ".pwg": "image/pwg-raster",
    ".urf": "image/urf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".txt": "text/plain",
    ".md": "text/markdown",
}


# The back-off between attempts of a CreateJob / PrintJob whose outcome is unknown, and
# how long the first attempt waits for its answer (each next one twice as long).
RETRY_FIRST, RETRY_CAP = 0.1, 1.0
RESEND_FIRST = 2.0
Created = TypeVar("Created", ops.CreateJobResponse, ops.PrintJobResponse)


def new_idempotency_key() -> str:
    """A key for one CreateJob / PrintJob and its retries (random: a UUID)."""
    return str(uuid.uuid4())


def _gave_up(error: CloudImagingError, attempts: int) -> CloudImagingError:
    """The unknown outcome that stands when the time ran out, saying what was tried."""
    if attempts > 1:
        error.message = (
            f"{error.message} (sent {attempts} times with idempotency-key "
            f"{error.idempotency_key}; sending it again with that key is safe)"
        )
        error.args = (error.message,)
    return error


def guess_format(path: Path) -> str:
    return (
        _FORMATS.get(path.suffix.lower())
        or mimetypes.guess_type(path.name)[0]
        or ("application/octet-stream")
    )


@dataclass(frozen=True)
class ClientSettings:
    jid: str
    password: str
    service_jid: str = "print.localhost"
    host: str = "127.0.0.1"
    port: int = 5222
    ca_file: Path | None = None
    request_timeout: float = REQUEST_TIMEOUT  # seconds each request waits for its answer
    connect_timeout: float = 30.0  # seconds start() tries to log in before giving up


@dataclass(frozen=True)
class ConnectionEvent:
    """The session went online (logged in) or offline (lost the XMPP server)."""

    online: bool
    at: float  # time.time() when it happened


@dataclass(frozen=True)
class Uploaded:
    document_number: int
    size: int
    digest: str
    job_state: str
    job_state_reasons: list[str]


class CirrusClient:
    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        # A fixed resource: after a reconnect, pushes for our jobs still reach us.
        jid = (
            settings.jid if "/" in settings.jid else f"{settings.jid}/cirrus-{secrets.token_hex(4)}"
        )
        self.session = ServiceSession(
            jid,
            settings.password,
            service_jid=settings.service_jid,
            host=settings.host,
            port=settings.port,
            ca_file=settings.ca_file,
        )
        self.session.request_timeout = settings.request_timeout
        self._ssl = tls_context(settings.ca_file)
        self._events: dict[int, asyncio.Queue[ops.JobEvent]] = {}
        # The job's state as the service last told us on this connection (CreateJob's
        # answer, then its pushes): following a job we created needs no GetJobElements.
        self._known: dict[int, JobStatus] = {}
        self._http: aiohttp.ClientSession | None = None
        self._watched: collections.Counter[int] = collections.Counter()  # followers per job
        self.session.service_messages.append(self._on_message)
        self.session.on_online.append(self._forget_known)
        self.session.on_online.append(self._refresh_watched)

    async def __aenter__(self) -> CirrusClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self, timeout: float | None = None) -> None:
        """Log in; NotDelivered if the XMPP server cannot be reached within `timeout`
        (default `connect_timeout`), PermissionError if it refuses the credentials."""
        await self.session.start(self.settings.connect_timeout if timeout is None else timeout)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        await self.session.stop()

    # --- time-outs and the connection -------------------------------------------------
    @staticmethod
    def time_limit(seconds: float) -> contextlib.AbstractContextManager[None]:
        """`with client.time_limit(5): ...`: everything the block asks of the service
        (requests, uploads, waits for a job's end) must be done within `seconds`, all
        together. What cannot fit fails with NoAnswer (WaitTimeout for a wait)."""
        return time_limit(seconds)

    @property
    def online(self) -> bool:
        return self.session.online.is_set()

    def add_connection_listener(self, listener: Callable[[bool], None]) -> None:
        """`listener(True)` after each login, `listener(False)` when the connection is
        lost (requests in flight then fail with OutcomeUnknown; the session reconnects
        by itself)."""
        self.session.connection_listeners.append(listener)

    def remove_connection_listener(self, listener: Callable[[bool], None]) -> None:
        self.session.connection_listeners.remove(listener)

    async def connection_events(self) -> AsyncIterator[ConnectionEvent]:
        """Each change of the connection from now on, as it happens (until the caller
        stops iterating)."""
        events: asyncio.Queue[ConnectionEvent] = asyncio.Queue()

        def listener(online: bool) -> None:
            events.put_nowait(ConnectionEvent(online=online, at=time.time()))

        self.add_connection_listener(listener)
        try:
            while True:
                yield await events.get()
        finally:
            self.remove_connection_listener(listener)

    # --- operations -----------------------------------------------------------------
    async def create_job(
        self,
        queue: str,
        *,
        job_name: str | None = None,
        ticket: JobTicket | None = None,
        mandatory: list[str] | None = None,
        service_type: ServiceType = ServiceType.PRINT,
        idempotency_key: str | None = None,
    ) -> JobStatus:
        """Create<Service>Job; elements the queue cannot honour are dropped and named in
        the job's unsupported-elements, unless listed in `mandatory` (then it fails).
        Safe to retry: see `submit`."""
        request = ops.CreateJob(
            service_type=service_type,
            printer_name=queue,
            job_name=job_name,
            job_ticket=ticket,
            job_mandatory_elements=mandatory,
            idempotency_key=idempotency_key or new_idempotency_key(),
        )
        return (await self.submit(request, ops.CreateJobResponse)).job

    async def submit(self, request: ops.CreateJob, response_type: type[Created]) -> Created:
        """A CreateJob or PrintJob (with its idempotency key), sent again while its
        outcome is unknown: the service answers a request it has seen with the job the
        first made, so however often it went, there is one job. An attempt that ends
        OutcomeUnknown or NoAnswer is repeated, once the session is online again and
        after a short back-off, within the enclosing time_limit() (without one, within
        `request_timeout` in all). An attempt waits RESEND_FIRST seconds, the next twice
        as long and so on (at most `request_timeout`): a service that restarted before
        the session's probe noticed it answers the probe but never the request it lost,
        and nothing else tells a client so. A first attempt that was not delivered, or
        any answer of the service, ends it; if time runs out after an unknown outcome,
        that error is raised (a later bounce does not make it "not delivered"). The
        error carries the key (`idempotency_key`): sending the request again with it
        later is as safe."""
        key = request.idempotency_key
        left = time_left(float("inf"))
        unknown: CloudImagingError | None = None
        attempts = 0
        backoff = Backoff(first=RETRY_FIRST, cap=RETRY_CAP)
        wait = RESEND_FIRST if key is not None else self.settings.request_timeout
        with time_limit(self.settings.request_timeout if left == float("inf") else left):
            while True:
                attempts += 1
                try:
                    return await self.session.request(
                        request,
                        response_type,
                        min(wait, self.settings.request_timeout),
                        on_answer=self._follow_new,
                    )
                except CloudImagingError as error:
                    error.idempotency_key = key
                    if error.delivered is None and key is not None:
                        unknown = error  # it may have been done: ask again, the same way
                    elif unknown is None or error.delivered:
                        raise
                wait *= 2
                if not await self._pause_before_retry(backoff.next_delay()):
                    assert unknown is not None
                    raise _gave_up(unknown, attempts)

    async def _pause_before_retry(self, delay: float) -> bool:
        """Wait `delay` seconds and until the session is online, within the time limit;
        False if the time runs out first."""
        left = time_left(float("inf"))
        if left <= delay:
            return False
        await asyncio.sleep(delay)
        if self.session.online.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(time_left(float("inf")), 0)):
                await self.session.online.wait()
                return True
        return False

    async def print_document(
        self,
        queue: str,
        data: bytes,
        *,
        document_name: str,
        document_format: str = "application/octet-stream",
        job_name: str | None = None,
        ticket: JobTicket | None = None,
        mandatory: list[str] | None = None,
        service_type: ServiceType = ServiceType.PRINT,
        idempotency_key: str | None = None,
    ) -> JobStatus:
        """IPP Print-Job: a job with one small document (up to INLINE_DOCUMENT_MAX
        octets) in one request; returns the job committed and closed. Safe to retry:
        see `submit`."""
        request = ops.PrintJob(
            service_type=service_type,
            printer_name=queue,
            job_name=job_name,
            job_ticket=ticket,
            job_mandatory_elements=mandatory,
            idempotency_key=idempotency_key or new_idempotency_key(),
            document_name=document_name,
            document_format=document_format,
            document_digest=hashlib.sha256(data).hexdigest(),
            document_data=data,
        )
        return (await self.submit(request, ops.PrintJobResponse)).job

    async def send_document(
        self,
        job_id: int,
        path: Path,
        *,
        document_format: str | None = None,
        last_document: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> Uploaded:
        """Send<Service>Document from a file, checked end to end by SHA-256: up to
        MEASURE_LIMIT bytes the digest is computed first and the service checks it;
        a bigger file is read once, hashed while it streams, and the digest the service
        answers is compared (on a mismatch the job is canceled so that what the service
        got is not printed, and DocumentAccessError raised)."""
        name = path.name[:255]
        document_format = document_format or guess_format(path)
        size = (await asyncio.to_thread(path.stat)).st_size
        if size <= INLINE_DOCUMENT_MAX:
            data = await _small_file(path)
            if data is not None:  # else it grew meanwhile: stream it
                uploaded = await self.send_document_data(
                    job_id,
                    data,
                    document_name=name,
                    document_format=document_format,
                    last_document=last_document,
                )
                if progress is not None:
                    progress(len(data))
                return uploaded
        if size <= MEASURE_LIMIT:
            size, digest = await asyncio.to_thread(_measure, path)
            return await self.send_document_stream(
                job_id,
                _read_file(path, progress),
                document_name=name,
                document_format=document_format,
                last_document=last_document,
                size=size,
                digest=digest,
            )
        streamed = hashlib.sha256()
        uploaded = await self.send_document_stream(
            job_id,
            _read_file(path, progress, streamed),
            document_name=name,
            document_format=document_format,
            last_document=last_document,
            size=size,  # the service checks the size; the digest is compared below
        )
        if uploaded.digest != streamed.hexdigest() or uploaded.size != size:
            with contextlib.suppress(CloudImagingError):
                await self.cancel_job(job_id, "the stored document does not match the file")
            raise DocumentAccessError(
                f"the service stored {uploaded.size} octets with SHA-256 {uploaded.digest}, "
                f"but {path.name} read as {size} octets with SHA-256 {streamed.hexdigest()}"
            )
        return uploaded

    async def send_document_data(
        self,
        job_id: int,
        data: bytes,
        *,
        document_name: str,
        document_format: str = "application/octet-stream",
        last_document: bool = True,
    ) -> Uploaded:
        """Send<Service>Document with a small document (up to INLINE_DOCUMENT_MAX octets)
        in the request itself: one round trip, committed when it returns."""
        digest = hashlib.sha256(data).hexdigest()
        response = await self.session.request(
            ops.SendDocument(
                job_id=job_id,
                document_name=document_name,
                document_format=document_format,
                document_size=len(data),
                document_digest=digest,
                last_document=last_document,
                document_data=data,
            ),
            ops.SendDocumentResponse,
        )
        assert response.document_number is not None
        return Uploaded(
            document_number=response.document_number,
            size=len(data),
            digest=digest,  # the service checked it against the bytes it stored
            job_state=response.job_state.value,
            job_state_reasons=list(response.job_state_reasons),
        )

    async def send_document_stream(
        self,
        job_id: int,
        chunks: AsyncIterator[bytes],
        *,
        document_name: str,
        document_format: str = "application/octet-stream",
        last_document: bool = True,
        size: int | None = None,
        digest: str | None = None,
    ) -> Uploaded:
        """Send<Service>Document from a stream (the IPP gateway relays request bodies this
        way): never held whole in memory. With size and digest the service checks both."""
        slot = await self.session.request(
            ops.SendDocument(
                job_id=job_id,
                document_name=document_name,
                document_format=document_format,
                document_size=size,
                document_digest=digest,
                last_document=last_document,
            ),
            ops.SendDocumentResponse,
        )
        assert slot.upload_uri is not None
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["Content-Length"] = str(size)
        body = await self._put(slot.upload_uri, chunks, headers)
        return Uploaded(
            document_number=int(body["document-number"]),
            size=int(body["document-size"]),
            digest=str(body["document-digest"]),
            job_state=str(body["job-state"]),
            job_state_reasons=list(body["job-state-reasons"]),
        )

    async def _put(
        self, uri: str, chunks: AsyncIterator[bytes], headers: dict[str, str]
    ) -> dict[str, Any]:
        """The HTTPS upload, bounded by the enclosing time_limit(); failures say whether
        the service got the document."""
        left = time_left(float("inf"))
        try:
            async with asyncio.timeout(None if left == float("inf") else max(left, 0)):
                async with self._http_session().put(uri, data=chunks, headers=headers) as response:
                    body = await _json_body(response)
        except TimeoutError:
            raise NoAnswer("the upload did not finish within the time limit") from None
        except aiohttp.ClientConnectorError as exc:
            raise NotDelivered(f"could not reach the upload URL: {exc}") from None
        except aiohttp.ClientError as exc:
            raise OutcomeUnknown(f"the upload broke off: {exc}") from None
        if response.status != 201:
            raise error_for(
                str(body.get("status", "server-error-internal-error")),
                str(body.get("message", f"upload failed with HTTP {response.status}")),
            )
        return body

    async def add_hardcopy_document(
        self, job_id: int, *, input_source: str | None = None, last_document: bool = True
    ) -> ops.AddHardcopyDocumentResponse:
        """Add<Service>HardcopyDocument: the device scans it (Scan, and EmailOut or
        FaxOut from hardcopy); the job's ticket says how."""
        return await self.session.request(
            ops.AddHardcopyDocument(
                job_id=job_id, input_source=input_source, last_document=last_document
            ),
            ops.AddHardcopyDocumentResponse,
        )

    async def get_document_data(
        self, job_id: int, document_number: int, *, accept_inline: bool = True
    ) -> ops.GetDocumentDataResponse:
        return await self.session.request(
            ops.GetDocumentData(
                job_id=job_id,
                document_number=document_number,
                document_data_accepted=accept_inline,
            ),
            ops.GetDocumentDataResponse,
        )

    async def download_document(self, job_id: int, document_number: int, path: Path) -> int:
        """A job's document (a scan) into `path`, streamed and checked by size and
        SHA-256 before it takes that name; returns its size. Only the job's owner and
        administrators may."""
        found = await self.get_document_data(job_id, document_number)
        part = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            if found.document_data is not None:
                data = found.document_data
                await asyncio.to_thread(part.write_bytes, data)
                size, digest = len(data), hashlib.sha256(data).hexdigest()
            elif found.document_access_uri is not None:
                size, digest = await self._get(found.document_access_uri, part)
            else:
                raise DocumentAccessError("the service sent neither the data nor a URL for it")
            if (size, digest) != (found.document_size, found.document_digest):
                raise DocumentAccessError(
                    f"document {document_number} arrived as {size} octets with SHA-256 "
                    f"{digest}; the service said {found.document_size} octets with "
                    f"{found.document_digest}"
                )
            await asyncio.to_thread(part.replace, path)
        finally:
            await asyncio.to_thread(part.unlink, missing_ok=True)
        return size

    async def _get(self, uri: str, part: Path) -> tuple[int, str]:
        """The HTTPS download into `part`, hashed as it arrives, bounded by the enclosing
        time_limit()."""
        digest = hashlib.sha256()
        size = 0
        left = time_left(float("inf"))
        f = await asyncio.to_thread(part.open, "wb")
        try:
            async with asyncio.timeout(None if left == float("inf") else max(left, 0)):
                async with self._http_session().get(uri) as response:
                    if response.status != 200:
                        body = await _json_body(response)
                        raise error_for(
                            str(body.get("status", "client-error-document-access-error")),
                            str(
                                body.get("message", f"download failed with HTTP {response.status}")
                            ),
                        )
                    async for chunk in response.content.iter_chunked(READ_CHUNK):
                        size += len(chunk)
                        await asyncio.to_thread(_write_hashing, f, chunk, digest)
        except TimeoutError:
            raise NoAnswer("the download did not finish within the time limit") from None
        except aiohttp.ClientError as exc:
            raise DocumentAccessError(f"the download broke off: {exc}") from None
        finally:
            await asyncio.to_thread(f.close)
        return size, digest.hexdigest()

    async def close_job(self, job_id: int) -> ops.SendDocumentResponse:
        """Send<Service>Document with LastDocument and no data (the older way to close;
        Close<Service>Job is `close`)."""
        return await self.session.request(
            ops.SendDocument(job_id=job_id, last_document=True, no_data=True),
            ops.SendDocumentResponse,
        )

    async def get_job(self, job_id: int) -> JobStatus:
        response = await self.session.request(
            ops.GetJobElements(job_id=job_id), ops.GetJobElementsResponse
        )
        return response.job

    async def cancel_job(self, job_id: int, message: str | None = None) -> JobStatus:
        response = await self.session.request(
            ops.CancelJob(job_id=job_id, message=message), ops.CancelJobResponse
        )
        return response.job

    async def send_uri(
        self,
        job_id: int,
        uri: str,
        *,
        document_format: str | None = None,
        document_name: str | None = None,
        last_document: bool = True,
    ) -> ops.SendUriResponse:
        """Send<Service>Uri: the service fetches the document itself."""
        return await self.session.request(
            ops.SendUri(
                job_id=job_id,
                document_uri=uri,
                document_name=document_name,
                document_format=document_format or "application/octet-stream",
                last_document=last_document,
            ),
            ops.SendUriResponse,
        )

    async def get_jobs(
        self,
        queue: str | None = None,
        *,
        which: str = "not-completed",
        my_jobs: bool = True,
        limit: int | None = None,
        service_types: tuple[ServiceType, ...] = (ServiceType.PRINT,),
    ) -> list[JobStatus]:
        """GetActive<Service>Jobs (which='not-completed'), Get<Service>JobHistory
        ('completed'), or both ('all': active first, then history), of each service
        in `service_types` (one request each; a queue of another service is skipped)."""
        if which not in ("not-completed", "completed", "all"):
            raise ValueError(f"which-jobs {which!r}")
        active: list[JobStatus] = []
        history: list[JobStatus] = []
        asked: list[tuple[type[ops.GetActiveJobs] | type[ops.GetJobHistory], list[JobStatus]]] = []
        if which in ("not-completed", "all"):
            asked.append((ops.GetActiveJobs, active))
        if which in ("completed", "all"):
            asked.append((ops.GetJobHistory, history))
        for service in service_types:
            try:
                for request, into in asked:
                    listing = await self.session.request(
                        request(
                            service_type=service, printer_name=queue, my_jobs=my_jobs, limit=limit
                        ),
                        ops.JobList,
                    )
                    into += listing.job
            except NotFound:
                if queue is None or len(service_types) == 1:
                    raise  # only "no such queue of this service" is skipped
        if len(service_types) > 1:  # one list per service: merged in each list's order
            active.sort(key=lambda j: j.job_id)
            history.sort(key=lambda j: (-(j.time_at_completed or 0), -j.job_id))
        lists = active + history
        return lists[:limit] if limit else lists

    async def get_job_elements(
        self, job_id: int, groups: list[str] | None = None
    ) -> ops.GetJobElementsResponse:
        return await self.session.request(
            ops.GetJobElements(job_id=job_id, requested_elements=groups),
            ops.GetJobElementsResponse,
        )

    async def get_documents(self, job_id: int) -> ops.GetDocumentsResponse:
        return await self.session.request(ops.GetDocuments(job_id=job_id), ops.GetDocumentsResponse)

    async def get_document(self, job_id: int, document_number: int) -> DocumentStatus:
        response = await self.session.request(
            ops.GetDocumentElements(job_id=job_id, document_number=document_number),
            ops.GetDocumentElementsResponse,
        )
        return response.document

    async def cancel_document(
        self, job_id: int, document_number: int, message: str | None = None
    ) -> DocumentStatus:
        response = await self.session.request(
            ops.CancelDocument(job_id=job_id, document_number=document_number, message=message),
            ops.DocumentResponse,
        )
        return response.document

    async def set_document_elements(
        self,
        job_id: int,
        document_number: int,
        *,
        ticket: JobTicket | None = None,
        document_name: str | None = None,
        delete: list[str] | None = None,
    ) -> DocumentStatus:
        response = await self.session.request(
            ops.SetDocumentElements(
                job_id=job_id,
                document_number=document_number,
                document_ticket=ticket,
                document_name=document_name,
                delete_elements=delete,
            ),
            ops.DocumentResponse,
        )
        return response.document

    async def close(self, job_id: int) -> JobStatus:
        """Close<Service>Job."""
        response = await self.session.request(ops.CloseJob(job_id=job_id), ops.CloseJobResponse)
        return response.job

    async def cancel_my_jobs(
        self, queue: str | None = None, job_ids: list[int] | None = None, message: str | None = None
    ) -> ops.CancelMyJobsResponse:
        return await self.session.request(
            ops.CancelMyJobs(printer_name=queue, job_ids=job_ids, message=message),
            ops.CancelMyJobsResponse,
        )

    async def cancel_current_job(
        self, queue: str, job_id: int | None = None, message: str | None = None
    ) -> list[JobStatus]:
        response = await self.session.request(
            ops.CancelCurrentJob(printer_name=queue, job_id=job_id, message=message),
            ops.JobsResponse,
        )
        return response.job

    async def suspend_current_job(
        self, queue: str, job_id: int | None = None, message: str | None = None
    ) -> list[JobStatus]:
        response = await self.session.request(
            ops.SuspendCurrentJob(printer_name=queue, job_id=job_id, message=message),
            ops.JobsResponse,
        )
        return response.job

    async def resume_job(self, job_id: int, message: str | None = None) -> JobStatus:
        response = await self.session.request(
            ops.ResumeJob(job_id=job_id, message=message), ops.JobResponse
        )
        return response.job

    async def set_job_elements(
        self,
        job_id: int,
        ticket: JobTicket | None = None,
        delete: list[str] | None = None,
        *,
        job_name: str | None = None,
    ) -> JobStatus:
        """Set<Service>JobElements: atomic; `delete` names elements to remove."""
        response = await self.session.request(
            ops.SetJobElements(
                job_id=job_id, job_ticket=ticket, delete_elements=delete, job_name=job_name
            ),
            ops.JobResponse,
        )
        return response.job

    async def hold_job(self, job_id: int, until: str = "indefinite") -> JobStatus:
        """IPP Hold-Job: job-hold-until through Set<Service>JobElements."""
        return await self.set_job_elements(job_id, JobTicket(job_hold_until=until))

    async def release_job(self, job_id: int) -> JobStatus:
        """IPP Release-Job: job-hold-until removed through Set<Service>JobElements."""
        return await self.set_job_elements(job_id, delete=["job-hold-until"])

    async def release_at(
        self, device: str, job_ids: list[int] | None = None
    ) -> ops.ReleaseJobsResponse:
        """Release jobs a queue holds for release at the device (PWG 5100.11): the ones
        named, or (None) every one of the caller's that waits on a queue `device` serves.
        They print at that device."""
        return await self.session.request(
            ops.ReleaseJobs(output_device=device, job_ids=job_ids or None),
            ops.ReleaseJobsResponse,
        )

    async def resubmit_job(self, job_id: int, overrides: JobTicket | None = None) -> JobStatus:
        response = await self.session.request(
            ops.ResubmitJob(job_id=job_id, job_ticket=overrides),
            ops.JobResponse,
            on_answer=self._follow_new,
        )
        return response.job

    async def validate_job_ticket(
        self, queue: str, ticket: JobTicket, mandatory: list[str] | None = None
    ) -> list[str]:
        """Validate<Service>JobTicket: the elements the queue would drop (none: [])."""
        response = await self.session.request(
            ops.ValidateJobTicket(
                printer_name=queue, job_ticket=ticket, job_mandatory_elements=mandatory
            ),
            ops.ValidateResponse,
        )
        return response.unsupported_elements or []

    async def validate_document_ticket(self, queue: str, ticket: JobTicket) -> list[str]:
        response = await self.session.request(
            ops.ValidateDocumentTicket(printer_name=queue, document_ticket=ticket),
            ops.ValidateResponse,
        )
        return response.unsupported_elements or []

    async def get_service_elements(
        self,
        queue: str,
        groups: list[str] | None = None,
        service_type: ServiceType = ServiceType.PRINT,
    ) -> ServiceElements:
        response = await self.session.request(
            ops.GetServiceElements(
                service_type=service_type, printer_name=queue, requested_elements=groups
            ),
            ops.GetServiceElementsResponse,
        )
        return response.service

    async def service_type_of(self, queue: str) -> ServiceType:
        """The queue's service (GetServices), print when the list does not name it."""
        for service in await self.list_queues():
            if service.description is not None and service.description.printer_name == queue:
                return ServiceType(service.description.service_type)
        return ServiceType.PRINT

    async def identify_printer(
        self, queue: str, *, actions: list[str] | None = None, message: str | None = None
    ) -> bool:
        """IPP Identify-Printer, relayed to the queue's device; False if none is there."""
        response = await self.session.request(
            ops.IdentifyPrinter(printer_name=queue, identify_actions=actions, message=message),
            ops.IdentifyPrinterResponse,
        )
        return response.device_online

    async def list_queues(self) -> list[ServiceElements]:
        response = await self.session.request(ops.GetServices(), ops.GetServicesResponse)
        return response.service

    async def print_files(
        self,
        queue: str,
        paths: list[Path],
        *,
        job_name: str | None = None,
        ticket: JobTicket | None = None,
        mandatory: list[str] | None = None,
        service_type: ServiceType = ServiceType.PRINT,
        idempotency_key: str | None = None,
    ) -> JobStatus:
        """Create one job holding every file, in order; returns the job once closed.
        One small file goes as Print-Job: one request. EmailOut and FaxOut jobs take
        their files the same way (service_type, and destination-uris in the ticket).
        The job is created once however often its request has to go (`submit`); the
        documents of a bigger job are sent once each (a SendDocument whose outcome is
        unknown is not repeated)."""
        if len(paths) == 1:
            data = await _small_file(paths[0])
            if data is not None:
                return await self.print_document(
                    queue,
                    data,
                    document_name=paths[0].name[:255],
                    document_format=guess_format(paths[0]),
                    job_name=job_name or paths[0].name[:255],
                    ticket=ticket,
                    mandatory=mandatory,
                    service_type=service_type,
                    idempotency_key=idempotency_key,
                )
        job = await self.create_job(
            queue,
            job_name=job_name or paths[0].name,
            ticket=ticket,
            mandatory=mandatory,
            service_type=service_type,
            idempotency_key=idempotency_key,
        )
        for index, path in enumerate(paths):
            await self.send_document(job.job_id, path, last_document=index == len(paths) - 1)
        return await self.get_job(job.job_id)

    # --- events ---------------------------------------------------------------------
    async def job_updates(
        self, job_id: int, *, timeout: float | None = None
    ) -> AsyncIterator[JobStatus]:
        """The job's states as they change, ending with its final state. Starts with the
        current state, so nothing that happened before the call is missed. `timeout`
        (and an enclosing time_limit()) bounds the wait for each next state: WaitTimeout
        when it runs out; the job itself carries on."""
        events = self._queue(job_id)
        self._watched[job_id] += 1
        known = self._known.get(job_id)
        while not events.empty():  # superseded by the latest state
            known = events.get_nowait().job
        # Pushes of a job we created arrive in commit order on this connection, so the
        # latest one is its state; otherwise (another's job, or after a reconnect) ask.
        current = known if known is not None else await self.get_job(job_id)
        yield current
        last = (current.job_state, tuple(current.job_state_reasons))
        try:
            while not current.job_state.is_terminal:
                event = await _next_event(events, job_id, timeout)
                current = event.job
                if (current.job_state, tuple(current.job_state_reasons)) != last:
                    last = (current.job_state, tuple(current.job_state_reasons))
                    yield current
        finally:
            self._watched[job_id] -= 1
            if not self._watched[job_id]:
                del self._watched[job_id]
                if current.job_state.is_terminal:
                    self._events.pop(job_id, None)
                    self._known.pop(job_id, None)

    async def wait_for_final(self, job_id: int, timeout: float | None = None) -> JobStatus:
        final: JobStatus | None = None
        async for status in self.job_updates(job_id, timeout=timeout):
            final = status
        assert final is not None
        return final

    async def _refresh_watched(self) -> None:
        """After a reconnect: pushes sent while we were away are lost, so ask."""
        for job_id in list(self._watched):
            with contextlib.suppress(CloudImagingError):
                job = await self.get_job(job_id)
                self._queue(job_id).put_nowait(ops.JobEvent(job=job))

    def _follow_new(self, response: ops.CreateJobResponse | ops.JobResponse) -> None:
        """A job this client just created: from now on no event of it is lost, and its
        state as the answer gave it is the latest known. Called as the answer is read
        (the session's `on_answer`), before the stanzas behind it in the same read: the
        job's first push may be the very next one (it was dropped, and job_updates then
        waited on the answer's state, when this ran only once the request's coroutine
        resumed)."""
        job = response.job
        self._queue(job.job_id)
        self._known[job.job_id] = job

    async def _forget_known(self) -> None:
        self._known.clear()  # pushes may have been lost while we were away

    def _queue(self, job_id: int) -> asyncio.Queue[ops.JobEvent]:
        return self._events.setdefault(job_id, asyncio.Queue())

    def _on_message(self, element: ET.Element) -> None:
        try:
            event = ops.JobEvent.from_xml(element)
        except CloudImagingError:
            return
        job_id = event.job.job_id
        queue = self._events.get(job_id)
        if queue is None:
            return  # not a job this client created or follows
        if event.job.job_state.is_terminal and not self._watched[job_id]:
            del self._events[job_id]  # nobody is following it: keep nothing
            self._known.pop(job_id, None)
            return
        if job_id in self._known:
            self._known[job_id] = event.job
        queue.put_nowait(event)

    def _http_session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=120),
            )
        return self._http


async def _next_event(
    events: asyncio.Queue[ops.JobEvent], job_id: int, timeout: float | None
) -> ops.JobEvent:
    wait = time_left(float("inf") if timeout is None else timeout)
    try:
        return await asyncio.wait_for(events.get(), None if wait == float("inf") else wait)
    except TimeoutError:
        shown = f"{wait:g} s" if wait > 0 else "the time limit"
        raise WaitTimeout(
            f"job {job_id} did not reach a final state within {shown}", job_ids=[job_id]
        ) from None


async def _small_file(path: Path) -> bytes | None:
    """The file's bytes if it is small enough to travel in-band, else None."""

    def read() -> bytes | None:
        with path.open("rb") as f:
            data = f.read(INLINE_DOCUMENT_MAX + 1)
        return data if len(data) <= INLINE_DOCUMENT_MAX else None

    return await asyncio.to_thread(read)


async def _json_body(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _measure(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()


def _write_hashing(f: BinaryIO, chunk: bytes, digest: Any) -> None:
    digest.update(chunk)
    f.write(chunk)


def _read_hashing(f: BinaryIO, digest: Any) -> bytes:
    chunk = f.read(READ_CHUNK)
    if digest is not None:
        digest.update(chunk)  # hashlib lets go of the GIL for big updates
    return chunk


async def _read_file(
    path: Path, progress: Callable[[int], None] | None, digest: Any = None
) -> AsyncIterator[bytes]:
    """The file, READ_CHUNK bytes per thread hop (hashed there into `digest` if given),
    the next chunk read while this one is sent."""
    loop = asyncio.get_running_loop()
    f = await asyncio.to_thread(path.open, "rb")
    ahead: asyncio.Future[bytes] | None = loop.run_in_executor(None, _read_hashing, f, digest)
    try:
        while ahead is not None and (chunk := await ahead):
            ahead = loop.run_in_executor(None, _read_hashing, f, digest)
            if progress is not None:
                progress(len(chunk))
            yield chunk
        ahead = None
    finally:
        if ahead is None or ahead.done():
            if ahead is not None and not ahead.cancelled():
                ahead.exception()
            f.close()
        else:  # stopped early: close once the thread is done with the file
            ahead.add_done_callback(lambda fut: None if fut.cancelled() else fut.exception())
            ahead.add_done_callback(lambda _: f.close())
