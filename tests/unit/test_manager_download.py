"""DeviceWorker without a service: the document fetch (manager/download.py: size and
SHA-256 checked before the device gets a byte, small documents kept in memory, big ones
spooled in batches and handed over as a file or read back whole) and a refused
AcknowledgeJob."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from manager import download
from manager.device_worker import DeviceWorker
from manager.download import DocumentFailed, SpooledDocument
from manager.download import read_file as _read_file
from manager.drivers.sim import SimDriver
from manager.held_jobs import HeldJobs, Phase
from manager.job_runner import JobRunner
from stanzas import device_ops as ops
from stanzas.errors import NotFetchable, Timeout
from stanzas.groups import JobTicket


class NoSession:
    async def request(self, payload: Any, response_type: Any, timeout: float = 30.0) -> Any:
        raise AssertionError("no XMPP in these tests")


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, dict[str, bytes]]]:
    bodies: dict[str, bytes] = {}

    async def get(request: web.Request) -> web.StreamResponse:
        body = bodies[request.match_info["name"]]
        response = web.StreamResponse()
        await response.prepare(request)
        for i in range(0, len(body), 100_000):  # in pieces, as over a network
            await response.write(body[i : i + 100_000])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/{name}", get)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/")), bodies
    finally:
        await server.close()


@pytest.fixture
async def worker(tmp_path: Path) -> AsyncIterator[DeviceWorker]:
    w = DeviceWorker(
        output_device_uuid="urn:uuid:0b7e1f52-3c1d-4e4f-8a5b-6c7d8e9f0a1b",
        printer_name="p",
        driver=SimDriver(),
        session=NoSession(),
        held=HeldJobs(tmp_path / "held.json"),
        spool_dir=tmp_path / "spool",
        http_ssl=None,
    )
    await w.start()
    try:
        yield w
    finally:
        await w.stop()


def _document(url: str, size: int, digest: str) -> ops.FetchDocumentResponse:
    return ops.FetchDocumentResponse(
        job_id=1,
        document_number=1,
        document_name="d.pdf",
        document_format="application/pdf",
        document_size=size,
        document_digest=digest,
        document_access_uri=url,
        last_document=True,
    )


@pytest.mark.parametrize("size", [1000, 9 * 1024 * 1024 + 7], ids=["in-memory", "spooled"])
async def test_a_whole_document_is_fetched(
    worker: DeviceWorker,
    served: tuple[str, dict[str, bytes]],
    tmp_path: Path,
    size: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, bodies = served
    monkeypatch.setattr(download, "SPOOL_BATCH", 1024 * 1024)  # several batches
    bodies["doc"] = body = os.urandom(size)
    path = tmp_path / "spool" / "1-1"
    small = await JobRunner(worker.side, 1)._download(
        _document(base + "doc", size, hashlib.sha256(body).hexdigest()), path
    )
    if size <= download.IN_MEMORY:
        assert small == body and not path.exists()
    else:
        assert small is None and path.read_bytes() == body
        spooled = _read_file(path)
        assert isinstance(spooled, SpooledDocument) and spooled.document_file == path
        chunks = [c async for c in spooled]
        assert b"".join(chunks) == body and len(chunks) == 3  # READ_CHUNK at a time


@pytest.mark.parametrize("size", [1000, 9 * 1024 * 1024 + 7], ids=["in-memory", "spooled"])
@pytest.mark.parametrize("wrong", ["digest", "shorter", "longer"])
async def test_a_document_that_does_not_match_is_refused(
    worker: DeviceWorker,
    served: tuple[str, dict[str, bytes]],
    tmp_path: Path,
    size: int,
    wrong: str,
) -> None:
    base, bodies = served
    body = os.urandom(size)
    digest = hashlib.sha256(body).hexdigest()
    if wrong == "digest":
        body = bytes([body[0] ^ 0xFF]) + body[1:]  # always a different first octet
    elif wrong == "shorter":
        body = body[:-1]
    else:
        body = body + b"!"
    bodies["doc"] = body
    path = tmp_path / "spool" / "1-1"
    with pytest.raises(DocumentFailed):
        await JobRunner(worker.side, 1)._download(_document(base + "doc", size, digest), path)
    assert not path.exists()
    assert os.listdir(tmp_path / "spool") == []


class RefusingAck:
    """FetchJob works; AcknowledgeJob is refused (or times out)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def request(self, payload: Any, response_type: Any, timeout: float = 30.0) -> Any:
        if isinstance(payload, ops.FetchJob):
            return ops.FetchJobResponse(
                job_id=payload.job_id,
                job_uuid="urn:uuid:6a1e5cbe-0b8e-4e5a-9d0b-2f8d8e9c0a11",
                job_name="j",
                job_originating_user_name="ann",
                job_state="pending",
                job_state_reasons=["none"],
                number_of_documents=1,
                job_ticket=JobTicket(),
            )
        raise self.error


@pytest.mark.parametrize("transient", [False, True])
async def test_a_refused_acknowledgement_cancels_the_empty_device_job(
    tmp_path: Path, transient: bool
) -> None:
    sim = SimDriver()
    error = Timeout("no answer") if transient else NotFetchable("taken")
    w = DeviceWorker(
        output_device_uuid="urn:uuid:0b7e1f52-3c1d-4e4f-8a5b-6c7d8e9f0a1b",
        printer_name="p",
        driver=sim,
        session=RefusingAck(error),
        held=HeldJobs(tmp_path / "held.json"),
        spool_dir=tmp_path / "spool",
        http_ssl=None,
    )
    await w.start()
    try:
        with pytest.raises(type(error)):
            await JobRunner(w.side, 5).take()
        [device_job] = sim.jobs.values()
        if transient:  # the acknowledgement may have landed: the resync settles it
            held = w.held.get(5)
            assert held is not None and held.phase == Phase.CREATED
            assert device_job.state != "canceled"
        else:
            assert w.held.get(5) is None and device_job.state == "canceled"
    finally:
        await w.stop()


async def test_a_batch_of_more_pieces_than_one_writev_takes(
    worker: DeviceWorker,
    served: tuple[str, dict[str, bytes]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, bodies = served
    monkeypatch.setattr(download, "_IOV_MAX", 3)  # the 100 kB pieces in groups of three
    bodies["doc"] = body = os.urandom(2 * 1024 * 1024 + 5)
    path = tmp_path / "spool" / "1-1"
    document = _document(base + "doc", len(body), hashlib.sha256(body).hexdigest())
    assert await JobRunner(worker.side, 1)._download(document, path) is None
    assert path.read_bytes() == body


async def test_a_short_writev_is_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.writev
    monkeypatch.setattr(download.os, "writev", lambda fd, bufs: real(fd, [bufs[0][:7]]))
    fd = os.open(tmp_path / "f", os.O_WRONLY | os.O_CREAT)
    download._write_all(fd, [b"first piece", b"second"])
    os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"first piecesecond"


async def test_an_in_band_document_is_checked(worker: DeviceWorker, tmp_path: Path) -> None:
    body = b"%PDF-1.7 small"
    document = _document("https://unused.invalid/", len(body), hashlib.sha256(body).hexdigest())
    inline = document.model_copy(update={"document_data": body, "document_access_uri": None})
    assert await JobRunner(worker.side, 1)._download(inline, tmp_path / "x") == body
    wrong = inline.model_copy(update={"document_data": b"%PDF-1.7 smalL"})
    with pytest.raises(DocumentFailed):
        await JobRunner(worker.side, 1)._download(wrong, tmp_path / "x")


async def test_a_cancelled_fetch_leaves_no_file(
    worker: DeviceWorker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = asyncio.Event()

    async def get(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.content_length = 64 * 1024 * 1024
        await response.prepare(request)
        await response.write(os.urandom(3 * 1024 * 1024))
        started.set()
        await asyncio.sleep(30)  # and then nothing more
        return response

    app = web.Application()
    app.router.add_get("/slow", get)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    monkeypatch.setattr(download, "SPOOL_BATCH", 1024 * 1024)  # a batch is in a thread
    path = tmp_path / "spool" / "1-1"
    try:
        document = _document(str(server.make_url("/slow")), 64 * 1024 * 1024, "0" * 64)
        fetching = asyncio.create_task(JobRunner(worker.side, 1)._download(document, path))
        await asyncio.wait_for(started.wait(), 5)
        await asyncio.sleep(0.1)
        fetching.cancel()
        with pytest.raises(asyncio.CancelledError):
            await fetching
    finally:
        await server.close()
    await asyncio.sleep(0.1)  # the writer thread lets go of the file
    assert not path.exists()


async def test_a_spooled_document_closed_early_lets_go_of_its_file(tmp_path: Path) -> None:
    path = tmp_path / "doc"
    path.write_bytes(os.urandom(3 * download.READ_CHUNK))
    spooled = SpooledDocument(path)
    assert len(await spooled.__anext__()) == download.READ_CHUNK
    await spooled.aclose()
    await SpooledDocument(path).aclose()  # never read: nothing to close
