"""Printer and job attributes: pure functions from what the service knows to IPP.

``printer_attributes`` builds a queue's Printer Description and Status attributes
(RFC 8011 §5.4, PWG 5100.7/5100.12/5100.14) from the capabilities the queue's device
reported (``stanzas.groups.Capabilities``), the queue's state (``ServiceStatus``) and
the gateway's own facts (URIs, operations, times). Every capability the device reported
is passed through; what a device does not report gets the conservative value IPP
Everywhere expects (documented next to each). ``job_attributes`` maps a ``JobStatus``;
``ticket_from_request`` maps Job Template attributes to a ``JobTicket``.

No I/O here: the data source (GetServiceElements, the local service) is swappable.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ipp.codec import (
    IppAttribute,
    IppCollection,
    IppGroup,
    IppValue,
    RangeOfInteger,
    Resolution,
    StringWithLanguage,
)
from ipp.constants import StatusCode, ValueTag
from stanzas.groups import (
    Capabilities,
    DocumentStatus,
    JobStatus,
    JobTicket,
    QueueConfiguration,
    ServiceStatus,
)

from .compression import COMPRESSIONS
from .errors import IppStatusError
from .subscriptions import EVENT_LIFE

T = ValueTag

#: IPP versions the gateway speaks.
IPP_VERSIONS = ("1.0", "1.1", "2.0", "2.1", "2.2")
#: job-state / printer-state enums by keyword (RFC 8011 §5.3.7, §5.4.11).
JOB_STATES = {
    "pending": 3,
    "pending-held": 4,
    "processing": 5,
    "processing-stopped": 6,
    "canceled": 7,
    "aborted": 8,
    "completed": 9,
}
PRINTER_STATES = {"idle": 3, "processing": 4, "stopped": 5}
#: Events a subscription may ask for (RFC 3995 §5.3.3) and the default.
NOTIFY_EVENTS = (
    "job-completed",
    "job-created",
    "job-progress",
    "job-state-changed",
    "printer-config-changed",
    "printer-state-changed",
    "printer-stopped",
)
#: Job Template attributes the gateway carries to the service (see JobTicket).
JOB_CREATION_ATTRIBUTES = (
    "copies",
    "finishings",
    "job-hold-until",
    "job-name",
    "job-priority",
    "media",
    "media-col",
    "number-up",
    "orientation-requested",
    "page-ranges",
    "print-color-mode",
    "print-quality",
    "sides",
)
#: Job Template attributes ``ticket_from_request`` reads (the job-name is an operation
#: attribute); all are taken from the operation group too (gateway.jobs.template_group).
TEMPLATE_NAMES = frozenset(
    {*JOB_CREATION_ATTRIBUTES, "job-sheets", "multiple-document-handling"} - {"job-name"}
)
#: What Set-Job-Attributes changes (the service's SetJobElements: the ticket, job-name).
JOB_SETTABLE_ATTRIBUTES = JOB_CREATION_ATTRIBUTES
#: What Set-Printer-Attributes changes (the service's SetServiceElements description).
PRINTER_SETTABLE_ATTRIBUTES = ("printer-info", "printer-location")
#: which-jobs values (RFC 8011 §4.2.6.1, PWG 5100.11 §5.2.2): the two groups, 'all',
#: and one job state each. 'proof-print', 'saved' and 'fetchable' name jobs the
#: service does not have.
WHICH_JOBS = (
    "completed",
    "not-completed",
    "all",
    "aborted",
    "canceled",
    "pending",
    "pending-held",
    "processing",
    "processing-stopped",
)
#: The service's multiple-operation time-out when the queue's configuration sets none
#: (docs/protocol.md, CreateJob: 300 s, process-job).
MULTIPLE_OPERATION_TIME_OUT = 300
MULTIPLE_OPERATION_TIME_OUT_ACTION = "process-job"
# Templates whose -default/-supported attributes form the "job-template" group.
_TEMPLATE_PREFIXES = (
    *JOB_CREATION_ATTRIBUTES,
    "job-sheets",
    "multiple-document-handling",
    "output-bin",
    "print-content-optimize",
    "print-rendering-intent",
    "print-scaling",
    "printer-resolution",
    "media-source",
    "media-type",
)
# Legacy media names (RFC 8011 / PWG 5101.1 Table B) → self-describing names.
_LEGACY_MEDIA = {
    "a4": "iso_a4_210x297mm",
    "iso-a4": "iso_a4_210x297mm",
    "a5": "iso_a5_148x210mm",
    "a3": "iso_a3_297x420mm",
    "letter": "na_letter_8.5x11in",
    "na-letter": "na_letter_8.5x11in",
    "legal": "na_legal_8.5x14in",
    "na-legal": "na_legal_8.5x14in",
    "executive": "na_executive_7.25x10.5in",
    "index-4x6": "na_index-4x6_4x6in",
}
_MEDIA_RE = re.compile(r"^[a-z0-9]+_[a-z0-9.-]+_(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)(in|mm)$")
_KEYWORD_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
#: Margins reported for every media size, in hundredths of mm (1/4 inch, the usual
#: hardware margin; IPP Everywhere asks for at most 6.35 mm).
DEFAULT_MARGIN = 635
#: Raster resolution reported when the device reported none (PWG 5102.4 minimum).
DEFAULT_RESOLUTION = Resolution(300, 300, 3)


@dataclass(frozen=True)
class QueueInfo:
    """What the gateway knows about one cloud queue (the data source is swappable)."""

    name: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    status: ServiceStatus = field(default_factory=ServiceStatus)
    printer_info: str = ""
    printer_location: str = ""
    is_accepting_jobs: bool = True
    queued_job_count: int = 0
    default_ticket: JobTicket | None = None
    output_device_uuid: str | None = None
    anonymous: bool = False  # whether unauthenticated requesting-user-name printing is allowed
    configuration: QueueConfiguration | None = None  # as administrators set it (sparse)

    @property
    def formats(self) -> list[str]:
        return list(self.capabilities.document_format_supported or ["application/octet-stream"])


@dataclass(frozen=True)
class PrinterContext:
    """The gateway's own facts about a printer it exposes."""

    uris: Sequence[tuple[str, str, str]]  # (printer-uri, uri-security, uri-authentication)
    more_info: str  # http(s):// page about the printer
    icons: Sequence[str]
    printer_uuid: str
    operations: Sequence[int]
    up_time: int  # now, in seconds (the clock the time-* attributes use)
    config_change_time: int
    state_change_time: int
    notify_lease_duration_max: int = 86400


def media_size(name: str) -> tuple[int, int] | None:
    """(x, y) in hundredths of mm of a PWG 5101.1 media name, or None."""
    match = _MEDIA_RE.match(_LEGACY_MEDIA.get(name, name))
    if match is None:
        return None
    scale = 2540 if match.group(3) == "in" else 100
    return round(float(match.group(1)) * scale), round(float(match.group(2)) * scale)


def printer_uuid(seed: str, queue: str) -> str:
    """A stable urn:uuid for a queue as seen through one gateway (RFC 4122 name-based)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/ipp/print/{queue}").urn


def _attr(name: str, tag: int, *values: Any) -> IppAttribute:
    if not values:
        return IppAttribute(name, [IppValue(T.NO_VALUE, None)])
    return IppAttribute(name, [IppValue(tag, v) for v in values])


def _text(name: str, value: str) -> IppAttribute:
    return _attr(name, T.TEXT, value)


def _date(epoch: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(epoch, _dt.UTC)


def _media_col(name: str, source: str | None = None) -> IppCollection | None:
    size = media_size(name)
    if size is None:
        return None
    col = IppCollection()
    col.add(
        "media-size",
        IppCollection(
            [_attr("x-dimension", T.INTEGER, size[0]), _attr("y-dimension", T.INTEGER, size[1])]
        ),
    )
    col.attributes.append(_attr("media-size-name", T.KEYWORD, name))
    for side in (
        "media-bottom-margin",
        "media-left-margin",
        "media-right-margin",
        "media-top-margin",
    ):
        col.attributes.append(_attr(side, T.INTEGER, DEFAULT_MARGIN))
    if source:
        col.attributes.append(_attr("media-source", T.KEYWORD, source))
    col.attributes.append(_attr("media-type", T.KEYWORD, "stationery"))
    return col


def _media_attributes(caps: Capabilities) -> list[IppAttribute]:
    supported = [m for m in (caps.media_supported or []) if m]
    names = [_LEGACY_MEDIA.get(m, m) for m in supported] or ["iso_a4_210x297mm"]
    default = _LEGACY_MEDIA.get(caps.media_default or "", caps.media_default or "") or names[0]
    out = [
        _attr("media-supported", T.KEYWORD, *names),
        _attr("media-default", T.KEYWORD, default),
        _attr("media-ready", T.KEYWORD, default),
    ]
    sizes = [(n, media_size(n)) for n in names]
    cols = [c for c in (_media_col(n) for n in names) if c is not None]
    default_col = _media_col(default, "auto")
    out += [
        _attr(
            "media-size-supported",
            T.BEG_COLLECTION,
            *[
                IppCollection(
                    [_attr("x-dimension", T.INTEGER, s[0]), _attr("y-dimension", T.INTEGER, s[1])]
                )
                for _, s in sizes
                if s is not None
            ],
        ),
        _attr("media-col-database", T.BEG_COLLECTION, *cols),
        _attr("media-col-default", T.BEG_COLLECTION, *([default_col] if default_col else [])),
        _attr("media-col-ready", T.BEG_COLLECTION, *([default_col] if default_col else [])),
        _attr(
            "media-col-supported",
            T.KEYWORD,
            "media-bottom-margin",
            "media-left-margin",
            "media-right-margin",
            "media-size",
            "media-size-name",
            "media-source",
            "media-top-margin",
            "media-type",
        ),
        _attr("media-bottom-margin-supported", T.INTEGER, DEFAULT_MARGIN),
        _attr("media-left-margin-supported", T.INTEGER, DEFAULT_MARGIN),
        _attr("media-right-margin-supported", T.INTEGER, DEFAULT_MARGIN),
        _attr("media-top-margin-supported", T.INTEGER, DEFAULT_MARGIN),
        _attr(
            "media-source-supported", T.KEYWORD, *(_cap(caps, "media_source_supported") or ["auto"])
        ),
        _attr(
            "media-type-supported",
            T.KEYWORD,
            *(_cap(caps, "media_type_supported") or ["stationery"]),
        ),
    ]
    return out


def _cap(caps: Capabilities, name: str) -> Any:
    """A capability field that newer Capabilities models carry (None when absent)."""
    return getattr(caps, name, None)


def _raster_attributes(formats: Sequence[str], color: bool) -> list[IppAttribute]:
    out: list[IppAttribute] = []
    types = ["black_1", "sgray_8", *(["srgb_8"] if color else [])]
    if "image/pwg-raster" in formats:
        out += [
            _attr("pwg-raster-document-resolution-supported", T.RESOLUTION, DEFAULT_RESOLUTION),
            _attr("pwg-raster-document-sheet-back", T.KEYWORD, "normal"),
            _attr("pwg-raster-document-type-supported", T.KEYWORD, *types),
        ]
    if "image/urf" in formats:
        urf = ["V1.4", "CP1", "W8", *(["SRGB24"] if color else []), "RS300", "DM1"]
        out.append(_attr("urf-supported", T.KEYWORD, *urf))
    return out


def _device_id(caps: Capabilities, formats: Sequence[str]) -> str:
    make_model = caps.printer_make_and_model or "Cirrus Cloud Printer"
    make, _, model = make_model.partition(" ")
    commands = {
        "application/pdf": "PDF",
        "image/jpeg": "JPEG",
        "image/pwg-raster": "PWGRaster",
        "image/urf": "URF",
        "application/postscript": "POSTSCRIPT",
    }
    cmd = ",".join(commands[f] for f in formats if f in commands) or "PDF"
    clean = [s.replace(";", ",").replace(":", " ") for s in (make, model or make)]
    return f"MFG:{clean[0]};MDL:{clean[1]};CMD:{cmd};"


def _passthrough(caps: Capabilities, taken: set[str]) -> list[IppAttribute]:
    """Capabilities the device reported that no explicit rule above maps (fields added
    to Capabilities later), passed through with the syntax their Python type implies."""
    out: list[IppAttribute] = []
    for name, value in caps.model_dump(exclude_none=True).items():
        ipp = name.replace("_", "-")
        if ipp in taken or name in _EXPLICIT_CAPABILITIES:
            continue
        values = value if isinstance(value, list) else [value]
        if not values:
            continue
        if all(isinstance(v, bool) for v in values):
            out.append(_attr(ipp, T.BOOLEAN, *values))
        elif all(isinstance(v, int) for v in values):
            out.append(_attr(ipp, T.INTEGER, *values))
        elif all(isinstance(v, str) and _KEYWORD_RE.match(v) for v in values):
            out.append(_attr(ipp, T.KEYWORD, *values))
        elif all(isinstance(v, str) for v in values):
            out.append(_attr(ipp, T.TEXT, *values))
    return out


_EXPLICIT_CAPABILITIES = {
    "printer_make_and_model",
    "printer_info",
    "document_format_supported",
    "media_supported",
    "media_default",
    "sides_supported",
    "sides_default",
    "print_color_mode_supported",
    "print_color_mode_default",
    "print_quality_supported",
    "finishings_supported",
    "copies_supported",
    "media_type_supported",
    "media_source_supported",
    "orientation_requested_supported",
    "number_up_supported",
    "page_ranges_supported",
    "job_priority_supported",
}


def printer_attributes(info: QueueInfo, ctx: PrinterContext) -> list[IppAttribute]:
    """Every Printer attribute of the queue (media-col-database included)."""
    caps = info.capabilities
    status = info.status
    formats = info.formats
    modes = list(caps.print_color_mode_supported or ["auto"])
    color = "color" in modes
    sides = list(caps.sides_supported or ["one-sided"])
    qualities = sorted(q for q in (caps.print_quality_supported or [4]) if 3 <= q <= 5) or [4]
    finishings = list(caps.finishings_supported or [3])
    if 3 not in finishings:
        finishings.insert(0, 3)  # "none" is always possible
    copies_max = caps.copies_supported or 1
    state = status.printer_state.value if status.printer_state else "idle"
    reasons = [r for r in (status.printer_state_reasons or []) if r] or ["none"]
    accepting = info.is_accepting_jobs and status.printer_is_accepting_jobs is not False
    ticket = info.default_ticket or JobTicket()
    default_format = (
        "application/octet-stream"
        if "application/octet-stream" in formats
        else ("application/pdf" if "application/pdf" in formats else formats[0])
    )
    default_mode = caps.print_color_mode_default or modes[0]
    make_model = caps.printer_make_and_model or "Cirrus Cloud Printer"
    out: list[IppAttribute] = [
        # --- Printer Description (RFC 8011 §5.4)
        _attr("printer-uri-supported", T.URI, *[u for u, _, _ in ctx.uris]),
        _attr("uri-security-supported", T.KEYWORD, *[s for _, s, _ in ctx.uris]),
        _attr("uri-authentication-supported", T.KEYWORD, *[a for _, _, a in ctx.uris]),
        _attr("printer-name", T.NAME, info.name),
        _text("printer-location", info.printer_location),
        _text("printer-info", (info.printer_info or caps.printer_info or info.name)[:127]),
        _attr("printer-more-info", T.URI, ctx.more_info),
        _text("printer-make-and-model", make_model[:127]),
        _text("printer-device-id", _device_id(caps, formats)),
        _attr("printer-uuid", T.URI, ctx.printer_uuid),
        _attr("printer-icons", T.URI, *ctx.icons),
        _attr("printer-supply-info-uri", T.URI, ctx.more_info),
        _text("printer-organization", ""),
        _text("printer-organizational-unit", ""),
        _attr("printer-geo-location", T.UNKNOWN, None),
        _attr("printer-state", T.ENUM, PRINTER_STATES.get(state, 3)),
        _attr("printer-state-reasons", T.KEYWORD, *reasons),
        _text("printer-state-message", status.printer_state_message or ""),
        _attr("printer-is-accepting-jobs", T.BOOLEAN, accepting),
        _attr("queued-job-count", T.INTEGER, info.queued_job_count),
        _attr("printer-up-time", T.INTEGER, max(ctx.up_time, 1)),
        _attr("printer-current-time", T.DATE_TIME, _date(ctx.up_time)),
        _attr("printer-state-change-time", T.INTEGER, ctx.state_change_time),
        _attr("printer-state-change-date-time", T.DATE_TIME, _date(ctx.state_change_time)),
        _attr("printer-config-change-time", T.INTEGER, ctx.config_change_time),
        _attr("printer-config-change-date-time", T.DATE_TIME, _date(ctx.config_change_time)),
        _attr("operations-supported", T.ENUM, *sorted(ctx.operations)),
        _attr("charset-configured", T.CHARSET, "utf-8"),
        _attr("charset-supported", T.CHARSET, "utf-8"),
        _attr("natural-language-configured", T.NATURAL_LANGUAGE, "en"),
        _attr("generated-natural-language-supported", T.NATURAL_LANGUAGE, "en"),
        _attr("ipp-versions-supported", T.KEYWORD, *IPP_VERSIONS),
        _attr("ipp-features-supported", T.KEYWORD, "ipp-everywhere"),
        _attr("pdl-override-supported", T.KEYWORD, "attempted"),
        _attr("compression-supported", T.KEYWORD, *COMPRESSIONS),
        _attr("document-format-supported", T.MIME_MEDIA_TYPE, *formats),
        _attr("document-format-default", T.MIME_MEDIA_TYPE, default_format),
        _attr("color-supported", T.BOOLEAN, color),
        _attr("pages-per-minute", T.INTEGER, 1),
        *([_attr("pages-per-minute-color", T.INTEGER, 1)] if color else []),
        _attr("multiple-document-jobs-supported", T.BOOLEAN, True),
        *_time_out(info.configuration),
        _attr("job-ids-supported", T.BOOLEAN, True),
        _attr("preferred-attributes-supported", T.BOOLEAN, False),
        _attr("which-jobs-supported", T.KEYWORD, *WHICH_JOBS),
        _attr("job-settable-attributes-supported", T.KEYWORD, *JOB_SETTABLE_ATTRIBUTES),
        _attr("printer-settable-attributes-supported", T.KEYWORD, *PRINTER_SETTABLE_ATTRIBUTES),
        _text("printer-message-from-operator", _operator_message(status)[:127]),
        _attr("printer-get-attributes-supported", T.KEYWORD, "document-format"),
        _attr("job-creation-attributes-supported", T.KEYWORD, *JOB_CREATION_ATTRIBUTES),
        _attr("identify-actions-default", T.KEYWORD, "sound"),
        _attr("identify-actions-supported", T.KEYWORD, "display", "flash", "sound", "speak"),
        _attr("reference-uri-schemes-supported", T.URI_SCHEME, "http", "https"),
        # --- notifications (RFC 3995, RFC 3996 ippget)
        _attr("notify-events-default", T.KEYWORD, "job-completed"),
        _attr("notify-events-supported", T.KEYWORD, *NOTIFY_EVENTS),
        _attr("notify-pull-method-supported", T.KEYWORD, "ippget"),
        _attr("notify-lease-duration-default", T.INTEGER, 0),
        _attr(
            "notify-lease-duration-supported",
            T.RANGE_OF_INTEGER,
            RangeOfInteger(0, ctx.notify_lease_duration_max),
        ),
        _attr("notify-max-events-supported", T.INTEGER, 100),
        _attr("ippget-event-life", T.INTEGER, EVENT_LIFE),
        # --- Job Template defaults and supported values (RFC 8011 §5.2)
        _attr("copies-default", T.INTEGER, ticket.copies or 1),
        _attr("copies-supported", T.RANGE_OF_INTEGER, RangeOfInteger(1, copies_max)),
        _attr("finishings-default", T.ENUM, *(ticket.finishings or [3])),
        _attr("finishings-supported", T.ENUM, *finishings),
        _attr("job-hold-until-default", T.KEYWORD, "no-hold"),
        _attr("job-hold-until-supported", T.KEYWORD, "no-hold", "indefinite"),
        _attr("job-priority-default", T.INTEGER, ticket.job_priority or 50),
        _attr("job-priority-supported", T.INTEGER, _cap(caps, "job_priority_supported") or 100),
        _attr("job-sheets-default", T.KEYWORD, "none"),
        _attr("job-sheets-supported", T.KEYWORD, "none"),
        _attr(
            "multiple-document-handling-default", T.KEYWORD, "separate-documents-collated-copies"
        ),
        _attr(
            "multiple-document-handling-supported", T.KEYWORD, "separate-documents-collated-copies"
        ),
        _attr("number-up-default", T.INTEGER, ticket.number_up or 1),
        *_number_up(caps),
        _attr("orientation-requested-default", T.NO_VALUE, None),
        _attr(
            "orientation-requested-supported",
            T.ENUM,
            *(_cap(caps, "orientation_requested_supported") or [3, 4, 5, 6]),
        ),
        _attr("output-bin-default", T.KEYWORD, "face-down"),
        _attr("output-bin-supported", T.KEYWORD, "face-down"),
        _attr("page-ranges-supported", T.BOOLEAN, _cap(caps, "page_ranges_supported") is not False),
        _attr("print-color-mode-default", T.KEYWORD, ticket.print_color_mode or default_mode),
        _attr("print-color-mode-supported", T.KEYWORD, *modes),
        _attr("print-content-optimize-default", T.KEYWORD, "auto"),
        _attr("print-content-optimize-supported", T.KEYWORD, "auto"),
        _attr("print-rendering-intent-default", T.KEYWORD, "auto"),
        _attr("print-rendering-intent-supported", T.KEYWORD, "auto"),
        _attr(
            "print-quality-default",
            T.ENUM,
            ticket.print_quality or (4 if 4 in qualities else qualities[0]),
        ),
        _attr("print-quality-supported", T.ENUM, *qualities),
        _attr("printer-resolution-default", T.RESOLUTION, DEFAULT_RESOLUTION),
        _attr("printer-resolution-supported", T.RESOLUTION, DEFAULT_RESOLUTION),
        _attr("sides-default", T.KEYWORD, ticket.sides or caps.sides_default or sides[0]),
        _attr("sides-supported", T.KEYWORD, *sides),
        *_media_attributes(caps),
        *_raster_attributes(formats, color),
    ]
    if caps.media_default is None and not caps.media_supported:
        pass  # the A4 fallback above stands for "unknown"; the device reported nothing
    taken = {a.name for a in out}
    out += _passthrough(caps, taken)
    return out


def _time_out(config: QueueConfiguration | None) -> list[IppAttribute]:
    """multiple-operation-time-out(-action) (PWG 5100.5 §5.4.17): the queue's own, as
    administrators configured it, else the service's defaults."""
    config = config or QueueConfiguration()
    return [
        _attr(
            "multiple-operation-time-out",
            T.INTEGER,
            config.multiple_operation_time_out or MULTIPLE_OPERATION_TIME_OUT,
        ),
        _attr(
            "multiple-operation-time-out-action",
            T.KEYWORD,
            config.multiple_operation_time_out_action or MULTIPLE_OPERATION_TIME_OUT_ACTION,
        ),
    ]


#: printer-state-reasons the service's administrative operations set (its queue state).
_OPERATOR_REASONS = frozenset({"paused", "moving-to-paused", "shutdown", "hold-new-jobs"})


def _operator_message(status: ServiceStatus) -> str:
    """printer-message-from-operator (RFC 8011 §5.4.10): the message an operator gave
    with the Table 2 operation that paused or shut down the queue, which the service
    shows as the queue's state message while it lasts; empty otherwise."""
    reasons = set(status.printer_state_reasons or ())
    return (status.printer_state_message or "") if reasons & _OPERATOR_REASONS else ""


def _number_up(caps: Capabilities) -> list[IppAttribute]:
    values = _cap(caps, "number_up_supported")
    if values:
        return [_attr("number-up-supported", T.INTEGER, *values)]
    return [_attr("number-up-supported", T.RANGE_OF_INTEGER, RangeOfInteger(1, 16))]


def is_template_attribute(name: str) -> bool:
    base = name.removesuffix("-default").removesuffix("-supported").removesuffix("-ready")
    return base != name and base in _TEMPLATE_PREFIXES


def select(
    attributes: Iterable[IppAttribute],
    requested: Sequence[str] | None,
    *,
    template_group: bool = True,
) -> list[IppAttribute]:
    """RFC 8011 §4.2.5.1 requested-attributes: names and the groups 'all',
    'printer-description', 'job-template'. media-col-database only when named
    (PWG 5100.7: it is large)."""
    wanted = set(requested or ["all"])
    out = []
    for attr in attributes:
        name = attr.name
        if name in wanted:
            out.append(attr)
        elif name == "media-col-database":
            continue
        elif "all" in wanted:
            out.append(attr)
        elif template_group and is_template_attribute(name):
            if "job-template" in wanted:
                out.append(attr)
        elif "printer-description" in wanted:
            out.append(attr)
    return out


# --------------------------------------------------------------------------- jobs

_TICKET_ATTRIBUTES: list[tuple[str, str, int]] = [
    ("copies", "copies", T.INTEGER),
    ("media", "media", T.KEYWORD),
    ("sides", "sides", T.KEYWORD),
    ("print_color_mode", "print-color-mode", T.KEYWORD),
    ("print_quality", "print-quality", T.ENUM),
    ("finishings", "finishings", T.ENUM),
    ("orientation_requested", "orientation-requested", T.ENUM),
    ("number_up", "number-up", T.INTEGER),
    ("job_priority", "job-priority", T.INTEGER),
    ("job_hold_until", "job-hold-until", T.KEYWORD),
]


def job_uri(printer_uri: str, job_id: int) -> str:
    return f"{printer_uri}/{job_id}"


def job_attributes(
    job: JobStatus, printer_uri: str, now: int, *, state_override: str | None = None
) -> list[IppAttribute]:
    """A job's Job Description and Status attributes plus its ticket (RFC 8011 §5.3)."""
    state = state_override or job.job_state.value
    reasons = list(job.job_state_reasons) or ["none"]
    created = job.time_at_creation or now
    out = [
        _attr("job-id", T.INTEGER, job.job_id),
        _attr("job-uri", T.URI, job_uri(printer_uri, job.job_id)),
        _attr("job-printer-uri", T.URI, printer_uri),
        _attr("job-name", T.NAME, job.job_name or f"job {job.job_id}"),
        _attr("job-originating-user-name", T.NAME, _user_name(job.job_originating_user_name)),
        _attr("job-state", T.ENUM, JOB_STATES[state]),
        _attr("job-state-reasons", T.KEYWORD, *reasons),
        _text("job-state-message", job.job_state_message or ""),
        _attr("number-of-documents", T.INTEGER, job.number_of_documents or 0),
        _attr("job-impressions-completed", T.INTEGER, job.job_impressions_completed or 0),
        _attr("job-printer-up-time", T.INTEGER, max(now, 1)),
        _attr("time-at-creation", T.INTEGER, created),
        _time("time-at-processing", job.time_at_processing),
        _time("time-at-completed", job.time_at_completed),
        _attr("date-time-at-creation", T.DATE_TIME, _date(created)),
        _date_or_none("date-time-at-processing", job.time_at_processing),
        _date_or_none("date-time-at-completed", job.time_at_completed),
    ]
    if job.job_uuid:
        out.append(_attr("job-uuid", T.URI, job.job_uuid))
    if job.output_device_uuid:
        out.append(_attr("output-device-assigned", T.NAME, job.output_device_uuid[:127]))
    ticket = job.job_ticket or JobTicket()
    for field_name, ipp, tag in _TICKET_ATTRIBUTES:
        value = getattr(ticket, field_name)
        if value is None or value == []:
            continue
        values = value if isinstance(value, list) else [value]
        out.append(_attr(ipp, tag, *values))
    if ticket.page_ranges:
        ranges = [_parse_range(r) for r in ticket.page_ranges.split(",")]
        out.append(_attr("page-ranges", T.RANGE_OF_INTEGER, *ranges))
    return out


def _user_name(owner: str | None) -> str:
    """The IPP user name of an owner JID: the local part (alice@example.org → alice)."""
    if not owner:
        return "anonymous"
    return owner.split("@", 1)[0] if "@" in owner else owner


def _time(name: str, value: int | None) -> IppAttribute:
    return _attr(name, T.INTEGER, value) if value is not None else _attr(name, T.NO_VALUE)


def _date_or_none(name: str, value: int | None) -> IppAttribute:
    return _attr(name, T.DATE_TIME, _date(value)) if value is not None else _attr(name, T.NO_VALUE)


def _parse_range(text: str) -> RangeOfInteger:
    lower, _, upper = text.partition("-")
    return RangeOfInteger(int(lower), int(upper or lower))


# --------------------------------------------------------------------------- tickets


@dataclass
class TicketResult:
    """A JobTicket built from a request, and the attributes the gateway ignored."""

    ticket: JobTicket
    unsupported: list[IppAttribute] = field(default_factory=list)
    job_name: str | None = None  # job-name in the job group (Set-Job-Attributes)


def _first(attr: IppAttribute, tags: tuple[int, ...]) -> Any:
    if len(attr.values) != 1 or int(attr.values[0].tag) not in tags:
        raise IppStatusError(
            StatusCode.CLIENT_ERROR_BAD_REQUEST, f"{attr.name} must be one value of its syntax"
        )
    return attr.values[0].value


def _string(value: Any) -> str:
    return value.text if isinstance(value, StringWithLanguage) else str(value)


def ticket_from_request(job_group: IppGroup | None, info: QueueInfo) -> TicketResult:
    """Map the Job Template attributes of a request (RFC 8011 §5.2) to a JobTicket.
    Values the queue does not support, and attributes the gateway does not carry, are
    returned as unsupported (the caller applies ipp-attribute-fidelity)."""
    values: dict[str, Any] = {}
    unsupported: list[IppAttribute] = []
    job_name: str | None = None
    caps = info.capabilities
    for attr in job_group.attributes if job_group else []:
        name = attr.name
        if name == "copies":
            copies = _first(attr, (T.INTEGER,))
            if not 1 <= copies <= (caps.copies_supported or 1):
                unsupported.append(attr)
            else:
                values["copies"] = copies
        elif name in ("media", "sides", "print-color-mode", "job-hold-until"):
            value = _string(_first(attr, (T.KEYWORD, T.NAME, T.NAME_WITH_LANGUAGE)))
            supported = {
                "media": [_LEGACY_MEDIA.get(m, m) for m in (caps.media_supported or [])],
                "sides": caps.sides_supported or ["one-sided"],
                "print-color-mode": caps.print_color_mode_supported or ["auto"],
                "job-hold-until": ["no-hold", "indefinite"],
            }[name]
            value = _LEGACY_MEDIA.get(value, value) if name == "media" else value
            if (supported and value not in supported) or not _KEYWORD_RE.match(value):
                unsupported.append(attr)
            else:
                values[name.replace("-", "_")] = value
        elif name == "media-col":
            col = _first(attr, (T.BEG_COLLECTION,))
            media = _media_from_col(col, caps)
            if media is None:
                unsupported.append(attr)
            else:
                values["media"] = media
                if "media_col" in JobTicket.model_fields:
                    values["media_col"] = _media_col_ticket(col, media)
        elif name == "print-quality":
            quality = _first(attr, (T.ENUM,))
            if quality not in (caps.print_quality_supported or [4]):
                unsupported.append(attr)
            else:
                values["print_quality"] = quality
        elif name == "finishings":
            if any(int(v.tag) != T.ENUM for v in attr.values):
                raise IppStatusError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "finishings are enums")
            wanted = [v.value for v in attr.values]
            allowed = set(caps.finishings_supported or [3]) | {3}
            if not all(f in allowed for f in wanted):
                unsupported.append(attr)
            else:
                values["finishings"] = wanted
        elif name == "orientation-requested":
            value = _first(attr, (T.ENUM,))
            if value not in (3, 4, 5, 6):
                unsupported.append(attr)
            else:
                values["orientation_requested"] = value
        elif name in ("number-up", "job-priority"):
            value = _first(attr, (T.INTEGER,))
            limit = 16 if name == "number-up" else 100
            if not 1 <= value <= limit:
                unsupported.append(attr)
            else:
                values[name.replace("-", "_")] = value
        elif name == "page-ranges":
            if any(int(v.tag) != T.RANGE_OF_INTEGER for v in attr.values):
                raise IppStatusError(StatusCode.CLIENT_ERROR_BAD_REQUEST, "page-ranges syntax")
            ranges = [v.value for v in attr.values]
            if any(r.lower < 1 or r.upper < r.lower for r in ranges):
                unsupported.append(attr)
            else:
                values["page_ranges"] = ",".join(
                    str(r.lower) if r.lower == r.upper else f"{r.lower}-{r.upper}" for r in ranges
                )
        elif name in ("job-sheets", "multiple-document-handling"):
            if not _only_keyword(attr, {"none", "separate-documents-collated-copies"}):
                unsupported.append(attr)  # only the defaults, which need nothing carried
        elif name == "job-name":
            job_name = _string(_first(attr, (T.NAME, T.NAME_WITH_LANGUAGE)))[:255]
        else:  # RFC 8011 §4.1.7: an attribute not supported at all comes back 'unsupported'
            unsupported.append(IppAttribute(name, [IppValue(T.UNSUPPORTED, None)]))
    try:
        ticket = JobTicket.model_validate(values)
    except ValueError:
        raise IppStatusError(
            StatusCode.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
            "job template values out of range",
        ) from None
    return TicketResult(ticket, unsupported, job_name)


def _media_col_ticket(col: IppCollection, media: str) -> dict[str, Any]:
    out: dict[str, Any] = {"media_size_name": media}
    size = media_size(media)
    if size is not None:
        out["media_size"] = {"x_dimension": size[0], "y_dimension": size[1]}
    for member in ("media-type", "media-source", "media-color"):
        value = col.first(member)
        if isinstance(value, str) and _KEYWORD_RE.match(value):
            out[member.replace("-", "_")] = value
    return out


def _only_keyword(attr: IppAttribute, allowed: set[str]) -> bool:
    return all(_string(v.value) in allowed for v in attr.values)


def _media_from_col(col: Any, caps: Capabilities) -> str | None:
    if not isinstance(col, IppCollection):
        return None
    supported = [_LEGACY_MEDIA.get(m, m) for m in (caps.media_supported or [])]
    name = col.first("media-size-name")
    if isinstance(name, str):
        return name if not supported or name in supported else None
    size = col.first("media-size")
    if isinstance(size, IppCollection):
        x, y = size.first("x-dimension"), size.first("y-dimension")
        for candidate in supported:
            dims = media_size(candidate)
            if (
                dims is not None
                and abs(dims[0] - (x or 0)) <= 100
                and abs(dims[1] - (y or 0)) <= 100
            ):
                return candidate
    return None


# --------------------------------------------------------------------------- documents

#: document-state enums (PWG 5100.5 §5.3.6): the job states without pending-held.
DOCUMENT_STATES = {k: v for k, v in JOB_STATES.items() if k != "pending-held"}
#: Document Template attributes Set-Document-Attributes changes (the document ticket).
DOCUMENT_SETTABLE_ATTRIBUTES = tuple(
    a for a in JOB_CREATION_ATTRIBUTES if a not in ("job-name", "job-hold-until", "job-priority")
)


def document_attributes(doc: DocumentStatus, printer_uri: str, now: int) -> list[IppAttribute]:
    """A document's Description and Status attributes and its ticket (PWG 5100.5 §5)."""
    out = [
        _attr("document-job-id", T.INTEGER, doc.job_id),
        _attr("document-job-uri", T.URI, job_uri(printer_uri, doc.job_id)),
        _attr("document-number", T.INTEGER, doc.document_number),
        _attr("document-printer-uri", T.URI, printer_uri),
        _attr("document-name", T.NAME, doc.document_name or f"document {doc.document_number}"),
        _attr(
            "document-format", T.MIME_MEDIA_TYPE, doc.document_format or "application/octet-stream"
        ),
        _attr("document-state", T.ENUM, DOCUMENT_STATES[doc.document_state.value]),
        _attr("document-state-reasons", T.KEYWORD, *(doc.document_state_reasons or ["none"])),
        _attr("printer-up-time", T.INTEGER, max(now, 1)),
    ]
    if doc.document_uri:
        out.append(_attr("document-uri", T.URI, doc.document_uri))
    if doc.document_size is not None:
        out.append(_attr("k-octets", T.INTEGER, min((doc.document_size + 1023) // 1024, 2**31 - 1)))
    ticket = doc.document_ticket or JobTicket()
    for field_name, ipp, tag in _TICKET_ATTRIBUTES:
        value = getattr(ticket, field_name)
        if value is None or value == [] or ipp not in DOCUMENT_SETTABLE_ATTRIBUTES:
            continue
        out.append(_attr(ipp, tag, *(value if isinstance(value, list) else [value])))
    return out
