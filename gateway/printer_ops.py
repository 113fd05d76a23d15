"""Printer operations: Get-Printer-Attributes, Get-Printer-Supported-Values,
Identify-Printer."""

from __future__ import annotations

from ipp.codec import IppAttribute, IppValue
from ipp.constants import GroupTag, Operation, StatusCode, ValueTag

from .attributes import printer_attributes, select
from .cloud import method
from .dispatch import operation
from .errors import IppStatusError
from .request import Request

T = ValueTag


@operation(
    Operation.GET_PRINTER_ATTRIBUTES,
    public=True,
    attributes=("requested-attributes", "document-format"),
)
async def get_printer_attributes(req: Request) -> None:
    """Get-Printer-Attributes → the queue's elements (GetServiceElements) mapped to IPP."""
    fmt = req.attr("document-format", (T.MIME_MEDIA_TYPE,))
    info = await req.gateway.queue_info(req.client, req.queue)
    if fmt is not None and fmt != "application/octet-stream" and fmt not in info.formats:
        # RFC 8011 §4.2.5.1: an unsupported document-format is reported, not fatal.
        req.unsupported.append(IppAttribute("document-format", [IppValue(T.MIME_MEDIA_TYPE, fmt)]))
    attrs = printer_attributes(info, req.gateway.printer_context(req))
    req.add_group(GroupTag.PRINTER, select(attrs, req.requested()))


@operation(
    Operation.GET_PRINTER_SUPPORTED_VALUES,
    public=True,
    attributes=("requested-attributes", "document-format"),
)
async def get_printer_supported_values(req: Request) -> None:
    """Get-Printer-Supported-Values (RFC 3380 §4.3): the values Set-Printer-Attributes
    would take for the printer's "xxx-supported" attributes. Those are the device's
    report, never settable through the gateway (only printer-info and printer-location
    are, and they have no supported values): the answer is an empty printer group."""
    await req.gateway.queue_info(req.client, req.queue)  # the queue must exist
    req.add_group(GroupTag.PRINTER, [])


@operation(
    Operation.IDENTIFY_PRINTER,
    needs=("identify_printer",),
    attributes=("identify-actions", "message"),
)
async def identify_printer(req: Request) -> None:
    """Identify-Printer (PWG 5100.13) → IdentifyPrinter, relayed to the device."""
    actions_attr = req.op.get("identify-actions")
    actions = ["sound"]
    if actions_attr is not None:
        if any(int(v.tag) != T.KEYWORD for v in actions_attr.values):
            raise IppStatusError(
                StatusCode.CLIENT_ERROR_BAD_REQUEST, "identify-actions are keywords"
            )
        actions = [v.value for v in actions_attr.values]
    message = req.attr("message", (T.TEXT, T.TEXT_WITH_LANGUAGE))
    text = getattr(message, "text", message)
    await method(req.client, "identify_printer")(req.queue, actions=actions, message=text)
