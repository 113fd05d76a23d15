"""Fetching a document from the service into the manager, checked before any driver sees it.

A document up to IN_MEMORY octets is kept in memory; a bigger one is written to the
manager's spool while it arrives, its size and SHA-256 checked once it is whole, and
then handed to the driver as a `SpooledDocument`: an async iterator of its bytes for
any driver, which also names the file so a driver that can take a file whole (the
`file` driver: a hard link or an in-kernel copy) need not read it back through Python.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import os
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import IO, Any

import aiohttp

IN_MEMORY = 1024 * 1024  # documents up to this size are not written to the spool
# Bytes received before one thread hop hashes and writes them: two batches (one in the
# thread, one gathering) bound the memory a download holds.
SPOOL_BATCH = 4 * 1024 * 1024
READ_CHUNK = 4 * 1024 * 1024  # bytes per thread hop reading the spooled document back
_IOV_MAX = 1024  # buffers one writev may take (POSIX guarantees at least 16; Linux 1024)
# Our own pool, not the loop's default executor: each batch is then a
# concurrent.futures.Future, done only once the thread has let go of the file even if
# the awaiting task was cancelled.
_WRITERS = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="mspool")
# Hashing a batch runs beside writing it (SHA-256 and the kernel's copy into the page
# cache each take about 0.5 s per GB; one after the other they were the fetch's slowest
# stage, behind TLS on the event loop).
_HASHERS = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="mhash")


class DocumentFailed(Exception):
    """The document could not be fetched whole (size or digest mismatch, HTTP error)."""


class SpooledDocument(AsyncIterator[bytes]):
    """A whole, verified document in the manager's spool.

    Iterating reads it READ_CHUNK octets per thread hop (the next read under way while
    the driver handles this one). `document_file` is the file itself, for a driver
    that can take it whole; it must not write to it (it may hard-link it) and the
    manager removes its own name for it after the hand-over.
    """

    def __init__(self, path: Path) -> None:
        self.document_file = path
        self._chunks: AsyncGenerator[bytes, None] | None = None

    def __aiter__(self) -> SpooledDocument:
        return self

    async def __anext__(self) -> bytes:
        if self._chunks is None:  # opened on first use: a driver taking the file never reads
            self._chunks = _read_chunks(self.document_file)
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        if self._chunks is not None:
            await self._chunks.aclose()


async def fetch(
    http: aiohttp.ClientSession, url: str, path: Path, size: int, digest: str
) -> bytes | None:
    """GET the document, checking size and SHA-256 before the device sees any of it.
    Up to IN_MEMORY bytes it is returned; a bigger one is left at `path` (None is
    returned). On any failure DocumentFailed is raised and `path` does not exist."""
    small: bytes | None = None
    try:
        async with http.get(url) as response:
            if response.status != 200:
                raise DocumentFailed(f"HTTP {response.status} fetching the document")
            if size <= IN_MEMORY:
                small = await _in_memory_body(response, size)
                got, hexdigest = len(small), await _sha256(small)
            else:
                got, hexdigest = await spool(response, path, size)
    except aiohttp.ClientError as exc:
        raise DocumentFailed(f"fetching the document failed: {exc}") from None
    if got != size or hexdigest != digest:
        path.unlink(missing_ok=True)
        raise DocumentFailed("the fetched data does not match document-size and document-digest")
    return small


def verified(data: bytes, size: int, digest: str) -> bytes:
    """`data` if it has this size and SHA-256 (a document sent in-band); else DocumentFailed."""
    if len(data) != size or hashlib.sha256(data).hexdigest() != digest:
        raise DocumentFailed("the document data does not match document-size and document-digest")
    return data


async def _in_memory_body(response: aiohttp.ClientResponse, expected: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in _pieces(response):
        size += len(chunk)
        if size > expected:
            raise DocumentFailed("more data than document-size")
        parts.append(chunk)
    return b"".join(parts)


async def _pieces(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The body as it arrived, one piece at a time. iter_any and iter_chunked join what
    is buffered into new bytes: a copy of every byte (about 0.15 s of CPU per GB here,
    and a larger read_bufsize only made the joins bigger and slower)."""
    async for piece, _end_of_http_chunk in response.content.iter_chunks():
        yield piece


async def _sha256(data: bytes) -> str:
    if len(data) <= 256 * 1024:  # about 0.2 ms: not worth a thread hop
        return hashlib.sha256(data).hexdigest()
    return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())


async def spool(response: aiohttp.ClientResponse, path: Path, expected: int) -> tuple[int, str]:
    """Write the body to `path`: the event loop only gathers what arrives; a thread
    hashes and writes it SPOOL_BATCH bytes at a time, one batch in the thread while the
    next arrives. (size, SHA-256); the file is removed if this fails."""
    writer = _SpoolWriter(path)
    size = 0
    batch: list[bytes] = []  # chunks as they came: written with writev, never joined
    batched = 0
    try:
        async for chunk in _pieces(response):
            size += len(chunk)
            if size > expected:
                raise DocumentFailed("more data than document-size")
            batch.append(chunk)
            batched += len(chunk)
            if batched >= SPOOL_BATCH:
                await writer.write(batch)
                batch, batched = [], 0
        await writer.write(batch)
        await writer.finish()
    except BaseException:
        writer.abort()
        raise
    return size, writer.digest.hexdigest()


class _SpoolWriter:
    """One spool file written by a worker thread, one batch at a time, in order.

    The batch in the thread is awaited before the next is handed over, so the file
    descriptor and the running SHA-256 are used by one thread at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        # The mode a plain open() gives: the file driver may hard-link this very file
        # into its folder as the printed document.
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        self.running: concurrent.futures.Future[None] | None = None  # the write under way
        self.hashing: concurrent.futures.Future[None] | None = None

    async def write(self, batch: list[bytes]) -> None:
        """Hand a batch over once the previous one is hashed and written (its errors
        surface here)."""
        await self._wait()
        if batch:
            self.running = _WRITERS.submit(_write_all, self.fd, batch)
            self.hashing = _HASHERS.submit(_hash, self.digest, batch)

    async def finish(self) -> None:
        await self._wait()
        fd, self.fd = self.fd, -1
        os.close(fd)

    async def _wait(self) -> None:
        if self.hashing is not None:
            await asyncio.wrap_future(self.hashing)
            self.hashing = None
        if self.running is not None:
            # Kept until done: if we are cancelled meanwhile, abort() must still know
            # that a thread is using the file descriptor.
            await asyncio.wrap_future(self.running)
            self.running = None

    def abort(self) -> None:
        """Remove the file now; close it once no thread uses it any more."""
        self.path.unlink(missing_ok=True)  # a write under way goes on into the unlinked inode
        if self.fd < 0:
            return
        fd, self.fd = self.fd, -1
        if self.running is None:
            os.close(fd)
        else:
            # Runs now if the batch is done (or was never started), else in the worker
            # thread as it finishes: never while a write is under way.
            self.running.add_done_callback(lambda _: os.close(fd))


def _hash(digest: Any, batch: list[bytes]) -> None:  # in a worker thread
    for chunk in batch:
        digest.update(chunk)  # hashlib lets go of the GIL for large buffers


def _write_all(fd: int, batch: list[bytes]) -> None:  # in a worker thread
    for start in range(0, len(batch), _IOV_MAX):
        group = batch[start : start + _IOV_MAX]
        written = os.writev(fd, group)
        if written < sum(len(chunk) for chunk in group):  # short (rare on a regular file)
            rest = memoryview(b"".join(group))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]


async def in_memory(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _read_chunks(path: Path) -> AsyncGenerator[bytes, None]:
    loop = asyncio.get_running_loop()
    f = path.open("rb", buffering=0)
    ahead: asyncio.Future[bytes] | None = None
    try:
        ahead = loop.run_in_executor(None, f.read, READ_CHUNK)
        while chunk := await ahead:
            ahead = loop.run_in_executor(None, f.read, READ_CHUNK)
            yield chunk
        ahead = None
    finally:
        _close_after(ahead, f)


def _close_after(pending: asyncio.Future[Any] | None, f: IO[bytes]) -> None:
    """Close `f` once a thread no longer uses it."""
    if pending is None or pending.done():
        if pending is not None and not pending.cancelled():
            pending.exception()  # retrieved: the caller is already failing
        f.close()
    else:
        pending.add_done_callback(lambda fut: None if fut.cancelled() else fut.exception())
        pending.add_done_callback(lambda _: f.close())


def read_file(path: Path) -> SpooledDocument:
    """The spooled document at `path`, for the driver."""
    return SpooledDocument(path)
