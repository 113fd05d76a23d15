"""A device's last-seen time follows its manager's requests, status updates above all (a
manager reporting every 2 s was shown "last seen 75 s ago": only registration, resyncs
and UpdateServiceState refreshed it). Cheaply: the time is kept in memory at every
request and written to the devices row at most every SEEN_WRITE_INTERVAL seconds."""

from __future__ import annotations

import hashlib

import pytest

from server.stores.devices import SEEN_WRITE_INTERVAL
from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas.groups import ServiceStatus
from stanzas.states import JobState, PrinterState
from tests.handlers.conftest import DEVICE, register
from tests.handlers.stream import ADMIN, ALICE, MGR1, Stream

DATA = b"%PDF-1.7 one page"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def ok(stream: Stream, sender: str, payload: object) -> None:
    answer, _ = await stream.iq(sender, payload)  # type: ignore[arg-type]
    assert answer.get("type") == "result", answer


async def stored_last_seen(stream: Stream) -> int:
    row = await stream.ctx.db.fetchone(
        "SELECT time_last_seen FROM devices WHERE output_device_uuid = ?", (DEVICE,)
    )
    assert row is not None
    return int(row["time_last_seen"])


async def shown_last_seen(stream: Stream) -> int:
    answer, _ = await stream.iq(ADMIN, a.ListDevices(), "get")
    (device,) = a.ListDevicesResponse.from_xml(answer[0]).device
    return device.time_last_seen


async def printing_job(stream: Stream) -> int:
    """A job of alice's that the device has fetched and acknowledged."""
    answer, _ = await stream.iq(
        ALICE,
        c.PrintJob(
            printer_name="office",
            document_format="application/pdf",
            document_digest=hashlib.sha256(DATA).hexdigest(),
            document_data=DATA,
        ),
    )
    job_id = c.PrintJobResponse.from_xml(answer[0]).job.job_id
    await ok(stream, MGR1, d.FetchJob(output_device_uuid=DEVICE, job_id=job_id))
    await ok(
        stream,
        MGR1,
        d.AcknowledgeJob(output_device_uuid=DEVICE, job_id=job_id, output_device_job_id=1),
    )
    return job_id


async def test_status_updates_refresh_last_seen_with_a_write_at_most_every_interval(
    stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(stream.ctx.clock())
    monkeypatch.setattr(stream.ctx, "clock", clock)
    await register(stream, MGR1, DEVICE, "office")
    job_id = await printing_job(stream)
    start = int(clock.now)

    # 75 s without a word, then the manager reports the job every 2 s.
    clock.now += 75
    report = d.UpdateJobState(
        output_device_uuid=DEVICE, job_id=job_id, job_state=JobState.PROCESSING
    )
    await ok(stream, MGR1, report)
    assert await shown_last_seen(stream) == start + 75
    assert await stored_last_seen(stream) == start + 75  # it was old: written
    for _ in range(SEEN_WRITE_INTERVAL // 2 - 1):
        clock.now += 2
        await ok(stream, MGR1, report)
        assert await shown_last_seen(stream) == int(clock.now)  # to the second
    # ... without a write for each: the row still has the first one.
    assert await stored_last_seen(stream) == start + 75
    clock.now += 2
    await ok(stream, MGR1, report)
    assert await stored_last_seen(stream) == int(clock.now)  # the interval has passed

    # UpdateServiceState likewise.
    clock.now += 5
    await ok(
        stream,
        MGR1,
        d.UpdateServiceState(
            output_device_uuid=DEVICE, status=ServiceStatus(printer_state=PrinterState.IDLE)
        ),
    )
    assert await shown_last_seen(stream) == int(clock.now)
