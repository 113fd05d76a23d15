"""One handler per operation, registered by the request payload it answers, with the role
that may ask for it (server/handlers/roles.py): the authorization matrix is data."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from server.context import Caller, ServiceContext
from server.joblog.recorder import REQUEST, Request
from server.stores.devices import Device
from stanzas.errors import CloudImagingError
from stanzas.model import Payload

log = logging.getLogger(__name__)

P = TypeVar("P")  # what a handler is handed for the caller: the caller, or its device
RequestT = TypeVar("RequestT", bound=Payload)
Handler = Callable[[ServiceContext, P, RequestT], Awaitable[Payload]]


@dataclass(frozen=True)
class Role(Generic[P]):
    """Who may ask: `admit` returns what the handler acts for (the caller, or the device
    the caller speaks for), or raises NotAuthorized (NotFound for a device no one
    registered). `served`, if any, is told of each request of the role's that was
    answered (a device's last-seen time)."""

    name: str
    admit: Callable[[ServiceContext, Caller, Any], Awaitable[P]]
    served: Callable[[ServiceContext, P], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Operation:
    request: type[Payload]
    role: Role[Any]
    handler: Handler[Any, Any]

    async def __call__(self, ctx: ServiceContext, caller: Caller, request: Payload) -> Payload:
        """The operation for this caller: refused unless its role admits the caller.
        The job log learns who asked for what (REQUEST); a Device Manager's request is
        a record of its own unless the change it made was one."""
        token = REQUEST.set(Request(request.ELEMENT, caller.bare))
        outcome = "server-error-internal-error"
        try:
            if self.role.name not in DEVICE_ROLES:
                admitted = await self.role.admit(ctx, caller, request)
                response = await self.handler(ctx, admitted, request)
                if self.role.served is not None:
                    await self.role.served(ctx, admitted)
            else:
                response = await self._from_device(ctx, caller, request)
            outcome = "successful-ok"
            return response
        except CloudImagingError as error:
            outcome = error.status
            raise
        finally:
            ctx.traffic.requests[request.ELEMENT, outcome] += 1
            REQUEST.reset(token)

    async def _from_device(self, ctx: ServiceContext, caller: Caller, request: Payload) -> Payload:
        device: Device | None = None
        try:
            admitted = await self.role.admit(ctx, caller, request)
            device = admitted if isinstance(admitted, Device) else None
            response = await self.handler(ctx, admitted, request)
            if self.role.served is not None:
                await self.role.served(ctx, admitted)
        except CloudImagingError as error:
            await _log_interaction(ctx, caller, device, request, None, error)
            raise
        await _log_interaction(ctx, caller, device, request, response, None)
        return response


# The roles of a Device Manager's requests: all of them go into the job log.
DEVICE_ROLES = frozenset({"device", "registered-device", "registrant"})


async def _log_interaction(
    ctx: ServiceContext,
    caller: Caller,
    device: Device | None,
    request: Payload,
    response: Payload | None,
    error: CloudImagingError | None,
) -> None:
    if not ctx.job_log.wants(request, error):
        return
    job_id = getattr(request, "job_id", None)
    try:
        job = await ctx.jobs.get(job_id) if isinstance(job_id, int) else None
    except Exception:
        log.exception("job log: cannot read job %s", job_id)
        job = None
    if job is not None and device is not None and job.printer_name != device.printer_name:
        job = None  # not the device's job: name only its id
    ctx.job_log.interaction(request.ELEMENT, caller.bare, device, request, job, response, error)


OPERATIONS: dict[str, Operation] = {}


def operation(
    request: type[RequestT], *, role: Role[P]
) -> Callable[[Handler[P, RequestT]], Handler[P, RequestT]]:
    def register(handler: Handler[P, RequestT]) -> Handler[P, RequestT]:
        if request.ELEMENT in OPERATIONS:
            raise RuntimeError(f"two handlers for {request.ELEMENT}")
        OPERATIONS[request.ELEMENT] = Operation(request, role, handler)
        return handler

    return register
