"""The jobs table."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import aiosqlite

from server.stores.cache import RowCache
from server.stores.db import Database
from server.stores.documents import DocumentStore
from server.stores.sql import JOB_ACTIVE, JOB_ENDED
from stanzas.groups import JobStatus, JobTicket
from stanzas.states import JobState


@dataclass(frozen=True)
class Job:
    job_id: int
    job_uuid: str
    printer_name: str
    service_type: str
    owner: str
    notify_jid: str | None
    job_name: str
    job_ticket: JobTicket
    job_priority: int
    job_state: JobState
    job_state_reasons: tuple[str, ...]
    job_state_message: str
    is_closed: bool
    cancel_requested: str | None
    output_device_uuid: str | None
    output_device_job_id: int | None
    output_device_job_state: JobState | None
    job_impressions_completed: int
    number_of_documents: int
    time_at_creation: int
    time_at_processing: int | None
    time_at_completed: int | None
    time_last_activity: int = 0  # the last Create/Send: the multiple-operation time-out
    resubmitted_from: int | None = None
    unsupported_elements: tuple[str, ...] = ()
    # INFRA job-fetchable: a device may fetch it now. Decided by the job state machine
    # (server/jobs/states.py `fetchable`) with every write of the job's state.
    is_fetchable: bool = False
    job_media_sheets_completed: int = 0  # as the device reported it
    job_k_octets: int = 0  # the documents' size, set when the job ends (accounting)
    # The key the owner's CreateJob / PrintJob carried (unique per owner), and the
    # SHA-256 of that request (server/jobs/intake.py request_digest).
    idempotency_key: str | None = None
    request_digest: str | None = None

    def to_summary(self, *, full: bool) -> JobStatus:
        """GetActive<Service>Jobs / Get<Service>Jobs summary; `full` is False for other
        users' jobs seen by a user who is not an operator (site privacy policy)."""
        if full:
            return self.to_status()
        return JobStatus(
            job_id=self.job_id,
            printer_name=self.printer_name,
            job_state=self.job_state,
            job_state_reasons=list(self.job_state_reasons) or ["none"],
        )

    def to_status(self, *, with_ticket: bool = False) -> JobStatus:
        return JobStatus(
            job_id=self.job_id,
            job_uuid=self.job_uuid,
            printer_name=self.printer_name,
            job_name=self.job_name,
            job_originating_user_name=self.owner,
            job_state=self.job_state,
            job_state_reasons=list(self.job_state_reasons) or ["none"],
            job_state_message=self.job_state_message or None,
            number_of_documents=self.number_of_documents,
            job_impressions_completed=self.job_impressions_completed,
            job_media_sheets_completed=self.job_media_sheets_completed,
            job_k_octets=self.job_k_octets if self.job_state.is_terminal else None,
            output_device_uuid=self.output_device_uuid,
            output_device_job_id=self.output_device_job_id,
            output_device_job_state=self.output_device_job_state,
            time_at_creation=self.time_at_creation,
            time_at_processing=self.time_at_processing,
            time_at_completed=self.time_at_completed,
            job_ticket=self.job_ticket if with_ticket else None,
            unsupported_elements=list(self.unsupported_elements) or None,
        )

    def with_changes(self, **changes: Any) -> Job:
        return replace(self, **changes)


_COLUMNS = [f.name for f in fields(Job)]


def _from_row(row: aiosqlite.Row) -> Job:
    values = dict(row)
    values["job_ticket"] = JobTicket.model_validate_json(values["job_ticket"] or "{}")
    values["job_state"] = JobState(values["job_state"])
    values["job_state_reasons"] = tuple(values["job_state_reasons"].split())
    values["is_closed"] = bool(values["is_closed"])
    values["is_fetchable"] = bool(values["is_fetchable"])
    values["unsupported_elements"] = tuple(values["unsupported_elements"].split())
    if values["output_device_job_state"] is not None:
        values["output_device_job_state"] = JobState(values["output_device_job_state"])
    return Job(**values)


def _to_column(name: str, value: Any) -> Any:
    if name == "job_ticket":
        return value.model_dump_json(exclude_none=True)
    if name in ("job_state_reasons", "unsupported_elements"):
        return " ".join(value)
    if name in ("is_closed", "is_fetchable"):
        return int(value)
    if isinstance(value, JobState):
        return value.value
    return value


# Jobs whose rows stay in memory: comfortably more than are active at once.
CACHED_JOBS = 4096

# Written only by the job state machine (JobStates, server/jobs/states.py), through
# `insert` and `transition`: a job's state, what is derived with it, and what whether it
# is fetchable is decided on. `update` refuses them.
STATE_COLUMNS = frozenset(
    {
        "job_state",
        "job_state_reasons",
        "job_state_message",
        "is_fetchable",
        "time_at_processing",
        "time_at_completed",
        "cancel_requested",
        "is_closed",
        "output_device_uuid",
        "job_k_octets",
    }
)


class KeyTaken(Exception):
    """The owner already has a job with this idempotency key (JobStore.insert)."""


class JobStore:
    """The jobs table; `get` is served from a cache of the rows as last committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: RowCache[int, Job | None] = RowCache.of(db, JobStore, limit=CACHED_JOBS)
        self._documents = DocumentStore(db)  # they hang off jobs (ON DELETE CASCADE)

    async def insert(self, **values: Any) -> Job:
        """A new job (JobStates.create, which settles its first state). KeyTaken if its
        owner has a job with its idempotency key already: nothing is written then (the
        unique index decides, so two requests racing with one key make one job, on one
        connection or several)."""
        names = [n for n in _COLUMNS if n != "job_id" and n in values]
        keyed = values.get("idempotency_key") is not None
        row = await self.db.fetchone(
            f"INSERT INTO jobs ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
            + (" ON CONFLICT (owner, idempotency_key) DO NOTHING" if keyed else "")
            + " RETURNING *",
            [_to_column(n, values[n]) for n in names],
        )
        if row is None and keyed:
            raise KeyTaken(values["idempotency_key"])
        assert row is not None
        job = _from_row(row)
        self._cache.stage(job.job_id, job)
        self._documents.job_inserted(job.job_id)
        return job

    async def get(self, job_id: int) -> Job | None:
        async def load() -> Job | None:
            row = await self.db.fetchone("SELECT * FROM jobs WHERE job_id = ?", (job_id,))
            return _from_row(row) if row else None

        return await self._cache.get(job_id, load)

    async def get_by_key(self, owner: str, idempotency_key: str) -> Job | None:
        """The owner's job made with this idempotency key (index jobs_by_idempotency_key)."""
        row = await self.db.fetchone(
            "SELECT * FROM jobs WHERE owner = ? AND idempotency_key = ?", (owner, idempotency_key)
        )
        return _from_row(row) if row else None

    async def update(self, job: Job, **changes: Any) -> Job:
        """Write the given columns of one job (none of STATE_COLUMNS); returns the job as
        now stored."""
        state = STATE_COLUMNS & set(changes)
        if state:
            raise ValueError(f"{sorted(state)} change through the job state machine")
        return await self._write(job, changes)

    async def transition(self, job: Job, **changes: Any) -> Job:
        """Write a change of the job's state (JobStates.change alone calls this)."""
        return await self._write(job, changes)

    async def _write(self, job: Job, changes: dict[str, Any]) -> Job:
        if not changes:
            return job
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown job columns {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in changes)
        params = [_to_column(n, v) for n, v in changes.items()]
        row = await self.db.fetchone(
            f"UPDATE jobs SET {assignments} WHERE job_id = ? RETURNING *", [*params, job.job_id]
        )
        stored = _from_row(row) if row else None
        self._cache.stage(job.job_id, stored)
        return stored or job.with_changes(**changes)

    async def list_fetchable(self, printer_name: str, limit: int = 100) -> list[Job]:
        # Nothing while the queue hands out no work (paused, pausing, down); in the order
        # server/jobs/schedule.py keeps: promoted jobs by rank, then job-priority, then arrival.
        rows = await self.db.fetchall(
            "SELECT jobs.* FROM jobs LEFT JOIN job_schedule s ON s.job_id = jobs.job_id"
            " WHERE printer_name = ? AND is_fetchable = 1"
            " AND printer_name NOT IN (SELECT printer_name FROM service_states"
            " WHERE hands_out_work = 0)"
            " ORDER BY s.schedule_rank IS NULL, s.schedule_rank, job_priority DESC, jobs.job_id"
            " LIMIT ?",
            (printer_name, limit),
        )
        return [_from_row(r) for r in rows]

    async def list_bound_active(self, output_device_uuid: str) -> list[Job]:
        rows = await self.db.fetchall(
            f"SELECT * FROM jobs WHERE output_device_uuid = ? AND {JOB_ACTIVE} ORDER BY job_id",
            (output_device_uuid,),
        )
        return [_from_row(r) for r in rows]

    async def has_current(self, printer_name: str) -> bool:
        """Whether a device holds one of the queue's jobs that has not ended."""
        row = await self.db.fetchone(
            "SELECT 1 FROM jobs WHERE printer_name = ? AND output_device_uuid IS NOT NULL"
            f" AND {JOB_ACTIVE} LIMIT 1",
            (printer_name,),
        )
        return row is not None

    async def count_active(self) -> int:
        """How many jobs have not ended (the partial index jobs_active)."""
        row = await self.db.fetchone(f"SELECT COUNT(*) AS n FROM jobs WHERE {JOB_ACTIVE}")
        return int(row["n"]) if row else 0

    async def list_active(self, printer_name: str | None = None) -> list[Job]:
        sql = f"SELECT * FROM jobs WHERE {JOB_ACTIVE}"
        params: tuple[Any, ...] = ()
        if printer_name is not None:
            sql += " AND printer_name = ?"
            params = (printer_name,)
        rows = await self.db.fetchall(sql + " ORDER BY job_id", params)
        return [_from_row(r) for r in rows]

    async def list_jobs(
        self,
        *,
        active: bool,
        service_type: str,
        printer_name: str | None = None,
        owner: str | None = None,
        limit: int = 1000,
    ) -> list[Job]:
        """Active jobs oldest first (queue order), or ended jobs newest first (history)."""
        sql = "SELECT * FROM jobs WHERE service_type = ? AND " + (
            JOB_ACTIVE if active else JOB_ENDED
        )
        params: list[Any] = [service_type]
        if printer_name is not None:
            sql += " AND printer_name = ?"
            params.append(printer_name)
        if owner is not None:
            sql += " AND owner = ?"
            params.append(owner)
        sql += " ORDER BY job_id" if active else " ORDER BY time_at_completed DESC, job_id DESC"
        rows = await self.db.fetchall(sql + " LIMIT ?", [*params, limit])
        return [_from_row(r) for r in rows]

    async def list_open_idle(self, before: int) -> list[Job]:
        """Open jobs (inputs not closed) with no document input since `before`."""
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE is_closed = 0 AND time_last_activity < ?"
            f" AND {JOB_ACTIVE} ORDER BY job_id",
            (before,),
        )
        return [_from_row(r) for r in rows]

    async def list_ended_before(self, before: int, limit: int = 1000) -> list[Job]:
        rows = await self.db.fetchall(
            f"SELECT * FROM jobs WHERE {JOB_ENDED}"
            " AND time_at_completed < ? ORDER BY time_at_completed LIMIT ?",
            (before, limit),
        )
        return [_from_row(r) for r in rows]

    async def delete(self, job_id: int) -> None:
        await self.db.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,))
        self._cache.stage(job_id, None)
        self._documents.job_deleted(job_id)  # its schedule row went too (not cached)

    async def list_by_owner(self, owner: str, limit: int = 100) -> list[Job]:
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE owner = ? ORDER BY job_id DESC LIMIT ?", (owner, limit)
        )
        return [_from_row(r) for r in rows]

    async def active_usage(
        self, owners: list[str], printer_name: str | None, *, excluding: int | None = None
    ) -> tuple[int, int]:
        """How many of these users' jobs have not ended (on one queue, or all with None),
        and the impressions they have printed so far (quotas count them)."""
        if not owners:
            return 0, 0
        marks = ", ".join("?" for _ in owners)
        sql = (
            "SELECT COUNT(*) AS n, COALESCE(SUM(job_impressions_completed), 0) AS i FROM jobs"
            f" WHERE {JOB_ACTIVE} AND owner IN ({marks})"
        )
        params: list[Any] = list(owners)
        if printer_name is not None:
            sql += " AND printer_name = ?"
            params.append(printer_name)
        if excluding is not None:
            sql += " AND job_id != ?"
            params.append(excluding)
        row = await self.db.fetchone(sql, params)
        return (int(row["n"]), int(row["i"])) if row else (0, 0)

    async def list_held_for(self, reason: str) -> list[Job]:
        """Active jobs with this reason (few: the quota holds, found by the sweep)."""
        rows = await self.db.fetchall(
            f"SELECT * FROM jobs WHERE {JOB_ACTIVE} AND job_state = 'pending-held'"
            " AND (' ' || job_state_reasons || ' ') LIKE ? ORDER BY job_id",
            (f"% {reason} %",),
        )
        return [_from_row(r) for r in rows]
