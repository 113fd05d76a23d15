"""Document bytes on disk: streamed in with a running SHA-256, committed by rename."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import os
import secrets
from collections.abc import AsyncIterator
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
            return SpooledFile(name=name, size=size, digest=hexdigest)
        except BaseException:
            writer.abort()
            raise

    def discard(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)


class _Writer:
    """One spool file written by worker threads, one batch of chunks at a time.

    The batch in the thread is awaited before the next is handed over, so the file
    descriptor and the running SHA-256 are used by one thread at a time, in order.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.fd: int | None = None
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
            view = memoryview(chunk)
            while view:
                view = view[os.write(self.fd, view) :]
        if last:
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
