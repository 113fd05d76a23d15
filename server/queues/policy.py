"""A queue's policies (issue 13, fan-in: one device may serve several queues, each with
its own rules): colour prohibited, a maximum number of copies, a maximum document size,
the document formats allowed. A job that asks for more is refused with the IPP status
for it (not silently dropped, as an element no device supports is):

- colour asked for (print-color-mode color or highlight): attributes-or-values-not-supported;
- more copies than max-copies: attributes-or-values-not-supported;
- a document larger than max-document-size: request-entity-too-large;
- a document format not among document-formats-allowed: document-format-not-supported.

What the queue shows (its capabilities) and what its devices are given (the job's
ticket) follow the same rules: a colour-prohibited queue offers monochrome only, and a
job that asks for no colour mode prints monochrome.
"""

from __future__ import annotations

from stanzas.errors import (
    AttributesNotSupported,
    DocumentFormatNotSupported,
    RequestEntityTooLarge,
)
from stanzas.groups import Capabilities, JobTicket, QueueConfiguration

COLOR_MODES = frozenset({"color", "highlight"})  # the print-color-mode values that print colour
MONOCHROME = "monochrome"


def check_ticket(ticket: JobTicket | None, config: QueueConfiguration, queue: str) -> None:
    if ticket is None:
        return
    if config.color_prohibited and ticket.print_color_mode in COLOR_MODES:
        raise AttributesNotSupported(
            f"queue {queue} prints no colour (print-color-mode={ticket.print_color_mode})"
        )
    if config.max_copies is not None and (ticket.copies or 1) > config.max_copies:
        raise AttributesNotSupported(
            f"queue {queue} prints at most {config.max_copies} copies (copies={ticket.copies})"
        )
    if ticket.document_format is not None:
        check_format(ticket.document_format, config, queue)


def check_format(document_format: str, config: QueueConfiguration, queue: str) -> None:
    allowed = config.document_formats_allowed
    if allowed and document_format not in allowed:
        raise DocumentFormatNotSupported(
            f"queue {queue} takes {', '.join(allowed)}, not {document_format}"
        )


def max_size(config: QueueConfiguration, service_limit: int) -> int:
    if config.max_document_size is None:
        return service_limit
    return min(config.max_document_size, service_limit)


def check_size(
    size: int | None, config: QueueConfiguration, service_limit: int, queue: str
) -> None:
    limit = max_size(config, service_limit)
    if size is not None and size > limit:
        raise RequestEntityTooLarge(f"queue {queue} takes documents of at most {limit} octets")


def check_document(
    document_format: str,
    size: int | None,
    config: QueueConfiguration,
    service_limit: int,
    queue: str,
) -> None:
    check_format(document_format, config, queue)
    check_size(size, config, service_limit, queue)


def restricted(caps: Capabilities, config: QueueConfiguration) -> Capabilities:
    """The capabilities a queue offers: its devices', within its policies."""
    update: dict[str, object] = {}
    if config.color_prohibited:
        modes = [m for m in caps.print_color_mode_supported or [] if m not in COLOR_MODES]
        update["print_color_mode_supported"] = modes or [MONOCHROME]
        update["print_color_mode_default"] = MONOCHROME
    if config.max_copies is not None:
        update["copies_supported"] = min(
            caps.copies_supported or config.max_copies, config.max_copies
        )
    if config.document_formats_allowed:
        given = caps.document_format_supported
        update["document_format_supported"] = (
            [f for f in given if f in config.document_formats_allowed]
            if given
            else list(config.document_formats_allowed)
        )
    return caps.model_copy(update=update) if update else caps


def for_device(ticket: JobTicket, config: QueueConfiguration) -> JobTicket:
    """The ticket a device is given: a colour-prohibited queue's jobs print monochrome."""
    if config.color_prohibited and ticket.print_color_mode in (None, "auto"):
        return ticket.model_copy(update={"print_color_mode": MONOCHROME})
    return ticket
