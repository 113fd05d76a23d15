"""Document bytes on disk: streamed in with a running SHA-256, committed by rename."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import hashlib
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from stanzas.errors import BadRequest, DocumentAccessError

# Chunks are gathered on the event loop and handed to a worker thread this many octets
# at a time: one thread hop per batch rather than per 1 MiB chunk (bench/documents.py:
# a 1 GB upload 4.0-5.9 s with a hop per chunk, 2.7-3.3 s with batched plain writes).
BATCH = 4 * 1024 * 1024
# The threads that write, hash and fsync spool files. Our own pool (not the loop's
# default executor) so that each batch is a concurrent.futures.Future: it is done only
# once the thread has finished with the file, even if the awaiting task was cancelled.
_WRITERS = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="spool")
_IOV_MAX = 1024  # buffers one writev may take (Linux)
# Each batch is sent on to the disk as soon as it is written (sync_file_range), so that
# the fsync before the 201 finds little left to write: with 1 GB left dirty it took
# 0.4 s on a quiet disk here (more while others write), after a head start about 0.01 s.
_SYNC_FILE_RANGE_WRITE = 2  # <linux/fs.h>: start writeback, do not wait for it


def _load_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """libc's sync_file_range (Linux only; os does not have it), or None. A CDLL call
    lets go of the GIL while it runs."""
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


_sync_file_range = _load_sync_file_range()


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Have the kernel start writing these bytes to the disk without waiting for them.
    Only a head start for the fsync that follows: failures are left for it to report."""
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


@dataclass(frozen=True)
class SpooledFile:
    name: str
    size: int
    digest: str  # SHA-256, lowercase hex


class DocumentTooLarge(BadRequest):
    status = "client-error-request-entity-too-large"


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._folder_sync = _FolderSync(directory)
        self._holds = 0  # backups copying the spool: discards wait until they are done
        self._held: list[str] = []

    def prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Leftovers of uploads cut off by a crash: never committed, never referenced.
        for leftover in self.directory.glob("incoming-*"):
            leftover.unlink(missing_ok=True)

    def path(self, name: str) -> Path:
        if "/" in name or name.startswith("."):
            raise ValueError(f"bad spool name {name!r}")
        return self.directory / name

    async def receive(
        self,
        chunks: AsyncIterator[bytes],
        *,
        prefix: str,
        max_size: int,
        expected_size: int | None = None,
        expected_digest: str | None = None,
    ) -> SpooledFile:
        """Write a stream to the spool; fsynced and renamed into place only if it is whole.

        The event loop only gathers chunks; a worker thread hashes and writes each batch
        while the loop gathers the next (at most one batch in the thread per upload, so
        at most two batches in memory, and no reading from the socket while both wait).
        """
        token = secrets.token_hex(8)
        incoming = self.directory / f"incoming-{token}"
        writer = _Writer(incoming)
        batch: list[bytes] = []
        batched = 0
        size = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise DocumentTooLarge(f"document is larger than {max_size} octets")
                batch.append(chunk)
                batched += len(chunk)
                if batched >= BATCH:
                    await writer.write(batch)
                    batch, batched = [], 0
            await writer.finish(batch)  # the rest, fsync, close
            hexdigest = writer.digest.hexdigest()
            if expected_size is not None and size != expected_size:
                raise DocumentAccessError(f"received {size} octets, expected {expected_size}")
            if expected_digest is not None and hexdigest != expected_digest:
                raise DocumentAccessError("SHA-256 of the received data does not match")
            name = f"{prefix}-{token}"
            os.rename(incoming, self.directory / name)  # metadata only: microseconds
        except BaseException:
            writer.abort()
            raise
        try:
            # The new name must be durable too: after a power cut the file would be back
            # as incoming-*, which prepare() deletes, under a committed document.
            await self._folder_sync.wait()
        except BaseException:
            self.discard(name)
            raise
        return SpooledFile(name=name, size=size, digest=hexdigest)

    def discard(self, name: str) -> None:
        if self._holds:
            self._held.append(name)
            return
        self.path(name).unlink(missing_ok=True)

    @contextlib.contextmanager
    def discards_held(self) -> Iterator[None]:
        """No file leaves the spool meanwhile (an online backup copies what its snapshot
        of the database names); the discards asked for meanwhile happen at the end."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            if not self._holds:
                held, self._held = self._held, []
                for name in held:
                    self.discard(name)

    def read_small(self, name: str, limit: int) -> bytes:
        """A small spooled document whole, for in-band delivery (at most `limit` + 1
        octets are read). Read on the event loop: a few pages from the page cache cost
        less than a hop to a worker thread."""
        with self.path(name).open("rb") as f:
            return f.read(limit + 1)


class _FolderSync:
    """fsync of the spool folder, shared by the uploads finishing together: each waits
    for one sync that started after its rename (a group commit for directory entries)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._next: asyncio.Future[None] | None = None  # covers renames made from now on
        self._runner: asyncio.Task[None] | None = None

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        if self._next is None:
            self._next = loop.create_future()
        future = self._next
        if self._runner is None:
            self._runner = loop.create_task(self._run())
        await asyncio.shield(future)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                future, self._next = self._next, None
                try:
                    await asyncio.wrap_future(_WRITERS.submit(_fsync_folder, self.folder))
                except OSError as exc:
                    future.set_exception(exc)
                    future.exception()  # retrieved here: waiters that went away raise nothing
                else:
                    future.set_result(None)
        finally:
            self._runner = None


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Writer:
    """One spool file written by worker threads, one batch of chunks at a time.

    The batch in the thread is awaited before the next is handed over, so the file
    descriptor and the running SHA-256 are used by one thread at a time, in order.
    (Hashing beside writing, in a second thread, made no measurable difference here:
    the upload waits on TLS and the client, not on this thread.)
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.fd: int | None = None
        self.written = 0
        self.running: concurrent.futures.Future[None] | None = None

    async def write(self, batch: list[bytes]) -> None:
        """Hand a batch to a thread once the previous one is written (errors surface here)."""
        await self._wait()
        self.running = _WRITERS.submit(self._write, batch, False)

    async def finish(self, batch: list[bytes]) -> None:
        """Write the last batch, fsync and close."""
        await self._wait()
        self.running = _WRITERS.submit(self._write, batch, True)
        await self._wait()

    async def _wait(self) -> None:
        if self.running is not None:
            await asyncio.wrap_future(self.running)

    def _write(self, batch: list[bytes], last: bool) -> None:  # in a worker thread
        if self.fd is None:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        for chunk in batch:
            self.digest.update(chunk)  # hashlib lets go of the GIL for large buffers
        start = self.written
        for first in range(0, len(batch), _IOV_MAX):  # one system call per group, no copy
            group = batch[first : first + _IOV_MAX]
            written = os.writev(self.fd, group)
            if written < sum(len(chunk) for chunk in group):  # short (rare on a file)
                rest = memoryview(b"".join(group))[written:]
                while rest:
                    rest = rest[os.write(self.fd, rest) :]
        self.written += sum(len(chunk) for chunk in batch)
        if not last:
            start_writeback(self.fd, start, self.written - start)
        else:
            os.fsync(self.fd)
            fd, self.fd = self.fd, None
            os.close(fd)

    def abort(self) -> None:
        """Remove the file now; close it once no thread uses it any more."""

        def clean_up(_done: object = None) -> None:
            if self.fd is not None:
                fd, self.fd = self.fd, None
                os.close(fd)
            self.path.unlink(missing_ok=True)  # again: a batch under way may have created it

        self.path.unlink(missing_ok=True)  # a write under way goes on into the unlinked inode
        if self.running is not None:
            # Runs now if the batch is done (or was cancelled before it started), else
            # in the worker thread as it finishes: never while a write is under way.
            self.running.add_done_callback(clean_up)
        else:
            clean_up()
