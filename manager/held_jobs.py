"""The manager's own record of the jobs it holds, kept in a small journal file.

The print-at-most-once rule (docs/architecture.md) depends on it: each step that
cannot be undone is written down, fdatasynced, before it is taken.

Each record holds a job's phase (how far the manager got, manager/job_phase.py), its
state as the service last heard it (remote) and its device job's id and state (local).

The file is a journal: one JSON line per change (``{"put": {job}}`` or ``{"drop": id}``).
Loading replays the lines in order. The space after the last line is written with NUL
bytes in advance (JSON never contains one), so an append does not change the file's
size and fdatasync has only the data blocks to flush, not the inode. When that space is
used up, and on every start, the file is compacted: the held jobs are written as put
lines into a new file, fsynced, renamed over the old one, and the folder fsynced (a
file in the earlier format, one JSON list, is taken over this way on the first start).

Group commit: put/advance/drop are awaited, and return once their record is durable.
Changes asked for while a write is under way (several jobs in flight, several device
workers sharing the file) wait together and go out as the next batch: one pwrite of
all their lines and one fdatasync, in the journal's own thread, so the event loop never
waits on the disk and a batch costs one sync however many changes it carries. get() and
for_device() show only what is durable: a batch is applied in memory after its sync
returned, in the order it was asked for, and only then do its callers resume. A failed
write fails every caller of the batch and changes nothing in memory; what reached the
file is then unknown, so the next batch rewrites it whole. finish() records a job's last
state and drops it in one batch; synced() waits for every change already asked for.

A crash may leave a batch partly on disk, but only as a prefix of it: the unwritten
parts of the room still read as NUL, and replay stops at the first NUL. A record torn by
the crash (the last one, incomplete or unreadable) is ignored: it was not fdatasynced,
so the step it announced was not taken. Each record holds a job's whole state, so any
prefix of a batch replays to each job as of one of the changes asked for, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from manager.job_phase import Phase
from stanzas.states import JobState

__all__ = ["HeldJob", "HeldJobs", "JournalDamaged", "Phase"]


@dataclass(frozen=True)
class HeldJob:
    job_id: int  # the service's job-id
    output_device_uuid: str
    phase: Phase
    device_job_id: int | None  # the device's job-id (None: none at the moment)
    number_of_documents: int
    documents_sent: int = 0
    documents: tuple[int, ...] = ()  # the document numbers to send, in order (empty: 1..n)
    # remote: the job-state and job-state-reasons last reported to the service
    last_state: JobState = JobState.PENDING
    last_reasons: tuple[str, ...] = ("none",)
    # local: the device job's state when the manager last looked (None: not yet)
    device_job_state: JobState | None = None
    # the octets of every document handed to the device so far, the one being sent
    # included: what the device should hold (its job-k-octets) once the send is done
    octets: int = 0


class JournalDamaged(Exception):
    """A record other than the last one cannot be read: the file was damaged, and
    guessing what was held could print a job twice."""


SEGMENT_BYTES = 256 * 1024  # room written ahead for appends (about 1,000 changes)

# (job id, the job after the change, or None: dropped)
_Change = tuple[int, HeldJob | None]


@dataclass(eq=False)
class _Batch:
    """Changes that become durable together, with the callers waiting for them."""

    changes: list[_Change] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class HeldJobs:
    """A dict of held jobs mirrored to a journal file; each change is durable when
    put/advance/drop returns, and only then visible to get()."""

    def __init__(self, path: Path, *, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.path = path
        self.segment_bytes = max(4096, segment_bytes)
        self._jobs: dict[int, HeldJob] = {}  # what is durable
        # Jobs with a change not yet durable: their state after it, and its batch.
        self._pending: dict[int, tuple[HeldJob | None, _Batch]] = {}
        self._open: _Batch | None = None  # collecting changes while another is written
        self._writing: _Batch | None = None  # handed to the journal's thread
        # One thread of its own: batches are written in order, never queued behind
        # document bytes in the default executor, and only that thread (or __init__,
        # before it exists) touches _fd, _offset and _capacity.
        self._thread = _JournalThread()
        self._closed = False
        self._fd: int | None = None
        self._closer: weakref.finalize[[int], HeldJobs] | None = None
        self._offset = 0  # where the next record goes
        self._capacity = 0  # the file's size: records, then NUL bytes
        self.compactions = 0
        self.syncs = 0  # batches made durable (fdatasync or rewrite)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            self._jobs = _replay(path)
        self._rewrite(self._jobs.values())

    def get(self, job_id: int) -> HeldJob | None:
        return self._jobs.get(job_id)

    def for_device(self, output_device_uuid: str) -> list[HeldJob]:
        return [j for j in self._jobs.values() if j.output_device_uuid == output_device_uuid]

    async def put(self, job: HeldJob) -> HeldJob:
        if (waiter := self._queue(job.job_id, job)) is not None:
            await waiter
        return job

    async def advance(self, job: HeldJob, **changes: object) -> HeldJob:
        return await self.put(replace(job, **changes))  # type: ignore[arg-type]

    async def drop(self, job_id: int) -> None:
        if (waiter := self._queue(job_id, None)) is not None:
            await waiter

    async def finish(self, job: HeldJob) -> None:
        """Record the job's last state and drop it, both in one batch (one sync, not
        two). The state goes first: a crash that keeps only that record still finds
        the job as the service last heard of it, as if it had come before the drop."""
        waiters = (self._queue(job.job_id, job), self._queue(job.job_id, None))
        await asyncio.gather(*(w for w in waiters if w is not None))

    async def synced(self) -> None:
        """Return once every change asked for before the call is durable (or failed:
        its own caller hears of that). Batches are written in order, so the last one
        settles after all the others."""
        batch = self._open or self._writing
        if batch is not None:
            with contextlib.suppress(Exception):
                await self._wait_for(batch)

    async def close(self) -> None:
        """Wait for the changes under way, then close the file and the thread (a
        second close does nothing; a change after it fails)."""
        if self._closed:
            return
        self._closed = True
        await self.synced()
        self._discard_fd()  # nothing is being written any more
        self._thread.stop()

    # --- group commit (the event loop) ----------------------------------------------
    def _queue(self, job_id: int, job: HeldJob | None) -> asyncio.Future[None] | None:
        """Ask for a change (None: drop the job); the future is done once it is
        durable. None: nothing to write, what was asked for is durable already."""
        if self._closed:
            raise RuntimeError(f"{self.path} is closed")
        pending = self._pending.get(job_id)
        current = pending[0] if pending is not None else self._jobs.get(job_id)
        if current == job:
            # The same again: durable already, or once the batch carrying it is.
            return self._wait_for(pending[1]) if pending is not None else None
        if self._open is None:
            self._open = _Batch()
            if self._writing is None:
                # Not at once: changes asked for in this turn of the loop join the batch.
                asyncio.get_running_loop().call_soon(self._write_next)
        batch = self._open
        batch.changes.append((job_id, job))
        batch.lines.append(_put_line(job) if job is not None else _drop_line(job_id))
        self._pending[job_id] = (job, batch)
        return self._wait_for(batch)

    def _wait_for(self, batch: _Batch) -> asyncio.Future[None]:
        # One future per caller: a caller cancelled while it waits does not cancel
        # the batch for the others.
        waiter = asyncio.get_running_loop().create_future()
        batch.waiters.append(waiter)
        return waiter

    def _write_next(self) -> None:
        """Hand the batch collected so far to the journal's thread (one at a time)."""
        batch = self._open
        if batch is None or self._writing is not None:
            return
        self._open, self._writing = None, batch
        try:
            self._thread.run(self._write, batch, self._written)
        except Exception as exc:  # no thread to be had: fail the batch, not hang it
            self._written(batch, exc)

    def _written(self, batch: _Batch, error: BaseException | None) -> None:
        self._writing = None
        self._settle(batch, error)
        if self._open is not None:
            # After the callers just woken have run: a change they ask for at once
            # joins this next batch instead of waiting for a sync of its own.
            asyncio.get_running_loop().call_soon(self._write_next)

    def _settle(self, batch: _Batch, error: BaseException | None) -> None:
        """Apply a durable batch in memory (nothing, if it failed), then wake its callers."""
        for job_id, job in batch.changes:
            if error is None:
                _apply(self._jobs, job_id, job)
            pending = self._pending.get(job_id)
            if pending is not None and pending[1] is batch:
                del self._pending[job_id]  # a later batch may hold a newer change
        for waiter in batch.waiters:
            if waiter.done():
                continue  # its caller was cancelled
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)

    # --- the file (the journal's thread) ------------------------------------------------
    def _write(self, batch: _Batch) -> None:
        """Make one batch durable: appended into the room, or the file rewritten."""
        data = b"".join(batch.lines)
        if self._fd is None or self._offset + len(data) > self._capacity:
            jobs = dict(self._jobs)  # the event loop changes it only after this returns
            for job_id, job in batch.changes:
                _apply(jobs, job_id, job)
            self._rewrite(jobs.values())
        else:
            try:
                _pwrite_all(self._fd, data, self._offset)
                os.fdatasync(self._fd)
            except BaseException:
                # What reached the file is unknown: the next batch rewrites it whole.
                self._discard_fd()
                raise
            self._offset += len(data)
        self.syncs += 1

    def _rewrite(self, jobs: Iterable[HeldJob]) -> None:
        """Write `jobs` into a new file with room to append, fsync, rename into place."""
        body = b"".join(_put_line(j) for j in jobs)
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
            self._discard_fd()  # the old file may be replaced already: never append to it
            raise
        self._discard_fd()
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)
        self._offset = len(body)
        self._capacity = capacity
        self.compactions += 1

    def _discard_fd(self) -> None:
        if self._closer is not None:
            self._closer()
        self._closer = None
        self._fd = None


class _JournalThread:
    """Runs `fn(batch)` calls one at a time, in order, in a thread of its own, then
    `done(batch, error)` on the event loop that asked. Leaner than an executor and a
    future per batch: every batch waits for the disk, so each hop's cost counts."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, fn: Callable[[_Batch], None], batch: _Batch, done: _Done) -> None:
        if self._thread is None:
            # A daemon: a sync still under way at exit was never acknowledged, so no
            # step depends on it.
            self._thread = threading.Thread(
                target=_work, args=(self._queue,), name="held-jobs", daemon=True
            )
            self._thread.start()
        self._queue.put((asyncio.get_running_loop(), fn, batch, done))

    def stop(self) -> None:
        self._queue.put(None)  # after the work already handed over

    def __del__(self) -> None:
        self.stop()  # the thread holds the queue, not this object


_Done = Callable[[_Batch, BaseException | None], None]
_Work = tuple[asyncio.AbstractEventLoop, Callable[[_Batch], None], _Batch, _Done]


def _work(work: queue.SimpleQueue[_Work | None]) -> None:
    while (item := work.get()) is not None:
        _work_one(*item)
        del item  # holding the last one would keep its HeldJobs (and this thread) alive


def _work_one(
    loop: asyncio.AbstractEventLoop, fn: Callable[[_Batch], None], batch: _Batch, done: _Done
) -> None:
    error: BaseException | None = None
    try:
        fn(batch)
    except BaseException as exc:  # handed to the callers waiting for the batch
        error = exc
    try:
        loop.call_soon_threadsafe(done, batch, error)
    except RuntimeError:
        pass  # the loop is closed: nobody waits any more


# json.dumps builds a new encoder on every call when given separators
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def _put_line(job: HeldJob) -> bytes:
    # vars(): the dataclass fields; tuples become lists, enums their string values
    return _ENCODER.encode({"put": vars(job)}).encode() + b"\n"


def _drop_line(job_id: int) -> bytes:
    return b'{"drop":%d}\n' % job_id


def _apply(jobs: dict[int, HeldJob], job_id: int, job: HeldJob | None) -> None:
    if job is None:
        jobs.pop(job_id, None)
    else:
        jobs[job_id] = job


def _job(raw: dict[str, Any]) -> HeldJob:
    raw["phase"] = Phase(raw["phase"])
    raw["last_state"] = JobState(raw["last_state"])
    if raw.get("device_job_state") is not None:
        raw["device_job_state"] = JobState(raw["device_job_state"])
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
