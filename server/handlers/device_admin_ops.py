"""Handlers of the administrators' device operations: list, show, approve, remove.

Seed 000 (registration): a new device is not served until an administrator approves it,
unless the queue (device-policy) or the system (auto-approve-devices) says otherwise.
"""

from __future__ import annotations

from server.handlers import device_ops
from server.handlers.admin_common import Role, device_summary, require
from server.handlers.registry import operation
from server.service import Caller, CloudImagingService
from server.stores.admin import AlertStore
from server.stores.devices import Device
from stanzas import admin_ops as ops
from stanzas.device_ops import DeregisterDevice
from stanzas.errors import NotFound
from stanzas.states import RegistrationState, ServiceType


async def _device(svc: CloudImagingService, req: ops.DeviceTarget) -> Device:
    device = await svc.devices.get_by_printer(req.printer_name)
    if device is None:
        raise NotFound(f"no device is registered for queue {req.printer_name}")
    return device


@operation(ops.ListDevices)
async def list_devices(
    svc: CloudImagingService, caller: Caller, req: ops.ListDevices
) -> ops.ListDevicesResponse:
    require(svc, caller, Role.OPERATOR)
    devices = await svc.devices.list_all()
    return ops.ListDevicesResponse(device=[await device_summary(svc, d) for d in devices])


@operation(ops.GetDevice)
async def get_device(
    svc: CloudImagingService, caller: Caller, req: ops.GetDevice
) -> ops.DeviceResponse:
    require(svc, caller, Role.OPERATOR)
    device = await _device(svc, req)
    return ops.DeviceResponse(device=await device_summary(svc, device, with_capabilities=True))


@operation(ops.ApproveDevice)
async def approve_device(
    svc: CloudImagingService, caller: Caller, req: ops.ApproveDevice
) -> ops.DeviceResponse:
    """Serve the device from now on; its manager is asked to resynchronise at once."""
    require(svc, caller, Role.ADMIN)
    device = await _device(svc, req)
    if device.registration_state != RegistrationState.APPROVED:
        await svc.devices.set_registration_state(
            device.output_device_uuid, RegistrationState.APPROVED
        )
        device = await svc.devices.get(device.output_device_uuid) or device
        if svc.push is not None:
            fetchable = [j.job_id for j in await svc.jobs.list_fetchable(device.printer_name)]
            svc.push.work(device, fetchable, [], resync=True)
    return ops.DeviceResponse(device=await device_summary(svc, device))


@operation(ops.RemoveDevice)
async def remove_device(
    svc: CloudImagingService, caller: Caller, req: ops.RemoveDevice
) -> ops.DeviceResponse:
    """Deny a pending registration or deregister a device: DeregisterDevice, done by the
    service on the manager's behalf (its jobs go back to the queue's fetchable list)."""
    require(svc, caller, Role.ADMIN)
    device = await _device(svc, req)
    queue = await svc.queues.get(device.printer_name)
    service_type = ServiceType(queue.service_type) if queue else ServiceType.PRINT
    shown = await device_summary(svc, device)
    await device_ops.deregister_device(
        svc,
        Caller(device.jid),
        DeregisterDevice(output_device_uuid=device.output_device_uuid, service_type=service_type),
    )
    return ops.DeviceResponse(device=shown)


@operation(ops.SetAlertSubscription)
async def set_alert_subscription(
    svc: CloudImagingService, caller: Caller, req: ops.SetAlertSubscription
) -> ops.AlertSubscriptionResponse:
    require(svc, caller, Role.OPERATOR)
    events = [e.value for e in dict.fromkeys(req.alert_events)]
    await AlertStore(svc.db).set(caller.bare, events)
    return ops.AlertSubscriptionResponse(alert_events=[ops.AlertEvent(e) for e in events])
