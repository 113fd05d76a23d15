"""The job log's record format and its writer: escaping, bounded lines, rotation by size
and by age, deletion after the retention period, the local syslog socket."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from server.joblog.record import Entry, Severity, format_record
from server.joblog.writer import JobLogWriter
from tests.joblog_format import parse

HEADER = {"hostname": "print-host", "app_name": "cirrus-service", "procid": "42", "facility": 6}


def entry(name: str = "report", at: float = 1_750_000_000.25) -> Entry:
    return Entry(at, "job-created", (("JobID", "7"), ("JobName", name)), "job 7 created")


def test_a_record_is_rfc5424_with_the_pwg_element() -> None:
    line = format_record(entry(), **HEADER)
    assert line == (
        "<54>1 2025-06-15T15:06:40.250000Z print-host cirrus-service 42 job-created"
        ' [pwg@2699 JobID="7" JobName="report"] job 7 created'
    )
    record = parse(line)
    assert record.params == {"JobID": "7", "JobName": "report"}


def test_values_are_escaped_and_kept_on_one_bounded_line() -> None:
    hostile = 'a "quoted" \\ name] with\nnew lines\r' + "x" * 5000
    line = format_record(entry(hostile), **HEADER)
    assert "\n" not in line and "\r" not in line
    assert len(line) < 1000
    record = parse(line)
    name = record.params["JobName"]
    assert name.startswith('a "quoted" \\ name] with new lines ') and name.endswith("…")


def test_a_warning_has_its_severity_in_pri() -> None:
    warned = Entry(0.0, "job-completed", (), "", Severity.WARNING)
    assert format_record(warned, **HEADER).startswith("<52>1 1970-01-01T00:00:00.000000Z")
    assert format_record(warned, **HEADER, pri=False).startswith("1 1970-01-01T")


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_file_rotates_by_size_and_by_age_and_old_files_go(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "log" / "jobs.log"
    writer = JobLogWriter(
        file=path,
        syslog_socket=None,
        facility=6,
        max_bytes=300,
        rotate_seconds=3600,
        retention_seconds=86400,
        clock=clock,
    )
    writer.start()
    try:
        for _ in range(4):  # ~125 octets each: the third would pass 300
            writer.put(entry())
        writer.flush()
        assert writer.file is not None
        assert len(writer.file.rotated()) == 1
        assert len(path.read_text().splitlines()) == 2
        assert oct(path.stat().st_mode & 0o777) == "0o640"
        clock.now += 3601  # older than rotate_seconds: the next record starts a file
        writer.put(entry())
        writer.flush()
        assert len(writer.file.rotated()) == 2
        assert len(path.read_text().splitlines()) == 1
        # Rotated files whose last write is older than the retention period are deleted
        # at the next rotation.
        for old in writer.file.rotated():
            os.utime(old, (clock.now - 2 * 86400, clock.now - 2 * 86400))
        clock.now += 3601
        writer.put(entry())
        writer.flush()
        assert len(writer.file.rotated()) == 1  # the one just closed
        every = [
            parse(line)
            for f in [path, *writer.file.rotated()]
            for line in f.read_text().splitlines()
        ]
        assert all(r.event == "job-created" for r in every)
    finally:
        writer.stop()


def test_records_reach_the_local_syslog_socket(short_tmp: Path) -> None:
    address = short_tmp / "log.sock"
    daemon = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    daemon.bind(str(address))
    daemon.settimeout(5.0)
    writer = JobLogWriter(file=None, syslog_socket=address, facility=6, hostname="print-host")
    writer.start()
    try:
        writer.put(entry())
        got = daemon.recv(65536).decode()
    finally:
        writer.stop()
        daemon.close()
    assert got.startswith("<54>1 ") and not got.endswith("\x00")
    assert parse(got).params["JobName"] == "report"


def test_a_missing_syslog_socket_costs_no_record_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "jobs.log"
    writer = JobLogWriter(file=path, syslog_socket=tmp_path / "none.sock", facility=6)
    writer.start()
    try:
        writer.put(entry())
        writer.flush()
    finally:
        writer.stop()
    assert len(path.read_text().splitlines()) == 1
