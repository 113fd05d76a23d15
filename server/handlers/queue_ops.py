"""Handlers of the client operations on queues: what a queue offers and how it is."""

from __future__ import annotations

from server.context import Caller, ServiceContext
from server.handlers.job_ops import queue_for
from server.handlers.registry import operation
from server.handlers.roles import CLIENT
from server.stores.queues import Queue
from stanzas import client_ops as ops
from stanzas.admin_ops import ServiceState
from stanzas.errors import NotPossible
from stanzas.groups import ServiceDescription, ServiceElements, ServiceStatus
from stanzas.states import PrinterState

GROUPS = ("description", "capabilities", "configuration", "status", "default-job-ticket")


async def queue_elements(ctx: ServiceContext, queue: Queue, groups: set[str]) -> ServiceElements:
    queued = len(await ctx.jobs.list_active(queue.printer_name))
    return ServiceElements(
        description=ServiceDescription(
            printer_name=queue.printer_name,
            service_type=queue.service_type,
            printer_info=queue.printer_info or None,
            printer_location=queue.printer_location or None,
            printer_make_and_model=queue.capabilities.printer_make_and_model,
            output_device_uuid=queue.output_device_uuid,
        )
        if "description" in groups
        else None,
        capabilities=queue.capabilities if "capabilities" in groups else None,
        configuration=queue.configuration if "configuration" in groups else None,
        status=await combined_status(ctx, queue) if "status" in groups else None,
        default_job_ticket=queue.configuration.default_job_ticket
        if "default-job-ticket" in groups
        else None,
        is_accepting_jobs=queue.is_accepting_jobs and queue.printer_is_accepting_jobs,
        queued_job_count=queued,
    )


async def combined_status(ctx: ServiceContext, queue: Queue) -> ServiceStatus:
    """The device's state, overridden by the queue's own when administrators stopped
    (paused) or shut it down: a client sees why nothing prints."""
    status = queue.to_status()
    admin = await ctx.queue_states.get(queue.printer_name)
    if admin.service_state not in (ServiceState.STOPPED, ServiceState.DOWN):
        return status
    reasons = [
        r
        for r in (*admin.service_state_reasons, *(status.printer_state_reasons or ()))
        if r != "none"
    ]
    return status.model_copy(
        update={
            "printer_state": PrinterState.STOPPED,
            "printer_state_reasons": list(dict.fromkeys(reasons)) or ["none"],
            "printer_state_message": admin.service_state_message or status.printer_state_message,
        }
    )


@operation(ops.GetServiceElements, role=CLIENT)
async def get_service_elements(
    ctx: ServiceContext, caller: Caller, req: ops.GetServiceElements
) -> ops.GetServiceElementsResponse:
    queue = await queue_for(ctx, req.printer_name, req.service_type)
    groups = set(req.requested_elements or GROUPS)
    unknown = groups - set(GROUPS)
    if unknown:
        raise NotPossible(f"unknown element groups: {', '.join(sorted(unknown))}")
    return ops.GetServiceElementsResponse(service=await queue_elements(ctx, queue, groups))


@operation(ops.GetServices, role=CLIENT)
async def get_services(
    ctx: ServiceContext, caller: Caller, req: ops.GetServices
) -> ops.GetServicesResponse:
    queues = [
        q
        for q in await ctx.queues.list_all()
        if req.service_type is None or q.service_type == req.service_type.value
    ]
    return ops.GetServicesResponse(
        service=[await queue_elements(ctx, q, {"description", "status"}) for q in queues]
    )


@operation(ops.IdentifyPrinter, role=CLIENT)
async def identify_printer(
    ctx: ServiceContext, caller: Caller, req: ops.IdentifyPrinter
) -> ops.IdentifyPrinterResponse:
    """Relayed to the queue's device with the next push (PWG 5100.13 Identify-Printer)."""
    queue = await queue_for(ctx, req.printer_name, req.service_type)
    device = await ctx.devices.get_by_printer(queue.printer_name)
    online = device is not None and ctx.push is not None and device.registration_state == "approved"
    if online and device is not None and ctx.push is not None:
        ctx.push.identify(device, req.identify_actions or ["sound"], req.message)
    return ops.IdentifyPrinterResponse(printer_name=queue.printer_name, device_online=online)
