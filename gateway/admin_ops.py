"""Printer administration (RFC 3998, RFC 3380, PWG 5100.11, PWG 5100.12 §6.3-6.4) onto
the seeds' Table 2 operations (stanzas.admin_ops), made as the authenticated user: the
service decides who may (operators, administrators) and answers not-authorized to
anyone else.

| IPP operation | service operation |
| --- | --- |
| Pause-Printer / Resume-Printer | PauseService / ResumeService |
| Pause-Printer-After-Current-Job | PauseServiceAfterCurrentJob |
| Enable-Printer / Disable-Printer | EnableService / DisableService |
| Hold-New-Jobs / Release-Held-New-Jobs | HoldNewJobs / ReleaseNewJobs |
| Restart-Printer, Startup-Printer | RestartService (from any state, down included) |
| Shutdown-Printer | ShutdownService |
| Cancel-Jobs | CancelJobs |
| Set-Printer-Attributes | SetServiceElements (printer-info, printer-location) |
| Promote-Job / Schedule-Job-After | PromoteJob (with predecessor-job-id) |
"""

from __future__ import annotations

from ipp.codec import IppAttribute
from ipp.constants import GroupTag, Operation, StatusCode, ValueTag
from stanzas import admin_ops as ops
from stanzas.model import Payload

from .attributes import PRINTER_SETTABLE_ATTRIBUTES
from .cloud import REQUEST, request
from .dispatch import operation
from .errors import IppStatusError, bad_request
from .jobs import TEXT_TAGS, integers, message, own_job, text
from .request import Request

S = StatusCode
T = ValueTag
O = Operation  # noqa: E741
#: RFC 3380 §3.1: the operator's message of the printer operations (the service's message).
OPERATOR_MESSAGE = "printer-message-from-operator"


async def _changed(req: Request, payload: Payload) -> None:
    """One Table 2 operation that changes the queue; the queue's state is read afresh
    so that printer subscriptions hear of it."""
    await request(req.client, payload, ops.ServiceResponse)
    await req.gateway.refresh_queue(req.client, req.queue)


#: The Table 2 operations on one queue that take nothing but its name and a message.
_SERVICE_REQUESTS: dict[Operation, type[ops.ServiceRequest]] = {
    O.PAUSE_PRINTER: ops.PauseService,
    O.RESUME_PRINTER: ops.ResumeService,
    O.PAUSE_PRINTER_AFTER_CURRENT_JOB: ops.PauseServiceAfterCurrentJob,
    O.ENABLE_PRINTER: ops.EnableService,
    O.DISABLE_PRINTER: ops.DisableService,
    O.RELEASE_HELD_NEW_JOBS: ops.ReleaseNewJobs,
}
#: ... and those of Table 3's form (service-type and printer-name). Startup-Printer
#: (RFC 3998 §3.5.3, a shut-down printer started again) is RestartService, which takes
#: a queue from any state, down included, to idle.
_TARGET_REQUESTS: dict[Operation, type[ops.RestartService] | type[ops.ShutdownService]] = {
    O.RESTART_PRINTER: ops.RestartService,
    O.STARTUP_PRINTER: ops.RestartService,
    O.SHUTDOWN_PRINTER: ops.ShutdownService,
}


async def _service_request(req: Request) -> None:
    cls = _SERVICE_REQUESTS[Operation(req.message.code)]
    await _changed(req, cls(printer_name=req.queue, message=message(req, OPERATOR_MESSAGE)))


async def _target_request(req: Request) -> None:
    cls = _TARGET_REQUESTS[Operation(req.message.code)]
    payload = cls(
        service_type=ops.AnyServiceType.PRINT,
        printer_name=req.queue,
        message=message(req, OPERATOR_MESSAGE),
    )
    await _changed(req, payload)


for _op in _SERVICE_REQUESTS:
    operation(_op, needs=(REQUEST,), attributes=(OPERATOR_MESSAGE,))(_service_request)
for _op in _TARGET_REQUESTS:
    operation(_op, needs=(REQUEST,), attributes=(OPERATOR_MESSAGE,))(_target_request)


@operation(O.HOLD_NEW_JOBS, needs=(REQUEST,), attributes=(OPERATOR_MESSAGE, "job-hold-until"))
async def hold_new_jobs(req: Request) -> None:
    """Hold-New-Jobs (RFC 3998 §3.3.1) → HoldNewJobs: new jobs are created held."""
    until = req.attr("job-hold-until", (T.KEYWORD, T.NAME, T.NAME_WITH_LANGUAGE), "indefinite")
    payload = ops.HoldNewJobs(
        printer_name=req.queue,
        message=message(req, OPERATOR_MESSAGE),
        job_hold_until=text(until)[:255],
    )
    await _changed(req, payload)


@operation(O.CANCEL_JOBS, needs=(REQUEST,), attributes=("job-ids", "message"))
async def cancel_jobs(req: Request) -> None:
    """Cancel-Jobs (PWG 5100.11 §4.1) → CancelJobs: all or nothing."""
    payload = ops.CancelJobs(
        printer_name=req.queue, job_ids=integers(req, "job-ids"), message=message(req, "message")
    )
    await request(req.client, payload, ops.CancelJobsResponse)


@operation(O.SET_PRINTER_ATTRIBUTES, needs=(REQUEST,), groups=(GroupTag.PRINTER,))
async def set_printer_attributes(req: Request) -> None:
    """Set-Printer-Attributes (RFC 3380 §4.1) → SetServiceElements: printer-info and
    printer-location (printer-settable-attributes-supported); delete-attribute
    removes the administrators' value (the device's applies again). Atomic."""
    group = req.message.group(GroupTag.PRINTER)
    if group is None or not group.attributes:
        raise bad_request("Set-Printer-Attributes needs a printer attributes group")
    refused = [a for a in group.attributes if a.name not in PRINTER_SETTABLE_ATTRIBUTES]
    if refused:
        raise IppStatusError(
            S.CLIENT_ERROR_ATTRIBUTES_NOT_SETTABLE,
            ", ".join(a.name for a in refused)[:200] + " not settable",
            refused,
        )
    values: dict[str, str] = {}
    deleted: list[str] = []
    for attr in group.attributes:
        if int(attr.values[0].tag) == T.DELETE_ATTRIBUTE:
            deleted.append(attr.name)
        elif len(attr.values) != 1 or int(attr.values[0].tag) not in TEXT_TAGS:
            raise bad_request(f"{attr.name} must be one text value")
        elif len(text(attr.values[0].value).encode()) > 127:
            raise IppStatusError(
                S.CLIENT_ERROR_REQUEST_VALUE_TOO_LONG,
                f"{attr.name} is text(127)",
                [IppAttribute(attr.name, list(attr.values))],
            )
        else:
            values[attr.name.replace("-", "_")] = text(attr.values[0].value)
    payload = ops.SetServiceElements(
        printer_name=req.queue,
        description=ops.DescriptionChange(**values) if values else None,
        delete_elements=deleted or None,
    )
    await _changed(req, payload)


@operation(
    O.PROMOTE_JOB, job_target=True, needs=(REQUEST,), attributes=("job-message-from-operator",)
)
async def promote_job(req: Request) -> None:
    """Promote-Job (RFC 3998 §4.5) → PromoteJob: next to be handed to the device."""
    job = await own_job(req)
    payload = ops.PromoteJob(job_id=job.job_id, message=message(req, "job-message-from-operator"))
    await request(req.client, payload, ops.PromoteJobResponse)


@operation(
    O.SCHEDULE_JOB_AFTER,
    job_target=True,
    needs=(REQUEST,),
    attributes=("job-message-from-operator", "predecessor-job-id"),
)
async def schedule_job_after(req: Request) -> None:
    """Schedule-Job-After (RFC 3998 §4.6) → PromoteJob with predecessor-job-id. Without
    a predecessor the job would go last, which the service cannot do: refused."""
    job = await own_job(req)
    predecessor = req.attr("predecessor-job-id", (T.INTEGER,))
    if predecessor is None:
        raise IppStatusError(
            S.CLIENT_ERROR_NOT_POSSIBLE, "predecessor-job-id is required by this printer"
        )
    await own_job(req, int(predecessor))
    payload = ops.PromoteJob(
        job_id=job.job_id,
        predecessor_job_id=int(predecessor),
        message=message(req, "job-message-from-operator"),
    )
    await request(req.client, payload, ops.PromoteJobResponse)
