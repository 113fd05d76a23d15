"""Device registration policy (seed 000, and issue 11's enrolment): who may join a queue
as its device, whether a new device is served at once, and what of the queue's
description a registration may set.

A registration joins the queue it names (creating the queue if there is none) when:
- the device serves that queue already (every reconnect registers again);
- it presents a valid enrolment code for that queue (server/devices/enrollment.py): the
  administrator's consent given in advance; single use, expiring;
- it comes from a trusted party, an administrator's account or a manager component the
  service's configuration lists, and no other device serves the queue.
A device that joins is approved at once if the queue (device-policy) or the system
(auto-approve-devices) says so, or it comes from an administrator; else it waits for
`approve`. Any other registration — an ordinary account without a valid code — joins
nothing: it is recorded as a request that waits for an administrator, creates no queue
and no queue state, and does not make the account a device account. A queue that
other devices serve is joined only with a code (or an administrator's add-device).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.context import Caller, ServiceContext
from server.devices import enrollment
from server.devices.rollup import serving
from server.stores.devices import Device
from stanzas.device_ops import RegisterDevice
from stanzas.errors import NotPossible
from stanzas.states import RegistrationState

# Registrations without a code that may wait for approval: per account, and in all
# (a user cannot fill the administrators' list, or the table).
REQUESTS_PER_ACCOUNT = 2
REQUESTS_IN_ALL = 200


@dataclass(frozen=True)
class Admission:
    state: RegistrationState
    joins: bool  # becomes (or stays) a device of the queue it named
    message: str | None = None  # why it waits, for the manager's log


async def admit(
    ctx: ServiceContext, caller: Caller, req: RegisterDevice, existing: Device | None
) -> Admission:
    """What becomes of this registration (see the module docstring)."""
    serves = existing is not None and req.printer_name in await ctx.queue_devices.queues_of(
        existing.output_device_uuid
    )
    if existing is not None and serves:
        return Admission(existing.registration_state, joins=True)
    others = [
        d
        for d in await serving(ctx, req.printer_name, approved=False)
        if d.output_device_uuid != req.output_device_uuid
    ]
    trusted = ctx.is_admin(caller) or caller.bare in ctx.settings.manager_components
    code_message = None
    if req.enrollment_code:
        if await enrollment.redeem(
            ctx, req.enrollment_code, req.printer_name, req.output_device_uuid
        ):
            return Admission(await _first_state(ctx, caller, req, existing), joins=True)
        code_message = (
            f"the enrolment code is not valid for queue {req.printer_name} (unknown, used, "
            "expired or issued for another queue)"
        )
    if others:
        raise NotPossible(
            f"queue {req.printer_name!r} is served by another device; a device joins it "
            "with an enrolment code for it (cirrus admin enroll) or an administrator's add-device"
        )
    if trusted and code_message is None:
        return Admission(await _first_state(ctx, caller, req, existing), joins=True)
    if existing is not None:  # known: it keeps what it had, and joins nothing new
        why = code_message or f"joining queue {req.printer_name} takes an enrolment code"
        return Admission(existing.registration_state, joins=False, message=why)
    await _room_for_a_request(ctx, caller)
    return Admission(
        RegistrationState.PENDING,
        joins=False,
        message=(code_message or "no enrolment code was presented")
        + "; the registration waits for an administrator (approve)",
    )


async def _first_state(
    ctx: ServiceContext, caller: Caller, req: RegisterDevice, existing: Device | None
) -> RegistrationState:
    if existing is not None and existing.approved:
        return existing.registration_state
    approved = ctx.is_admin(caller) or await auto_approves(ctx, req.printer_name)
    return RegistrationState.APPROVED if approved else RegistrationState.PENDING


async def _room_for_a_request(ctx: ServiceContext, caller: Caller) -> None:
    waiting = [d for d in await ctx.devices.list_all() if not await is_enrolled(ctx, d)]
    mine = [d for d in waiting if d.jid == caller.bare]
    if len(mine) >= REQUESTS_PER_ACCOUNT or len(waiting) >= REQUESTS_IN_ALL:
        raise NotPossible(
            "too many registrations wait for an administrator already; ask one for an "
            "enrolment code (cirrus admin enroll QUEUE)"
        )


async def is_enrolled(ctx: ServiceContext, device: Device) -> bool:
    """Approved, or a device of some queue (not a request waiting with nothing joined)."""
    return device.approved or bool(await ctx.queue_devices.queues_of(device.output_device_uuid))


async def is_device_account(ctx: ServiceContext, jid: str) -> bool:
    """Whether the account is a device's: its client operations are refused. A request
    waiting for approval (no code) does not make it one."""
    if await ctx.devices.get_by_jid(jid) is None:
        return False  # the common case, from the cache
    return any([await is_enrolled(ctx, d) for d in await ctx.devices.list_by_jid(jid)])


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
