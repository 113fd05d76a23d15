"""Device registration policy (seed 000): whether a new device is served at once, and what
of the queue's description a registration may set."""

from __future__ import annotations

from server.context import ServiceContext
from server.stores.devices import Device
from stanzas.device_ops import RegisterDevice


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


async def device_name(ctx: ServiceContext, req: RegisterDevice, existing: Device | None) -> str:
    """A device keeps the name it got at its first registration (a release sticker
    names it); a new one gets the name it asks for, else its queue's, made unique with
    -2, -3 … when another device has it."""
    if existing is not None and existing.device_name is not None:
        return existing.device_name
    wanted = req.device_name or req.printer_name
    name, n = wanted, 1
    while (holder := await ctx.devices.get_by_name(name)) is not None and (
        holder.output_device_uuid != req.output_device_uuid
    ):
        n += 1
        name = f"{wanted[:120]}-{n}"
    return name
