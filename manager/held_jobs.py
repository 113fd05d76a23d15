"""The manager's own record of the jobs it holds, kept in a small journal file.

The print-at-most-once rule (docs/architecture.md) depends on it: each step that
cannot be undone is written down, fdatasynced, before it is taken.

Phases of a held job, in order:
- created: the device job exists, holding no document; AcknowledgeJob not yet answered.
- acknowledged: the service bound the job to this device; no document sent yet.
- sending: document `documents_sent + 1` is being handed to the device.
- sent: every document is on the device; the manager follows the device job.

The file is a journal: one JSON line per change (``{"put": {job}}`` or ``{"drop": id}``),
written with one pwrite and one fdatasync, so a change costs one small write whatever
the number of jobs held. Loading replays the lines in order. The space after the last
line is written with NUL bytes in advance (JSON never contains one), so an append does
not change the file's size and fdatasync has only the data block to flush, not the
inode. When that space is used up, and on every start, the file is compacted: the
held jobs are written as put lines into a new file, fsynced, renamed over the old one,
and the folder fsynced (a file in the earlier format, one JSON list, is taken over this
way on the first start). A record torn by a crash (the last one, incomplete or
unreadable) is ignored: it was not fdatasynced, so the step it announced was not taken.
"""

from __future__ import annotations

import json
import os
import weakref
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any


class Phase(StrEnum):
    CREATED = "created"
    ACKNOWLEDGED = "acknowledged"
    SENDING = "sending"
    SENT = "sent"


@dataclass(frozen=True)
class HeldJob:
    job_id: int
    output_device_uuid: str
    phase: Phase
    device_job_id: int
    number_of_documents: int
    documents_sent: int = 0
    documents: tuple[int, ...] = ()  # the document numbers to send, in order (empty: 1..n)
    last_state: str = "pending"  # the job-state last reported to the service
    last_reasons: tuple[str, ...] = ("none",)


class JournalDamaged(Exception):
    """A record other than the last one cannot be read: the file was damaged, and
    guessing what was held could print a job twice."""


SEGMENT_BYTES = 256 * 1024  # room written ahead for appends (about 1,000 changes)


class HeldJobs:
    """A dict of held jobs mirrored to a journal file; each change is durable when
    put/advance/drop returns."""

    def __init__(self, path: Path, *, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.path = path
        self.segment_bytes = max(4096, segment_bytes)
        self._jobs: dict[int, HeldJob] = {}
        self._fd: int | None = None
        self._closer: weakref.finalize[[int], HeldJobs] | None = None
        self._offset = 0  # where the next record goes
        self._capacity = 0  # the file's size: records, then NUL bytes
        self.compactions = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self._jobs = _replay(path)
        self._rewrite(self._jobs)

    def get(self, job_id: int) -> HeldJob | None:
        return self._jobs.get(job_id)

    def for_device(self, output_device_uuid: str) -> list[HeldJob]:
        return [j for j in self._jobs.values() if j.output_device_uuid == output_device_uuid]

    def put(self, job: HeldJob) -> HeldJob:
        if self._jobs.get(job.job_id) != job:  # the same again is already durable
            self._record(_put_line(job), job.job_id, job)
        return job

    def advance(self, job: HeldJob, **changes: object) -> HeldJob:
        return self.put(replace(job, **changes))  # type: ignore[arg-type]

    def drop(self, job_id: int) -> None:
        if job_id in self._jobs:
            self._record(_drop_line(job_id), job_id, None)

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
        self._closer = None
        self._fd = None

    # --- the file --------------------------------------------------------------------
    def _record(self, line: bytes, job_id: int, job: HeldJob | None) -> None:
        """Make one change durable, then apply it in memory (a failed write changes
        nothing that get() shows)."""
        if self._fd is None or self._offset + len(line) > self._capacity:
            jobs = dict(self._jobs)
            _apply(jobs, job_id, job)
            self._rewrite(jobs)
            self._jobs = jobs
            return
        try:
            _pwrite_all(self._fd, line, self._offset)
            os.fdatasync(self._fd)
        except BaseException:
            # What reached the file is unknown: the next change rewrites it whole.
            self.close()
            raise
        self._offset += len(line)
        _apply(self._jobs, job_id, job)

    def _rewrite(self, jobs: dict[int, HeldJob]) -> None:
        """Write `jobs` into a new file with room to append, fsync, rename into place."""
        body = b"".join(_put_line(j) for j in jobs.values())
        capacity = -(-max(self.segment_bytes, 2 * len(body)) // 4096) * 4096
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            _pwrite_all(fd, body + bytes(capacity - len(body)), 0)
            os.fsync(fd)
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            self.close()  # the old file may be replaced already: never append to it
            raise
        self.close()
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)
        self._offset = len(body)
        self._capacity = capacity
        self.compactions += 1


def _put_line(job: HeldJob) -> bytes:
    # vars(): the dataclass fields; tuples become lists, Phase its string value
    return json.dumps({"put": vars(job)}, separators=(",", ":")).encode() + b"\n"


def _drop_line(job_id: int) -> bytes:
    return b'{"drop":%d}\n' % job_id


def _apply(jobs: dict[int, HeldJob], job_id: int, job: HeldJob | None) -> None:
    if job is None:
        jobs.pop(job_id, None)
    else:
        jobs[job_id] = job


def _job(raw: dict[str, Any]) -> HeldJob:
    raw["phase"] = Phase(raw["phase"])
    raw["last_reasons"] = tuple(raw["last_reasons"])
    raw["documents"] = tuple(raw.get("documents", ()))
    return HeldJob(**raw)


def _replay(path: Path) -> dict[int, HeldJob]:
    data = path.read_bytes()
    if data.lstrip().startswith(b"["):
        # the earlier format: one JSON list, rewritten whole (fsync + rename) on each change
        return {job.job_id: job for job in map(_job, json.loads(data))}
    end = data.find(b"\0")
    if end >= 0:
        data = data[:end]  # the room written ahead (or a record that never landed)
    lines = data.split(b"\n")
    torn = lines.pop()  # after the last newline: nothing, or a record torn by a crash
    jobs: dict[int, HeldJob] = {}
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            if "drop" in record:
                jobs.pop(int(record["drop"]), None)
            else:
                job = _job(record["put"])
                jobs[job.job_id] = job
        except (ValueError, KeyError, TypeError) as exc:
            if number == len(lines) and not torn:
                break  # the last record, written but not wholly: torn, never acted on
            raise JournalDamaged(f"{path}: record {number} cannot be read ({exc})") from None
    return jobs


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
