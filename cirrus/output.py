"""How the `cirrus` command shows things: aligned tables, one-line states, JSON."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from stanzas.errors import (
    CloudImagingError,
    NoAnswer,
    NotDelivered,
    OutcomeUnknown,
    WaitTimeout,
)
from stanzas.groups import JobStatus

# One hint per status people meet, for the one-line error.
HINTS = {
    "client-error-not-found": "check the id or queue name (`cirrus jobs`, `cirrus queues`)",
    "client-error-not-authorized": "only the job's owner, an operator or an administrator may",
    "client-error-not-possible": "the job's state does not allow it (`cirrus job ID`)",
    "client-error-attributes-or-values-not-supported": "see `cirrus queue NAME` for what it takes",
    "client-error-document-format-not-supported": "see `cirrus queue NAME` for the formats",
    "server-error-not-accepting-jobs": "the queue is disabled or its device refuses jobs",
    "server-error-service-unavailable": "the service is not reachable; try again shortly",
    "server-error-timeout": "the service did not answer in time; try again",
}
# A refused `cirrus admin` command is about the caller's role, not about a job's owner.
ADMIN_HINTS = {
    "client-error-not-authorized": "the service's `operators` and `admins` settings say who "
    "may run administrative commands; an operator cannot run an administrator's command",
}
UNKNOWN_OUTCOME = "it may have been done: look (`cirrus jobs`, `cirrus job ID`) before retrying"


def _hint(exc: CloudImagingError, admin: bool) -> str | None:
    """What to do next: the request's fate first (it decides whether a retry is safe),
    then the status."""
    if isinstance(exc, WaitTimeout):
        job = f"cirrus job {exc.job_ids[0]}" if exc.job_ids else "cirrus job ID"
        return f"the job goes on; follow it with `{job}`"
    if isinstance(exc, NotDelivered) or (isinstance(exc, NoAnswer) and exc.delivered is False):
        return "nothing reached the service; check that it and the XMPP server run, then retry"
    if isinstance(exc, OutcomeUnknown | NoAnswer):
        if exc.idempotency_key:  # cirrus print: the job is created at most once
            return (
                "the job may have been created; run the same command again with "
                f"--idempotency-key {exc.idempotency_key} to make sure without printing twice"
            )
        return UNKNOWN_OUTCOME
    return (ADMIN_HINTS.get(exc.status) if admin else None) or HINTS.get(exc.status)


def describe(job: JobStatus) -> str:
    reasons = ", ".join(job.job_state_reasons)
    text = f"job {job.job_id}: {job.job_state.value} ({reasons})"
    if job.job_state_message:
        text += f" — {job.job_state_message}"
    return text


def error_line(exc: CloudImagingError, *, admin: bool = False) -> str:
    """A refused or failed operation as one line: status, message, hint."""
    hint = _hint(exc, admin)
    message = " ".join(exc.message.split())  # one line, whatever the service wrote
    return f"cirrus: {exc.status}: {message}" + (f" (hint: {hint})" if hint else "")


def failure_line(exc: BaseException) -> str:
    """Any other failure of a command as one line, with a hint."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, CloudImagingError):
        return error_line(exc)
    if isinstance(exc, OSError):
        return f"cirrus: {text} (hint: check the path and its permissions)"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"cirrus: {type(exc).__name__}: {first[:300]} "
        "(hint: run again with --debug to see the log and the traceback)"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def job_rows(jobs: Iterable[JobStatus]) -> list[list[Any]]:
    return [
        [
            j.job_id,
            j.printer_name,
            j.job_state.value,
            ", ".join(j.job_state_reasons),
            j.job_originating_user_name or "-",
            j.job_name or "-",
            time.strftime("%Y-%m-%d %H:%M", time.localtime(j.time_at_creation))
            if j.time_at_creation
            else "",
        ]
        for j in jobs
    ]


JOB_HEADERS = ("id", "queue", "state", "reasons", "owner", "name", "created")


def emit_json(value: BaseModel | Sequence[BaseModel] | dict[str, Any]) -> None:
    if isinstance(value, Sequence):
        data: Any = [v.model_dump(mode="json", by_alias=True, exclude_none=True) for v in value]
    elif isinstance(value, BaseModel):
        data = value.model_dump(mode="json", by_alias=True, exclude_none=True)
    else:
        data = value
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()
