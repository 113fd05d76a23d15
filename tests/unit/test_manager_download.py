"""DeviceWorker without a service: the document fetch (size and SHA-256 checked before the
device gets a byte, small documents kept in memory, big ones spooled in batches and read
back whole) and a refused AcknowledgeJob."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from manager import device_worker
from manager.device_worker import DeviceWorker, DocumentFailed, _read_file
from manager.drivers.sim import SimDriver
from manager.held_jobs import HeldJobs, Phase
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
    monkeypatch.setattr(device_worker, "SPOOL_BATCH", 1024 * 1024)  # several batches
    bodies["doc"] = body = os.urandom(size)
    path = tmp_path / "spool" / "1-1"
    small = await worker._download(
        _document(base + "doc", size, hashlib.sha256(body).hexdigest()), path
    )
    if size <= device_worker.IN_MEMORY:
        assert small == body and not path.exists()
    else:
        assert small is None and path.read_bytes() == body
        chunks = [c async for c in _read_file(path)]
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
        body = b"x" + body[1:]
    elif wrong == "shorter":
        body = body[:-1]
    else:
        body = body + b"!"
    bodies["doc"] = body
    path = tmp_path / "spool" / "1-1"
    with pytest.raises(DocumentFailed):
        await worker._download(_document(base + "doc", size, digest), path)
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
            await w._take_job(5)
        [device_job] = sim.jobs.values()
        if transient:  # the acknowledgement may have landed: the resync settles it
            held = w.held.get(5)
            assert held is not None and held.phase == Phase.CREATED
            assert device_job.state != "canceled"
        else:
            assert w.held.get(5) is None and device_job.state == "canceled"
    finally:
        await w.stop()
