"""Handlers of the administrators' device operations: list, show, approve, remove.

Seed 000 (registration): a new device is not served until an administrator approves it,
unless the queue (device-policy) or the system (auto-approve-devices) says otherwise.
"""

from __future__ import annotations

from server import notifier
from server.context import Caller, ServiceContext
from server.handlers.admin_common import device_summary
from server.handlers.device_ops import deregister_device
from server.handlers.registry import operation
from server.handlers.roles import ADMIN, OPERATOR
from server.stores.devices import Device
from stanzas import admin_ops as ops
from stanzas.device_ops import DeregisterDevice
from stanzas.errors import NotFound
from stanzas.states import RegistrationState, ServiceType


async def _device(ctx: ServiceContext, req: ops.DeviceTarget) -> Device:
    device = await ctx.devices.get_by_printer(req.printer_name)
    if device is None:
        raise NotFound(f"no device is registered for queue {req.printer_name}")
    return device


@operation(ops.ListDevices, role=OPERATOR)
async def list_devices(
    ctx: ServiceContext, caller: Caller, req: ops.ListDevices
) -> ops.ListDevicesResponse:
    devices = await ctx.devices.list_all()
    return ops.ListDevicesResponse(device=[await device_summary(ctx, d) for d in devices])


@operation(ops.GetDevice, role=OPERATOR)
async def get_device(ctx: ServiceContext, caller: Caller, req: ops.GetDevice) -> ops.DeviceResponse:
    device = await _device(ctx, req)
    return ops.DeviceResponse(device=await device_summary(ctx, device, with_capabilities=True))


@operation(ops.ApproveDevice, role=ADMIN)
async def approve_device(
    ctx: ServiceContext, caller: Caller, req: ops.ApproveDevice
) -> ops.DeviceResponse:
    """Serve the device from now on; its manager is asked to resynchronise at once."""
    device = await _device(ctx, req)
    if device.registration_state != RegistrationState.APPROVED:
        await ctx.devices.set_registration_state(
            device.output_device_uuid, RegistrationState.APPROVED
        )
        device = await ctx.devices.get(device.output_device_uuid) or device
        await notifier.resync(ctx, device)
    return ops.DeviceResponse(device=await device_summary(ctx, device))


@operation(ops.RemoveDevice, role=ADMIN)
async def remove_device(
    ctx: ServiceContext, caller: Caller, req: ops.RemoveDevice
) -> ops.DeviceResponse:
    """Deny a pending registration or deregister a device: DeregisterDevice, done by the
    service on the manager's behalf (its jobs go back to the queue's fetchable list)."""
    device = await _device(ctx, req)
    queue = await ctx.queues.get(device.printer_name)
    service_type = ServiceType(queue.service_type) if queue else ServiceType.PRINT
    shown = await device_summary(ctx, device)
    await deregister_device(
        ctx,
        device,
        DeregisterDevice(output_device_uuid=device.output_device_uuid, service_type=service_type),
    )
    return ops.DeviceResponse(device=shown)


@operation(ops.SetAlertSubscription, role=OPERATOR)
async def set_alert_subscription(
    ctx: ServiceContext, caller: Caller, req: ops.SetAlertSubscription
) -> ops.AlertSubscriptionResponse:
    events = [e.value for e in dict.fromkeys(req.alert_events)]
    await ctx.alerts.set(caller.bare, events)
    return ops.AlertSubscriptionResponse(alert_events=[ops.AlertEvent(e) for e in events])
