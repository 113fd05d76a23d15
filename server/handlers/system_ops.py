"""Handlers of the system operations (seed 001, Table 3) and of the by-name service
lifecycle shared with Table 2 (RestartService, ShutdownService).

Table 3's notes, as applied here:
1. Disable/Enable/Restart/Shutdown/StartupAllServices, ShutdownService, StartupService and
   DeleteService do not apply to the System Control Service: the …All operations skip it,
   and naming it is an error (notes 1 and 8).
2. Pause/Resume/PauseAfterCurrentJob AllServices apply to the job services (queues) only.
3-4. RestartService of the System Control Service restarts it softly (its own state, and
   every device is asked to resynchronise); the queues are left as they are.
5-7. A started or restarted service is idle; with start-service-paused it goes on to
   stopped, and with is-accepting-jobs false it does not accept jobs.
"""

from __future__ import annotations

import uuid
from typing import Any

from server import notifier
from server.context import Caller, ServiceContext
from server.devices import rollup
from server.handlers.admin_common import named_queue, queue_summary, system_summary
from server.handlers.queue_admin_ops import Step, disable, enable, pause, resume
from server.handlers.registry import Handler, Role, operation
from server.handlers.roles import ADMIN, OPERATOR, require_admin
from server.stores.queues import Queue
from stanzas import admin_ops as ops
from stanzas.errors import AttributesNotSupported, NotFound, NotPossible

MAKE_AND_MODEL = "Cirrus Cloud Imaging Service 0.1"
GROUPS = ("system-configuration", "system-description", "system-status")
DOWN = ops.ServiceState.DOWN


async def _all(ctx: ServiceContext) -> ops.ServicesResponse:
    services = [system_summary()]
    for queue in await ctx.queues.list_all():
        services.append(await queue_summary(ctx, queue))
    return ops.ServicesResponse(service=services)


async def _queues(ctx: ServiceContext, *, down: bool | None = None) -> list[Queue]:
    """Every queue, or only those that are (down=True) or are not (down=False) down."""
    queues = await ctx.queues.list_all()
    if down is None:
        return queues
    states = await ctx.queue_states.store.list_all()
    return [
        q
        for q in queues
        if (q.printer_name in states and states[q.printer_name].service_state == DOWN) == down
    ]


def _not_system(service_type: ops.AnyServiceType, what: str) -> None:
    if not service_type.is_job_service:
        raise NotPossible(f"{what} does not apply to the System Control Service")


# --- one service by name ---------------------------------------------------------------


@operation(ops.RestartService, role=OPERATOR)
async def restart_service(
    ctx: ServiceContext, caller: Caller, req: ops.RestartService
) -> ops.ServiceResponse:
    if not req.service_type.is_job_service:
        require_admin(ctx, caller)
        await notifier.announce_restart(ctx)  # soft restart: every device resynchronises
        return ops.ServiceResponse(service=system_summary())
    queue = await named_queue(ctx, req.service_type, req.printer_name, down_ok=True)
    return await _restarted(ctx, queue, req)


async def _restarted(
    ctx: ServiceContext, queue: Queue, req: ops.RestartService | ops.StartupService
) -> ops.ServiceResponse:
    """Restart/Startup of one queue, and the queue as it now is."""
    state = await ctx.queue_states.restart(
        queue.printer_name,
        accepting=req.is_accepting_jobs,
        paused=req.start_service_paused,
        message=req.message,
    )
    queue = await ctx.queues.get(queue.printer_name) or queue
    return ops.ServiceResponse(service=await queue_summary(ctx, queue, state))


@operation(ops.ShutdownService, role=OPERATOR)
async def shutdown_service(
    ctx: ServiceContext, caller: Caller, req: ops.ShutdownService
) -> ops.ServiceResponse:
    _not_system(req.service_type, "ShutdownService")
    queue = await named_queue(ctx, req.service_type, req.printer_name, down_ok=True)
    state = await ctx.queue_states.shutdown(queue.printer_name, req.message)
    return ops.ServiceResponse(service=await queue_summary(ctx, queue, state))


@operation(ops.StartupService, role=ADMIN)
async def startup_service(
    ctx: ServiceContext, caller: Caller, req: ops.StartupService
) -> ops.ServiceResponse:
    """A new queue (no device yet: jobs wait until one registers for it); a shut-down
    queue of that name is started up instead."""
    _not_system(req.service_type, "StartupService")
    assert req.printer_name is not None
    async with ctx.db.transaction():
        queue = await ctx.queues.get(req.printer_name)
        if queue is not None:
            if queue.service_type != req.service_type.value:
                raise NotPossible(f"{req.printer_name} is a {queue.service_type} queue")
            state = await ctx.queue_states.get(queue.printer_name)
            if state.service_state != DOWN:
                raise NotPossible(f"queue {req.printer_name} is already up")
        else:
            queue = await ctx.queues.create(req.printer_name, req.service_type.value, ctx.now())
        return await _restarted(ctx, queue, req)


@operation(ops.DeleteService, role=ADMIN)
async def delete_service(
    ctx: ServiceContext, caller: Caller, req: ops.DeleteService
) -> ops.DeleteServiceResponse:
    """Removes a shut-down queue: its jobs, their documents and spool data, and the
    registrations of the devices that served it alone (they may register again, as new
    devices); devices that serve other queues too go on serving those."""
    _not_system(req.service_type, "DeleteService")
    queue = await named_queue(ctx, req.service_type, req.printer_name, down_ok=True)
    async with ctx.db.transaction():
        state = await ctx.queue_states.get(queue.printer_name)
        if state.service_state != DOWN:
            raise NotPossible(f"queue {queue.printer_name} must be shut down before it is deleted")
        jobs = [
            *await ctx.jobs.list_active(queue.printer_name),
            *await ctx.jobs.list_jobs(
                active=False,
                service_type=queue.service_type,
                printer_name=queue.printer_name,
                limit=2**31 - 1,
            ),
        ]
        for job in jobs:
            ctx.slots.forget_job(job.job_id)
            await ctx.retention.forget_job(job)
        for device in await rollup.serving(ctx, queue.printer_name, approved=False):
            others = set(await ctx.queue_devices.queues_of(device.output_device_uuid))
            if others <= {queue.printer_name}:  # it served this queue alone
                await ctx.devices.delete(device.output_device_uuid)
        await ctx.enrollment.delete_queue(queue.printer_name)
        await ctx.queues.delete(queue.printer_name)
    return ops.DeleteServiceResponse(printer_name=queue.printer_name, deleted_job_count=len(jobs))


# --- all services ----------------------------------------------------------------------


@operation(ops.ListAllServices, role=OPERATOR)
async def list_all_services(
    ctx: ServiceContext, caller: Caller, req: ops.ListAllServices
) -> ops.ServicesResponse:
    return await _all(ctx)


def _restart(paused: str) -> Step:
    """Restart (from any state, down included): `paused` names the request's flag for
    starting stopped (Restart says start-service-paused, Startup start-system-paused)."""

    async def restart(ctx: ServiceContext, printer_name: str, req: Any) -> None:
        await ctx.queue_states.restart(
            printer_name,
            accepting=req.is_accepting_jobs,
            paused=getattr(req, paused),
            message=req.message,
        )

    return restart


async def _shutdown(ctx: ServiceContext, printer_name: str, req: Any) -> None:
    await ctx.queue_states.shutdown(printer_name, req.message)


# Table 3's …AllServices: who may ask, which queues each covers (False: those not shut
# down; True: those shut down; None: every queue), and the step applied to each; the one
# handler below serves them all. Pause…AfterCurrentJob is Pause (see PauseService).
ALL_SERVICES: dict[type[ops.AllServicesRequest], tuple[Role[Caller], bool | None, Step]] = {
    ops.DisableAllServices: (OPERATOR, False, disable),
    ops.EnableAllServices: (OPERATOR, False, enable),
    ops.PauseAllServices: (OPERATOR, False, pause),
    ops.PauseAllServicesAfterCurrentJob: (OPERATOR, False, pause),
    ops.ResumeAllServices: (OPERATOR, False, resume),
    ops.RestartAllServices: (ADMIN, None, _restart("start_service_paused")),
    ops.StartupAllServices: (ADMIN, True, _restart("start_system_paused")),  # from down
    ops.ShutdownAllServices: (ADMIN, None, _shutdown),
}


def _for_every_queue(down: bool | None, step: Step) -> Handler[Caller, ops.AllServicesRequest]:
    async def all_services(
        ctx: ServiceContext, caller: Caller, req: ops.AllServicesRequest
    ) -> ops.ServicesResponse:
        for queue in await _queues(ctx, down=down):
            try:
                await step(ctx, queue.printer_name, req)
            except NotFound:
                continue  # deleted since it was listed: no longer one of "all"
        return await _all(ctx)

    return all_services


for _request, (_role, _down, _step) in ALL_SERVICES.items():
    operation(_request, role=_role)(_for_every_queue(_down, _step))


# --- the System Object -----------------------------------------------------------------

_SETTABLE = {
    "system-description": {"system-name", "system-info", "system-location"},
    "system-configuration": {"auto-approve-devices"},
}


async def system_values(ctx: ServiceContext) -> dict[str, object]:
    """What administrators set, with the configuration file's values underneath."""
    stored = await ctx.system.all()
    if "system-uuid" not in stored:
        stored["system-uuid"] = uuid.uuid4().urn
        await ctx.system.put({"system-uuid": stored["system-uuid"]})
    return {
        "auto-approve-devices": ctx.settings.auto_approve_devices,
        "system-name": ctx.settings.xmpp.component_jid,
        **stored,
    }


async def _elements(ctx: ServiceContext, groups: set[str]) -> ops.SystemElementsResponse:
    values = await system_values(ctx)
    queues = await ctx.queues.list_all()
    summaries = [await queue_summary(ctx, q) for q in queues]
    states = {s.service_state for s in summaries}
    devices = await ctx.devices.list_all()
    system_state = (
        ops.ServiceState.PROCESSING
        if ops.ServiceState.PROCESSING in states
        else ops.ServiceState.STOPPED
        if states and states <= {ops.ServiceState.STOPPED, ops.ServiceState.DOWN}
        else ops.ServiceState.IDLE
    )
    return ops.SystemElementsResponse(
        system_configuration=ops.SystemConfiguration(
            auto_approve_devices=bool(values["auto-approve-devices"]),
            admins=list(ctx.settings.admins),
            operators=list(ctx.settings.operators),
        )
        if "system-configuration" in groups
        else None,
        system_description=ops.SystemDescription(
            system_name=str(values["system-name"]),
            system_info=_text(values.get("system-info")),
            system_location=_text(values.get("system-location")),
            system_make_and_model=MAKE_AND_MODEL,
            system_uuid=str(values["system-uuid"]),
        )
        if "system-description" in groups
        else None,
        system_status=ops.SystemStatus(
            system_state=system_state,
            system_state_reasons=["none"],
            system_up_time=max(0, int(ctx.clock() - ctx.started)),
            system_current_time=ctx.now(),
            service_count=len(queues),
            active_job_count=sum(s.queued_job_count or 0 for s in summaries),
            device_count=len(devices),
            devices_online=sum(1 for d in devices if d.jid in ctx.online),
        )
        if "system-status" in groups
        else None,
    )


def _text(value: object) -> str | None:
    return str(value) if value is not None else None


@operation(ops.GetSystemElements, role=OPERATOR)
async def get_system_elements(
    ctx: ServiceContext, caller: Caller, req: ops.GetSystemElements
) -> ops.SystemElementsResponse:
    """Only the System Object and the System Control Service; never another service's
    elements (seed: "MUST NOT query information from any other Service")."""
    groups = set(req.requested_elements or GROUPS)
    unknown = groups - set(GROUPS)
    if unknown:
        raise NotPossible(f"unknown element groups: {', '.join(sorted(unknown))}")
    return await _elements(ctx, groups)


@operation(ops.SetSystemElements, role=ADMIN)
async def set_system_elements(
    ctx: ServiceContext, caller: Caller, req: ops.SetSystemElements
) -> ops.SystemElementsResponse:
    """Atomic: settable are the description's name, info and location and the
    configuration's auto-approve-devices; status never (seed)."""
    changes: dict[str, object] = {}
    problems: list[str] = []
    for group, element in (
        ("system-description", req.system_description),
        ("system-configuration", req.system_configuration),
        ("system-status", req.system_status),
    ):
        given = element.model_dump(exclude_none=True, by_alias=True) if element else {}
        for name, value in given.items():
            if name in _SETTABLE.get(group, set()):
                changes[name] = value
            else:
                problems.append(f"{group}.{name}")
    settable = set().union(*_SETTABLE.values())
    for name in req.delete_elements or ():
        if name in settable:
            changes[name] = None
        else:
            problems.append(f"delete-elements.{name}")
    if problems:
        raise AttributesNotSupported("not set (nothing was): " + ", ".join(problems))
    await ctx.system.put(changes)
    return await _elements(ctx, {"system-configuration", "system-description"})
