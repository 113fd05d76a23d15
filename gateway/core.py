"""The gateway's request handler: bytes in, IPP response out, independent of HTTP.

``Gateway.handle`` reads the attribute part of a request from a stream (never the whole
body), checks it as RFC 8011 §4.1 asks (version, request-id, the operation group and its
first two attributes, the target), identifies the user, dispatches to the operation's
handler and turns every failure into an IPP status: it never raises for anything a
client sends. The HTTP layer (``gateway.http``) and the in-process fuzz test both call it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from ipp.codec import (
    IppAttribute,
    IppMessage,
    IppParseError,
    IppStreamDecoder,
    encode,
    make_response,
)
from ipp.constants import GroupTag, Operation, StatusCode, ValueTag
from stanzas.errors import CloudImagingError

from . import (  # noqa: F401  (they register their operations)
    admin_ops,
    document_ops,
    job_control_ops,
    job_ops,
    printer_ops,
    subscription_ops,
)
from .attributes import PrinterContext, QueueInfo, printer_uuid
from .cloud import CloudClient, Directory
from .credentials import Refused, bare_jid, saslprep
from .dispatch import OPERATIONS, OperationSpec, supported_operations
from .errors import IppStatusError, bad_request, not_found, status_for
from .logs import ClientErrors, clip
from .queue_watch import QueueWatch
from .request import Body, Endpoint, Identity, Request
from .sessions import NotAuthenticated, Sessions, TooManyLogins
from .settings import GatewaySettings
from .subscriptions import Subscriptions

log = logging.getLogger(__name__)

S = StatusCode
#: Largest attribute part accepted (the document data that follows is not limited here).
MAX_ATTRIBUTES = 1024 * 1024
READ_CHUNK = 64 * 1024
#: How long queue facts are reused before the service is asked again.
QUEUE_INFO_TTL = 2.0


class Reader(Protocol):
    """What the request body comes from (aiohttp's and asyncio's StreamReader fit)."""

    async def read(self, n: int = -1) -> bytes: ...


class AuthRequired(Exception):
    """The request needs credentials (answered with HTTP 401 and a Basic challenge)."""


class BodyError(Exception):
    """Reading the request body failed: it broke off, or its HTTP framing was wrong. The
    client's error, not the gateway's."""


class _GuardedReader:
    """The request body, remembering the first failure to read it (whatever layer the
    failure surfaces through afterwards: the client library's upload, say)."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self.failure: BaseException | None = None

    async def read(self, n: int = -1) -> bytes:
        if self.failure is not None:
            raise BodyError("the request body broke off") from self.failure
        try:
            return await self._reader.read(n)
        except Exception as exc:
            self.failure = exc
            raise BodyError("the request body broke off") from exc


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        sessions: Sessions,
        directory: Directory,
        *,
        service_account: tuple[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.directory = directory
        self.service_account = service_account  # for public reads and anonymous printing
        self.clock = clock
        self.started = int(clock())
        self.subscriptions = Subscriptions(clock)
        self.client_errors = ClientErrors()
        self.internal_errors = 0  # requests answered server-error-internal-error
        self._queue_cache: dict[str, tuple[float, QueueInfo]] = {}
        self.watch = QueueWatch(
            self.subscriptions, self.now, started=self.started, poll_interval=settings.queue_poll
        )
        #: job-id → requesting-user-name of jobs printed anonymously through this gateway
        self.anonymous_jobs: dict[int, str] = {}

    def now(self) -> int:
        return int(self.clock())

    # ------------------------------------------------------------------ entry point
    async def handle(
        self,
        reader: Reader,
        credentials: tuple[str, str] | None,
        endpoint: Endpoint,
        *,
        peer: str | None = None,
    ) -> bytes:
        """Answer one request read from ``reader``; raises only AuthRequired,
        NotAuthenticated (the HTTP layer answers 401) or TooManyLogins (429)."""
        decoder = IppStreamDecoder(max_size=MAX_ATTRIBUTES)
        guard = _GuardedReader(reader)
        head = bytearray()
        try:
            message = None
            while message is None:
                chunk = await guard.read(READ_CHUNK)
                if len(head) < 8:
                    head += chunk[: 8 - len(head)]
                message = decoder.feed_eof() if not chunk else decoder.feed(chunk)
        except IppParseError as exc:
            return encode(self._parse_failure(bytes(head), exc))
        except BodyError:
            self.client_errors.report(peer, "the request broke off", guard.failure)
            stub = self._stub(bytes(head))
            return encode(make_response(stub, S.CLIENT_ERROR_BAD_REQUEST, status_message=_BROKE))
        body = Body(_body_chunks(decoder.rest, guard))
        try:
            response = await self._handle(message, body, credentials, endpoint, peer)
        except (AuthRequired, NotAuthenticated, TooManyLogins):
            raise
        except Exception as exc:
            if body.failure is not None and guard.failure is None:
                failure = IppStatusError(S.CLIENT_ERROR_COMPRESSION_ERROR, clip(body.failure))
                response = self._error(message, failure)
            elif guard.failure is None:
                response = self._error(message, self._status_of(message, exc))
            else:
                what = f"{message.operation_name}: the document broke off"
                self.client_errors.report(peer, what, guard.failure)
                response = self._error(message, bad_request(_BROKE))
        return encode(response)

    def _status_of(self, message: IppMessage, exc: Exception) -> IppStatusError:
        """The one mapping of a failed operation to its IPP status."""
        if isinstance(exc, IppStatusError):
            return exc
        if isinstance(exc, CloudImagingError):
            return IppStatusError(status_for(exc), exc.message)
        if isinstance(exc, TimeoutError):
            return IppStatusError(S.SERVER_ERROR_SERVICE_UNAVAILABLE, "the service timed out")
        if isinstance(exc, ValidationError):
            # A request value the service's protocol cannot carry (a name too long for
            # name(MAX), a control character in a text …): the client's error.
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            return bad_request(clip(f"values the service cannot take: {', '.join(fields)}"))
        self.internal_errors += 1
        log.exception("%s failed", message.operation_name)
        return IppStatusError(S.SERVER_ERROR_INTERNAL_ERROR, "the gateway failed")

    def _stub(self, head: bytes) -> IppMessage:
        request_id = int.from_bytes(head[4:8], "big") if len(head) >= 8 else 0
        return IppMessage(version=(2, 0), code=0, request_id=request_id & 0x7FFFFFFF)

    def _parse_failure(self, head: bytes, exc: IppParseError) -> IppMessage:
        stub = self._stub(head)
        status = (
            S.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
            if "-octet limit" in exc.message
            else S.CLIENT_ERROR_BAD_REQUEST
        )
        return make_response(stub, status, status_message=f"malformed request: {exc}"[:255])

    def _error(self, message: IppMessage, exc: IppStatusError) -> IppMessage:
        response = make_response(message, exc.status, status_message=exc.message[:255])
        response.version = _answer_version(message)
        if exc.unsupported:
            response.add_group(GroupTag.UNSUPPORTED).attributes.extend(exc.unsupported)
        return response

    async def _handle(
        self,
        message: IppMessage,
        body: Body,
        credentials: tuple[str, str] | None,
        endpoint: Endpoint,
        peer: str | None,
    ) -> IppMessage:
        _check_header(message)
        spec = OPERATIONS.get(message.code)
        if spec is None:
            raise IppStatusError(
                S.SERVER_ERROR_OPERATION_NOT_SUPPORTED,
                f"operation 0x{message.code:04x} is not supported",
            )
        queue, job_id = _target(message, spec)
        identity = await self._identify(message, spec, queue, credentials, peer)
        if not spec.available(identity.client):
            raise IppStatusError(
                S.SERVER_ERROR_OPERATION_NOT_SUPPORTED,
                f"{spec.operation.keyword} is not available from the service yet",
            )
        response = make_response(message, S.SUCCESSFUL_OK)
        response.version = _answer_version(message)
        request = Request(
            gateway=self,
            message=message,
            identity=identity,
            queue=queue,
            printer_uri=f"{endpoint.base()}/ipp/print/{queue}",
            job_id=job_id,
            body=body,
            response=response,
            endpoint=endpoint,
        )
        await spec.handler(request)
        named = {a.name for a in request.unsupported}
        request.unsupported += [a for a in spec.unread_attributes(request) if a.name not in named]
        if request.unsupported:
            if response.code == S.SUCCESSFUL_OK:
                response.code = S.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
            unsupported = response.add_group(GroupTag.UNSUPPORTED)
            unsupported.attributes.extend(request.unsupported)
            # RFC 8011 §4.1.7: the unsupported group follows the operation group.
            response.groups.remove(unsupported)
            response.groups.insert(1, unsupported)
        return response

    # ------------------------------------------------------------------ identity
    async def _identify(
        self,
        message: IppMessage,
        spec: OperationSpec,
        queue: str,
        credentials: tuple[str, str] | None,
        peer: str | None,
    ) -> Identity:
        if credentials is not None:
            owner, client = await self.authenticate(credentials, peer)
            return Identity(
                user=owner.split("@", 1)[0],
                owner=owner,
                client=client,
                operator=owner in self.settings.operators,
            )
        anonymous_ok = spec.public or queue in self.settings.anonymous_queues
        if not anonymous_ok or self.service_account is None:
            raise AuthRequired()
        owner, client = await self.authenticate(self.service_account, peer)
        name = message.first("requesting-user-name", "anonymous", group=GroupTag.OPERATION)
        user = name.text if hasattr(name, "text") else str(name)
        return Identity(user=user[:255] or "anonymous", owner=owner, client=client, anonymous=True)

    async def authenticate(
        self, credentials: tuple[str, str], peer: str | None
    ) -> tuple[str, CloudClient]:
        """(bare JID, session) of HTTP Basic credentials. Credentials the XMPP server
        could never accept are refused at once, without a login (gateway.credentials)."""
        user, password = credentials
        try:
            owner = self.jid(user)
            saslprep(password)
        except Refused as exc:
            raise NotAuthenticated(str(exc)) from None
        return owner, await self.sessions.get(owner, password, peer)

    def jid(self, user: str) -> str:
        """The bare JID of a user name (Refused if it cannot be one)."""
        return bare_jid(user, self.settings.domain)

    # ------------------------------------------------------------------ queues
    async def queue_info(self, client: CloudClient, queue: str) -> QueueInfo:
        cached = self._queue_cache.get(queue)
        now = time.monotonic()
        if cached is not None and now - cached[0] < QUEUE_INFO_TTL:
            return cached[1]
        info = await self.directory(client, queue)
        if queue in self.settings.anonymous_queues:
            info = QueueInfo(**{**info.__dict__, "anonymous": True})
        self._queue_cache[queue] = (now, info)
        self.watch.observe(info)
        return info

    def forget_queue(self, queue: str) -> None:
        self._queue_cache.pop(queue, None)

    async def refresh_queue(self, client: CloudClient, queue: str) -> None:
        """Read the queue's state afresh (after a change), publishing what changed; a
        queue that cannot be read now (shut down) is left as last seen."""
        self.forget_queue(queue)
        try:
            await self.queue_info(client, queue)
        except (CloudImagingError, IppStatusError, TimeoutError):
            pass

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start following the queues that printer subscriptions watch."""
        self.watch.start(self._read_for_watch)

    async def stop(self) -> None:
        await self.watch.stop()

    async def _read_for_watch(self, queue: str) -> QueueInfo | None:
        """The queue read afresh for its subscribers, with the gateway's own account (or
        a subscriber's session); None if no session can read it."""
        client = None
        if self.service_account is not None:
            _owner, client = await self.authenticate(self.service_account, None)
        else:
            owners = {s.owner for s in self.subscriptions.all() if s.queue == queue}
            client = next(filter(None, map(self.sessions.cached, sorted(owners))), None)
        if client is None:
            return None
        self.forget_queue(queue)
        return await self.queue_info(client, queue)

    def printer_context(self, request: Request) -> PrinterContext:
        endpoint = request.endpoint
        queue = request.queue
        uris: list[tuple[str, str, str]] = []
        for scheme, port, security in (
            ("ipps", self.settings.tls_port, "tls"),
            ("ipp", self.settings.plain_port, "none"),
        ):
            if port is not None:
                base = Endpoint(scheme, endpoint.host, port).base()
                uris.append((f"{base}/ipp/print/{queue}", security, "basic"))
        if not uris or all(u[0] != request.printer_uri for u in uris):
            security = "tls" if endpoint.scheme == "ipps" else "none"
            uris.insert(0, (request.printer_uri, security, "basic"))
        uris.sort(key=lambda u: u[0] != request.printer_uri)
        page = f"{endpoint.http_base()}/ipp/print/{queue}"
        return PrinterContext(
            uris=uris,
            more_info=page,
            icons=[f"{endpoint.http_base()}/icons/{queue}.png"],
            printer_uuid=printer_uuid(self.settings.uuid_seed, queue),
            operations=supported_operations(request.client),
            up_time=self.now(),
            config_change_time=self.watch.config_change_time(queue),
            state_change_time=self.watch.state_change_time(queue),
        )


#: A queue's printer-name as the service's protocol spells it (stanzas.types.QueueName).
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$")
_BROKE = "the request body broke off or its HTTP framing was wrong"


async def _body_chunks(rest: bytes, reader: Reader) -> AsyncIterator[bytes]:
    if rest:
        yield rest
    while chunk := await reader.read(READ_CHUNK):
        yield chunk


def _answer_version(message: IppMessage) -> tuple[int, int]:
    major, minor = message.version
    return (major, minor) if major in (1, 2) else (2, 0)


def _check_header(message: IppMessage) -> None:
    """RFC 8011 §4.1.1-4.1.8 and §4.1.4: what every request must get right."""
    major, _minor = message.version
    if major not in (1, 2):
        raise IppStatusError(
            S.SERVER_ERROR_VERSION_NOT_SUPPORTED, f"IPP/{major}.{_minor} is not supported"
        )
    if message.request_id <= 0:
        raise bad_request("request-id must be 1 or more")
    groups = message.groups
    if not groups or groups[0].tag != GroupTag.OPERATION:
        raise bad_request("the request must start with the operation attributes group")
    if len(message.groups_of(GroupTag.OPERATION)) > 1:
        raise bad_request("more than one operation attributes group")
    for group in groups:
        if group.tag not in (
            GroupTag.OPERATION,
            GroupTag.JOB,
            GroupTag.SUBSCRIPTION,
            GroupTag.DOCUMENT,
            GroupTag.PRINTER,
        ):
            raise bad_request(f"unexpected attribute group 0x{int(group.tag):02x} in a request")
        names = group.names()
        if len(names) != len(set(names)):
            raise bad_request("an attribute appears twice in one group")
    op = groups[0].attributes
    if (
        len(op) < 2
        or op[0].name != "attributes-charset"
        or op[1].name != "attributes-natural-language"
    ):
        raise bad_request(
            "attributes-charset and attributes-natural-language must come first, in that order"
        )
    charset, language = op[0], op[1]
    if len(charset.values) != 1 or charset.tag != ValueTag.CHARSET:
        raise bad_request("attributes-charset must be one charset value")
    if len(language.values) != 1 or language.tag != ValueTag.NATURAL_LANGUAGE:
        raise bad_request("attributes-natural-language must be one naturalLanguage value")
    if str(charset.value).lower() not in ("utf-8", "us-ascii"):
        raise IppStatusError(
            S.CLIENT_ERROR_CHARSET_NOT_SUPPORTED,
            f"charset {charset.value} is not supported",
            [IppAttribute("attributes-charset", list(charset.values))],
        )


def _target(message: IppMessage, spec: OperationSpec) -> tuple[str, int | None]:
    """(queue, job-id) from printer-uri [+ job-id] or job-uri (RFC 8011 §4.1.5)."""
    op = message.groups[0]
    job_uri = op.get("job-uri")
    printer_uri = op.get("printer-uri")
    if job_uri is not None and spec.job_target:
        queue, job_id = _parse_uri(job_uri)
        if job_id is None:
            raise bad_request("job-uri names no job")
        return queue, job_id
    if printer_uri is None:
        raise bad_request("the request has no printer-uri")
    queue, extra = _parse_uri(printer_uri)
    if extra is not None:
        raise not_found("printer-uri names a job, not a printer")
    job_id = None
    if spec.job_target:
        attr = op.get("job-id")
        if attr is None or len(attr.values) != 1 or attr.tag != ValueTag.INTEGER:
            if spec.operation in (Operation.CANCEL_CURRENT_JOB, Operation.SUSPEND_CURRENT_JOB):
                return queue, None
            raise bad_request("job-id (one integer) or job-uri is required")
        job_id = attr.value
        if job_id < 1:
            raise not_found(f"no job {job_id}")
    return queue, job_id


def _parse_uri(attr: IppAttribute) -> tuple[str, int | None]:
    if len(attr.values) != 1 or attr.tag != ValueTag.URI:
        raise bad_request(f"{attr.name} must be one uri value")
    parts = urlsplit(str(attr.value))
    if parts.scheme.lower() not in ("ipp", "ipps", "http", "https"):
        raise not_found(f"{clip(attr.value)} is not a printer of this gateway")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if (
        len(segments) not in (3, 4)
        or segments[:2] != ["ipp", "print"]
        or not _QUEUE_NAME.match(segments[2])
    ):
        raise not_found(f"{clip(attr.value)} is not a printer of this gateway")
    if len(segments) == 4:
        if not segments[3].isdigit() or len(segments[3]) > 10:
            raise not_found(f"{clip(attr.value)} is not a job of this gateway")
        return segments[2], int(segments[3])
    return segments[2], None
