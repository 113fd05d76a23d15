"""What an operation handler is given: the request, who asks, the document stream, and
the part of the gateway it may use (``GatewayContext``).

Handlers depend on this module and on ``gateway.dispatch`` (the registry), never on
``gateway.core``: the core imports the handler modules to register them, so the
handlers see the gateway only through the ``GatewayContext`` protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ipp.codec import IppAttribute, IppGroup, IppMessage
from ipp.constants import GroupTag, ValueTag

from .attributes import PrinterContext, QueueInfo
from .cloud import CloudClient
from .errors import bad_request
from .settings import GatewaySettings
from .subscriptions import Subscriptions


class GatewayContext(Protocol):
    """What handlers use of the gateway (``gateway.core.Gateway`` implements it)."""

    settings: GatewaySettings
    subscriptions: Subscriptions
    #: job-id → requesting-user-name of jobs printed anonymously through this gateway
    anonymous_jobs: dict[int, str]
    clock: Callable[[], float]

    def now(self) -> int: ...

    async def queue_info(self, client: CloudClient, queue: str) -> QueueInfo: ...

    def forget_queue(self, queue: str) -> None: ...

    async def refresh_queue(self, client: CloudClient, queue: str) -> None: ...

    def printer_context(self, request: Request) -> PrinterContext: ...


class Body:
    """The rest of the HTTP request body after the IPP attributes: the document data."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._head: bytes | None = None
        self.started = False
        #: why the document data could not be used (its compression was broken, say),
        #: however the failure surfaces afterwards
        self.failure: Exception | None = None

    async def peek_empty(self) -> bool:
        """Whether there is no document data at all (reads the first chunk, kept)."""
        if self._head is None:
            self._head = b""
            async for chunk in self._chunks:
                if chunk:
                    self._head = chunk
                    break
        return not self._head

    async def stream(self) -> AsyncIterator[bytes]:
        self.started = True
        if self._head:
            yield self._head
        self._head = b""
        async for chunk in self._chunks:
            if chunk:
                yield chunk


@dataclass(frozen=True)
class Endpoint:
    """How the client reached us: scheme ipp/ipps, the host it named, the port."""

    scheme: str
    host: str
    port: int

    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def http_base(self) -> str:
        return self.base().replace("ipps://", "https://", 1).replace("ipp://", "http://", 1)


@dataclass
class Identity:
    """Who asks: ``user`` is the IPP user name, ``owner`` the bare JID the service sees."""

    user: str
    owner: str
    client: CloudClient
    anonymous: bool = False
    operator: bool = False


@dataclass
class Request:
    gateway: GatewayContext
    message: IppMessage
    identity: Identity
    queue: str
    printer_uri: str  # canonical URI of the target printer (for job-uri etc.)
    job_id: int | None
    body: Body
    response: IppMessage
    endpoint: Endpoint
    unsupported: list[IppAttribute] = field(default_factory=list)
    #: operation-group attributes a handler took as something else (the job template
    #: attributes clients send there, as CUPS' print-job-hold.test does)
    taken: set[str] = field(default_factory=set)

    @property
    def client(self) -> CloudClient:
        return self.identity.client

    @property
    def op(self) -> IppGroup:
        group = self.message.group(GroupTag.OPERATION)
        assert group is not None  # checked before dispatch
        return group

    def attr(self, name: str, tags: tuple[int, ...], default: Any = None) -> Any:
        """A single-valued operation attribute of one of ``tags`` (bad-request otherwise)."""
        attr = self.op.get(name)
        if attr is None:
            return default
        if len(attr.values) != 1 or int(attr.values[0].tag) not in tags:
            raise bad_request(f"{name} must have exactly one value of the right syntax")
        return attr.values[0].value

    def job_group(self) -> IppGroup | None:
        return self.message.group(GroupTag.JOB)

    def requested(self) -> list[str] | None:
        attr = self.op.get("requested-attributes")
        if attr is None:
            return None
        if any(int(v.tag) != ValueTag.KEYWORD for v in attr.values):
            raise bad_request("requested-attributes values are keywords")
        return [v.value for v in attr.values]

    def add_group(self, tag: int, attributes: list[IppAttribute]) -> IppGroup:
        group = self.response.add_group(tag)
        group.attributes.extend(attributes)
        return group
