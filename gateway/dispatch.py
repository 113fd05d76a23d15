"""The operation registry: one handler per IPP operation, as PAPPL's ``ipp_<operation>``.

Handlers are grouped by the object they act on (``job_ops``, ``printer_ops``,
``subscription_ops``) and registered with ``@operation``. Each receives a ``Request``
(the decoded message, the identity, the target queue and job, the document stream) and
fills ``request.response``; failures are raised as ``IppStatusError`` or the service's
``CloudImagingError`` and turned into IPP statuses in one place (``gateway.core``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ipp.codec import IppAttribute, IppGroup, IppMessage
from ipp.constants import GroupTag, Operation, ValueTag

from .cloud import CloudClient, has
from .errors import bad_request

if TYPE_CHECKING:
    from .core import Gateway


class Body:
    """The rest of the HTTP request body after the IPP attributes: the document data."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._head: bytes | None = None
        self.started = False

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
    gateway: Gateway
    message: IppMessage
    identity: Identity
    queue: str
    printer_uri: str  # canonical URI of the target printer (for job-uri etc.)
    job_id: int | None
    body: Body
    response: IppMessage
    endpoint: Endpoint
    unsupported: list[IppAttribute] = field(default_factory=list)

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


Handler = Callable[[Request], Awaitable[None]]


@dataclass(frozen=True)
class OperationSpec:
    operation: Operation
    handler: Handler
    needs: tuple[str, ...] = ()  # client-library methods it relies on
    public: bool = False  # allowed without credentials (printer description reads)
    job_target: bool = False  # needs job-id (or a job-uri)
    document: bool = False  # the request carries document data

    def available(self, client: object) -> bool:
        return all(has(client, name) for name in self.needs)


OPERATIONS: dict[int, OperationSpec] = {}


def operation(
    op: Operation,
    *,
    needs: tuple[str, ...] = (),
    public: bool = False,
    job_target: bool = False,
    document: bool = False,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if op in OPERATIONS:
            raise RuntimeError(f"two handlers for {op.keyword}")
        OPERATIONS[op] = OperationSpec(op, handler, needs, public, job_target, document)
        return handler

    return register


def supported_operations(client: object) -> list[int]:
    """operations-supported for a session of this client type."""
    return sorted(int(op) for op, spec in OPERATIONS.items() if spec.available(client))
