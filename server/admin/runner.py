"""Running a declared command inside the service: the operation's own handler, called
with the administrator's identity, so every check is the one a remote request gets."""

from __future__ import annotations

from pydantic import ValidationError

from server.admin.commands import Command, UsageError, Values
from server.admin.render import Rendered
from server.handlers import OPERATIONS
from server.service import Caller, CloudImagingService
from stanzas.model import Payload


def build(command: Command, values: Values) -> Payload:
    """The request, or UsageError when a value does not fit the protocol."""
    try:
        return command.build(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:3]:
            where = "/".join(str(p).replace("_", "-") for p in err["loc"])
            problems.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
        raise UsageError("; ".join(problems)) from None


async def run(
    svc: CloudImagingService, caller: Caller, command: Command, values: Values
) -> Rendered:
    """Raises UsageError, or the operation's CloudImagingError."""
    request = build(command, values)
    operation = OPERATIONS[request.ELEMENT]
    response = await operation.handler(svc, caller, request)
    return command.render(response)
