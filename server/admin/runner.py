"""Running a declared command inside the service: the operation's own handler, called
with the administrator's identity, so every check is the one a remote request gets."""

from __future__ import annotations

from admin_commands.declarations import SERVICE_TYPE, Command, Values, build
from admin_commands.render import Rendered
from server.context import Caller, ServiceContext
from server.handlers import OPERATIONS


async def run(ctx: ServiceContext, caller: Caller, command: Command, values: Values) -> Rendered:
    """Raises UsageError, or the operation's CloudImagingError."""
    if command.targets_queue and isinstance(values.get("queue"), str):
        queue = await ctx.queues.get(values["queue"])
        if queue is not None:
            values = {**values, SERVICE_TYPE: queue.service_type}
    request = build(command, values)
    operation = OPERATIONS[request.ELEMENT]
    response = await operation(ctx, caller, request)
    return command.render(response)
