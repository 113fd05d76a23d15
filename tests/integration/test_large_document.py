"""A 1 GB document is streamed client → service spool → device: SHA-256 checked at
each hop, never held whole in memory (the service grows by less than 64 MB)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from cirrus.stack import toml
from cirrus.stack.local import SERVICE_READY
from cirrus.stack.process import ManagedProcess
from manager.drivers.sim import SimDriver
from stanzas.states import JobState
from tests.conftest import Harness, make_service_settings

pytestmark = pytest.mark.slow

SIZE = 1024**3
BLOCK = 1024 * 1024


def make_document(path: Path) -> str:
    block = os.urandom(BLOCK)
    digest = hashlib.sha256()
    with path.open("wb") as f:
        for n in range(SIZE // BLOCK):
            chunk = n.to_bytes(8, "big") + block[8:]  # every block differs
            f.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class Hashing(SimDriver):
    """The sim printer, also hashing what it receives (the last hop's check)."""

    def __init__(self) -> None:
        super().__init__()
        self.digest = hashlib.sha256()

    async def send_document(self, job_id, data, document_format, document_name, last, **more):  # type: ignore[no-untyped-def]
        async def tee():  # type: ignore[no-untyped-def]
            async for chunk in data:
                self.digest.update(chunk)
                yield chunk

        await super().send_document(job_id, tee(), document_format, document_name, last, **more)


async def test_a_1_gb_document_streams_end_to_end(harness: Harness) -> None:
    document = harness.tmp / "big.bin"
    expected = make_document(document)
    state = harness.tmp / "service"
    config = make_service_settings(state, harness.prosody).model_dump(mode="json")
    path = toml.write(state / "service.toml", config)
    service = ManagedProcess("service", "server", ["--config", str(path)], harness.tmp / "svc.log")
    await service.start(SERVICE_READY)
    try:
        assert service.pid is not None
        printer = Hashing()
        await harness.manager(printer)
        alice = await harness.client("alice")
        baseline = memory_kib(service.pid, "VmRSS")

        started = time.perf_counter()
        job = await alice.create_job("office", job_name="one gigabyte")
        uploaded = await alice.send_document(job.job_id, document)
        upload_seconds = time.perf_counter() - started
        final = await alice.wait_for_final(job.job_id, timeout=600)
        total_seconds = time.perf_counter() - started

        peak = memory_kib(service.pid, "VmHWM")
    finally:
        await harness.close()
        await service.stop()
        document.unlink(missing_ok=True)

    assert uploaded.size == SIZE and uploaded.digest == expected
    assert final.job_state == JobState.COMPLETED
    assert printer.jobs[1].byte_count == SIZE
    assert printer.digest.hexdigest() == expected
    growth_mib = (peak - baseline) / 1024
    print(
        f"\n1 GiB: upload {SIZE / upload_seconds / 1e6:.0f} MB/s, end to end "
        f"{SIZE / total_seconds / 1e6:.0f} MB/s; service RSS {baseline / 1024:.0f} MiB, "
        f"peak {peak / 1024:.0f} MiB (+{growth_mib:.1f} MiB)"
    )
    assert growth_mib < 64, f"the service grew by {growth_mib:.1f} MiB"
