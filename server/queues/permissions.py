"""Who may print to a queue, and see it (issue 13, fan-in): the queue's allowed-users
and allowed-groups (the service's own groups). A queue that names neither is open to
every user of the domain; operators and administrators may use every queue (they run
them). Everyone else is refused with client-error-not-authorized, and GetServices does
not show them the queue."""

from __future__ import annotations

from server.context import Caller, ServiceContext
from server.stores.queues import Queue
from stanzas.errors import NotAuthorized


def restricted(queue: Queue) -> bool:
    config = queue.configuration
    return bool(config.allowed_users or config.allowed_groups)


async def is_open(ctx: ServiceContext, caller: Caller, queue: Queue) -> bool:
    if not restricted(queue) or ctx.is_operator(caller):
        return True
    config = queue.configuration
    if caller.bare in (config.allowed_users or ()):
        return True
    groups = set(config.allowed_groups or ())
    return bool(groups and groups & await ctx.groups.groups_of(caller.bare))


async def require_open(ctx: ServiceContext, caller: Caller, queue: Queue) -> None:
    if not await is_open(ctx, caller, queue):
        raise NotAuthorized(f"{caller.bare} may not print to queue {queue.printer_name}")
