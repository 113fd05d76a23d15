"""Handlers of the administrators' device operations: list, show, approve, remove.

Seed 000 (registration): a new device is not served until an administrator approves it,
unless the queue (device-policy) or the system (auto-approve-devices) says otherwise.
"""

from __future__ import annotations

from server import notifier
from server.context import Caller, ServiceContext
from server.devices import enrollment, rollup
from server.handlers.admin_common import device_summary, named_queue
from server.handlers.device_ops import deregister_device
from server.handlers.registry import operation
from server.handlers.roles import ADMIN, OPERATOR
from server.stores.devices import Device
from stanzas import admin_ops as ops
from stanzas.device_ops import DeregisterDevice
from stanzas.errors import AttributesNotSupported, NotFound, NotPossible
from stanzas.states import RegistrationState, ServiceType


async def _device(ctx: ServiceContext, req: ops.DeviceTarget) -> Device:
    """The device a request names: by its name, else as the one device of the queue so
    named (a queue served by several is ambiguous; a registration that awaits approval
    and serves no queue yet is named by the queue it asked for too)."""
    return await named_device(ctx, req.printer_name)


async def named_device(ctx: ServiceContext, name: str) -> Device:
    named = await ctx.devices.get_by_name(name)
    if named is not None:
        return named
    devices = await rollup.serving(ctx, name, approved=False)
    if len(devices) > 1:
        listed = ", ".join(d.name for d in devices)
        raise NotPossible(f"queue {name} has {len(devices)} devices ({listed}); name one")
    device = devices[0] if devices else await ctx.devices.get_by_printer(name)
    if device is None:
        raise NotFound(f"no device {name} (nor a queue of that name with a device)")
    return device


@operation(ops.ListDevices, role=OPERATOR)
async def list_devices(
    ctx: ServiceContext, caller: Caller, req: ops.ListDevices
) -> ops.ListDevicesResponse:
    if req.printer_name is None:
        devices = await ctx.devices.list_all()
    else:
        queue = await ctx.queues.get(req.printer_name)
        if queue is None:
            raise NotFound(f"no queue named {req.printer_name!r}")
        devices = await rollup.serving(ctx, queue.printer_name, approved=False)
    return ops.ListDevicesResponse(device=[await device_summary(ctx, d) for d in devices])


@operation(ops.GetDevice, role=OPERATOR)
async def get_device(ctx: ServiceContext, caller: Caller, req: ops.GetDevice) -> ops.DeviceResponse:
    device = await _device(ctx, req)
    return ops.DeviceResponse(device=await device_summary(ctx, device, with_capabilities=True))


@operation(ops.ApproveDevice, role=ADMIN)
async def approve_device(
    ctx: ServiceContext, caller: Caller, req: ops.ApproveDevice
) -> ops.DeviceResponse:
    """Serve the device from now on (a registration that joined no queue yet joins the
    one it asked for, made if need be); its manager is asked to resynchronise at once."""
    device = await _device(ctx, req)
    if device.approved:
        return ops.DeviceResponse(device=await device_summary(ctx, device))
    async with ctx.db.transaction():
        await ctx.devices.set_registration_state(
            device.output_device_uuid, RegistrationState.APPROVED
        )
        device = await ctx.devices.get(device.output_device_uuid) or device
        if not await ctx.queue_devices.queues_of(device.output_device_uuid):
            await ctx.queues.create(device.printer_name, ServiceType.PRINT.value, ctx.now())
            await ctx.queue_devices.add(device.printer_name, device.output_device_uuid, ctx.now())
        for printer_name in await ctx.queue_devices.queues_of(device.output_device_uuid):
            await rollup.refresh(ctx, printer_name)  # its capabilities count now
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


@operation(ops.IssueEnrollmentCode, role=ADMIN)
async def issue_enrollment_code(
    ctx: ServiceContext, caller: Caller, req: ops.IssueEnrollmentCode
) -> ops.IssueEnrollmentCodeResponse:
    """A one-time code that enrols one device in the queue (server/devices/enrollment.py)."""
    queue = await ctx.queues.get(req.printer_name)
    if queue is not None and queue.service_type != req.service_type.value:
        raise NotPossible(f"{req.printer_name} is a {queue.service_type} queue")
    now = ctx.now()
    if req.time_expires is not None and not now < req.time_expires <= now + enrollment.LONGEST:
        raise AttributesNotSupported("time-expires must be in the future, within a year")
    code, record = await enrollment.issue(ctx, caller, req.printer_name, req.time_expires)
    return ops.IssueEnrollmentCodeResponse(
        printer_name=record.printer_name, enrollment_code=code, time_expires=record.time_expires
    )


@operation(ops.PauseDevice, role=OPERATOR)
async def pause_device(
    ctx: ServiceContext, caller: Caller, req: ops.PauseDevice
) -> ops.DeviceResponse:
    """The device is handed no new work; its queues go on with their other devices."""
    device = await _device(ctx, req)
    device = await ctx.devices.update(device, is_paused=True)
    return ops.DeviceResponse(device=await device_summary(ctx, device))


@operation(ops.ResumeDevice, role=OPERATOR)
async def resume_device(
    ctx: ServiceContext, caller: Caller, req: ops.ResumeDevice
) -> ops.DeviceResponse:
    device = await _device(ctx, req)
    async with ctx.db.transaction():
        device = await ctx.devices.update(device, is_paused=False)
        ctx.device_available(device)
    return ops.DeviceResponse(device=await device_summary(ctx, device))


async def _change_target(ctx: ServiceContext, req: ops.DeviceQueueChange) -> tuple[str, Device]:
    queue = await named_queue(ctx, ServiceType.PRINT, req.printer_name)
    device = await ctx.devices.get_by_name(req.device_name)
    if device is None:
        raise NotFound(f"no device named {req.device_name}")
    return queue.printer_name, device


@operation(ops.AddDeviceToQueue, role=ADMIN)
async def add_device_to_queue(
    ctx: ServiceContext, caller: Caller, req: ops.AddDeviceToQueue
) -> ops.DeviceResponse:
    """The device serves the queue too (its other queues stay)."""
    async with ctx.db.transaction():
        printer_name, device = await _change_target(ctx, req)
        if await ctx.queue_devices.add(printer_name, device.output_device_uuid, ctx.now()):
            await rollup.refresh(ctx, printer_name)
            if device.approved:
                ctx.device_available(device)
    return ops.DeviceResponse(device=await device_summary(ctx, device))


@operation(ops.RemoveDeviceFromQueue, role=ADMIN)
async def remove_device_from_queue(
    ctx: ServiceContext, caller: Caller, req: ops.RemoveDeviceFromQueue
) -> ops.DeviceResponse:
    """The device no longer serves the queue: the jobs of the queue it holds finish
    there (it may still report on them), the rest go to the queue's other devices."""
    async with ctx.db.transaction():
        printer_name, device = await _change_target(ctx, req)
        if not await ctx.queue_devices.remove(printer_name, device.output_device_uuid):
            raise NotPossible(f"device {device.name} does not serve queue {printer_name}")
        await rollup.refresh(ctx, printer_name)
    return ops.DeviceResponse(device=await device_summary(ctx, device))
