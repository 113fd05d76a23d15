"""The job state table and the one function that applies it, on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.jobs.states import JOB_TRANSITIONS, JobStates, settle_reasons
from server.stores.db import Database
from server.stores.documents import Document, DocumentStore
from server.stores.jobs import Job, JobStore
from server.stores.queues import QueueStore
from stanzas.errors import NotPossible
from stanzas.groups import JobTicket
from stanzas.states import DocumentState, JobState

S = JobState


class Recorder:
    def __init__(self) -> None:
        self.changes: list[tuple[Job, Job]] = []

        self.discarded: list[str] = []
        self.discard = True

    def job_changed(self, before: Job, after: Job) -> None:
        self.changes.append((before, after))

    async def discards_at_end(self, job: Job) -> bool:
        return self.discard

    def discard_data(self, spool_name: str) -> None:
        self.discarded.append(spool_name)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "jobs.db")
    await database.open()
    await QueueStore(database).create("office", "print", 0)
    yield database
    await database.close()


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def states(db: Database, recorder: Recorder, clock: list[float]) -> JobStates:
    states = JobStates(db, JobStore(db), DocumentStore(db), recorder, clock=lambda: clock[0])
    states.listeners.append(recorder.job_changed)
    return states


async def new_job(db: Database) -> Job:
    return await JobStore(db).insert(
        job_uuid="urn:uuid:11111111-1111-4111-8111-111111111111",
        printer_name="office",
        service_type="print",
        owner="alice@localhost",
        notify_jid=None,
        job_name="t",
        job_ticket=JobTicket(),
        job_priority=50,
        job_state=S.PENDING,
        job_state_reasons=("job-incoming",),
        time_at_creation=1,
    )


def test_terminal_states_go_nowhere() -> None:
    for state in (S.CANCELED, S.ABORTED, S.COMPLETED):
        assert JOB_TRANSITIONS[state] == frozenset()


def test_every_active_state_can_end_in_cancel_or_abort() -> None:
    for state in (S.PENDING, S.PENDING_HELD, S.PROCESSING, S.PROCESSING_STOPPED):
        assert {S.CANCELED, S.ABORTED} <= JOB_TRANSITIONS[state]
        assert state in JOB_TRANSITIONS[state]  # reasons may change without a state change


def test_held_jobs_cannot_start_processing() -> None:
    assert S.PROCESSING not in JOB_TRANSITIONS[S.PENDING_HELD]
    assert S.PROCESSING_STOPPED not in JOB_TRANSITIONS[S.PENDING_HELD]


def test_settle_reasons_drops_transient_ones_at_the_end() -> None:
    assert settle_reasons(S.COMPLETED, ["job-printing", "job-queued"]) == (
        "job-completed-successfully",
    )
    assert settle_reasons(S.CANCELED, ["processing-to-stop-point", "job-canceled-by-user"]) == (
        "job-canceled-by-user",
    )
    assert settle_reasons(S.ABORTED, ["none"]) == ("aborted-by-system",)
    assert settle_reasons(
        S.PENDING, ["job-incoming"], add=["job-fetchable"], remove=["job-incoming"]
    ) == ("job-fetchable",)
    assert settle_reasons(S.PENDING, [], remove=["x"]) == ("none",)


async def test_change_stamps_times_persists_and_notifies_after_commit(
    db: Database, states: JobStates, recorder: Recorder, clock: list[float]
) -> None:
    job = await new_job(db)
    clock[0] = 2000.0
    async with db.transaction():
        job = await states.change(job, S.PROCESSING, reasons=["job-printing"])
        assert recorder.changes == []  # nothing is told before the commit
    assert len(recorder.changes) == 1
    assert job.time_at_processing == 2000
    clock[0] = 3000.0
    job = await states.change(job, S.COMPLETED)
    assert job.time_at_completed == 3000
    assert job.time_at_processing == 2000
    stored = await JobStore(db).get(job.job_id)
    assert stored is not None and stored.job_state == S.COMPLETED
    assert stored.job_state_reasons == ("job-completed-successfully",)


async def test_a_forbidden_transition_changes_nothing(
    db: Database, states: JobStates, recorder: Recorder
) -> None:
    job = await states.change(await new_job(db), S.CANCELED)
    with pytest.raises(NotPossible):
        await states.change(job, S.PROCESSING)
    stored = await JobStore(db).get(job.job_id)
    assert stored is not None and stored.job_state == S.CANCELED
    assert len(recorder.changes) == 1


async def test_a_rolled_back_change_is_never_announced(
    db: Database, states: JobStates, recorder: Recorder
) -> None:
    job = await new_job(db)
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await states.change(job, S.PROCESSING)
            raise RuntimeError("boom")
    assert recorder.changes == []
    stored = await JobStore(db).get(job.job_id)
    assert stored is not None and stored.job_state == S.PENDING


async def test_state_cannot_be_set_as_a_plain_field(db: Database, states: JobStates) -> None:
    with pytest.raises(ValueError):
        await states.change(await new_job(db), S.PENDING, job_state=S.COMPLETED)


async def _with_documents(db: Database, job: Job, states: list[DocumentState]) -> None:
    for number, state in enumerate(states, 1):
        await DocumentStore(db).insert(
            Document(
                job_id=job.job_id,
                document_number=number,
                document_name=f"d{number}",
                document_format="application/pdf",
                document_state=state,
                document_state_reasons=("none",),
                document_state_message="",
                document_size=1,
                document_digest="0" * 64,
                spool_name=f"spool-{number}",
                last_document=number == len(states),
                time_at_creation=0,
            )
        )


async def test_ending_a_job_discards_its_document_data_in_the_same_commit(
    db: Database, states: JobStates, recorder: Recorder
) -> None:
    job = await new_job(db)
    await _with_documents(db, job, [DocumentState.CANCELED, DocumentState.PENDING])
    async with db.transaction():
        await states.change(job, S.COMPLETED)
        assert recorder.discarded == []  # the files go only once the commit is done
    documents = await DocumentStore(db).list(job.job_id)
    assert [d.spool_name for d in documents] == [None, None]
    assert [d.document_state for d in documents] == [
        DocumentState.CANCELED,
        DocumentState.COMPLETED,
    ]
    assert sorted(recorder.discarded) == ["spool-1", "spool-2"]


async def test_a_rolled_back_end_keeps_the_document_data(
    db: Database, states: JobStates, recorder: Recorder
) -> None:
    job = await new_job(db)
    await _with_documents(db, job, [DocumentState.PENDING])
    with pytest.raises(RuntimeError):
        async with db.transaction():
            await states.change(job, S.ABORTED)
            raise RuntimeError("boom")
    documents = await DocumentStore(db).list(job.job_id)
    assert [d.spool_name for d in documents] == ["spool-1"]
    assert recorder.discarded == []


async def test_a_queue_that_keeps_documents_keeps_the_data_at_the_end(
    db: Database, states: JobStates, recorder: Recorder
) -> None:
    recorder.discard = False
    job = await new_job(db)
    await _with_documents(db, job, [DocumentState.PENDING])
    await states.change(job, S.COMPLETED)
    documents = await DocumentStore(db).list(job.job_id)
    assert [d.spool_name for d in documents] == ["spool-1"]
    assert documents[0].document_state == DocumentState.COMPLETED
    assert recorder.discarded == []
