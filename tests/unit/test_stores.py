"""Store classes and migrations on real SQLite files."""

from __future__ import annotations

from pathlib import Path

from server.db import Database, _migrations
from server.stores.devices import Device, DeviceStore
from server.stores.jobs import JobStore
from server.stores.queues import QueueStore
from stanzas.groups import Capabilities, JobTicket
from stanzas.states import JobState, PrinterState, RegistrationState


async def test_migrations_run_once_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    db = Database(path)
    await db.open()
    await QueueStore(db).create("office", "print", 1)
    await db.close()
    again = Database(path)
    await again.open()  # applying 001 twice would fail on CREATE TABLE
    rows = await again.fetchall("SELECT version FROM schema_version")
    assert [r["version"] for r in rows] == [v for v, _name, _sql in _migrations()]
    assert (await QueueStore(again).get("office")) is not None
    mode = await again.fetchone("PRAGMA journal_mode")
    assert mode is not None and mode[0] == "wal"
    await again.close()


async def test_nested_transactions_roll_back_only_the_inner_part(tmp_path: Path) -> None:
    db = Database(tmp_path / "n.db")
    await db.open()
    queues = QueueStore(db)
    async with db.transaction():
        await queues.create("a", "print", 1)
        try:
            async with db.transaction():
                await queues.create("b", "print", 1)
                raise KeyError("inner")
        except KeyError:
            pass
    assert [q.printer_name for q in await queues.list_all()] == ["a"]
    await db.close()


async def test_queue_round_trips_capabilities_and_status(tmp_path: Path) -> None:
    db = Database(tmp_path / "q.db")
    await db.open()
    queues = QueueStore(db)
    queue = await queues.create("office", "print", 5)
    caps = Capabilities(media_supported=["iso_a4_210x297mm"], copies_supported=99)
    await queues.update(
        queue,
        capabilities=caps,
        printer_state=PrinterState.STOPPED,
        printer_state_reasons=("media-empty",),
    )
    stored = await queues.get("office")
    assert stored is not None
    assert stored.capabilities == caps
    assert stored.printer_state == PrinterState.STOPPED
    assert stored.to_status().printer_state_reasons == ["media-empty"]
    await db.close()


async def test_fetchable_jobs_come_by_priority_then_age(tmp_path: Path) -> None:
    db = Database(tmp_path / "j.db")
    await db.open()
    await QueueStore(db).create("office", "print", 1)
    jobs = JobStore(db)
    ids = []
    for n, priority in enumerate([50, 90, 50]):
        job = await jobs.insert(
            job_uuid=f"urn:uuid:00000000-0000-4000-8000-00000000000{n}",
            printer_name="office",
            service_type="print",
            owner="a@b",
            notify_jid=None,
            job_name=str(n),
            job_ticket=JobTicket(job_priority=priority),
            job_priority=priority,
            job_state=JobState.PENDING,
            job_state_reasons=("job-fetchable",),
            is_closed=True,
            time_at_creation=n,
        )
        ids.append(job.job_id)
    fetchable = await jobs.list_fetchable("office")
    assert [j.job_id for j in fetchable] == [ids[1], ids[0], ids[2]]
    await jobs.update(fetchable[0], output_device_uuid="urn:uuid:x")
    assert [j.job_id for j in await jobs.list_fetchable("office")] == [ids[0], ids[2]]
    await db.close()


async def test_devices_keep_their_first_account(tmp_path: Path) -> None:
    db = Database(tmp_path / "d.db")
    await db.open()
    devices = DeviceStore(db)
    first = Device("urn:uuid:d", "mgr@x", "office", RegistrationState.PENDING, 1, 1)
    await devices.upsert(first)
    await devices.upsert(
        Device("urn:uuid:d", "other@x", "office", RegistrationState.APPROVED, 2, 2)
    )
    stored = await devices.get("urn:uuid:d")
    assert stored is not None
    assert stored.jid == "mgr@x" and stored.registration_state == RegistrationState.PENDING
    assert stored.time_last_seen == 2
    await db.close()
