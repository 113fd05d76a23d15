"""Device registration policy (seed 000): whether a new device is served at once, and what
of the queue's description a registration may set."""

from __future__ import annotations

from server.context import ServiceContext


async def auto_approves(ctx: ServiceContext, printer_name: str) -> bool:
    """Whether a device registering for the queue is served without an administrator's
    approval: the queue's device-policy, else the system's configuration."""
    own = (await ctx.queue_states.get(printer_name)).auto_approve_devices
    if own is not None:
        return own
    stored = await ctx.system.all()
    return bool(stored.get("auto-approve-devices", ctx.settings.auto_approve_devices))


async def keep_admin_description(
    ctx: ServiceContext, printer_name: str, changes: dict[str, object]
) -> dict[str, object]:
    """A device's registration does not overwrite what administrators set."""
    owned = (await ctx.queue_states.get(printer_name)).admin_description
    return {k: v for k, v in changes.items() if k.replace("_", "-") not in owned}
