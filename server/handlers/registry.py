"""One handler per operation, registered by the request payload it answers, with the role
that may ask for it (server/handlers/roles.py): the authorization matrix is data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from server.context import Caller, ServiceContext
from stanzas.model import Payload

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
        """The operation for this caller: refused unless its role admits the caller."""
        admitted = await self.role.admit(ctx, caller, request)
        response = await self.handler(ctx, admitted, request)
        if self.role.served is not None:
            await self.role.served(ctx, admitted)
        return response


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
