"""An async IPP client over aiohttp (RFC 8010 §4: IPP over HTTP POST).

``IppClient("ipp://127.0.0.1:8631/ipp/print")`` posts ``application/ipp`` messages to
the printer (ipp:// is sent as http://, ipps:// as https://, default port 631). Document
data given as an async iterator is streamed, never held whole in memory: with a
Content-Length when the caller gives its size (the printer can then tell a cut-off
request from a whole one), else with chunked transfer encoding.

Errors: ``IppError`` for a response whose status is not successful;
``IppTransportError`` for connection, timeout or HTTP-level failures; ``IppParseError``
(from the codec) for a malformed response.
"""

from __future__ import annotations

import itertools
import ssl as _ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from .codec import (
    DEFAULT_MAX_SIZE,
    IppGroup,
    IppMessage,
    IppParseError,
    IppRequest,
    decode_stream,
    encode,
)
from .constants import GroupTag, Operation, is_successful, status_name

__all__ = ["IppClient", "IppError", "IppTransportError", "http_url"]

DocumentData = AsyncIterator[bytes] | bytes | bytearray | memoryview | None


class IppError(Exception):
    """The printer answered with a non-successful status."""

    def __init__(
        self,
        status_code: int,
        status_name: str,
        message: str = "",
        response: IppMessage | None = None,
    ) -> None:
        super().__init__(f"{status_name}: {message}" if message else status_name)
        self.status_code = status_code
        self.status_name = status_name
        self.message = message
        self.response = response


class IppTransportError(Exception):
    """The request did not get an IPP response: connection refused or lost, timeout,
    an HTTP error status or a response that is not application/ipp."""


def http_url(printer_uri: str) -> str:
    """The HTTP URL for an IPP printer URI (ipp → http, ipps → https, port 631 default)."""
    parts = urlsplit(printer_uri)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return printer_uri
    if scheme not in ("ipp", "ipps"):
        raise ValueError(f"not an ipp:, ipps:, http: or https: URI: {printer_uri!r}")
    if not parts.hostname:
        raise ValueError(f"no host in {printer_uri!r}")
    netloc = parts.netloc if parts.port is not None else f"{parts.netloc}:631"
    return urlunsplit(
        ("http" if scheme == "ipp" else "https", netloc, parts.path or "/", parts.query, "")
    )


class IppClient:
    """An IPP client for one printer URI. Use as ``async with IppClient(uri) as c:`` or
    call ``close()``; a session passed in is not closed by the client."""

    def __init__(
        self,
        printer_uri: str,
        *,
        session: aiohttp.ClientSession | None = None,
        ssl: _ssl.SSLContext | bool | None = None,
        requesting_user_name: str = "cirrus",
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_response_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        self.printer_uri = printer_uri
        self.url = http_url(printer_uri)
        self.requesting_user_name = requesting_user_name
        self.max_response_size = max_response_size
        self._session = session
        self._own_session = session is None
        self._ssl: _ssl.SSLContext | bool = True if ssl is None else ssl
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_connect=connect_timeout, sock_read=timeout
        )
        self._ids = itertools.count(1)

    async def __aenter__(self) -> IppClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
            self._own_session = True
        return self._session

    def next_request_id(self) -> int:
        return next(self._ids) % 0x7FFFFFFF or 1

    def new_request(self, operation: int, *, with_user: bool = True) -> IppRequest:
        """A request with a fresh request-id, printer-uri and requesting-user-name."""
        req = IppRequest(operation, self.next_request_id())
        req.operation_attributes(printer_uri=self.printer_uri)
        if with_user:
            req.operation_attributes(requesting_user_name=self.requesting_user_name)
        return req

    async def request(
        self,
        msg: IppMessage,
        data: DocumentData = None,
        *,
        check: bool = True,
        data_size: int | None = None,
    ) -> IppMessage:
        """Send ``msg`` (followed by ``data``, streamed if it is an async iterator) and
        return the response; raise IppError for a non-successful status if ``check``.
        ``data_size``: the octets an async iterator yields, sent as the Content-Length
        (an iterator that yields more or fewer fails the request)."""
        head = encode(msg)
        body: bytes | AsyncIterator[bytes]
        headers = {"Content-Type": "application/ipp", "Accept": "application/ipp"}
        if data is None:
            body = head
        elif isinstance(data, bytes | bytearray | memoryview):
            body = head + bytes(data)
        elif data_size is not None:
            body = _chain(head, _exactly(data, data_size))
            headers["Content-Length"] = str(len(head) + data_size)
        else:
            body = _chain(head, data)
        session = self._get_session()
        try:
            async with session.post(
                self.url,
                data=body,
                headers=headers,
                ssl=self._ssl,
                timeout=self._timeout,
            ) as resp:
                if resp.status != 200:
                    raise IppTransportError(f"HTTP {resp.status} {resp.reason} from {self.url}")
                if resp.content_type != "application/ipp":
                    raise IppTransportError(
                        f"{self.url} answered with {resp.content_type!r}, not application/ipp"
                    )
                response = await decode_stream(resp.content, max_size=self.max_response_size)
        except (IppTransportError, IppParseError):
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise IppTransportError(
                f"{self.url}: {type(exc).__name__}: {exc}".rstrip(": ")
            ) from exc
        if response.request_id != msg.request_id:
            raise IppParseError(
                f"response request-id {response.request_id} does not match {msg.request_id}"
            )
        if check and not is_successful(response.status_code):
            raise IppError(
                response.status_code,
                status_name(response.status_code),
                response.status_message,
                response,
            )
        return response

    # ------------------------------------------------------------------ operations

    async def get_printer_attributes(
        self, requested: Sequence[str] | None = None, *, document_format: str | None = None
    ) -> IppGroup:
        """Get-Printer-Attributes; returns the printer attributes group."""
        req = self.new_request(Operation.GET_PRINTER_ATTRIBUTES)
        req.operation_attributes(
            requested_attributes=list(requested) if requested else None,
            document_format=document_format,
        )
        resp = await self.request(req)
        return resp.group(GroupTag.PRINTER) or IppGroup(GroupTag.PRINTER)

    async def create_job(
        self,
        job_name: str | None = None,
        *,
        job_attributes: Mapping[str, Any] | None = None,
        operation_attributes: Mapping[str, Any] | None = None,
    ) -> int:
        """Create-Job; returns the job-id."""
        req = self.new_request(Operation.CREATE_JOB)
        req.operation_attributes(job_name=job_name)
        if operation_attributes:
            req.operation_attributes(operation_attributes)
        if job_attributes:
            req.job_attributes(job_attributes)
        return _job_id(await self.request(req))

    async def send_document(
        self,
        job_id: int,
        data: DocumentData,
        document_format: str = "application/octet-stream",
        document_name: str | None = None,
        last_document: bool = True,
    ) -> IppMessage:
        """Send-Document (the data is streamed when it is an async iterator)."""
        req = self.new_request(Operation.SEND_DOCUMENT)
        req.operation_attributes(
            job_id=job_id,
            document_name=document_name,
            document_format=document_format,
            last_document=last_document,
        )
        return await self.request(req, data)

    async def print_job(
        self,
        data: DocumentData,
        document_format: str = "application/octet-stream",
        job_name: str | None = None,
        *,
        document_name: str | None = None,
        job_attributes: Mapping[str, Any] | None = None,
    ) -> int:
        """Print-Job; returns the job-id."""
        req = self.new_request(Operation.PRINT_JOB)
        req.operation_attributes(
            job_name=job_name, document_name=document_name, document_format=document_format
        )
        if job_attributes:
            req.job_attributes(job_attributes)
        return _job_id(await self.request(req, data))

    async def get_job_attributes(
        self, job_id: int, requested: Sequence[str] | None = None
    ) -> IppGroup:
        """Get-Job-Attributes; returns the job attributes group."""
        req = self.new_request(Operation.GET_JOB_ATTRIBUTES)
        req.operation_attributes(
            job_id=job_id, requested_attributes=list(requested) if requested else None
        )
        resp = await self.request(req)
        return resp.group(GroupTag.JOB) or IppGroup(GroupTag.JOB)

    async def cancel_job(self, job_id: int, *, message: str | None = None) -> None:
        """Cancel-Job."""
        req = self.new_request(Operation.CANCEL_JOB)
        req.operation_attributes(job_id=job_id, message=message)
        await self.request(req)

    async def get_jobs(
        self,
        which_jobs: str = "not-completed",
        requested: Sequence[str] | None = None,
        *,
        limit: int | None = None,
        my_jobs: bool | None = None,
    ) -> list[IppGroup]:
        """Get-Jobs; returns one job attributes group per job."""
        req = self.new_request(Operation.GET_JOBS)
        req.operation_attributes(
            which_jobs=which_jobs,
            limit=limit,
            my_jobs=my_jobs,
            requested_attributes=list(requested) if requested else None,
        )
        resp = await self.request(req)
        return resp.groups_of(GroupTag.JOB)


def _job_id(resp: IppMessage) -> int:
    job_id = resp.first("job-id", group=GroupTag.JOB)
    if not isinstance(job_id, int) or isinstance(job_id, bool):
        raise IppParseError("the response carries no job-id")
    return job_id


async def _chain(head: bytes, data: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in data:
        if chunk:
            yield bytes(chunk)


async def _exactly(data: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """`data`, failing (which aborts the request) unless it is `size` octets long: a
    Content-Length that does not match would cut the body or leave the printer waiting."""
    seen = 0
    async for chunk in data:
        seen += len(chunk)
        if seen > size:
            raise IppTransportError(f"the document is longer than its {size} octets")
        yield chunk
    if seen != size:
        raise IppTransportError(f"the document ended after {seen} of {size} octets")
