"""What the job and document operations share: the target job, the job ticket of a
request, the document format and compression, the answer's job group."""

from __future__ import annotations

from typing import Any

from ipp.codec import IppAttribute, IppGroup, IppValue, StringWithLanguage
from ipp.constants import GroupTag, StatusCode, ValueTag
from stanzas.errors import CloudImagingError
from stanzas.groups import JobStatus, JobTicket

from .attributes import TEMPLATE_NAMES, QueueInfo, job_attributes, ticket_from_request
from .compression import COMPRESSIONS
from .errors import IppStatusError, bad_request, not_found
from .request import Request

S = StatusCode
T = ValueTag

#: Attributes answered by the job-creating operations (RFC 8011 §4.2.1.2).
CREATION_ANSWER = ("job-id", "job-uri", "job-state", "job-state-reasons", "job-state-message")
NAME_TAGS = (T.NAME, T.NAME_WITH_LANGUAGE)
TEXT_TAGS = (T.TEXT, T.TEXT_WITH_LANGUAGE)
#: The operation attributes of the job-creating operations (RFC 8011 §4.2.1.1).
CREATION_ATTRIBUTES = ("job-name", "ipp-attribute-fidelity")
#: ... and those of the operations that carry a document (§4.2.1.1, §4.3.1).
DOCUMENT_ATTRIBUTES = ("document-name", "document-format", "compression")


def text(value: Any) -> str:
    return value.text if isinstance(value, StringWithLanguage) else str(value)


async def queue(req: Request) -> QueueInfo:
    return await req.gateway.queue_info(req.client, req.queue)


def check_format(req: Request, info: QueueInfo) -> str:
    """document-format of the request (default application/octet-stream, auto-sense)."""
    fmt = req.attr("document-format", (T.MIME_MEDIA_TYPE,), "application/octet-stream")
    if fmt != "application/octet-stream" and fmt not in info.formats:
        raise IppStatusError(
            S.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED,
            f"{fmt} is not supported by {info.name}",
            [IppAttribute("document-format", [IppValue(T.MIME_MEDIA_TYPE, fmt)])],
        )
    return str(fmt)


def compression(req: Request, *, by_reference: bool = False) -> str:
    """compression of the request (RFC 8011 §4.2.1.1): none, gzip or deflate for data
    that comes with the request; none only for a document the service fetches."""
    value = req.attr("compression", (T.KEYWORD,), "none")
    offered = ("none",) if by_reference else COMPRESSIONS
    if value not in offered:
        raise IppStatusError(
            S.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED,
            f"compression {value} is not supported here",
            [IppAttribute("compression", [IppValue(T.KEYWORD, value)])],
        )
    return str(value)


def template_group(req: Request) -> IppGroup | None:
    """The job template attributes of a request: its job group, and those sent in the
    operation group instead (CUPS' print-job-hold.test sends job-hold-until there;
    cupsd and ippeveprinter honour it). The job group wins when both have one."""
    group = req.job_group()
    present = set(group.names()) if group else set()
    moved = [a for a in req.op.attributes if a.name in TEMPLATE_NAMES and a.name not in present]
    if not moved:
        return group
    req.taken.update(a.name for a in moved)
    merged = IppGroup(GroupTag.JOB)
    merged.attributes = [*(group.attributes if group else []), *moved]
    return merged


def ticket(req: Request, info: QueueInfo) -> JobTicket:
    """The job ticket of the request, applying ipp-attribute-fidelity."""
    result = ticket_from_request(template_group(req), info)
    if result.unsupported:
        if req.attr("ipp-attribute-fidelity", (T.BOOLEAN,), False):
            raise IppStatusError(
                S.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                "unsupported job template attributes with ipp-attribute-fidelity",
                result.unsupported,
            )
        req.unsupported.extend(result.unsupported)
    return result.ticket


def job_name(req: Request, *, from_document: bool) -> str | None:
    """job-name, or (for an operation that carries a document) its document-name."""
    name = req.attr("job-name", NAME_TAGS)
    if name is None and from_document:
        name = req.attr("document-name", NAME_TAGS)
    return text(name)[:255] if name is not None else None


def message(req: Request, *names: str) -> str | None:
    """The first of the text operation attributes ``names`` the request has (message,
    job-message-from-operator, printer-message-from-operator: the service's message)."""
    for name in names:
        value = req.attr(name, TEXT_TAGS)
        if value is not None:
            return text(value)[:1023]
    return None


def check_accepting(info: QueueInfo) -> None:
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


async def own_job(req: Request, job_id: int | None = None) -> JobStatus:
    """The target job, if it is on the target queue and the asker may see it."""
    job_id = req.job_id if job_id is None else job_id
    assert job_id is not None
    try:
        job = await req.client.get_job(job_id)
    except CloudImagingError as exc:
        if exc.status == "client-error-not-found":
            raise not_found(f"no job {job_id} on {req.queue}") from None
        raise
    if job.printer_name not in (None, req.queue):
        raise not_found(f"job {job_id} is not on {req.queue}")
    if req.identity.anonymous:
        who = req.gateway.anonymous_jobs.get(job.job_id)
        if who is None or who != req.identity.user:
            raise IppStatusError(S.CLIENT_ERROR_NOT_AUTHORIZED, f"job {job.job_id} is not yours")
    return job


def integers(req: Request, name: str) -> list[int] | None:
    """A 1setOf integer operation attribute (job-ids …), or None."""
    attr = req.op.get(name)
    if attr is None:
        return None
    if any(int(v.tag) != T.INTEGER for v in attr.values):
        raise bad_request(f"{name} are integers")
    return [v.value for v in attr.values]
