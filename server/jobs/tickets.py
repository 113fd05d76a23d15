"""Job and document tickets checked against what the queue's device reported.

Seed 001: Create/Validate/Set… answer with the unsupported elements; elements the
client (or the queue) marked mandatory make the request fail instead, and Set…
operations treat every element they name as mandatory.
"""

from __future__ import annotations

from collections.abc import Sequence

from stanzas.errors import AttributesNotSupported, DocumentFormatNotSupported
from stanzas.groups import Capabilities, JobTicket, QueueConfiguration
from stanzas.model import ipp_name

GENERIC_FORMAT = "application/octet-stream"  # "let the device detect it" (IPP auto-sense)
NO_HOLD = "no-hold"
HOLD_VALUES = frozenset(
    {
        "indefinite",
        "no-hold",
        "day-time",
        "evening",
        "night",
        "second-shift",
        "third-shift",
        "weekend",
    }
)


NONE = "none"
OWNER_AUTHORIZED = "owner-authorized"  # PWG 5100.11: the owner releases it at a device
RELEASE_ACTIONS = (NONE, OWNER_AUTHORIZED)


def release_action(ticket: JobTicket, config: QueueConfiguration) -> str:
    """The job's job-release-action: its own, else the queue's default, else none."""
    return ticket.job_release_action or config.job_release_action_default or NONE


def unsupported(ticket: JobTicket, caps: Capabilities) -> dict[str, str]:
    """Element name -> why, for each ticket element the device does not support."""
    problems: dict[str, str] = {}

    def among(name: str, value: object, supported: Sequence[object] | None) -> None:
        if value is not None and supported and value not in supported:
            problems[name] = f"{name}={value} (supported: {', '.join(map(str, supported))})"

    among("media", ticket.media, caps.media_supported)
    among("sides", ticket.sides, caps.sides_supported)
    among("print-color-mode", ticket.print_color_mode, caps.print_color_mode_supported)
    among("print-quality", ticket.print_quality, caps.print_quality_supported)
    among(
        "orientation-requested", ticket.orientation_requested, caps.orientation_requested_supported
    )
    among("number-up", ticket.number_up, caps.number_up_supported)
    if ticket.media_col is not None:
        among("media-col", ticket.media_col.media_type, caps.media_type_supported)
        if "media-col" not in problems:
            among("media-col", ticket.media_col.media_source, caps.media_source_supported)
    if (
        ticket.copies is not None
        and caps.copies_supported
        and ticket.copies > caps.copies_supported
    ):
        problems["copies"] = f"copies={ticket.copies} (at most {caps.copies_supported})"
    if ticket.finishings and caps.finishings_supported:
        missing = [f for f in ticket.finishings if f not in caps.finishings_supported]
        if missing:
            problems["finishings"] = (
                f"finishings={missing} (supported: {caps.finishings_supported})"
            )
    if ticket.page_ranges is not None and caps.page_ranges_supported is False:
        problems["page-ranges"] = "page-ranges (the device prints whole documents only)"
    if (
        ticket.job_priority is not None
        and caps.job_priority_supported
        and ticket.job_priority > caps.job_priority_supported
    ):
        problems["job-priority"] = f"job-priority={ticket.job_priority}"
    if ticket.job_hold_until is not None and ticket.job_hold_until not in HOLD_VALUES:
        problems["job-hold-until"] = f"job-hold-until={ticket.job_hold_until}"
    among("output-device", ticket.output_device, caps.output_device_supported)
    action = ticket.job_release_action
    if action is not None and action not in RELEASE_ACTIONS:
        problems["job-release-action"] = (
            f"job-release-action={action} (supported: {', '.join(RELEASE_ACTIONS)})"
        )
    # A scanner's and a sender's elements: unsupported where the device lists nothing
    # (a print queue scans nothing), and checked against what it lists.
    for name, value, supported in (
        ("input-source", ticket.input_source, caps.input_source_supported),
        ("input-color-mode", ticket.input_color_mode, caps.input_color_mode_supported),
        ("input-resolution", ticket.input_resolution, caps.input_resolution_supported),
        ("input-sides", ticket.input_sides, caps.input_sides_supported),
        ("number-of-pages", ticket.number_of_pages, caps.input_source_supported),
    ):
        if value is not None and not supported:
            problems[name] = f"{name} (the device does not scan)"
        elif name != "number-of-pages":
            among(name, value, supported)
    if ticket.destination_uris:
        schemes = caps.destination_uri_schemes_supported
        wrong = [
            u for u in ticket.destination_uris if u.partition(":")[0].lower() not in (schemes or ())
        ]
        if wrong:
            problems["destination-uris"] = (
                f"destination-uris {', '.join(wrong)} (supported schemes: "
                f"{', '.join(schemes or []) or 'none: the device sends nothing'})"
            )
    if ticket.document_format is not None:
        formats = caps.document_format_supported
        if formats and ticket.document_format not in (*formats, GENERIC_FORMAT):
            problems["document-format"] = (
                f"document-format={ticket.document_format} (supported: {', '.join(formats)})"
            )
    return problems


def settle(
    ticket: JobTicket,
    caps: Capabilities,
    config: QueueConfiguration,
    mandatory: list[str] | None = None,
) -> tuple[JobTicket, list[str]]:
    """The ticket with unsupported elements dropped, and their names; raises when one
    of them is mandatory."""
    problems = unsupported(ticket, caps)
    required = set(mandatory or ()) | set(config.job_mandatory_elements or ())
    fatal = [why for name, why in problems.items() if name in required]
    if fatal:
        raise AttributesNotSupported("unsupported: " + "; ".join(fatal))
    if not problems:
        return ticket, []
    dropped = {name.replace("-", "_") for name in problems}
    return ticket.model_copy(update={name: None for name in dropped}), sorted(problems)


def settle_on_devices(
    ticket: JobTicket,
    devices: Sequence[Capabilities],
    config: QueueConfiguration,
    mandatory: list[str] | None = None,
) -> tuple[JobTicket, list[str]]:
    """`settle` for a queue of several devices: a job is accepted when one device can
    print it, so the ticket is settled against the device that supports the most of it
    (the first such). With one device, `settle` itself."""
    best = min(devices, key=lambda caps: len(unsupported(ticket, caps)))
    return settle(ticket, best, config, mandatory)


def require_supported(ticket: JobTicket, caps: Capabilities) -> None:
    """Set…Elements: every element named is mandatory (seed 001)."""
    problems = unsupported(ticket, caps)
    if problems:
        raise AttributesNotSupported("unsupported: " + "; ".join(problems.values()))


def format_supported(document_format: str, caps: Capabilities) -> bool:
    formats = caps.document_format_supported
    return not formats or document_format in (*formats, GENERIC_FORMAT)


def check_format(document_format: str, caps: Capabilities, queue: str) -> None:
    formats = caps.document_format_supported
    if formats and not format_supported(document_format, caps):
        raise DocumentFormatNotSupported(
            f"{document_format} is not supported by {queue} (supported: {', '.join(formats)})"
        )


def edit(ticket: JobTicket, changes: JobTicket | None, delete: list[str] | None) -> JobTicket:
    """The ticket as if it had been submitted with `changes` and without `delete`."""
    fields = {ipp_name(n): n for n in JobTicket.model_fields}
    unknown = [name for name in delete or () if name not in fields]
    if unknown:
        raise AttributesNotSupported(f"not settable: {', '.join(unknown)}")
    given = changes.model_dump(exclude_none=True) if changes else {}
    update = {name: getattr(changes, name) for name in given}
    for name in delete or ():
        update[fields[name]] = None
    return ticket.model_copy(update=update)


def effective(ticket: JobTicket, default: JobTicket | None) -> JobTicket:
    """What the device is given: the job's ticket over the queue's default job ticket."""
    if default is None:
        return ticket
    given = {name: getattr(ticket, name) for name in ticket.model_dump(exclude_none=True)}
    return default.model_copy(update=given)


def is_held(ticket: JobTicket) -> bool:
    return ticket.job_hold_until not in (None, NO_HOLD)
