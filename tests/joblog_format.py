"""Checks a job-log record against the format it claims: RFC 5424 (§6, the ABNF, as one
regular expression; and syslog-rfc5424-parser, an independent parser) carrying the PWG
Common Log Format structured data (SD-ID pwg@2699 and the parameters docs/deploy.md
lists)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from syslog_rfc5424_parser import SyslogMessage

_SD_NAME = r"[!#-<>-\\\^-~]{1,32}"  # PRINTUSASCII except '=', SP, ']', '"'
_VALUE = r'(?:[^"\\\]]|\\["\\\]])*'  # '"', '\' and ']' escaped
_PARAM = rf' {_SD_NAME}="{_VALUE}"'
_ELEMENT = rf"\[{_SD_NAME}(?:{_PARAM})*\]"
RECORD = re.compile(
    r"^<(?P<pri>\d{1,3})>1"
    r" (?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"
    r" (?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128})"
    r" (?P<msgid>[!-~]{1,32})"
    rf" (?P<sd>-|(?:{_ELEMENT})+)"
    r"(?: (?P<msg>[^\r\n]*))?$"
)
_PAIR = re.compile(rf'({_SD_NAME})="({_VALUE})"')

PWG_SD_ID = "pwg@2699"
PWG_PARAMS = frozenset(
    {
        "Operation",
        "UserName",
        "ServiceName",
        "DeviceUUID",
        "JobID",
        "JobUUID",
        "JobName",
        "JobOriginatingUserName",
        "JobState",
        "JobStateReasons",
        "OutputDeviceJobID",
        "NumberOfDocuments",
        "JobImpressionsCompleted",
        "JobMediaSheetsCompleted",
        "JobKOctets",
        "DocumentNumber",
        "DocumentName",
        "DocumentFormat",
        "DocumentOctets",
        "DocumentAccess",
        "FetchStatusCode",
        "StatusCode",
    }
)


@dataclass
class Record:
    pri: int
    event: str
    app: str
    params: dict[str, str]
    message: str
    line: str


def _unescape(value: str) -> str:
    return re.sub(r'\\(["\\\]])', r"\1", value)


def parse(line: str) -> Record:
    """The record, or AssertionError saying what does not fit."""
    match = RECORD.match(line)
    assert match, f"not an RFC 5424 record: {line!r}"
    pri = int(match["pri"])
    assert 0 <= pri <= 191, line
    sd = match["sd"]
    assert sd.startswith(f"[{PWG_SD_ID} "), f"no {PWG_SD_ID} element: {line!r}"
    body = sd[len(PWG_SD_ID) + 1 : -1]
    pairs = _PAIR.findall(body)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"a parameter twice: {line!r}"
    assert set(names) <= PWG_PARAMS, f"unknown parameters {set(names) - PWG_PARAMS}"
    # The independent parser reads the same record the same way.
    other = SyslogMessage.parse(line)
    assert other.msgid == match["msgid"]
    assert other.appname == match["app"]
    assert list(other.sd[PWG_SD_ID]) == names
    return Record(
        pri=pri,
        event=match["msgid"],
        app=match["app"],
        params={name: _unescape(value) for name, value in pairs},
        message=match["msg"] or "",
        line=line,
    )


def read(path: Path) -> list[Record]:
    return [parse(line) for line in path.read_text(encoding="utf-8").splitlines()]


def of_job(records: list[Record], job_id: int) -> list[Record]:
    return [r for r in records if r.params.get("JobID") == str(job_id)]
