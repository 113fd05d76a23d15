"""Store classes and migrations on real SQLite files."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from server.jobs.states import JobStates
from server.stores import db as db_module
from server.stores.db import Database, _migrations
from server.stores.devices import Device, DeviceStore
from server.stores.documents import Document, DocumentStore
from server.stores.jobs import STATE_COLUMNS, Job, JobStore, KeyTaken
from server.stores.queue_states import QueueState, QueueStateStore
from server.stores.queues import QueueStore
from server.stores.sql import JOB_ACTIVE, TERMINAL_JOB_STATES
from stanzas.admin_ops import ServiceState
from stanzas.groups import Capabilities, JobTicket
from stanzas.states import DocumentState, JobState, PrinterState, RegistrationState


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
    states = JobStates(db, jobs, DocumentStore(db), _KeepData())  # the writer of states
    ids = []
    for n, priority in enumerate([50, 90, 50]):
        job = await states.create(
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
    await states.change(fetchable[0], JobState.PENDING, output_device_uuid="urn:uuid:x")
    assert [j.job_id for j in await jobs.list_fetchable("office")] == [ids[0], ids[2]]
    await db.close()


class _KeepData:
    async def discards_at_end(self, job: Job) -> bool:
        return False

    def discard_data(self, spool_name: str) -> None:
        raise AssertionError("nothing is discarded here")


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


# --- one hop per statement, and the caches ------------------------------------------


class Hops:
    """Every call handed to the aiosqlite thread, with the statement if it was one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sql: list[str] = []
        original = aiosqlite.Connection._execute

        async def hop(conn: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.sql.append(args[0] if args and isinstance(args[0], str) else "(call)")
            return await original(conn, fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", hop)

    def take(self) -> list[str]:
        taken, self.sql = self.sql, []
        return taken


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "c.db")
    await database.open()
    await QueueStore(database).create("office", "print", 1)
    yield database
    await database.close()


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> Hops:
    return Hops(monkeypatch)


async def _job(jobs: JobStore, n: int = 0) -> Job:
    return await jobs.insert(
        job_uuid=f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
        printer_name="office",
        service_type="print",
        owner="a@b",
        notify_jid=None,
        job_name=str(n),
        job_ticket=JobTicket(),
        job_priority=50,
        job_state=JobState.PENDING,
        job_state_reasons=("job-incoming",),
        time_at_creation=n,
    )


def _document(job_id: int, number: int) -> Document:
    return Document(
        job_id=job_id,
        document_number=number,
        document_name=f"d{number}",
        document_format="application/pdf",
        document_state=DocumentState.PENDING,
        document_state_reasons=("none",),
        document_state_message="",
        document_size=1,
        document_digest="00",
        spool_name=f"s{number}",
        last_document=False,
        time_at_creation=1,
    )


async def test_each_statement_is_one_hop(db: Database, hops: Hops) -> None:
    jobs = JobStore(db)
    job = await _job(jobs)
    assert hops.take() == [ANY_INSERT]
    async with db.transaction():
        await jobs.update(job, job_name="renamed")
        await db.fetchall("SELECT job_id FROM jobs")
    taken = hops.take()
    assert taken[0] == "BEGIN IMMEDIATE" and taken[-1] == "COMMIT" and len(taken) == 4
    assert await db.execute("UPDATE jobs SET job_priority = 1") == 1
    assert len(hops.take()) == 1


class _AnyInsert(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith("INSERT")

    __hash__ = str.__hash__


ANY_INSERT = _AnyInsert("INSERT …")


async def test_rowcount_leaves_out_cascaded_rows(db: Database) -> None:
    jobs, documents = JobStore(db), DocumentStore(db)
    job = await _job(jobs)
    await documents.insert(_document(job.job_id, 1))
    await documents.insert(_document(job.job_id, 2))
    # total_changes would say 3 here: the two documents went with the job.
    assert await db.execute("DELETE FROM jobs WHERE job_id = ?", (job.job_id,)) == 1
    db.changed_elsewhere()


async def test_a_transaction_served_from_the_caches_sends_nothing(db: Database, hops: Hops) -> None:
    jobs = JobStore(db)
    job = await _job(jobs)
    hops.take()
    told: list[str] = []
    async with db.transaction():
        assert await jobs.get(job.job_id) == job
        async with db.transaction():
            assert await QueueStore(db).get("office") is not None
        db.after_commit(lambda: told.append("committed"))
    assert hops.take() == [] and told == ["committed"]


async def test_jobs_are_read_once_and_follow_every_write(db: Database, hops: Hops) -> None:
    jobs = JobStore(db)
    job = await _job(jobs)
    hops.take()
    assert await jobs.get(job.job_id) == job  # staged by the insert: no read
    assert hops.take() == []
    async with db.transaction():
        updated = await jobs.transition(job, job_state_message="m", is_closed=True)
        assert (await jobs.get(job.job_id)) == updated  # the transaction sees its write
    assert hops.take() == ["BEGIN IMMEDIATE", ANY_UPDATE, "COMMIT"]
    stored = await JobStore(db).get(job.job_id)  # another instance, the same cache
    assert stored is not None and stored.job_state_message == "m" and stored.is_closed
    assert hops.take() == []
    await jobs.delete(job.job_id)
    assert await jobs.get(job.job_id) is None
    assert hops.take() == ["DELETE FROM jobs WHERE job_id = ?"]


class _AnyUpdate(str):
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith("UPDATE")

    __hash__ = str.__hash__


ANY_UPDATE = _AnyUpdate("UPDATE …")


async def test_no_stale_job_after_a_rollback(db: Database) -> None:
    jobs = JobStore(db)
    job = await _job(jobs)
    with pytest.raises(KeyError):
        async with db.transaction():
            await jobs.update(job, job_name="rolled back")
            raise KeyError("boom")
    assert (await jobs.get(job.job_id)) == job
    assert (await _read_job(db, job.job_id))["job_name"] == job.job_name


async def test_no_stale_job_after_a_savepoint_rollback(db: Database) -> None:
    jobs = JobStore(db)
    job = await _job(jobs)
    told: list[str] = []
    async with db.transaction():
        job = await jobs.update(job, job_name="kept")
        with pytest.raises(KeyError):
            async with db.transaction():
                await jobs.update(job, job_name="rolled back")
                db.after_commit(lambda: told.append("rolled back"))
                raise KeyError("inner")
        assert (await jobs.get(job.job_id)) == job
        async with db.transaction():  # a later block of the same level rolls back alone
            await jobs.update(job, job_priority=7)
    stored = await jobs.get(job.job_id)
    assert stored is not None and stored.job_name == "kept" and stored.job_priority == 7
    assert (await _read_job(db, job.job_id))["job_name"] == "kept"
    assert told == []  # what a rolled-back block announced is never heard of


async def test_other_tasks_never_see_uncommitted_rows(db: Database) -> None:
    jobs = JobStore(db)
    job = await _job(jobs)
    written = asyncio.Event()
    finish = asyncio.Event()

    async def writer() -> None:
        async with db.transaction():
            await jobs.update(job, job_name="new")
            written.set()
            await finish.wait()

    task = asyncio.create_task(writer())
    await written.wait()
    reader = asyncio.create_task(jobs.get(job.job_id))  # waits for the connection
    await asyncio.sleep(0.01)
    assert not reader.done()
    finish.set()
    await task
    seen = await reader
    assert seen is not None and seen.job_name == "new"
    cached = await jobs.get(job.job_id)
    assert cached is not None and cached.job_name == "new"


async def test_job_cache_is_bounded(db: Database) -> None:
    jobs = JobStore(db)
    cache = jobs._cache
    cache.limit = 3
    made = [await _job(jobs, n) for n in range(5)]
    assert len(cache._rows) == 3
    assert [await jobs.get(j.job_id) for j in made] == made


async def test_devices_follow_every_write(db: Database, hops: Hops) -> None:
    devices = DeviceStore(db)
    assert await devices.get_by_jid("mgr@x") is None
    assert await devices.get_by_printer("office") is None
    hops.take()
    assert await devices.get_by_jid("mgr@x") is None  # cached, also when absent
    assert hops.take() == []
    device = Device("urn:uuid:d", "mgr@x", "office", RegistrationState.PENDING, 1, 1)
    await devices.upsert(device)
    assert await devices.get_by_jid("mgr@x") == device
    assert await devices.get_by_printer("office") == device
    await devices.touch("urn:uuid:d", 9)
    for found in (
        await devices.get("urn:uuid:d"),
        await devices.get_by_jid("mgr@x"),
        await devices.get_by_printer("office"),
    ):
        assert found is not None and found.time_last_seen == 9
    await devices.set_registration_state("urn:uuid:d", RegistrationState.APPROVED)
    approved = await DeviceStore(db).get("urn:uuid:d")
    assert approved is not None and approved.registration_state == RegistrationState.APPROVED
    hops.take()
    assert await devices.get("urn:uuid:d") == approved
    assert hops.take() == []
    await devices.delete("urn:uuid:d")
    assert await devices.get("urn:uuid:d") is None
    assert await devices.get_by_jid("mgr@x") is None
    assert await devices.get_by_printer("office") is None


async def test_no_stale_device_after_a_rollback(db: Database) -> None:
    devices = DeviceStore(db)
    await devices.upsert(Device("urn:uuid:d", "mgr@x", "office", RegistrationState.PENDING, 1, 1))
    with pytest.raises(KeyError):
        async with db.transaction():
            await devices.touch("urn:uuid:d", 5)
            assert (await devices.get("urn:uuid:d")).time_last_seen == 5  # type: ignore[union-attr]
            raise KeyError("boom")
    found = await devices.get("urn:uuid:d")
    assert found is not None and found.time_last_seen == 1


async def test_documents_follow_every_write(db: Database, hops: Hops) -> None:
    jobs, documents = JobStore(db), DocumentStore(db)
    job = await _job(jobs)
    hops.take()
    assert await documents.list(job.job_id) == []  # a new job has none: no read
    async with db.transaction():
        first = await documents.insert(_document(job.job_id, 1))
        assert await documents.awaiting_data(job.job_id) == 0
        second = await documents.insert(_document(job.job_id, 2))
    assert await documents.list(job.job_id) == [first, second]
    assert all(not s.startswith("SELECT") for s in hops.take())
    second = await documents.update(second, spool_name=None, document_uri="http://x/")
    assert await documents.get(job.job_id, 2) == second
    assert await documents.awaiting_data(job.job_id) == 1
    with pytest.raises(KeyError):
        async with db.transaction():
            await documents.update(first, document_name="rolled back")
            raise KeyError("boom")
    assert await documents.get(job.job_id, 1) == first
    await jobs.delete(job.job_id)  # the documents go with it (ON DELETE CASCADE)
    assert await documents.list(job.job_id) == []


async def test_documents_read_back_inside_a_transaction_are_fresh(db: Database) -> None:
    jobs, documents = JobStore(db), DocumentStore(db)
    job = await _job(jobs)
    db.changed_elsewhere()  # nothing known about the job's documents
    async with db.transaction():
        inserted = await documents.insert(_document(job.job_id, 1))
        assert await documents.list(job.job_id) == [inserted]
    assert await documents.list(job.job_id) == [inserted]


async def test_service_state_rows_follow_writes(db: Database) -> None:
    store = QueueStateStore(db)
    assert (await store.get("office")).service_state == ServiceState.IDLE
    with pytest.raises(KeyError):
        async with db.transaction():
            await store.put(QueueState("office", service_state=ServiceState.STOPPED))
            raise KeyError("boom")
    assert (await store.get("office")).service_state == ServiceState.IDLE
    await store.put(QueueState("office", service_state=ServiceState.STOPPED))
    assert (await QueueStateStore(db).get("office")).service_state == ServiceState.STOPPED


async def _read_job(db: Database, job_id: int) -> aiosqlite.Row:
    row = await db.fetchone("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
    assert row is not None
    return row


# --- group commit -----------------------------------------------------------------------


def _committed_names(path: Path) -> set[str]:
    """What another connection sees: only committed rows."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        return {row[0] for row in other.execute("SELECT job_name FROM jobs")}


async def test_concurrent_transactions_share_a_commit_and_return_only_once_durable(
    db: Database, hops: Hops
) -> None:
    jobs = JobStore(db)
    made = [await _job(jobs, n) for n in range(6)]
    hops.take()
    told: list[str] = []
    seen_at_return: dict[str, set[str]] = {}

    async def rename(job: Job, name: str) -> None:
        async with db.transaction():
            await jobs.update(job, job_name=name)
            db.after_commit(lambda: told.append(name))
        seen_at_return[name] = _committed_names(db.path)

    names = [f"renamed-{n}" for n in range(6)]
    await asyncio.gather(*(rename(j, n) for j, n in zip(made, names, strict=True)))
    assert told == names  # announced after the COMMIT, in the order of the work
    for name in names:
        assert name in seen_at_return[name]  # durable before its task went on
    sent = hops.take()
    assert sent.count("BEGIN IMMEDIATE") == 1 and sent.count("COMMIT") == 1
    assert sent.count("SAVEPOINT sp0") == 5


async def test_a_failing_member_rolls_back_alone(db: Database) -> None:
    jobs = JobStore(db)
    first, second, third = [await _job(jobs, n) for n in range(3)]
    told: list[str] = []

    async def rename(job: Job, name: str, fail: bool = False) -> None:
        async with db.transaction():
            await jobs.update(job, job_name=name)
            db.after_commit(lambda: told.append(name))
            if fail:
                raise KeyError(name)

    results = await asyncio.gather(
        rename(first, "a"),
        rename(second, "b", fail=True),
        rename(third, "c"),
        return_exceptions=True,
    )
    assert isinstance(results[1], KeyError) and results[0] is None and results[2] is None
    assert told == ["a", "c"]
    assert _committed_names(db.path) == {"a", second.job_name, "c"}
    assert [(await jobs.get(j.job_id)).job_name for j in (first, second, third)] == [  # type: ignore[union-attr]
        "a",
        second.job_name,
        "c",
    ]


async def test_a_reader_in_a_group_returns_only_committed_rows(db: Database) -> None:
    jobs = JobStore(db)
    job = await _job(jobs)
    db.changed_elsewhere()
    release = asyncio.Event()

    async def writer() -> None:
        async with db.transaction():
            await jobs.update(job, job_name="new")
            await release.wait()

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.01)
    reader = asyncio.create_task(db.fetchone("SELECT job_name FROM jobs"))
    await asyncio.sleep(0.01)
    release.set()
    row = await reader
    assert row is not None and row["job_name"] == "new"
    assert "new" in _committed_names(db.path)  # the reader saw it only once committed
    await task


async def test_a_failed_group_commit_fails_every_member_and_announces_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = JobStore(db)
    made = [await _job(jobs, n) for n in range(3)]
    original = Database._hop

    async def hop(self: Database, sql: str) -> None:
        if sql == "COMMIT":
            await original(self, "ROLLBACK")  # as if the disk had refused it
            raise aiosqlite.OperationalError("disk I/O error")
        await original(self, sql)

    monkeypatch.setattr(Database, "_hop", hop)
    told: list[str] = []

    async def rename(job: Job) -> None:
        async with db.transaction():
            await jobs.update(job, job_name="lost")
            db.after_commit(lambda: told.append("lost"))

    results = await asyncio.gather(*(rename(j) for j in made), return_exceptions=True)
    assert all(isinstance(r, aiosqlite.OperationalError) for r in results)
    assert told == []
    monkeypatch.setattr(Database, "_hop", original)
    assert [(await jobs.get(j.job_id)) for j in made] == made
    assert "lost" not in _committed_names(db.path)


async def test_a_group_whose_next_member_gave_up_still_commits(db: Database) -> None:
    jobs = JobStore(db)
    job = await _job(jobs)
    release = asyncio.Event()

    async def writer() -> None:
        async with db.transaction():
            await jobs.update(job, job_name="kept")
            await release.wait()

    async def waiter() -> None:
        async with db.transaction():
            pass

    first = asyncio.create_task(writer())
    await asyncio.sleep(0.01)
    second = asyncio.create_task(waiter())  # the writer hands the connection to it …
    await asyncio.sleep(0.01)
    release.set()
    await asyncio.sleep(0)
    second.cancel()  # … and it goes away before taking it
    await asyncio.wait_for(first, 5)
    assert "kept" in _committed_names(db.path)


class _Listener:
    def __init__(self, heard: list[str]) -> None:
        self.heard = heard

    def committed(self) -> None:
        self.heard.append("committed")

    def rolled_back(self) -> None:
        self.heard.append("rolled back")

    def changed_elsewhere(self) -> None:
        self.heard.append("changed elsewhere")


async def test_listeners_hear_of_a_commit_before_its_after_commit_callbacks(db: Database) -> None:
    heard: list[str] = []
    listener = _Listener(heard)
    db.listen(listener)
    jobs = JobStore(db)
    async with db.transaction():
        await _job(jobs)
        db.after_commit(lambda: heard.append("callback"))
        assert heard == []
    assert heard == ["committed", "callback"]
    heard.clear()
    with pytest.raises(KeyError):
        async with db.transaction():
            await _job(jobs, 1)
            raise KeyError("boom")
    assert heard == ["rolled back"]
    heard.clear()
    db.changed_elsewhere()
    assert heard == ["changed elsewhere"]
    db.unlisten(listener)
    db.changed_elsewhere()
    assert heard == ["changed elsewhere"]


async def test_a_deleted_queue_takes_its_cached_state_with_it(db: Database) -> None:
    states = QueueStateStore(db)
    await states.put(QueueState("office", service_state=ServiceState.STOPPED))
    assert (await states.get("office")).service_state == ServiceState.STOPPED
    await QueueStore(db).delete("office")
    assert await QueueStore(db).get("office") is None
    assert await states.get("office") == QueueState("office")  # no row: idle


async def test_a_jobs_state_is_written_only_through_the_state_machine(db: Database) -> None:
    jobs = JobStore(db)
    job = await _job(jobs)
    for column in sorted(STATE_COLUMNS):
        with pytest.raises(ValueError, match="state machine"):
            await jobs.update(job, **{column: getattr(job, column)})
    assert await jobs.update(job, job_name="renamed") == job.with_changes(job_name="renamed")


def test_the_terminal_states_in_sql_are_the_enums_and_match_the_partial_indexes() -> None:
    assert TERMINAL_JOB_STATES == "('canceled', 'aborted', 'completed')"
    assert {s.value for s in JobState if s.is_terminal} == {"canceled", "aborted", "completed"}
    indexes = {name: sql for _version, name, sql in _migrations()}["active_job_indexes"]
    assert indexes.count(f"WHERE {JOB_ACTIVE}") == 2  # the queries repeat the index's term


async def test_the_active_jobs_are_read_through_their_partial_index(db: Database) -> None:
    plan = await db.fetchall(
        f"EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE {JOB_ACTIVE} AND printer_name = ?"
        " ORDER BY job_id",
        ("office",),
    )
    assert any("jobs_active_by_queue" in row["detail"] for row in plan), [tuple(r) for r in plan]


async def test_jobs_written_before_the_fetchable_column_get_it_by_the_same_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = _migrations()
    monkeypatch.setattr(db_module, "_migrations", lambda: [m for m in every if m[0] < 5])
    db = Database(tmp_path / "old.db")
    await db.open()
    await QueueStore(db).create("office", "print", 1)
    for n, (state, reasons, closed, device) in enumerate(
        [
            ("pending", "job-fetchable", 1, None),  # fetchable
            ("pending", "job-incoming", 1, None),  # closed, a document still on its way
            ("pending", "job-queued", 1, "urn:uuid:d"),  # at its device
            ("pending-held", "job-hold-until-specified", 1, None),
            ("completed", "job-completed-successfully", 1, None),
        ]
    ):
        await db.execute(
            "INSERT INTO jobs (job_uuid, printer_name, service_type, owner, job_name,"
            " job_state, job_state_reasons, is_closed, output_device_uuid, time_at_creation)"
            " VALUES (?, 'office', 'print', 'a@b', 'j', ?, ?, ?, ?, 0)",
            (f"urn:uuid:{n}", state, reasons, closed, device),
        )
    await db.close()
    monkeypatch.setattr(db_module, "_migrations", lambda: every)
    again = Database(tmp_path / "old.db")
    await again.open()
    rows = await again.fetchall("SELECT job_id, is_fetchable FROM jobs ORDER BY job_id")
    assert [r["is_fetchable"] for r in rows] == [1, 0, 0, 0, 0]
    assert [j.job_id for j in await JobStore(again).list_fetchable("office")] == [rows[0][0]]
    await again.close()


async def test_an_idempotency_key_is_unique_per_owner_and_kept_with_the_job(
    db: Database,
) -> None:
    jobs = JobStore(db)

    async def keyed(n: int, owner: str, key: str | None) -> Job:
        return await jobs.insert(
            job_uuid=f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
            printer_name="office",
            service_type="print",
            owner=owner,
            job_name=str(n),
            job_ticket=JobTicket(),
            job_state=JobState.PENDING,
            job_state_reasons=("job-incoming",),
            time_at_creation=n,
            idempotency_key=key,
            request_digest="d" if key else None,
        )

    first = await keyed(1, "a@b", "k1")
    with pytest.raises(KeyTaken):
        await keyed(2, "a@b", "k1")
    other = await keyed(3, "c@d", "k1")  # another owner's key is no collision
    await keyed(4, "a@b", None)
    await keyed(5, "a@b", None)  # jobs without a key never collide
    assert (await jobs.get_by_key("a@b", "k1")) == first
    assert (await jobs.get_by_key("c@d", "k1")) == other
    assert await jobs.get_by_key("c@d", "k2") is None
    assert len(await db.fetchall("SELECT * FROM jobs")) == 4
    await jobs.delete(first.job_id)  # the key goes with the job's history
    assert await jobs.get_by_key("a@b", "k1") is None
