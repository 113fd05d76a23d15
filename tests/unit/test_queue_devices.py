"""Queues and devices, many to many, on real SQLite files: the memberships, the one
conditional write that binds a job to the first device to acknowledge it, the window of
a shared queue, the migration from one device per queue, and the roll-up of a queue's
capabilities and state from its devices'."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.devices.rollup import merged_capabilities, merged_status
from server.jobs.states import JobStates
from server.stores import db as db_module
from server.stores.db import Database, _migrations
from server.stores.devices import Device, DeviceStore
from server.stores.documents import DocumentStore
from server.stores.jobs import Job, JobStore
from server.stores.queue_devices import QueueDeviceStore
from server.stores.queues import QueueStore
from stanzas.errors import NotFetchable
from stanzas.groups import Capabilities, JobTicket
from stanzas.states import JobState, PrinterState, RegistrationState


class _KeepData:
    async def discards_at_end(self, job: Job) -> bool:
        return False

    def discard_data(self, spool_name: str) -> None:
        raise AssertionError("nothing is discarded here")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "m.db")
    await database.open()
    await QueueStore(database).create("office", "print", 1)
    await QueueStore(database).create("annex", "print", 1)
    yield database
    await database.close()


def _device(uuid: str, name: str, **values: object) -> Device:
    return Device(
        f"urn:uuid:{uuid}", "mgr@x", "office", RegistrationState.APPROVED, 1, 1, name, **values
    )  # type: ignore[arg-type]


async def _fetchable_job(states: JobStates, n: int) -> Job:
    return await states.create(
        job_uuid=f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
        printer_name="office",
        service_type="print",
        owner="a@b",
        notify_jid=None,
        job_name=str(n),
        job_ticket=JobTicket(),
        job_priority=50,
        job_state=JobState.PENDING,
        job_state_reasons=(),
        is_closed=True,
        time_at_creation=n,
    )


async def test_memberships_both_ways_and_what_goes_with_a_device(db: Database) -> None:
    devices, members = DeviceStore(db), QueueDeviceStore(db)
    for uuid, name in (("a", "lobby"), ("b", "annex-2")):
        await devices.upsert(_device(uuid, name))
    assert await members.add("office", "urn:uuid:a", 1)
    assert not await members.add("office", "urn:uuid:a", 2)  # already
    await members.add("office", "urn:uuid:b", 2)
    await members.add("annex", "urn:uuid:a", 3)
    assert await members.devices_of("office") == ("urn:uuid:a", "urn:uuid:b")
    assert await members.queues_of("urn:uuid:a") == ("office", "annex")
    assert await members.remove("annex", "urn:uuid:a")
    assert await members.queues_of("urn:uuid:a") == ("office",)
    await devices.delete("urn:uuid:a")  # its memberships go with it (ON DELETE CASCADE)
    assert await members.devices_of("office") == ("urn:uuid:b",)
    assert await devices.get_by_name("annex-2") is not None
    assert await devices.get_by_name("lobby") is None


async def test_of_two_devices_acknowledging_one_job_only_the_first_gets_it(db: Database) -> None:
    jobs = JobStore(db)
    states = JobStates(db, jobs, DocumentStore(db), _KeepData())
    job = await _fetchable_job(states, 1)
    assert job.is_fetchable
    # Both read the job as fetchable (the second from what it held before the first wrote).
    first = await states.bind(job, "urn:uuid:a", "lobby", output_device_job_id=7)
    assert first.output_device_uuid == "urn:uuid:a" and first.output_device_assigned == "lobby"
    assert not first.is_fetchable and "job-queued" in first.job_state_reasons
    assert "job-fetchable" not in first.job_state_reasons
    with pytest.raises(NotFetchable):
        await states.bind(job, "urn:uuid:b", "annex-2", output_device_job_id=9)
    stored = await JobStore(db).get(job.job_id)
    assert stored is not None and stored.output_device_uuid == "urn:uuid:a"
    assert stored.output_device_job_id == 7


async def test_inside_one_transaction_the_second_binding_sees_the_first(db: Database) -> None:
    """A group commit runs several handlers in one SQLite transaction: the conditional
    write still refuses the second, though the cache served it the unbound row."""
    jobs = JobStore(db)
    states = JobStates(db, jobs, DocumentStore(db), _KeepData())
    job = await _fetchable_job(states, 1)
    async with db.transaction():
        await states.bind(job, "urn:uuid:a", "lobby")
        with pytest.raises(NotFetchable):
            await states.bind(job, "urn:uuid:b", "annex-2")
    stored = await jobs.get(job.job_id)
    assert stored is not None and stored.output_device_uuid == "urn:uuid:a"


async def test_a_device_with_a_job_waiting_takes_no_other(db: Database) -> None:
    """The window counts the jobs a device has not started: a printing device may take
    the next one, one with a job waiting may not."""
    jobs = JobStore(db)
    states = JobStates(db, jobs, DocumentStore(db), _KeepData())
    one, two, three = [await _fetchable_job(states, n) for n in (1, 2, 3)]
    await states.bind(one, "urn:uuid:a", "lobby", window=1)
    with pytest.raises(NotFetchable):
        await states.bind(two, "urn:uuid:a", "lobby", window=1)
    assert await jobs.count_bound_active(["urn:uuid:a", "urn:uuid:b"]) == {
        "urn:uuid:a": (1, 1),
        "urn:uuid:b": (0, 0),
    }
    bound = await jobs.get(one.job_id)
    assert bound is not None
    await states.change(bound, JobState.PROCESSING)  # it prints: the next may wait behind it
    taken = await states.bind(two, "urn:uuid:a", "lobby", window=1)
    assert taken.output_device_uuid == "urn:uuid:a"
    assert (await jobs.count_bound_active(["urn:uuid:a"]))["urn:uuid:a"] == (2, 1)
    with pytest.raises(NotFetchable):
        await states.bind(three, "urn:uuid:a", "lobby", window=1)


async def test_one_device_per_queue_becomes_a_membership(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = _migrations()
    monkeypatch.setattr(db_module, "_migrations", lambda: [m for m in every if m[0] < 6])
    db = Database(tmp_path / "old.db")
    await db.open()
    await db.execute(
        "INSERT INTO queues (printer_name, output_device_uuid, printer_state, capabilities,"
        " printer_info, time_created) VALUES ('office', 'urn:uuid:d', 'stopped',"
        " '{\"media-supported\": [\"iso_a4_210x297mm\"]}', 'Office', 1)"
    )
    await db.execute(
        "INSERT INTO devices VALUES ('urn:uuid:d', 'mgr@x', 'office', 'approved', 1, 2)"
    )
    await db.execute(
        "INSERT INTO jobs (job_uuid, printer_name, service_type, owner, job_name, job_state,"
        " job_state_reasons, output_device_uuid, time_at_creation)"
        " VALUES ('urn:uuid:j', 'office', 'print', 'a@b', 'j', 'processing', 'job-printing',"
        " 'urn:uuid:d', 0)"
    )
    await db.close()
    monkeypatch.setattr(db_module, "_migrations", lambda: every)
    again = Database(tmp_path / "old.db")
    await again.open()
    device = await DeviceStore(again).get("urn:uuid:d")
    assert device is not None and device.device_name == "office"
    assert device.printer_state == PrinterState.STOPPED and device.printer_info == "Office"
    assert device.capabilities.media_supported == ["iso_a4_210x297mm"]
    assert await QueueDeviceStore(again).devices_of("office") == ("urn:uuid:d",)
    (job,) = await JobStore(again).list_active()
    assert job.output_device_assigned == "office"
    await again.close()


def test_a_queue_can_do_what_one_of_its_devices_can() -> None:
    mono = Capabilities(
        print_color_mode_supported=["monochrome"],
        sides_supported=["one-sided", "two-sided-long-edge"],
        copies_supported=99,
        document_format_supported=["application/pdf"],
        page_ranges_supported=False,
    )
    color = Capabilities(
        print_color_mode_supported=["monochrome", "color"],
        sides_supported=["one-sided"],
        copies_supported=10,
        document_format_supported=["image/jpeg", "application/pdf"],
        page_ranges_supported=True,
        media_supported=None,
    )
    merged = merged_capabilities([mono, color])
    assert merged.print_color_mode_supported == ["monochrome", "color"]
    assert merged.sides_supported == ["one-sided", "two-sided-long-edge"]
    assert merged.copies_supported == 99
    assert merged.document_format_supported == ["application/pdf", "image/jpeg"]
    assert merged.page_ranges_supported is True
    assert merged.media_supported is None  # one device says nothing: no limit known
    assert merged_capabilities([mono]) == mono


def test_a_queue_stops_only_when_every_device_has() -> None:
    jammed = _device("a", "lobby", printer_state=PrinterState.STOPPED)
    jammed = Device(
        **{
            **jammed.__dict__,
            "printer_state_reasons": ("media-jam",),
            "printer_state_message": "Jam",
        }
    )
    idle = _device("b", "annex-2")
    assert merged_status([jammed, idle])["printer_state"] == PrinterState.IDLE
    assert merged_status([jammed, idle])["printer_state_reasons"] == ("none",)
    both = merged_status([jammed, Device(**{**jammed.__dict__, "device_name": "b2"})])
    assert both["printer_state"] == PrinterState.STOPPED
    assert both["printer_state_reasons"] == ("media-jam",)
    assert both["printer_state_message"] == "lobby: Jam; b2: Jam"
    assert merged_status([jammed])["printer_state_message"] == "Jam"
