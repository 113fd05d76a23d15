"""What the administrative handlers share: the queue a request names, and how a queue,
the System Control Service or a device looks in an answer. (Who may ask: roles.py.)"""

from __future__ import annotations

from server.context import ServiceContext
from server.devices import rollup
from server.stores.devices import Device
from server.stores.queue_states import QueueState
from server.stores.queues import Queue
from stanzas.admin_ops import AnyServiceType, DeviceSummary, ServiceState, ServiceSummary
from stanzas.errors import NotFound
from stanzas.states import ServiceType


async def named_queue(
    ctx: ServiceContext,
    service_type: ServiceType | AnyServiceType,
    printer_name: str | None,
    *,
    down_ok: bool = False,
) -> Queue:
    """The queue a request names; a down queue only if `down_ok` (seed: once down, a
    service answers only Restart<Service>Service)."""
    queue = await ctx.queues.get(printer_name or "")
    if queue is None or queue.service_type != service_type.value:
        raise NotFound(f"no {service_type.value} queue named {printer_name!r}")
    if not down_ok:
        await ctx.queue_states.require_up(queue.printer_name)
    return queue


async def queue_summary(
    ctx: ServiceContext, queue: Queue, state: QueueState | None = None
) -> ServiceSummary:
    state = state or await ctx.queue_states.get(queue.printer_name)
    devices = await rollup.serving(ctx, queue.printer_name, approved=False)
    active = await ctx.jobs.list_active(queue.printer_name)
    return ServiceSummary(
        service_type=AnyServiceType(queue.service_type),
        printer_name=queue.printer_name,
        service_state=state.service_state,
        service_state_reasons=list(state.service_state_reasons),
        service_state_message=state.service_state_message or None,
        is_accepting_jobs=queue.is_accepting_jobs,
        hold_new_jobs_until=state.hold_new_jobs_until,
        hold_new_jobs_until_time=state.hold_new_jobs_until_time,
        queued_job_count=len(active),
        output_device_uuid=devices[0].output_device_uuid if devices else None,
        device_online=any(d.jid in ctx.online for d in devices) if devices else None,
        printer_state=queue.printer_state,
        printer_state_reasons=list(queue.printer_state_reasons) or ["none"],
        printer_info=queue.printer_info or None,
        printer_location=queue.printer_location or None,
    )


def system_summary() -> ServiceSummary:
    """The System Control Service: always idle here; it has no jobs of its own."""
    return ServiceSummary(
        service_type=AnyServiceType.SYSTEM,
        service_state=ServiceState.IDLE,
        service_state_reasons=["none"],
    )


async def device_summary(
    ctx: ServiceContext, device: Device, *, with_capabilities: bool = False
) -> DeviceSummary:
    return DeviceSummary(
        output_device_uuid=device.output_device_uuid,
        printer_name=device.printer_name,
        registered_by=device.jid,
        registration_state=device.registration_state,
        online=device.jid in ctx.online,
        time_registered=device.time_registered,
        time_last_seen=ctx.devices.last_seen(device),
        printer_state=device.printer_state,
        printer_state_reasons=list(device.printer_state_reasons) or ["none"],
        printer_state_message=device.printer_state_message or None,
        capabilities=device.capabilities if with_capabilities else None,
        device_name=device.name,
        printer_names=list(await ctx.queue_devices.queues_of(device.output_device_uuid)),
        device_paused=device.is_paused,
        job_ids=[j.job_id for j in await ctx.jobs.list_bound_active(device.output_device_uuid)],
    )
