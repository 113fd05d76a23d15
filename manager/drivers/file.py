"""A "printer" that writes each job's documents into a folder.

Document files are named ``<job-id>-<document-name>`` (the name made safe for a file
system; a repeated name gets "-2", "-3"... before its extension). A document is written
to a hidden ``.part`` file and renamed when complete; the job completes when its last
document is in place. Job states are kept in ``<folder>/.cirrus-jobs/<job-id>.json`` so
job ids keep increasing and get_job keeps answering across restarts.

A finished document is recorded in the job's state file first and renamed into place
second; a job read back from its file after a crash between the two gets the rename
done then (the ``.part`` file is whole by the time it is recorded). So whatever the
moment of a crash, the state file and the folder agree: a document is in place exactly
when the state says so, and a job still ``pending`` with no document printed nothing.
The manager relies on it to resend such a job (manager/cut_off.py).

In memory the driver keeps the jobs not yet ended and the last ENDED_KEPT ended ones;
an older one is read back from its state file when asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import json
import math
import os
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from manager.faults import crash_point
from stanzas.states import JobState

from .base import (
    DeviceCapabilities,
    DeviceDriver,
    DeviceJobStatus,
    DeviceJobTicket,
    DeviceRejected,
    DeviceStatus,
    DeviceUnreachable,
)
from .sim import ChangeNotifier

__all__ = ["FileDriver"]

STATE_DIR = ".cirrus-jobs"
_WRITE_BATCH = 1 << 20  # bytes gathered before a write is handed to a thread
# Bytes one sendfile call copies in a worker thread: one hop per step, and a cancel is
# noticed between steps (about 0.05 s each at page-cache speed).
_COPY_STEP = 64 << 20
# sendfile between these file systems (or this kernel) cannot copy file to file: stream.
_NO_SENDFILE = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV})
_ACCESS_CHECK_INTERVAL = 1.0  # seconds a "the folder is writable" answer is kept
ENDED_KEPT = 256  # ended jobs kept in memory (get_job reads older ones from disk)
_JOB_FILE_RE = re.compile(r"^(\d+)-")
_STATE_FILE_RE = re.compile(r"^(\d+)\.json$")


@runtime_checkable
class WholeFile(Protocol):
    """A document source that is also one whole, verified file (the manager's spooled
    document, manager/download.py): the driver may hard-link `document_file` or copy it
    in the kernel instead of reading it through the event loop. Nobody writes to it."""

    document_file: Path


@dataclass
class _FileJob:
    job_id: int
    job_name: str
    user: str
    copies: int = 1
    state: str = "pending"
    reasons: list[str] = field(default_factory=lambda: ["job-incoming"])
    message: str = ""
    impressions: int = 0
    files: list[str] = field(default_factory=list)

    @property
    def is_terminal(self) -> bool:
        return self.state in ("canceled", "aborted", "completed")

    def status(self) -> DeviceJobStatus:
        return DeviceJobStatus(
            self.job_id,
            JobState(self.state),
            tuple(self.reasons),
            self.message,
            self.impressions,
            self.impressions,  # one impression a sheet: a file per copy is the "paper"
            # a document in place is a document printed
            processing_began=bool(self.files),
        )


def safe_file_name(name: str, limit: int = 150) -> str:
    """``name`` as a single, visible path component."""
    cleaned = "".join("_" if ch in "/\\\0" or ord(ch) < 0x20 else ch for ch in name)
    cleaned = cleaned.strip().lstrip(".")
    if len(cleaned.encode()) > limit:
        stem, dot, ext = cleaned.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        base = (stem if keep else cleaned).encode()[: limit - len(keep) - 1]
        cleaned = base.decode(errors="ignore") + (f".{keep}" if keep else "")
    return cleaned or "document"


class FileDriver(DeviceDriver):
    """Writes documents into ``folder``; see the module docstring."""

    name = "file"

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)
        self._state_dir = self.folder / STATE_DIR
        # Documents being fetched land here: on the same file system as the output, so
        # handing one over is a hard link.
        self._incoming = self._state_dir / "incoming"
        self.staging_dir = self._incoming
        self._jobs: dict[int, _FileJob] = {}  # not ended, or among the last ENDED_KEPT
        self._ended: deque[int] = deque()  # ended jobs in self._jobs, oldest first
        self._next_id: int | None = None
        self._changes = ChangeNotifier()
        self._writable_at = -math.inf  # when os.access last found the folder writable
        self._ready = asyncio.Lock()

    # ------------------------------------------------------------------ helpers

    def _scan_next_id(self) -> int:
        highest = 0
        for folder, pattern in ((self.folder, _JOB_FILE_RE), (self._state_dir, _STATE_FILE_RE)):
            try:
                names = os.listdir(folder)
            except FileNotFoundError:
                continue
            for entry in names:
                match = pattern.match(entry.lstrip("."))
                if match:
                    highest = max(highest, int(match.group(1)))
        return highest + 1

    def _prepare(self, *, starting: bool = False) -> None:
        try:
            self._state_dir.mkdir(parents=True, exist_ok=True)
            self._incoming.mkdir(exist_ok=True)
            if starting:  # no fetch is under way yet: what is left was cut off
                for leftover in self._incoming.iterdir():
                    leftover.unlink(missing_ok=True)
            if self._next_id is None:
                self._next_id = self._scan_next_id()
        except OSError as exc:
            raise DeviceUnreachable(f"cannot use folder {self.folder}: {exc}") from exc

    async def _ensure_ready(self) -> None:
        # One preparation at a time: two would each scan for the next job id, and the
        # later one could hand out again an id taken in between.
        async with self._ready:
            if self._next_id is None:
                await asyncio.to_thread(self._prepare)

    def _save_sync(self, job: _FileJob) -> None:
        path = self._state_dir / f"{job.job_id}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(job)))
        os.replace(tmp, path)

    async def _save(self, job: _FileJob) -> None:
        try:
            await asyncio.to_thread(self._save_sync, job)
        except OSError as exc:
            raise DeviceUnreachable(f"cannot write job state in {self.folder}: {exc}") from exc

    def _load_sync(self, job_id: int) -> _FileJob | None:
        path = self._state_dir / f"{job_id}.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            job = _FileJob(**data)
        except (OSError, ValueError, TypeError):
            return None
        for name in job.files:  # recorded, but a crash came before the rename
            final = self.folder / name
            part = final.with_name(f".{name}.part")
            if not final.exists() and part.exists():
                with contextlib.suppress(OSError):
                    os.replace(part, final)
        return job

    async def _job(self, job_id: int) -> _FileJob | None:
        job = self._jobs.get(job_id)
        if job is None:
            job = await asyncio.to_thread(self._load_sync, job_id)
            if job is not None:
                self._keep(job)
        return job

    def _keep(self, job: _FileJob) -> None:
        """Hold `job` in memory; of the ended ones, only the last ENDED_KEPT."""
        self._jobs[job.job_id] = job
        if not job.is_terminal:
            return
        self._ended.append(job.job_id)
        while len(self._ended) > ENDED_KEPT:
            old = self._jobs.get(self._ended.popleft())
            if old is not None and old.is_terminal:
                del self._jobs[old.job_id]

    async def _update(
        self, job: _FileJob, state: str, reasons: list[str], message: str = "", *, save: bool = True
    ) -> None:
        ended = job.is_terminal
        job.state, job.reasons, job.message = state, reasons, message
        if save:
            await self._save(job)
        if job.is_terminal and not ended:
            self._keep(job)
        self._changes.notify()

    def _final_path(self, job_id: int, document_name: str) -> Path:
        base = f"{job_id}-{safe_file_name(document_name)}"
        path = self.folder / base
        stem, dot, ext = base.rpartition(".")
        if not dot:
            stem = base
        counter = 2
        while path.exists():
            path = self.folder / f"{stem}-{counter}{dot}{ext}"
            counter += 1
        return path

    # ------------------------------------------------------------------ driver API

    async def start(self) -> None:
        async with self._ready:
            await asyncio.to_thread(functools.partial(self._prepare, starting=True))

    async def get_capabilities(self) -> DeviceCapabilities:
        return DeviceCapabilities(
            printer_make_and_model="Cirrus Folder Printer",
            printer_info=f"Writes documents to {self.folder}",
            document_format_supported=(
                "application/octet-stream",
                "application/pdf",
                "image/jpeg",
                "image/png",
                "image/pwg-raster",
                "image/urf",
                "text/plain",
                "application/postscript",
            ),
            media_supported=("iso_a4_210x297mm", "na_letter_8.5x11in"),
            media_default="iso_a4_210x297mm",
        )

    async def get_status(self) -> DeviceStatus:
        await self._ensure_ready()
        self._changes.observed()
        # The manager asks after every change; the folder is looked at once a second.
        now = time.monotonic()
        if now - self._writable_at >= _ACCESS_CHECK_INTERVAL:
            if not await asyncio.to_thread(os.access, self.folder, os.W_OK):
                self._writable_at = -math.inf
                raise DeviceUnreachable(f"folder {self.folder} is not writable")
            self._writable_at = now
        return DeviceStatus("idle")

    async def create_job(self, ticket: DeviceJobTicket) -> int:
        await self._ensure_ready()
        assert self._next_id is not None
        job_id = self._next_id
        self._next_id += 1
        job = _FileJob(job_id, ticket.job_name, ticket.requesting_user_name, max(ticket.copies, 1))
        self._keep(job)
        await self._save(job)
        self._changes.notify()
        return job_id

    async def send_document(
        self,
        job_id: int,
        data: AsyncIterator[bytes],
        document_format: str,
        document_name: str,
        last: bool,
        *,
        document_size: int | None = None,
    ) -> None:
        await self._ensure_ready()
        job = await self._job(job_id)
        if job is None:
            raise DeviceRejected("client-error-not-found", f"No job {job_id}")
        if job.is_terminal:
            raise DeviceRejected("client-error-not-possible", f"Job {job_id} is {job.state}")
        final = self._final_path(job_id, document_name)
        part = final.with_name(f".{final.name}.part")
        # In memory only: the state file gets the outcome in the hop that puts the
        # document in place (the module docstring says in which order).
        await self._update(job, "processing", ["job-printing"], save=False)
        handle: BinaryIO | None = None
        try:
            taken = isinstance(data, WholeFile) and await self._take_whole(
                job, data.document_file, part
            )
            # Otherwise thread hops: one per _WRITE_BATCH bytes (the first opens the
            # file), and one that writes the rest, closes and renames: a small document
            # takes one.
            batch = bytearray()
            chunks: AsyncIterator[bytes] = _nothing() if taken else data
            async for chunk in chunks:
                if job.state == "canceled":
                    break
                if not batch and len(chunk) >= _WRITE_BATCH:
                    handle = await asyncio.to_thread(_write, handle, part, chunk)  # no copy
                    continue
                batch += chunk
                if len(batch) >= _WRITE_BATCH:
                    full, batch = batch, bytearray()
                    handle = await asyncio.to_thread(_write, handle, part, full)
            if job.state == "canceled":
                await asyncio.to_thread(_discard, handle, part)
                handle = None
                raise DeviceRejected("client-error-not-possible", f"Job {job_id} was canceled")
            outcome = replace(job, files=[*job.files, final.name])
            if last:
                outcome.impressions = len(outcome.files) * job.copies
                outcome.state, outcome.reasons = "completed", ["job-completed-successfully"]
                outcome.message = f"Written to {self.folder}"
            else:
                outcome.state, outcome.reasons, outcome.message = "pending", ["job-incoming"], ""
            state_file = functools.partial(self._save_sync, outcome)
            # One hop: the job's new state on disk, then the document in place.
            if taken:
                await asyncio.to_thread(_finish_taken, part, final, state_file)
            else:
                await asyncio.to_thread(_finish, handle, part, batch, final, state_file)
            handle = None
        except OSError as exc:
            if handle is not None:
                await asyncio.to_thread(handle.close)
            await self._update(job, "aborted", ["aborted-by-system"], f"Write failed: {exc}")
            raise DeviceUnreachable(f"cannot write {final}: {exc}") from exc
        job.files, job.impressions = outcome.files, outcome.impressions
        await self._update(job, outcome.state, outcome.reasons, outcome.message, save=False)

    async def _take_whole(self, job: _FileJob, source: Path, part: Path) -> bool:
        """Put `source` at `part` without its bytes passing through Python: a hard link
        on the same file system (no copy at all), else sendfile, _COPY_STEP bytes per
        thread hop, stopping early if the job is canceled. False if neither works here
        (nothing is left at `part`; the caller streams the document instead)."""
        if await asyncio.to_thread(_link, source, part):
            return True
        copy = await asyncio.to_thread(_Copy, source, part)
        try:
            while job.state != "canceled" and await asyncio.to_thread(copy.step):
                pass
        except OSError as exc:
            if copy.copied or exc.errno not in _NO_SENDFILE:
                raise
            await asyncio.to_thread(_discard, None, part)
            return False
        finally:
            copy.close()  # no thread waits on it: even a cancelled step holds its own reference
        return True

    async def get_job(self, job_id: int) -> DeviceJobStatus | None:
        self._changes.observed()
        job = await self._job(job_id)
        return job.status() if job is not None else None

    async def cancel_job(self, job_id: int) -> None:
        job = await self._job(job_id)
        if job is None or job.is_terminal:
            return
        await self._update(job, "canceled", ["job-canceled-by-user"], "Job canceled.")

    async def wait_for_change(self, timeout: float) -> None:
        await self._changes.wait(timeout)

    def output_files(self, job_id: int) -> list[Path]:
        """The documents written for a job."""
        job = self._jobs.get(job_id) or self._load_sync(job_id)
        return [self.folder / name for name in job.files] if job else []


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing


def _link(source: Path, part: Path) -> bool:
    """Hard-link `source` as `part`; False where the file system cannot (another file
    system, no hard links)."""
    part.unlink(missing_ok=True)  # left by an earlier, interrupted attempt
    try:
        os.link(source, part)
    except OSError:
        return False
    return True


class _Copy:
    """`source` copied into `part` by sendfile (in the kernel, page cache to page
    cache), a step at a time; used by one thread at a time."""

    def __init__(self, source: Path, part: Path) -> None:
        self.src = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
            self.dst = os.open(part, flags, 0o666)
        except BaseException:
            os.close(self.src)
            raise
        self.copied = 0

    def step(self) -> bool:
        """Copy up to _COPY_STEP bytes; False once the whole file is copied."""
        sent = os.sendfile(self.dst, self.src, self.copied, _COPY_STEP)
        self.copied += sent
        return sent > 0

    def close(self) -> None:
        os.close(self.src)
        os.close(self.dst)


def _write(handle: BinaryIO | None, part: Path, data: bytes | bytearray) -> BinaryIO:
    """Write to the .part file, opening it first if `handle` is None."""
    if handle is None:
        handle = open(part, "wb")  # closed by _finish or _discard
    try:
        handle.write(data)
    except BaseException:
        handle.close()
        raise
    return handle


def _finish(
    handle: BinaryIO | None,
    part: Path,
    rest: bytearray,
    final: Path,
    record: Callable[[], None],
) -> None:
    """Write what is left, close, then as _finish_taken."""
    handle = _write(handle, part, rest)
    handle.close()
    _finish_taken(part, final, record)


def _finish_taken(part: Path, final: Path, record: Callable[[], None]) -> None:
    """`record` the document in the job's state file, then put it in place: a crash in
    between leaves a whole `part` that reading the state file back puts in place."""
    record()
    crash_point("mid-file-document")
    os.replace(part, final)


def _discard(handle: BinaryIO | None, part: Path) -> None:
    if handle is not None:
        handle.close()
    part.unlink(missing_ok=True)
