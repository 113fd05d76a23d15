"""One handler per operation, registered by the request payload it answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from server.context import Caller, ServiceContext
from stanzas.model import Payload

RequestT = TypeVar("RequestT", bound=Payload)
Handler = Callable[[ServiceContext, Caller, Any], Awaitable[Payload]]


@dataclass(frozen=True)
class Operation:
    request: type[Payload]
    handler: Handler


OPERATIONS: dict[str, Operation] = {}


def operation(
    request: type[RequestT],
) -> Callable[
    [Callable[[ServiceContext, Caller, RequestT], Awaitable[Payload]]],
    Callable[[ServiceContext, Caller, RequestT], Awaitable[Payload]],
]:
    def register(
        handler: Callable[[ServiceContext, Caller, RequestT], Awaitable[Payload]],
    ) -> Callable[[ServiceContext, Caller, RequestT], Awaitable[Payload]]:
        if request.ELEMENT in OPERATIONS:
            raise RuntimeError(f"two handlers for {request.ELEMENT}")
        OPERATIONS[request.ELEMENT] = Operation(request, handler)
        return handler

    return register
