"""Document operations (PWG 5100.5 §4): each document of a job, as the service keeps it.

The target is the job (printer-uri + job-id, or job-uri) and ``document-number``."""

from __future__ import annotations

from ipp.codec import IppAttribute
from ipp.constants import GroupTag, Operation, StatusCode, ValueTag

from .attributes import DOCUMENT_SETTABLE_ATTRIBUTES, document_attributes, ticket_from_request
from .cloud import method
from .dispatch import operation
from .errors import IppStatusError, bad_request
from .jobs import NAME_TAGS, message, own_job, queue, text
from .request import Request

S = StatusCode
T = ValueTag
O = Operation  # noqa: E741
DOCUMENT = GroupTag.DOCUMENT


def _number(req: Request) -> int:
    number = req.attr("document-number", (T.INTEGER,))
    if number is None or number < 1:
        raise bad_request("document-number (1 or more) is required")
    return int(number)


def _select(attrs: list[IppAttribute], requested: list[str] | None) -> list[IppAttribute]:
    wanted = set(requested or ["all"])
    if wanted & {"all", "document-description", "document-template"}:
        return attrs
    return [a for a in attrs if a.name in wanted]


@operation(
    O.GET_DOCUMENTS,
    job_target=True,
    needs=("get_documents",),
    attributes=("requested-attributes", "limit", "first-index"),
)
async def get_documents(req: Request) -> None:
    """Get-Documents (PWG 5100.5 §4.2) → GetDocuments."""
    job = await own_job(req)
    answer = await method(req.client, "get_documents")(job.job_id)
    limit = req.attr("limit", (T.INTEGER,))
    first = max(int(req.attr("first-index", (T.INTEGER,), 1)), 1)
    documents = answer.document[first - 1 :]
    if limit is not None:
        if limit < 1:
            raise bad_request("limit must be 1 or more")
        documents = documents[:limit]
    requested = req.requested() or ["document-number"]
    now = req.gateway.now()
    for document in documents:
        attrs = document_attributes(document, req.printer_uri, now)
        req.add_group(DOCUMENT, _select(attrs, requested))


@operation(
    O.GET_DOCUMENT_ATTRIBUTES,
    job_target=True,
    needs=("get_document",),
    attributes=("document-number", "requested-attributes"),
)
async def get_document_attributes(req: Request) -> None:
    """Get-Document-Attributes (PWG 5100.5 §4.1) → GetDocumentElements."""
    job = await own_job(req)
    document = await method(req.client, "get_document")(job.job_id, _number(req))
    attrs = document_attributes(document, req.printer_uri, req.gateway.now())
    req.add_group(DOCUMENT, _select(attrs, req.requested()))


@operation(
    O.CANCEL_DOCUMENT,
    job_target=True,
    needs=("cancel_document",),
    attributes=("document-number", "message"),
)
async def cancel_document(req: Request) -> None:
    """Cancel-Document (PWG 5100.5 §4.3) → CancelDocument."""
    job = await own_job(req)
    await method(req.client, "cancel_document")(job.job_id, _number(req), message(req, "message"))


@operation(
    O.SET_DOCUMENT_ATTRIBUTES,
    job_target=True,
    needs=("set_document_elements",),
    attributes=("document-number",),
    groups=(DOCUMENT,),
)
async def set_document_attributes(req: Request) -> None:
    """Set-Document-Attributes (PWG 5100.5 §4.4) → SetDocumentElements: the document's
    ticket and document-name; delete-attribute values delete."""
    job = await own_job(req)
    number = _number(req)
    group = req.message.group(DOCUMENT)
    if group is None or not group.attributes:
        raise bad_request("Set-Document-Attributes needs a document attributes group")
    settable = (*DOCUMENT_SETTABLE_ATTRIBUTES, "document-name")
    refused = [a for a in group.attributes if a.name not in settable]
    if refused:
        raise IppStatusError(
            S.CLIENT_ERROR_ATTRIBUTES_NOT_SETTABLE,
            f"{refused[0].name} is not settable",
            refused,
        )
    deleted = [a.name for a in group.attributes if int(a.values[0].tag) == T.DELETE_ATTRIBUTE]
    kept = [a for a in group.attributes if a.name not in deleted and a.name != "document-name"]
    name_attr = group.get("document-name")
    name = None
    if name_attr is not None and name_attr.name not in deleted:
        value = name_attr.values[0]
        if len(name_attr.values) != 1 or int(value.tag) not in NAME_TAGS:
            raise bad_request("document-name must be one name")
        name = text(value.value)[:255]
    edit = group.__class__(group.tag)
    edit.attributes = kept
    result = ticket_from_request(edit, await queue(req))
    if result.unsupported:
        raise IppStatusError(
            S.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            "unsupported values",
            result.unsupported,
        )
    await method(req.client, "set_document_elements")(
        job.job_id,
        number,
        ticket=result.ticket if kept else None,
        document_name=name,
        delete=[d.replace("-", "_") for d in deleted] or None,
    )
