"""Job creation and document operations (RFC 8011 §4.2-4.3, PWG 5100.5, PWG 5100.11):
each maps onto one service operation of the client library (docs/gateway.md).

Job template attributes are read from the job group and, where clients put them, from
the operation group (``gateway.jobs.template_group``); subscription template groups of a
job-creating request make job subscriptions (RFC 3995 §5.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ipp.codec import IppAttribute, IppValue
from ipp.constants import GroupTag, Operation, StatusCode, ValueTag
from stanzas.errors import CloudImagingError
from stanzas.groups import JobStatus

from .cloud import method
from .compression import CompressionError, inflate
from .dispatch import operation
from .errors import IppStatusError, bad_request
from .jobs import (
    CREATION_ATTRIBUTES,
    DOCUMENT_ATTRIBUTES,
    NAME_TAGS,
    answer_job,
    check_accepting,
    check_format,
    compression,
    job_name,
    own_job,
    queue,
    text,
    ticket,
)
from .request import Request
from .subscription_ops import subscribe_groups

S = StatusCode
T = ValueTag
O = Operation  # noqa: E741
JOB, SUBSCRIPTION = GroupTag.JOB, GroupTag.SUBSCRIPTION


async def _create(req: Request, *, from_document: bool) -> JobStatus:
    info = await queue(req)
    check_accepting(info)
    job_ticket = ticket(req, info)
    name = job_name(req, from_document=from_document)
    job = await req.client.create_job(req.queue, job_name=name, ticket=job_ticket)
    if req.identity.anonymous:
        req.gateway.anonymous_jobs[job.job_id] = req.identity.user
    req.gateway.subscriptions.publish_job("job-created", req.identity.owner, job)
    return job


async def _document_data(req: Request, packing: str) -> AsyncIterator[bytes]:
    """The request's document data, inflated; a broken compression is remembered on the
    body (the client library may report it as its own failure)."""
    try:
        async for chunk in inflate(packing, req.body.stream()):
            yield chunk
    except CompressionError as exc:
        req.body.failure = exc
        raise


async def _send(req: Request, job_id: int, fmt: str, packing: str, last: bool) -> None:
    name = req.attr("document-name", NAME_TAGS)
    await req.client.send_document_stream(
        job_id,
        _document_data(req, packing),
        document_name=text(name)[:255] if name is not None else f"document-{job_id}",
        document_format=fmt,
        last_document=last,
    )


async def _cancel_quietly(req: Request, job_id: int) -> None:
    try:
        await req.client.cancel_job(job_id, "the document did not arrive")
    except CloudImagingError:
        pass


async def _answer_created(req: Request, job: JobStatus) -> None:
    """The job-creating operations' answer, with the job subscriptions asked for."""
    answer_job(req, await req.client.get_job(job.job_id))
    if req.message.groups_of(SUBSCRIPTION):
        await subscribe_groups(req, job.job_id, new_job=True)


# ----------------------------------------------------------------------------- creation


@operation(
    O.PRINT_JOB,
    document=True,
    attributes=(*CREATION_ATTRIBUTES, *DOCUMENT_ATTRIBUTES),
    groups=(JOB, SUBSCRIPTION),
)
async def print_job(req: Request) -> None:
    """Print-Job → CreateJob + SendDocument(last) with the request body streamed."""
    info = await queue(req)
    packing = compression(req)
    fmt = check_format(req, info)
    job = await _create(req, from_document=True)
    try:
        await _send(req, job.job_id, fmt, packing, True)
    except BaseException:
        await _cancel_quietly(req, job.job_id)
        raise
    await _answer_created(req, job)


@operation(
    O.PRINT_URI,
    needs=("send_uri",),
    attributes=(*CREATION_ATTRIBUTES, *DOCUMENT_ATTRIBUTES, "document-uri"),
    groups=(JOB, SUBSCRIPTION),
)
async def print_uri(req: Request) -> None:
    """Print-URI → CreateJob + SendURI(last)."""
    info = await queue(req)
    uri = _document_uri(req)
    compression(req, by_reference=True)
    fmt = check_format(req, info) if "document-format" in req.op else None
    job = await _create(req, from_document=True)
    try:
        await method(req.client, "send_uri")(
            job.job_id, uri, document_format=fmt, last_document=True
        )
    except BaseException:
        await _cancel_quietly(req, job.job_id)
        raise
    await _answer_created(req, job)


@operation(O.VALIDATE_JOB, attributes=(*CREATION_ATTRIBUTES, *DOCUMENT_ATTRIBUTES), groups=(JOB,))
async def validate_job(req: Request) -> None:
    """Validate-Job → the ticket checked against the queue's capabilities (and
    ValidateJobTicket at the service when the client library has it)."""
    info = await queue(req)
    compression(req)
    check_format(req, info)
    job_name(req, from_document=True)
    job_ticket = ticket(req, info)
    check_accepting(info)
    validate = getattr(req.client, "validate_job_ticket", None)
    if not callable(validate):
        return
    dropped = await validate(req.queue, job_ticket)
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


@operation(O.CREATE_JOB, attributes=CREATION_ATTRIBUTES, groups=(JOB, SUBSCRIPTION))
async def create_job(req: Request) -> None:
    """Create-Job → CreateJob."""
    job = await _create(req, from_document=False)
    answer_job(req, job)
    if req.message.groups_of(SUBSCRIPTION):
        await subscribe_groups(req, job.job_id, new_job=True)


# ----------------------------------------------------------------------------- documents


def _last_document(req: Request) -> bool:
    last = req.attr("last-document", (T.BOOLEAN,))
    if last is None:
        raise bad_request("last-document is required")
    return bool(last)


@operation(
    O.SEND_DOCUMENT,
    job_target=True,
    document=True,
    attributes=(*DOCUMENT_ATTRIBUTES, "last-document"),
)
async def send_document(req: Request) -> None:
    """Send-Document → SendDocument (or, with no data and last-document, the close)."""
    info = await queue(req)
    last = _last_document(req)
    packing = compression(req)
    fmt = check_format(req, info)
    job = await own_job(req)
    if last and await req.body.peek_empty():
        await req.client.close_job(job.job_id)
    else:
        await _send(req, job.job_id, fmt, packing, last)
    answer_job(req, await req.client.get_job(job.job_id))


@operation(
    O.SEND_URI,
    job_target=True,
    needs=("send_uri",),
    attributes=("document-uri", "document-format", "compression", "last-document"),
)
async def send_uri(req: Request) -> None:
    """Send-URI → SendURI."""
    info = await queue(req)
    last = _last_document(req)
    uri = _document_uri(req)
    compression(req, by_reference=True)
    fmt = check_format(req, info) if "document-format" in req.op else None
    job = await own_job(req)
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
            f"{scheme[:40]}: URIs are not supported",
            [IppAttribute("document-uri", [IppValue(T.URI, uri)])],
        )
    return str(uri)


@operation(O.CLOSE_JOB, job_target=True)
async def close_job(req: Request) -> None:
    """Close-Job → Close<Service>Job (SendDocument no-data with older clients)."""
    job = await own_job(req)
    close = getattr(req.client, "close", None)
    await (close(job.job_id) if callable(close) else req.client.close_job(job.job_id))
    answer_job(req, await req.client.get_job(job.job_id))
