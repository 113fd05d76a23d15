"""Handlers of the administrative operations on one queue (one of the seeds' Services;
seed 001, Table 2).

State steps are server/queues/states.py's, job steps server/jobs/actions.py's and the
order server/jobs/schedule.py's; these handlers check what the request names (who may ask
is each operation's role).
Resume<Service>Job is Table 1's ResumeJob (server/handlers/job_ops.py), open to operators.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from server.context import Caller, ServiceContext
from server.handlers.admin_common import named_queue, queue_summary
from server.handlers.registry import Handler, operation
from server.handlers.roles import ADMIN, OPERATOR
from server.jobs import actions as job_actions
from server.jobs import schedule, tickets
from server.stores.queues import Queue
from stanzas import admin_ops as ops
from stanzas.errors import AttributesNotSupported, NotFound, NotPossible
from stanzas.groups import QueueConfiguration
from stanzas.model import MAX_LIST_ITEMS, ipp_name
from stanzas.states import JobStateReason as R

SHOWN_ORDER = 100  # PromoteJob answers with the first waiting jobs in their new order


def _ids(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:20]))
    return shown + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")


async def _answer(ctx: ServiceContext, printer_name: str) -> ops.ServiceResponse:
    queue = await ctx.queue_states.existing(printer_name)
    return ops.ServiceResponse(service=await queue_summary(ctx, queue))


@operation(ops.CancelJobs, role=OPERATOR)
async def cancel_jobs(
    ctx: ServiceContext, caller: Caller, req: ops.CancelJobs
) -> ops.CancelJobsResponse:
    """All or nothing: if a named job cannot be canceled (not a job of this queue, or
    already being canceled), none is, and the error names them (seed Note 1). Named jobs
    that had already ended are no obstacle ("cancel all identified non-Terminated Jobs");
    without names, jobs already being canceled are left to finish so."""
    queue = await named_queue(ctx, req.service_type, req.printer_name)
    async with ctx.db.transaction():
        if req.job_ids:
            found = {i: await ctx.jobs.get(i) for i in dict.fromkeys(req.job_ids)}
            foreign = [
                i for i, j in found.items() if j is None or j.printer_name != queue.printer_name
            ]
            if foreign:
                raise NotFound(
                    f"not jobs of {queue.printer_name}: {_ids(foreign)}",
                    job_ids=foreign[:MAX_LIST_ITEMS],
                )
            candidates = [j for j in found.values() if j is not None]
        else:
            # Every active job; one already being canceled is on its way to a final
            # state, so it is left alone rather than failing the request (as CancelMyJobs).
            candidates = [
                j
                for j in await ctx.jobs.list_active(queue.printer_name)
                if not job_actions.cancel_refusal(j)
            ]
        live = [j for j in candidates if not j.job_state.is_terminal]
        stuck = [j.job_id for j in live if job_actions.cancel_refusal(j)]
        if stuck:  # already being canceled: Cancel<Service>Job would refuse it too
            raise NotPossible(f"cannot be canceled: {_ids(stuck)}", job_ids=stuck[:MAX_LIST_ITEMS])
        message = req.message or f"canceled by {caller.bare}"
        for job in live:
            await job_actions.request_cancel(
                ctx.job_states, job, R.JOB_CANCELED_BY_OPERATOR, message
            )
    return ops.CancelJobsResponse(job_ids=[j.job_id for j in live][:MAX_LIST_ITEMS])


# --- one queue's state and acceptance -------------------------------------------------
# The step each operation takes on the named queue; the …AllServices operations
# (system_ops.py) take the same steps on every queue.
Step = Callable[[ServiceContext, str, Any], Awaitable[object]]


async def disable(ctx: ServiceContext, printer_name: str, req: Any) -> None:
    await ctx.queue_states.set_accepting(printer_name, False, req.message)


async def enable(ctx: ServiceContext, printer_name: str, req: Any) -> None:
    await ctx.queue_states.set_accepting(printer_name, True, req.message)


async def pause(ctx: ServiceContext, printer_name: str, req: Any) -> None:
    """Pause…AfterCurrentJob is the same as Pause: jobs at a device are never stopped from
    here (seed: then "the response to both requests is exactly the same")."""
    await ctx.queue_states.pause(printer_name, req.message)


async def resume(ctx: ServiceContext, printer_name: str, req: Any) -> None:
    await ctx.queue_states.resume(printer_name, req.message)


async def _release_new(ctx: ServiceContext, printer_name: str, req: Any) -> None:
    await ctx.queue_states.release_new(printer_name, req.message)


async def _hold_new(ctx: ServiceContext, printer_name: str, req: ops.HoldNewJobs) -> None:
    if req.job_hold_until is not None and req.job_hold_until_time is not None:
        raise AttributesNotSupported("give job-hold-until or job-hold-until-time, not both")
    if req.job_hold_until not in (None, "indefinite"):
        raise AttributesNotSupported(
            f"job-hold-until={req.job_hold_until}: only 'indefinite' or a job-hold-until-time"
        )
    if req.job_hold_until_time is not None and req.job_hold_until_time <= ctx.now():
        raise AttributesNotSupported("job-hold-until-time must be in the future")
    await ctx.queue_states.hold_new(
        printer_name, req.job_hold_until, req.job_hold_until_time, req.message
    )


ONE_SERVICE: dict[type[ops.ServiceRequest], Step] = {
    ops.DisableService: disable,
    ops.EnableService: enable,
    ops.HoldNewJobs: _hold_new,
    ops.ReleaseNewJobs: _release_new,
    ops.PauseService: pause,
    ops.PauseServiceAfterCurrentJob: pause,
    ops.ResumeService: resume,
}


def _for_the_named_queue(step: Step) -> Handler[Caller, ops.ServiceRequest]:
    async def one_service(
        ctx: ServiceContext, caller: Caller, req: ops.ServiceRequest
    ) -> ops.ServiceResponse:
        queue = await named_queue(ctx, req.service_type, req.printer_name)
        await step(ctx, queue.printer_name, req)
        return await _answer(ctx, queue.printer_name)

    return one_service


for _request, _step in ONE_SERVICE.items():
    operation(_request, role=OPERATOR)(_for_the_named_queue(_step))


@operation(ops.PromoteJob, role=OPERATOR)
async def promote_job(
    ctx: ServiceContext, caller: Caller, req: ops.PromoteJob
) -> ops.PromoteJobResponse:
    job = await ctx.jobs.get(req.job_id)
    if job is None:
        raise NotFound(f"no job {req.job_id}")
    await ctx.queue_states.require_up(job.printer_name)
    job, order = await schedule.promote(ctx, req.job_id, req.predecessor_job_id)
    return ops.PromoteJobResponse(job=job.to_status(), scheduled_job_ids=order[:SHOWN_ORDER])


# --- Set<Service>ServiceElements -------------------------------------------------------

_CONFIG_FIELDS = {ipp_name(n): n for n in QueueConfiguration.model_fields}
_DELETABLE = {"printer-info", "printer-location", "auto-approve-devices", "default-job-ticket"}
_RETENTION = {"discard", "timed", "keep"}
_TIME_OUT_ACTIONS = {"abort-job", "hold-job", "process-job"}


def _set_names(group: str, element: object | None) -> list[str]:
    if element is None:
        return []
    given = element.model_dump(exclude_none=True, by_alias=True)  # type: ignore[attr-defined]
    return [f"{group}.{name}" for name in given] or [group]


def _check_configuration(config: QueueConfiguration) -> list[str]:
    problems = []
    if config.document_retention is not None and config.document_retention not in _RETENTION:
        problems.append(f"configuration.document-retention={config.document_retention}")
    action = config.multiple_operation_time_out_action
    if action is not None and action not in _TIME_OUT_ACTIONS:
        problems.append(f"configuration.multiple-operation-time-out-action={action}")
    return problems


@operation(ops.SetServiceElements, role=ADMIN)
async def set_service_elements(
    ctx: ServiceContext, caller: Caller, req: ops.SetServiceElements
) -> ops.ServiceResponse:
    """Atomic (seed 001): every element is checked first; if one cannot be set, nothing
    is, and the error names each one that could not be."""
    async with ctx.db.transaction():
        queue = await named_queue(ctx, req.service_type, req.printer_name)
        problems = _set_names("capabilities", req.capabilities) + _set_names("status", req.status)
        if req.description and req.description.printer_make_and_model is not None:
            problems.append("description.printer-make-and-model")
        deletes = set(req.delete_elements or ())
        problems += [
            f"delete-elements.{name}" for name in sorted(deletes - _DELETABLE - set(_CONFIG_FIELDS))
        ]
        config = _merged_configuration(queue, req, deletes)
        problems += _check_configuration(config)
        if config.default_job_ticket is not None:
            problems += [
                f"default-job-ticket.{name}"
                for name in tickets.unsupported(config.default_job_ticket, queue.capabilities)
            ]
        if problems:
            raise AttributesNotSupported("not set (nothing was): " + ", ".join(problems))
        changes: dict[str, object] = {"configuration": config}
        state = await ctx.queue_states.get(queue.printer_name)
        owned = set(state.admin_description)
        for name in ("printer_info", "printer_location"):
            value = getattr(req.description, name) if req.description else None
            if value is not None or ipp_name(name) in deletes:
                changes[name] = value or ""
                # Set: the device's registration no longer overwrites it; deleted: it may.
                (owned.add if value else owned.discard)(ipp_name(name))
        queue = await ctx.queues.update(queue, **changes)
        auto = state.auto_approve_devices
        if req.device_policy is not None and req.device_policy.auto_approve_devices is not None:
            auto = req.device_policy.auto_approve_devices
        if "auto-approve-devices" in deletes:
            auto = None
        state = await ctx.queue_states.change(
            queue.printer_name,
            state.service_state,
            message=req.message,
            auto_approve_devices=auto,
            admin_description=tuple(sorted(owned)),
        )
    return ops.ServiceResponse(
        service=await queue_summary(ctx, queue, state),
        configuration=queue.configuration,
        device_policy=ops.DevicePolicy(auto_approve_devices=auto),
    )


def _merged_configuration(
    queue: Queue, req: ops.SetServiceElements, deletes: set[str]
) -> QueueConfiguration:
    """The configuration as if it had been set so: sparse changes over what is there."""
    update = req.configuration.model_dump(exclude_none=True) if req.configuration else {}
    update = {n: getattr(req.configuration, n) for n in update}
    if req.default_job_ticket is not None:
        update["default_job_ticket"] = req.default_job_ticket
    for name in deletes & (set(_CONFIG_FIELDS) | {"default-job-ticket"}):
        update[_CONFIG_FIELDS.get(name, "default_job_ticket")] = None
    return queue.configuration.model_copy(update=update)
