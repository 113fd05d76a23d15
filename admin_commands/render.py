"""How each administrative answer reads: lines of text and, for lists, a table.

Front ends decide the form: the chat bot and the CLI align the table in monospace, the
ad-hoc commands turn it into an XEP-0004 <reported/> table. Wire payloads in, text out;
no I/O.
"""

from __future__ import annotations

import csv
import io
import re
import textwrap
import time
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import operating_ops as o
from stanzas.groups import JobStatus

# Lines of text front ends show: an 80-column terminal, or a phone held sideways.
WIDTH = 80
_GAP = "  "


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def csv(self) -> str:
        """The header and the rows as comma-separated values (RFC 4180)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue().rstrip("\n")

    def aligned(self, width: int = WIDTH) -> str:
        """Columns padded to their widest cell, a rule under the header, at most `width`
        characters a line: while too wide, the widest column is narrowed (never below
        its header) and its cells wrap onto lines of their own."""
        cells = [self.columns, *self.rows]
        count = len(self.columns)
        widths = [max(len(row[i]) for row in cells) for i in range(count)]
        # First down to each column's longest word (cells wrap between words), then, if
        # that is not enough, down to its header (words are cut).
        words = [max(len(w) for row in cells for w in row[i].split() or [""]) for i in range(count)]
        headers = [len(name) for name in self.columns]
        for floors in ([max(h, w) for h, w in zip(headers, words, strict=True)], headers):
            while sum(widths) + len(_GAP) * (count - 1) > width:
                narrowable = [i for i in range(count) if widths[i] > floors[i]]
                if not narrowable:
                    break
                widths[max(narrowable, key=lambda i: widths[i])] -= 1
        lines = _row_lines(self.columns, widths)
        lines.append(_GAP.join("-" * w for w in widths))
        for row in self.rows:
            lines += _row_lines(row, widths)
        return "\n".join(lines)


def _row_lines(row: list[str], widths: list[int]) -> list[str]:
    """One row as lines: each cell wrapped to its column's width."""
    wrapped = [wrap(cell, w) for cell, w in zip(row, widths, strict=True)]
    height = max(len(parts) for parts in wrapped)
    return [
        _GAP.join(
            (parts[k] if k < len(parts) else "").ljust(w)
            for parts, w in zip(wrapped, widths, strict=True)
        ).rstrip()
        for k in range(height)
    ]


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    """`text` in lines of at most `width`, broken at spaces; a word longer than a line
    is cut after a '-', '.' or '@' where it can be, else where it must. Lines after the
    first start with `indent`."""
    words = [part for word in text.split() for part in _pieces(word, width - len(indent))]
    return textwrap.wrap(
        " ".join(words),
        width,
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [""]


def _pieces(word: str, width: int) -> list[str]:
    """A word cut into pieces of at most `width` (at least 1), after a '-', '.' or '@'
    where one is far enough in."""
    width = max(width, 1)
    pieces = []
    while len(word) > width:
        cut = max(word.rfind(mark, 0, width) for mark in "-.@") + 1
        if cut < width // 2:
            cut = width
        pieces.append(word[:cut])
        word = word[cut:]
    return [*pieces, word]


def fit(text: str, width: int = WIDTH) -> str:
    """Every line of `text` at most `width` long: a longer one wraps, its continuation
    lines indented two more than it; ``` blocks (tables, already aligned to fit) are
    left as they are."""
    out: list[str] = []
    block = False
    for line in text.split("\n"):
        if line.startswith("```"):
            block = not block
        if block or len(line) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip()) + 2)
        out += wrap(line, width, indent)
    return "\n".join(out)


@dataclass
class Rendered:
    lines: list[str] = field(default_factory=list)
    table: Table | None = None

    def text(self) -> str:
        """Plain text; the table aligned for a monospace font."""
        parts = list(self.lines)
        if self.table is not None:
            parts.append(self.table.aligned() if self.table.rows else "(none)")
        return "\n".join(parts)


def scalar_kind(annotation: Any) -> type:
    """bool, int, list or str, for an Optional[...] field annotation."""
    args = (
        typing.get_args(annotation)
        if typing.get_origin(annotation)
        in (
            typing.Union,
            types.UnionType,
        )
        else (annotation,)
    )
    inner = next(x for x in args if x is not type(None))
    origin = typing.get_origin(inner)
    if origin is typing.Annotated:
        inner = typing.get_args(inner)[0]
        origin = typing.get_origin(inner)
    if origin is list:
        return list
    return inner if inner in (bool, int) else str


def when(epoch: int | None, now: float | None = None) -> str:
    if epoch is None:
        return "-"
    ago = int((time.time() if now is None else now) - epoch)
    stamp = datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")
    if 0 <= ago < 120:
        return f"{stamp} ({ago} s ago)"
    return stamp


def ago(epoch: int | None, now: float | None = None) -> str:
    """A short "when" for tables: seconds, minutes or hours ago, else the date."""
    if epoch is None:
        return "-"
    seconds = int((time.time() if now is None else now) - epoch)
    if 0 <= seconds < 120:
        return f"{seconds} s ago"
    if 0 <= seconds < 120 * 60:
        return f"{seconds // 60} min ago"
    if 0 <= seconds < 48 * 3600:
        return f"{seconds // 3600} h ago"
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def reasons(values: list[str] | None) -> str:
    shown = [r for r in values or [] if r != "none"]
    return ", ".join(shown) or "-"


def yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


# --- services ----------------------------------------------------------------------------


def _state(s: a.ServiceSummary) -> str:
    text = s.service_state.value
    shown = reasons(s.service_state_reasons)
    return text if shown == "-" else f"{text} ({shown})"


def services(response: a.ServicesResponse) -> Rendered:
    table = Table(["QUEUE", "TYPE", "STATE", "ACCEPTING", "JOBS", "DEVICE", "PRINTER"])
    for s in response.service:
        if not s.service_type.is_job_service:
            continue
        device = (
            "-" if s.output_device_uuid is None else ("online" if s.device_online else "offline")
        )
        printer = _printer(s)
        table.rows.append(
            [
                s.printer_name or "",
                s.service_type.value,
                _state(s),
                yes(s.is_accepting_jobs),
                str(s.queued_job_count or 0),
                device,
                printer,
            ]
        )
    return Rendered(table=table)


def service(response: a.ServiceResponse) -> Rendered:
    s = response.service
    if not s.service_type.is_job_service:
        return Rendered([f"System Control Service: {_state(s)}"])
    lines = [f"{s.printer_name}: {_state(s)}"]
    if s.service_state_message:
        lines.append(f"  message: {s.service_state_message}")
    lines.append(f"  accepting jobs: {yes(s.is_accepting_jobs)}; jobs: {s.queued_job_count or 0}")
    if s.hold_new_jobs_until or s.hold_new_jobs_until_time:
        until = s.hold_new_jobs_until or when(s.hold_new_jobs_until_time)
        lines.append(f"  holding new jobs until: {until}")
    if s.output_device_uuid:
        lines.append(
            f"  device: {s.output_device_uuid} ({'online' if s.device_online else 'offline'})"
        )
    if s.printer_info or s.printer_location:
        lines.append(f"  info: {s.printer_info or '-'}; location: {s.printer_location or '-'}")
    if response.device_policy is not None:
        lines.append(f"  auto-approve-devices: {yes(response.device_policy.auto_approve_devices)}")
    if response.configuration is not None:
        for name, value in response.configuration.model_dump(
            exclude_none=True, by_alias=True
        ).items():
            lines.append(f"  {name}: {value}")
    return Rendered(lines)


def deleted(response: a.DeleteServiceResponse) -> Rendered:
    return Rendered(
        [f"deleted queue {response.printer_name} and its {response.deleted_job_count} jobs"]
    )


def system_elements(response: a.SystemElementsResponse) -> Rendered:
    lines: list[str] = []
    for title, group in (
        ("status", response.system_status),
        ("description", response.system_description),
        ("configuration", response.system_configuration),
    ):
        if group is None:
            continue
        lines.append(f"{title}:")
        for name, value in group.model_dump(exclude_none=True, by_alias=True).items():
            if name in ("system-current-time",):
                value = when(value)
            elif isinstance(value, bool):
                value = yes(value)
            elif isinstance(value, list):
                value = ", ".join(map(str, value)) or "-"
            lines.append(f"  {name}: {value}")
    return Rendered(lines)


# --- jobs --------------------------------------------------------------------------------


def describe(job: JobStatus) -> str:
    text = f"job {job.job_id}: {job.job_state.value} ({reasons(job.job_state_reasons)})"
    if job.job_state_message:
        text += f" — {job.job_state_message}"
    return text


def job_list(response: c.JobList) -> Rendered:
    table = Table(["ID", "NAME", "OWNER", "STATE", "REASONS"])
    for job in response.job:
        table.rows.append(
            [
                str(job.job_id),
                (job.job_name or "-")[:40],
                job.job_originating_user_name or "-",
                job.job_state.value,
                reasons(job.job_state_reasons),
            ]
        )
    return Rendered(table=table)


def job_elements(response: c.GetJobElementsResponse) -> Rendered:
    job = response.job
    lines = [describe(job)]
    for name in (
        "job_name",
        "printer_name",
        "job_originating_user_name",
        "number_of_documents",
        "job_impressions_completed",
        "output_device_uuid",
        "output_device_job_id",
    ):
        value = getattr(job, name)
        if value is not None:
            lines.append(f"  {name.replace('_', '-')}: {value}")
    for name in ("time_at_creation", "time_at_processing", "time_at_completed"):
        value = getattr(job, name)
        if value is not None:
            lines.append(f"  {name.replace('_', '-')}: {when(value)}")
    return Rendered(lines)


def job_response(response: c.JobResponse | c.CancelJobResponse) -> Rendered:
    return Rendered([describe(response.job)])


def cancel_jobs(response: a.CancelJobsResponse) -> Rendered:
    if not response.job_ids:
        return Rendered(["no job to cancel"])
    return Rendered([f"canceled: {', '.join(map(str, response.job_ids))}"])


def promote(response: a.PromoteJobResponse) -> Rendered:
    order = ", ".join(map(str, response.scheduled_job_ids))
    return Rendered([describe(response.job), f"waiting jobs, in the order they go: {order}"])


# --- devices and alerts ------------------------------------------------------------------


def devices(response: a.ListDevicesResponse) -> Rendered:
    """One line per device, narrow: its uuid, times and reasons in full are `device
    QUEUE`'s."""
    table = Table(["QUEUE", "ACCOUNT", "STATUS", "LAST SEEN", "PRINTER"])
    for d in response.device:
        online = "online" if d.online else "offline"
        status = online if d.registration_state.value == "approved" else f"pending, {online}"
        table.rows.append(
            [d.printer_name, d.registered_by, status, ago(d.time_last_seen), _printer(d)]
        )
    return Rendered(table=table)


def _printer(d: a.DeviceSummary | a.ServiceSummary) -> str:
    """The printer's state for a table: its reasons without their severity suffix
    (RFC 8011 §5.4.12: -error, -warning, -report), which the details keep."""
    if d.printer_state is None:
        return "-"
    short = [_SEVERITY.sub("", r) for r in d.printer_state_reasons or [] if r != "none"]
    return f"{d.printer_state.value} ({', '.join(short)})" if short else d.printer_state.value


_SEVERITY = re.compile(r"-(error|warning|report)$")


def device(response: a.DeviceResponse) -> Rendered:
    d = response.device
    lines = [
        f"{d.output_device_uuid} serves {d.printer_name}",
        f"  account: {d.registered_by}; {d.registration_state.value}; "
        f"{'online' if d.online else 'offline'}",
        f"  registered: {when(d.time_registered)}; last seen: {when(d.time_last_seen)}",
    ]
    if d.printer_state is not None:
        lines.append(f"  printer: {d.printer_state.value} ({reasons(d.printer_state_reasons)})")
    if d.printer_state_message:
        lines.append(f"  message: {d.printer_state_message}")
    if d.capabilities is not None:
        lines.append("  capabilities:")
        for name, value in d.capabilities.model_dump(exclude_none=True, by_alias=True).items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            lines.append(f"    {name}: {shown}")
    return Rendered(lines)


def alerts(response: a.AlertSubscriptionResponse) -> Rendered:
    if not response.alert_events:
        return Rendered(["alerts off"])
    return Rendered(["alerts on: " + ", ".join(e.value for e in response.alert_events)])


# --- usage and quotas --------------------------------------------------------------------


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def usage(response: o.UsageResponse) -> Rendered:
    by = response.usage_by.value
    lines = [f"jobs ended {_day(response.since)} to {_day(response.until)}, by {by}"]
    table = Table([by.upper(), "JOBS", "DOCUMENTS", "IMPRESSIONS", "SHEETS", "OCTETS"])
    for row in response.usage:
        table.rows.append(
            [
                row.name,
                str(row.jobs),
                str(row.documents),
                str(row.impressions),
                str(row.sheets),
                str(row.octets),
            ]
        )
    return Rendered(lines, table)


def _of(used: int, limit: int | None) -> str:
    return "-" if limit is None else f"{used} of {limit}"


def quotas(response: o.QuotasResponse) -> Rendered:
    table = Table(["SUBJECT", "QUEUE", "PERIOD", "JOBS", "IMPRESSIONS", "RESETS"])
    for q in response.quota:
        who = q.subject if q.subject_kind == o.SubjectKind.USER else f"group:{q.subject}"
        table.rows.append(
            [
                who,
                q.printer_name or "(all)",
                q.quota_period.value,
                _of(q.jobs_used, q.job_limit),
                _of(q.impressions_used, q.impression_limit),
                _day(q.quota_resets),
            ]
        )
    lines = []
    if response.released_job_ids:
        lines.append("released: " + ", ".join(map(str, response.released_job_ids)))
    return Rendered(lines, table)


def backup(response: o.BackupResponse) -> Rendered:
    return Rendered(
        [
            f"backed up to {response.backup_path} on the service's host "
            f"({response.backup_size} octets, {response.store})",
            f"  {response.job_count} jobs, the data of {response.document_count} documents",
        ]
    )
