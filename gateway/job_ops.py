"""Job operations (RFC 8011 §4.2-4.3, PWG 5100.11, RFC 3998): each maps onto one
service operation of the client library. See docs/gateway.md for the mapping table."""

from __future__ import annotations

from typing import Any

from ipp.codec import IppAttribute, IppValue, StringWithLanguage
from ipp.constants import GroupTag, Operation, StatusCode, ValueTag
from stanzas.errors import CloudImagingError
from stanzas.groups import JobStatus, JobTicket

from .attributes import (
    JOB_CREATION_ATTRIBUTES,
    QueueInfo,
    job_attributes,
    ticket_from_request,
)
from .cloud import method
from .dispatch import operation
from .errors import IppStatusError, bad_request, not_found
from .request import Request

S = StatusCode
T = ValueTag
O = Operation  # noqa: E741

#: Attributes answered by the job-creating operations (RFC 8011 §4.2.1.2).
CREATION_ANSWER = ("job-id", "job-uri", "job-state", "job-state-reasons", "job-state-message")
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
_NAME_TAGS = (T.NAME, T.NAME_WITH_LANGUAGE)


def _string(value: Any) -> str:
    return value.text if isinstance(value, StringWithLanguage) else str(value)


# ----------------------------------------------------------------------------- helpers


async def _queue(req: Request) -> QueueInfo:
    return await req.gateway.queue_info(req.client, req.queue)


def _check_format(req: Request, info: QueueInfo) -> str:
    """document-format of the request (default application/octet-stream, auto-sense)."""
    fmt = req.attr("document-format", (T.MIME_MEDIA_TYPE,), "application/octet-stream")
    formats = info.formats
    if fmt != "application/octet-stream" and fmt not in formats:
        raise IppStatusError(
            S.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
            f"{fmt} is not supported by {info.name}",
            [IppAttribute("document-format", [IppValue(T.MIME_MEDIA_TYPE, fmt)])],
        )
    return str(fmt)


def _check_compression(req: Request) -> None:
    compression = req.attr("compression", (T.KEYWORD,), "none")
    if compression != "none":
        raise IppStatusError(
            S.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED,
            f"compression {compression} is not supported",
            [IppAttribute("compression", [IppValue(T.KEYWORD, compression)])],
        )


def _ticket(req: Request, info: QueueInfo) -> JobTicket:
    """The job ticket from the job attributes group, applying ipp-attribute-fidelity."""
    result = ticket_from_request(req.job_group(), info)
    if result.unsupported:
        fidelity = req.attr("ipp-attribute-fidelity", (T.BOOLEAN,), False)
        if fidelity:
            raise IppStatusError(
                S.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                "unsupported job template attributes with ipp-attribute-fidelity",
                result.unsupported,
            )
        req.unsupported.extend(result.unsupported)
    return result.ticket


def _job_name(req: Request) -> str | None:
    name = req.attr("job-name", _NAME_TAGS)
    if name is None:
        name = req.attr("document-name", _NAME_TAGS)
    return _string(name)[:255] if name is not None else None


def _check_accepting(info: QueueInfo) -> None:
    if not info.is_accepting_jobs or info.status.printer_is_accepting_jobs is False:
        raise IppStatusError(
            S.SERVER_ERROR_NOT_ACCEPTING_JOBS, f"{info.name} is not accepting jobs"
        )


def answer_job(
    req: Request, job: JobStatus, names: tuple[str, ...] | None = CREATION_ANSWER
) -> None:
    attrs = job_attributes(job, req.printer_uri, req.gateway.now())
    if names is not None:
        attrs = [a for a in attrs if a.name in names]
    req.add_group(GroupTag.JOB, attrs)


async def _own_job(req: Request) -> JobStatus:
    """The target job, if it is on the target queue and the asker may see it."""
    assert req.job_id is not None
    try:
        job = await req.client.get_job(req.job_id)
    except CloudImagingError as exc:
        if exc.status == "client-error-not-found":
            raise not_found(f"no job {req.job_id} on {req.queue}") from None
        raise
    if job.printer_name not in (None, req.queue):
        raise not_found(f"job {req.job_id} is not on {req.queue}")
    if req.identity.anonymous:
        who = req.gateway.anonymous_jobs.get(job.job_id)
        if who is None or who != req.identity.user:
            raise IppStatusError(S.CLIENT_ERROR_NOT_AUTHORIZED, f"job {job.job_id} is not yours")
    return job


async def _create(req: Request, info: QueueInfo) -> JobStatus:
    _check_accepting(info)
    ticket = _ticket(req, info)
    job = await req.client.create_job(req.queue, job_name=_job_name(req), ticket=ticket)
    if req.identity.anonymous:
        req.gateway.anonymous_jobs[job.job_id] = req.identity.user
    req.gateway.subscriptions.publish_job("job-created", req.identity.owner, job)
    return job


async def _send(req: Request, job_id: int, fmt: str, last: bool) -> None:
    name = req.attr("document-name", _NAME_TAGS)
    await req.client.send_document_stream(
        job_id,
        req.body.stream(),
        document_name=_string(name)[:255] if name is not None else f"document-{job_id}",
        document_format=fmt,
        last_document=last,
    )


async def _cancel_quietly(req: Request, job_id: int) -> None:
    try:
        await req.client.cancel_job(job_id, "the document did not arrive")
    except CloudImagingError:
        pass


# ----------------------------------------------------------------------------- creation


@operation(O.PRINT_JOB, document=True)
async def print_job(req: Request) -> None:
    """Print-Job → CreateJob + SendDocument(last) with the request body streamed."""
    info = await _queue(req)
    _check_compression(req)
    fmt = _check_format(req, info)
    job = await _create(req, info)
    try:
        await _send(req, job.job_id, fmt, True)
    except BaseException:
        await _cancel_quietly(req, job.job_id)
        raise
    answer_job(req, await req.client.get_job(job.job_id))


@operation(O.PRINT_URI, needs=("send_uri",))
async def print_uri(req: Request) -> None:
    """Print-URI → CreateJob + SendURI(last)."""
    info = await _queue(req)
    uri = _document_uri(req)
    fmt = _check_format(req, info) if "document-format" in req.op else None
    job = await _create(req, info)
    try:
        await method(req.client, "send_uri")(
            job.job_id, uri, document_format=fmt, last_document=True
        )
    except BaseException:
        await _cancel_quietly(req, job.job_id)
        raise
    answer_job(req, await req.client.get_job(job.job_id))


@operation(O.VALIDATE_JOB)
async def validate_job(req: Request) -> None:
    """Validate-Job → the ticket checked against the queue's capabilities (and
    ValidateJobTicket at the service when the client library has it)."""
    info = await _queue(req)
    _check_compression(req)
    _check_format(req, info)
    _job_name(req)
    ticket = _ticket(req, info)
    _check_accepting(info)
    validate = getattr(req.client, "validate_job_ticket", None)
    if not callable(validate):
        return
    dropped = await validate(req.queue, ticket)
    if dropped:
        group = req.job_group()
        names = {d.replace("_", "-") for d in dropped}
        attrs = [a for a in (group.attributes if group else []) if a.name in names]
        if req.attr("ipp-attribute-fidelity", (T.BOOLEAN,), False):
            raise IppStatusError(
                S.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                "the queue would not honour: " + ", ".join(sorted(names)),
                attrs,
            )
        req.unsupported.extend(attrs)


@operation(O.CREATE_JOB)
async def create_job(req: Request) -> None:
    """Create-Job → CreateJob."""
    info = await _queue(req)
    job = await _create(req, info)
    answer_job(req, job)


def _last_document(req: Request) -> bool:
    last = req.attr("last-document", (T.BOOLEAN,))
    if last is None:
        raise bad_request("last-document is required")
    return bool(last)


@operation(O.SEND_DOCUMENT, job_target=True, document=True)
async def send_document(req: Request) -> None:
    """Send-Document → SendDocument (or, with no data and last-document, the close)."""
    info = await _queue(req)
    last = _last_document(req)
    _check_compression(req)
    fmt = _check_format(req, info)
    job = await _own_job(req)
    assert req.job_id is not None
    if last and await req.body.peek_empty():
        await req.client.close_job(req.job_id)
    else:
        await _send(req, job.job_id, fmt, last)
    answer_job(req, await req.client.get_job(job.job_id))


@operation(O.SEND_URI, job_target=True, needs=("send_uri",))
async def send_uri(req: Request) -> None:
    """Send-URI → SendURI."""
    info = await _queue(req)
    last = _last_document(req)
    uri = _document_uri(req)
    fmt = _check_format(req, info) if "document-format" in req.op else None
    job = await _own_job(req)
    await method(req.client, "send_uri")(job.job_id, uri, document_format=fmt, last_document=last)
    answer_job(req, await req.client.get_job(job.job_id))


def _document_uri(req: Request) -> str:
    uri = req.attr("document-uri", (T.URI,))
    if uri is None:
        raise bad_request("document-uri is required")
    scheme = str(uri).split(":", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise IppStatusError(
            S.CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED,
            f"{scheme}: URIs are not supported",
            [IppAttribute("document-uri", [IppValue(T.URI, uri)])],
        )
    return str(uri)


@operation(O.CLOSE_JOB, job_target=True)
async def close_job(req: Request) -> None:
    """Close-Job → Close<Service>Job (SendDocument no-data with older clients)."""
    job = await _own_job(req)
    close = getattr(req.client, "close", None)
    await (close(job.job_id) if callable(close) else req.client.close_job(job.job_id))
    answer_job(req, await req.client.get_job(job.job_id))


# ----------------------------------------------------------------------------- control


@operation(O.CANCEL_JOB, job_target=True)
async def cancel_job(req: Request) -> None:
    """Cancel-Job → CancelJob."""
    job = await _own_job(req)
    message = req.attr("message", (T.TEXT, T.TEXT_WITH_LANGUAGE))
    await req.client.cancel_job(job.job_id, _string(message) if message is not None else None)


@operation(O.CANCEL_MY_JOBS, needs=("cancel_my_jobs",))
async def cancel_my_jobs(req: Request) -> None:
    """Cancel-My-Jobs → CancelMyJobs (job-ids limits it to those jobs)."""
    ids = req.op.get("job-ids")
    job_ids = None
    if ids is not None:
        if any(int(v.tag) != T.INTEGER for v in ids.values):
            raise bad_request("job-ids are integers")
        job_ids = [v.value for v in ids.values]
    await method(req.client, "cancel_my_jobs")(req.queue, job_ids)


@operation(O.CANCEL_CURRENT_JOB, job_target=True, needs=("cancel_current_job",))
async def cancel_current_job(req: Request) -> None:
    """Cancel-Current-Job → CancelCurrentJob (operators)."""
    await method(req.client, "cancel_current_job")(req.queue, req.job_id)


@operation(O.HOLD_JOB, job_target=True, needs=("hold_job",))
async def hold_job(req: Request) -> None:
    """Hold-Job → HoldJob."""
    job = await _own_job(req)
    until = req.attr("job-hold-until", (T.KEYWORD, *_NAME_TAGS), "indefinite")
    await method(req.client, "hold_job")(job.job_id, until=_string(until))


@operation(O.RELEASE_JOB, job_target=True, needs=("release_job",))
async def release_job(req: Request) -> None:
    """Release-Job → ReleaseJob."""
    job = await _own_job(req)
    await method(req.client, "release_job")(job.job_id)


@operation(O.SET_JOB_ATTRIBUTES, job_target=True, needs=("set_job_elements",))
async def set_job_attributes(req: Request) -> None:
    """Set-Job-Attributes (RFC 3380) → SetJobElements; delete-attribute values delete."""
    job = await _own_job(req)
    group = req.job_group()
    if group is None or not group.attributes:
        raise bad_request("Set-Job-Attributes needs a job attributes group")
    deleted = [a.name for a in group.attributes if int(a.values[0].tag) == T.DELETE_ATTRIBUTE]
    allowed = set(JOB_CREATION_ATTRIBUTES)
    for attr in group.attributes:
        if attr.name not in allowed:
            raise IppStatusError(
                S.CLIENT_ERROR_ATTRIBUTES_NOT_SETTABLE, f"{attr.name} is not settable", [attr]
            )
    group.attributes = [a for a in group.attributes if a.name not in deleted]
    info = await _queue(req)
    result = ticket_from_request(group, info)
    if result.unsupported:
        raise IppStatusError(
            S.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            "unsupported values",
            result.unsupported,
        )
    await method(req.client, "set_job_elements")(
        job.job_id, result.ticket, delete=[d.replace("-", "_") for d in deleted]
    )


@operation(O.RESUBMIT_JOB, job_target=True, needs=("resubmit_job",))
async def resubmit_job(req: Request) -> None:
    """Resubmit-Job (PWG 5100.11) → ResubmitJob: a new job, answered like Create-Job."""
    job = await _own_job(req)
    info = await _queue(req)
    overrides = _ticket(req, info)
    new = await method(req.client, "resubmit_job")(job.job_id, overrides)
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


@operation(O.GET_JOB_ATTRIBUTES, job_target=True)
async def get_job_attributes(req: Request) -> None:
    """Get-Job-Attributes → GetJobElements."""
    job = await _own_job(req)
    attrs = job_attributes(job, req.printer_uri, req.gateway.now())
    req.add_group(GroupTag.JOB, _select_job(attrs, req.requested()))


@operation(O.GET_JOBS, needs=("get_jobs",))
async def get_jobs(req: Request) -> None:
    """Get-Jobs → GetJobs (which-jobs, my-jobs, limit, requested-attributes)."""
    which = req.attr("which-jobs", (T.KEYWORD,), "not-completed")
    if which not in ("not-completed", "completed", "all"):
        raise IppStatusError(
            S.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            f"which-jobs {which} is not supported",
            [IppAttribute("which-jobs", [IppValue(T.KEYWORD, which)])],
        )
    limit = req.attr("limit", (T.INTEGER,))
    if limit is not None and limit < 1:
        raise bad_request("limit must be 1 or more")
    first_index = req.attr("first-index", (T.INTEGER,), 1)
    my_jobs = bool(req.attr("my-jobs", (T.BOOLEAN,), False)) or req.identity.anonymous
    requested = req.requested() or ["job-uri", "job-id"]
    jobs: list[JobStatus] = await method(req.client, "get_jobs")(
        req.queue, which=which, my_jobs=my_jobs, limit=None
    )
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
