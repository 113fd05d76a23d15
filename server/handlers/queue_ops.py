"""Handlers of the client operations on queues: what a queue offers and how it is."""

from __future__ import annotations

from server.context import Caller, ServiceContext
from server.devices import rollup
from server.handlers.job_ops import queue_for
from server.handlers.registry import operation
from server.handlers.roles import CLIENT
from server.queues import permissions, policy
from server.stores.queues import Queue
from stanzas import client_ops as ops
from stanzas.admin_ops import ServiceState
from stanzas.errors import NotPossible
from stanzas.groups import ServiceDescription, ServiceElements, ServiceStatus
from stanzas.states import PrinterState

GROUPS = ("description", "capabilities", "configuration", "status", "default-job-ticket")


async def queue_elements(
    ctx: ServiceContext, queue: Queue, groups: set[str], *, operator: bool = False
) -> ServiceElements:
    """What a client is shown of a queue: capabilities within its policies; its
    permissions (who may print) only to operators and administrators."""
    queued = len(await ctx.jobs.list_active(queue.printer_name))
    configuration = queue.configuration
    if not operator:
        configuration = configuration.model_copy(
            update={"allowed_users": None, "allowed_groups": None}
        )
    return ServiceElements(
        description=ServiceDescription(
            printer_name=queue.printer_name,
            service_type=queue.service_type,
            printer_info=queue.printer_info or None,
            printer_location=queue.printer_location or None,
            printer_make_and_model=queue.capabilities.printer_make_and_model,
            output_device_uuid=next(
                iter(await ctx.queue_devices.devices_of(queue.printer_name)), None
            ),
        )
        if "description" in groups
        else None,
        capabilities=policy.restricted(queue.capabilities, queue.configuration)
        if "capabilities" in groups
        else None,
        configuration=configuration if "configuration" in groups else None,
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
    queue = await queue_for(ctx, caller, req.printer_name, req.service_type)
    groups = set(req.requested_elements or GROUPS)
    unknown = groups - set(GROUPS)
    if unknown:
        raise NotPossible(f"unknown element groups: {', '.join(sorted(unknown))}")
    return ops.GetServiceElementsResponse(
        service=await queue_elements(ctx, queue, groups, operator=ctx.is_operator(caller))
    )


@operation(ops.GetServices, role=CLIENT)
async def get_services(
    ctx: ServiceContext, caller: Caller, req: ops.GetServices
) -> ops.GetServicesResponse:
    queues = [
        q
        for q in await ctx.queues.list_all()
        if (req.service_type is None or q.service_type == req.service_type.value)
        and await permissions.is_open(ctx, caller, q)  # only the queues open to the caller
    ]
    return ops.GetServicesResponse(
        service=[await queue_elements(ctx, q, {"description", "status"}) for q in queues]
    )


@operation(ops.IdentifyPrinter, role=CLIENT)
async def identify_printer(
    ctx: ServiceContext, caller: Caller, req: ops.IdentifyPrinter
) -> ops.IdentifyPrinterResponse:
    """Relayed to the queue's devices with the next push (PWG 5100.13 Identify-Printer)."""
    queue = await queue_for(ctx, caller, req.printer_name, req.service_type)
    devices = await rollup.serving(ctx, queue.printer_name)
    push = ctx.push
    if push is not None:
        for device in devices:
            push.identify(device, req.identify_actions or ["sound"], req.message)
    online = push is not None and bool(devices)
    return ops.IdentifyPrinterResponse(printer_name=queue.printer_name, device_online=online)
