"""One job-log record: what happened (`Entry`) and its text, a PWG Common Log Format
(PWG 5110.3) message as an RFC 5424 syslog record.

    <54>1 2025-06-02T09:14:03.412Z print-host cirrus-service 812 job-completed
      [pwg@2699 Operation="UpdateJobState" UserName="mgr1@example.org" ServiceName="office"
      JobID="12" JobState="completed" JobImpressionsCompleted="3" …] job 12 completed …

(one line in the file; wrapped here). The header: PRI = facility * 8 + severity (lpr and
informational: 54), VERSION 1, the UTC time with microseconds, the host, the program,
its pid, and the event as MSGID. The structured data is one SD-ELEMENT whose SD-ID
carries the PWG's IANA enterprise number (2699); its parameters are named as PWG 5110.3
names the log's fields: the IPP attribute, in UpperCamelCase (job-impressions-completed
is JobImpressionsCompleted). The PWG 5110.3 text was not at hand when this was written:
the names follow what we know of it, and docs/deploy.md lists every one.

Pure functions; the writer thread (writer.py) calls `format_record`.
"""

from __future__ import annotations

import functools
import re
import time
from dataclasses import dataclass
from enum import IntEnum

SD_ID = "pwg@2699"  # the PWG's private enterprise number
MAX_VALUE = 256  # characters of one parameter value; longer ones are cut (…)
MAX_MESSAGE = 512

# RFC 5424 §6.2.1 facilities by name (the ones a print service would use).
FACILITIES = {
    "user": 1,
    "daemon": 3,
    "auth": 4,
    "lpr": 6,
    **{f"local{n}": 16 + n for n in range(8)},
}


class Severity(IntEnum):
    """RFC 5424 §6.2.1."""

    WARNING = 4  # a job aborted, a device request refused
    NOTICE = 5
    INFORMATIONAL = 6  # every other transaction


@dataclass(frozen=True)
class Entry:
    """One transaction. `params` are PWG 5110.3 field names and values, in order."""

    time: float  # epoch seconds, when it was committed
    event: str  # MSGID: job-created, job-completed … (printable ASCII, at most 32)
    params: tuple[tuple[str, str], ...]
    message: str = ""
    severity: Severity = Severity.INFORMATIONAL


# PARAM-VALUE escapes (RFC 5424 §6.3.3): '"', '\' and ']' take a backslash. Line breaks
# and other control characters would split the record in a file: a space instead.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ESCAPE = re.compile(r'(["\\\]])')
_SPECIAL = re.compile(r'["\\\]\x00-\x1f\x7f]')


def _value(text: str, limit: int = MAX_VALUE) -> str:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if _SPECIAL.search(text) is None:  # nearly always: nothing to do
        return text
    return _ESCAPE.sub(r"\\\1", _CONTROL.sub(" ", text))


def _timestamp(epoch: float) -> str:
    seconds = int(epoch)
    micros = int((epoch - seconds) * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"


@functools.lru_cache(maxsize=256)
def _header_field(text: str, limit: int) -> str:
    """HOSTNAME, APP-NAME, PROCID, MSGID: printable US-ASCII without spaces, or '-'."""
    cleaned = "".join(c for c in text if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


@functools.lru_cache(maxsize=16)
def _origin(hostname: str, app_name: str, procid: str) -> str:
    return " ".join(
        (_header_field(hostname, 255), _header_field(app_name, 48), _header_field(procid, 128))
    )


def structured_data(params: tuple[tuple[str, str], ...]) -> str:
    if not params:
        return "-"
    body = " ".join([f'{name}="{_value(value)}"' for name, value in params])
    return f"[{SD_ID} {body}]"


def format_record(
    entry: Entry, *, hostname: str, app_name: str, procid: str, facility: int, pri: bool = True
) -> str:
    """The RFC 5424 record, without a line end; `pri=False` leaves out the <PRI> (the
    syslog handler puts its own in front)."""
    head = f"<{facility * 8 + int(entry.severity)}>1" if pri else "1"
    text = (
        f"{head} {_timestamp(entry.time)} {_origin(hostname, app_name, procid)}"
        f" {_header_field(entry.event, 32)} {structured_data(entry.params)}"
    )
    if entry.message:
        text += " " + _CONTROL.sub(" ", entry.message[:MAX_MESSAGE])  # MSG: free text
    return text
