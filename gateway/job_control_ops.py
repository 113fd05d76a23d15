"""Operations on existing jobs (RFC 8011 §4.3, RFC 3380, RFC 3998, PWG 5100.11): reads,
cancels, holds, changes, resubmission. Each maps onto one service operation."""

from __future__ import annotations

from ipp.codec import IppAttribute, IppValue
from ipp.constants import GroupTag, Operation, StatusCode, ValueTag
from stanzas.groups import JobStatus

from .attributes import JOB_SETTABLE_ATTRIBUTES, WHICH_JOBS, job_attributes, ticket_from_request
from .cloud import method
from .dispatch import operation
from .errors import IppStatusError, bad_request
from .jobs import (
    NAME_TAGS,
    answer_job,
    integers,
    message,
    own_job,
    queue,
    text,
    ticket,
)
from .request import Request

S = StatusCode
T = ValueTag
O = Operation  # noqa: E741
JOB = GroupTag.JOB
#: RFC 3380 §3.2: the operator's message of the job operations (the service's message).
OPERATOR_MESSAGE = "job-message-from-operator"

_JOB_DESCRIPTION = frozenset(
    {
        "job-id",
        "job-uri",
        "job-uuid",
        "job-printer-uri",
        "job-name",
        "job-originating-user-name",
        "job-state",
        "job-state-reasons",
        "job-state-message",
        "number-of-documents",
        "job-impressions-completed",
        "job-printer-up-time",
        "time-at-creation",
        "time-at-processing",
        "time-at-completed",
        "date-time-at-creation",
        "date-time-at-processing",
        "date-time-at-completed",
        "output-device-assigned",
    }
)

# ----------------------------------------------------------------------------- control


@operation(O.CANCEL_JOB, job_target=True, attributes=("message",))
async def cancel_job(req: Request) -> None:
    """Cancel-Job → CancelJob."""
    job = await own_job(req)
    await req.client.cancel_job(job.job_id, message(req, "message"))


@operation(O.CANCEL_MY_JOBS, needs=("cancel_my_jobs",), attributes=("job-ids", "message"))
async def cancel_my_jobs(req: Request) -> None:
    """Cancel-My-Jobs → CancelMyJobs (job-ids limits it to those jobs)."""
    await method(req.client, "cancel_my_jobs")(
        req.queue, integers(req, "job-ids"), message(req, "message")
    )


@operation(
    O.CANCEL_CURRENT_JOB,
    job_target=True,
    needs=("cancel_current_job",),
    attributes=(OPERATOR_MESSAGE,),
)
async def cancel_current_job(req: Request) -> None:
    """Cancel-Current-Job → CancelCurrentJob (operators)."""
    await method(req.client, "cancel_current_job")(
        req.queue, req.job_id, message(req, OPERATOR_MESSAGE)
    )


@operation(
    O.SUSPEND_CURRENT_JOB,
    job_target=True,
    needs=("suspend_current_job",),
    attributes=(OPERATOR_MESSAGE,),
)
async def suspend_current_job(req: Request) -> None:
    """Suspend-Current-Job (RFC 3998 §4.3) → SuspendCurrentJob (operators)."""
    await method(req.client, "suspend_current_job")(
        req.queue, req.job_id, message(req, OPERATOR_MESSAGE)
    )


@operation(O.RESUME_JOB, job_target=True, needs=("resume_job",), attributes=(OPERATOR_MESSAGE,))
async def resume_job(req: Request) -> None:
    """Resume-Job (RFC 3998 §4.4) → ResumeJob (operators)."""
    job = await own_job(req)
    await method(req.client, "resume_job")(job.job_id, message(req, OPERATOR_MESSAGE))


@operation(O.HOLD_JOB, job_target=True, needs=("hold_job",), attributes=("job-hold-until",))
async def hold_job(req: Request) -> None:
    """Hold-Job → HoldJob."""
    job = await own_job(req)
    until = req.attr("job-hold-until", (T.KEYWORD, *NAME_TAGS), "indefinite")
    await method(req.client, "hold_job")(job.job_id, until=text(until))


@operation(O.RELEASE_JOB, job_target=True, needs=("release_job",))
async def release_job(req: Request) -> None:
    """Release-Job → ReleaseJob."""
    job = await own_job(req)
    await method(req.client, "release_job")(job.job_id)


@operation(O.SET_JOB_ATTRIBUTES, job_target=True, needs=("set_job_elements",), groups=(JOB,))
async def set_job_attributes(req: Request) -> None:
    """Set-Job-Attributes (RFC 3380) → SetJobElements; delete-attribute values delete."""
    job = await own_job(req)
    group = req.job_group()
    if group is None or not group.attributes:
        raise bad_request("Set-Job-Attributes needs a job attributes group")
    deleted = [a.name for a in group.attributes if int(a.values[0].tag) == T.DELETE_ATTRIBUTE]
    for attr in group.attributes:
        if attr.name not in JOB_SETTABLE_ATTRIBUTES:
            raise IppStatusError(
                S.CLIENT_ERROR_ATTRIBUTES_NOT_SETTABLE, f"{attr.name} is not settable", [attr]
            )
    group.attributes = [a for a in group.attributes if a.name not in deleted]
    info = await queue(req)
    result = ticket_from_request(group, info)
    if result.unsupported:
        raise IppStatusError(
            S.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            "unsupported values",
            result.unsupported,
        )
    await method(req.client, "set_job_elements")(
        job.job_id,
        result.ticket,
        delete=[d.replace("-", "_") for d in deleted],
        job_name=result.job_name,
    )


@operation(
    O.RESUBMIT_JOB,
    job_target=True,
    needs=("resubmit_job",),
    attributes=("ipp-attribute-fidelity",),
    groups=(JOB,),
)
async def resubmit_job(req: Request) -> None:
    """Resubmit-Job (PWG 5100.11) → ResubmitJob: a new job, answered like Create-Job."""
    job = await own_job(req)
    overrides = ticket(req, await queue(req))
    new = await method(req.client, "resubmit_job")(job.job_id, overrides)
    req.gateway.subscriptions.publish_job("job-created", req.identity.owner, new)
    answer_job(req, new)


@operation(O.REPROCESS_JOB, job_target=True, needs=("resubmit_job",))
async def reprocess_job(req: Request) -> None:
    """Reprocess-Job (RFC 3998 §4.1): a copy of a retained job with a new job-id →
    ResubmitJob without overrides."""
    job = await own_job(req)
    new = await method(req.client, "resubmit_job")(job.job_id, None)
    req.gateway.subscriptions.publish_job("job-created", req.identity.owner, new)
    answer_job(req, new)


# ----------------------------------------------------------------------------- reads


def _select_job(attrs: list[IppAttribute], requested: list[str] | None) -> list[IppAttribute]:
    wanted = set(requested or ["all"])
    out = []
    for attr in attrs:
        description = attr.name in _JOB_DESCRIPTION
        if (
            attr.name in wanted
            or "all" in wanted
            or (description and "job-description" in wanted)
            or (not description and "job-template" in wanted)
        ):
            out.append(attr)
    return out


@operation(O.GET_JOB_ATTRIBUTES, job_target=True, attributes=("requested-attributes",))
async def get_job_attributes(req: Request) -> None:
    """Get-Job-Attributes → GetJobElements."""
    job = await own_job(req)
    attrs = job_attributes(job, req.printer_uri, req.gateway.now())
    req.add_group(GroupTag.JOB, _select_job(attrs, req.requested()))


def _which(jobs: list[JobStatus], which: str) -> list[JobStatus]:
    if which in ("completed", "not-completed", "all"):
        return jobs
    return [j for j in jobs if j.job_state.value == which]


@operation(
    O.GET_JOBS,
    needs=("get_jobs",),
    attributes=("which-jobs", "limit", "first-index", "my-jobs", "job-ids", "requested-attributes"),
)
async def get_jobs(req: Request) -> None:
    """Get-Jobs → GetActiveJobs / GetJobHistory (which-jobs, my-jobs, job-ids, limit,
    first-index, requested-attributes)."""
    which = req.attr("which-jobs", (T.KEYWORD,), "not-completed")
    if which not in WHICH_JOBS:
        raise IppStatusError(
            S.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            f"which-jobs {which[:40]} is not supported",
            [IppAttribute("which-jobs", [IppValue(T.KEYWORD, which)])],
        )
    limit = req.attr("limit", (T.INTEGER,))
    if limit is not None and limit < 1:
        raise bad_request("limit must be 1 or more")
    first_index = req.attr("first-index", (T.INTEGER,), 1)
    job_ids = integers(req, "job-ids")
    my_jobs = bool(req.attr("my-jobs", (T.BOOLEAN,), False)) or req.identity.anonymous
    requested = req.requested() or ["job-uri", "job-id"]
    asked = which if which in ("completed", "not-completed") and job_ids is None else "all"
    jobs: list[JobStatus] = await method(req.client, "get_jobs")(
        req.queue, which=asked, my_jobs=my_jobs, limit=None
    )
    jobs = _which(jobs, which) if job_ids is None else [j for j in jobs if j.job_id in job_ids]
    if req.identity.anonymous:
        mine = req.gateway.anonymous_jobs
        jobs = [j for j in jobs if mine.get(j.job_id) == req.identity.user]
    jobs = jobs[max(first_index, 1) - 1 :]
    if limit is not None:
        jobs = jobs[:limit]
    now = req.gateway.now()
    for job in jobs:
        attrs = job_attributes(job, req.printer_uri, now)
        req.add_group(GroupTag.JOB, _select_job(attrs, requested))
