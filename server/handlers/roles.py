"""Who may ask for each operation, declared with its handler (`@operation(Request,
role=...)`) and checked by the dispatch before the handler runs.

Seed 001 reserves Tables 2 and 3 to "Administrators or Operators". Cirrus splits them by
consequence: operators run the queues day to day (pause, hold, cancel, promote, restart);
administrators also change configuration and the set of queues and devices. Client
operations come from this server's user accounts that are not devices; a device's
operations from the account that registered the device the request names.
"""

from __future__ import annotations

from typing import Any

from server.context import Caller, ServiceContext
from server.handlers.access import client, registered_device
from server.handlers.registry import Role
from server.stores.devices import Device
from stanzas.errors import NotAuthorized


async def _client(ctx: ServiceContext, caller: Caller, _request: Any) -> Caller:
    await client(ctx, caller)
    return caller


async def _registrant(ctx: ServiceContext, caller: Caller, _request: Any) -> Caller:
    if not (ctx.is_local_user(caller) or caller.bare in ctx.settings.manager_components):
        raise NotAuthorized("devices register from this server's accounts or trusted components")
    return caller


async def _device(ctx: ServiceContext, caller: Caller, request: Any) -> Device:
    return await registered_device(ctx, caller, request.output_device_uuid)


async def _registered_device(ctx: ServiceContext, caller: Caller, request: Any) -> Device:
    return await registered_device(ctx, caller, request.output_device_uuid, approved=False)


async def _heard_from(ctx: ServiceContext, device: Device) -> None:
    """Every request a device's manager has had served is a sign of life (its status
    updates above all): the device's last-seen time (cheap: DeviceStore.seen)."""
    await ctx.devices.seen(device, ctx.now())


def require_operator(ctx: ServiceContext, caller: Caller) -> Caller:
    if not ctx.is_operator(caller):
        raise NotAuthorized(
            f"only operators and administrators may do this; {caller.bare} is neither"
        )
    return caller


def require_admin(ctx: ServiceContext, caller: Caller) -> Caller:
    if not ctx.is_admin(caller):
        raise NotAuthorized(f"only administrators may do this; {caller.bare} is neither")
    return caller


async def _operator(ctx: ServiceContext, caller: Caller, _request: Any) -> Caller:
    return require_operator(ctx, caller)


async def _admin(ctx: ServiceContext, caller: Caller, _request: Any) -> Caller:
    return require_admin(ctx, caller)


CLIENT = Role("client", _client)  # this server's user accounts that are not devices
REGISTRANT = Role("registrant", _registrant)  # this server's accounts, trusted components
DEVICE = Role("device", _device, _heard_from)  # the account that registered the (approved) device
REGISTERED_DEVICE = Role("registered-device", _registered_device, _heard_from)  # approved or not
OPERATOR = Role("operator", _operator)  # operators and administrators
ADMIN = Role("admin", _admin)  # administrators
ROLES = (CLIENT, REGISTRANT, DEVICE, REGISTERED_DEVICE, OPERATOR, ADMIN)
