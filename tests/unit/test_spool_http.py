"""The service's byte path without XMPP: the spool (batches hashed and written by a
thread, sent on to the disk as they go, fsynced before the rename) and the download
body sent over TLS in read-ahead pieces."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from server.documents import spool
from server.documents.spool import Spool
from server.transport import http
from stanzas.errors import DocumentAccessError


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("writeback", [True, False], ids=["sync_file_range", "without"])
async def test_batches_are_sent_on_to_the_disk_as_they_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writeback: bool
) -> None:
    started: list[tuple[int, int]] = []
    real = spool._sync_file_range

    def record(fd: int, offset: int, length: int, flags: int) -> int:
        started.append((offset, length))
        return real(fd, offset, length, flags) if real is not None else 0

    monkeypatch.setattr(spool, "_sync_file_range", record if writeback else None)
    monkeypatch.setattr(spool, "BATCH", 1024 * 1024)
    store = Spool(tmp_path)
    store.prepare()
    data = os.urandom(3 * 1024 * 1024 + 11)
    got = await store.receive(
        pieces(data, 300_000),
        prefix="1-1",
        max_size=len(data),
        expected_size=len(data),
        expected_digest=hashlib.sha256(data).hexdigest(),
    )
    assert store.path(got.name).read_bytes() == data
    assert got.digest == hashlib.sha256(data).hexdigest() and got.size == len(data)
    if writeback:  # every batch but the last (the fsync takes that one), in order
        assert started == [(0, 1_200_000), (1_200_000, 1_200_000)]
    assert [p.name for p in tmp_path.iterdir()] == [got.name]


async def test_more_pieces_than_one_writev_takes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "_IOV_MAX", 4)
    store = Spool(tmp_path)
    data = os.urandom(5 * 1024 * 1024)
    got = await store.receive(pieces(data, 10_000), prefix="1-1", max_size=len(data))
    assert store.path(got.name).read_bytes() == data


async def test_a_wrong_digest_leaves_nothing(tmp_path: Path) -> None:
    store = Spool(tmp_path)
    data = os.urandom(5 * 1024 * 1024)
    with pytest.raises(DocumentAccessError):
        await store.receive(
            pieces(data, 65536), prefix="1-1", max_size=len(data), expected_digest="0" * 64
        )
    assert list(tmp_path.iterdir()) == []


async def test_the_new_name_is_made_durable_and_concurrent_uploads_share_the_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[list[str]] = []
    first_running, release = threading.Event(), threading.Event()

    def fsync_folder(folder: Path) -> None:
        synced.append(sorted(p.name for p in folder.iterdir()))
        if len(synced) == 1:  # hold the first sync while the others finish their uploads
            first_running.set()
            release.wait(10)

    monkeypatch.setattr(spool, "_fsync_folder", fsync_folder)
    store = Spool(tmp_path)
    waiting = 0
    all_waiting = asyncio.Event()
    wait = store._folder_sync.wait

    async def counted_wait() -> None:
        nonlocal waiting
        waiting += 1
        if waiting == 5:
            all_waiting.set()
        await wait()

    monkeypatch.setattr(store._folder_sync, "wait", counted_wait)
    first = asyncio.ensure_future(store.receive(pieces(b"x" * 100, 10), prefix="0-1", max_size=100))
    await asyncio.to_thread(first_running.wait, 10)
    others = [
        asyncio.ensure_future(store.receive(pieces(b"y" * 100, 10), prefix=f"{n}-1", max_size=100))
        for n in range(1, 5)
    ]
    await asyncio.wait_for(all_waiting.wait(), 10)
    release.set()
    got = [await first, *[await o for o in others]]
    # Two syncs for five uploads: the four that renamed during the first share the second,
    # and each file was under its final name when a sync covering it ran.
    assert len(synced) == 2
    assert got[0].name in synced[0]
    assert {g.name for g in got[1:]} <= set(synced[1])


async def test_a_failed_folder_sync_refuses_the_upload_and_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fsync_folder(folder: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(spool, "_fsync_folder", fsync_folder)
    store = Spool(tmp_path)
    with pytest.raises(OSError):
        await store.receive(pieces(b"x" * 100, 10), prefix="1-1", max_size=100)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("size", [0, 1000, 2 * http.SEND_CHUNK + 5])
async def test_a_document_is_sent_whole_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    data = os.urandom(size)
    (tmp_path / "doc").write_bytes(data)

    async def download(request: web.Request) -> web.StreamResponse:
        f = (tmp_path / "doc").open("rb", buffering=0)
        return await http._send_file(request, f, {"X-Document-SHA256": "x"})

    app = web.Application()
    app.router.add_get("/doc", download)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession() as client, client.get(server.make_url("/doc")) as response:
            assert response.status == 200
            assert response.content_length == size
            assert response.headers["X-Document-SHA256"] == "x"
            assert await response.read() == data
    finally:
        await server.close()
