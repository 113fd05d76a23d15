"""What the gateway needs from the Cloud Imaging Service, and where queue facts come from.

``CloudClient`` is the part of ``cirrus.client.CirrusClient`` the operations call. The
client-operations issue adds more methods (get_jobs, hold_job, …); an IPP operation
whose method the client does not have yet is answered server-error-operation-not-supported
and left out of operations-supported (``has``).

Queue facts (capabilities, state, defaults) come from a ``Directory``:
``service_elements_directory`` asks the service (GetServiceElements) through the user's
own session; ``local_service_directory`` reads an in-process service's queue table (for a
gateway running next to the service, and for tests until GetServiceElements exists).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol, TypeVar

from stanzas.groups import Capabilities, JobStatus, JobTicket, ServiceStatus
from stanzas.model import Payload

from .attributes import QueueInfo
from .errors import not_found, not_supported


class CloudClient(Protocol):
    """The client-library calls every gateway operation relies on."""

    async def create_job(
        self, queue: str, *, job_name: str | None = None, ticket: JobTicket | None = None
    ) -> JobStatus: ...

    async def send_document_stream(
        self,
        job_id: int,
        chunks: AsyncIterator[bytes],
        *,
        document_name: str,
        document_format: str = ...,
        last_document: bool = ...,
        size: int | None = None,
        digest: str | None = None,
    ) -> Any: ...

    async def close_job(self, job_id: int) -> Any: ...

    async def get_job(self, job_id: int) -> JobStatus: ...

    async def cancel_job(self, job_id: int, message: str | None = None) -> JobStatus: ...

    async def stop(self) -> None: ...


def has(client: object, method: str) -> bool:
    """Whether the client library offers ``method`` (a dotted path: ``session.request``)."""
    found: object = client
    for part in method.split("."):
        found = getattr(found, part, None)
    return callable(found)


#: What the administrative operations need: the session's own request call.
REQUEST = "session.request"
P = TypeVar("P", bound=Payload)


async def request(client: CloudClient, payload: Payload, response_type: type[P]) -> P:
    """One service operation the client library has no method for (the seeds' Table 2
    operations of stanzas.admin_ops), made on the user's session."""
    session = getattr(client, "session", None)
    call = getattr(session, "request", None)
    if not callable(call):
        raise not_supported(f"the Cloud Imaging Service client cannot make {payload.ELEMENT}")
    answer = await call(payload, response_type)
    assert isinstance(answer, response_type)
    return answer


def method(client: object, name: str) -> Callable[..., Awaitable[Any]]:
    """The client's ``name`` method, or server-error-operation-not-supported."""
    found = getattr(client, name, None)
    if not callable(found):
        raise not_supported(f"the Cloud Imaging Service client has no {name} yet")
    return found


Directory = Callable[[CloudClient, str], Awaitable[QueueInfo]]


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


async def service_elements_directory(client: CloudClient, queue: str) -> QueueInfo:
    """Queue facts from Get<Service>Elements, asked as the requesting user."""
    elements = await method(client, "get_service_elements")(queue)
    description = _get(elements, "description")
    capabilities = _get(elements, "capabilities", default=Capabilities())
    make_model = _get(description, "printer_make_and_model")
    if make_model and not capabilities.printer_make_and_model:
        capabilities = capabilities.model_copy(update={"printer_make_and_model": make_model})
    accepting = _get(elements, "is_accepting_jobs", default=True)
    return QueueInfo(
        name=queue,
        capabilities=capabilities,
        status=_get(elements, "status", default=ServiceStatus()),
        printer_info=_get(description, "printer_info", default="") or "",
        printer_location=_get(description, "printer_location", default="") or "",
        is_accepting_jobs=bool(accepting),
        queued_job_count=int(_get(elements, "queued_job_count", default=0) or 0),
        default_ticket=_get(elements, "default_job_ticket"),
        output_device_uuid=_get(description, "output_device_uuid"),
        configuration=_get(elements, "configuration"),
    )


def local_service_directory(service: Any) -> Directory:
    """Queue facts read from an in-process ``server.context.ServiceContext``."""

    async def directory(_client: CloudClient, queue: str) -> QueueInfo:
        row = await service.queues.get(queue)
        if row is None or row.service_type != "print":
            raise not_found(f"no print queue named {queue!r}")
        return QueueInfo(
            name=row.printer_name,
            capabilities=row.capabilities,
            status=row.to_status(),
            printer_info=row.printer_info,
            printer_location=row.printer_location,
            is_accepting_jobs=row.is_accepting_jobs,
            output_device_uuid=row.output_device_uuid,
            configuration=row.configuration,
        )

    return directory
