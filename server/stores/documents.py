"""The documents table."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field, fields, replace
from typing import Any

import aiosqlite

from server.stores.cache import RowCache
from server.stores.db import Database
from server.stores.sql import JOB_ACTIVE
from stanzas.groups import DocumentStatus, JobTicket
from stanzas.states import DocumentState


@dataclass(frozen=True)
class Document:
    job_id: int
    document_number: int
    document_name: str
    document_format: str
    document_size: int
    document_digest: str
    spool_name: str | None
    last_document: bool
    time_at_creation: int
    document_state: DocumentState = DocumentState.PENDING  # a new document is pending
    document_state_reasons: tuple[str, ...] = ("none",)
    document_state_message: str = ""
    time_at_completed: int | None = None
    document_uri: str | None = None  # sent by reference: fetched by the service
    document_ticket: JobTicket = field(default_factory=JobTicket)

    @property
    def has_data(self) -> bool:
        return self.spool_name is not None

    def to_status(self) -> DocumentStatus:
        return DocumentStatus(
            job_id=self.job_id,
            document_number=self.document_number,
            document_name=self.document_name,
            document_format=self.document_format,
            document_state=self.document_state,
            document_state_reasons=list(self.document_state_reasons) or ["none"],
            document_size=self.document_size,
            document_uri=self.document_uri,
            document_ticket=self.document_ticket
            if self.document_ticket.model_dump(exclude_none=True)
            else None,
        )


_COLUMNS = [f.name for f in fields(Document)]


def _from_row(row: aiosqlite.Row) -> Document:
    values = dict(row)
    values["document_state"] = DocumentState(values["document_state"])
    values["document_state_reasons"] = tuple(values["document_state_reasons"].split())
    values["last_document"] = bool(values["last_document"])
    values["document_ticket"] = JobTicket.model_validate_json(values["document_ticket"] or "{}")
    return Document(**values)


def _to_column(name: str, value: Any) -> Any:
    if name == "document_state_reasons":
        return " ".join(value)
    if name == "last_document":
        return int(value)
    if name == "document_ticket":
        return value.model_dump_json(exclude_none=True)
    if isinstance(value, DocumentState):
        return value.value
    return value


# Jobs whose documents stay in memory: comfortably more than are active at once.
CACHED_JOBS = 4096

# Written only by the job state machine (JobStates.change_document), through `transition`.
STATE_COLUMNS = frozenset(
    {"document_state", "document_state_reasons", "document_state_message", "time_at_completed"}
)


class DocumentStore:
    """The documents table; a job's documents are served from a cache of them as last
    committed, kept by job (a job's documents are read together, and a job has few)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: RowCache[int, tuple[Document, ...]] = RowCache.of(
            db, DocumentStore, limit=CACHED_JOBS
        )

    async def insert(self, document: Document) -> Document:
        sql = (
            f"INSERT INTO documents ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _COLUMNS)}) RETURNING *"
        )
        row = await self.db.fetchone(sql, [_to_column(n, getattr(document, n)) for n in _COLUMNS])
        assert row is not None
        stored = _from_row(row)
        self._stage(stored)
        return stored

    def job_inserted(self, job_id: int) -> None:
        """A new job has no documents yet (AUTOINCREMENT never hands out an id twice):
        known without a read."""
        self._cache.stage(job_id, ())

    def job_deleted(self, job_id: int) -> None:
        """The job's documents went with it (ON DELETE CASCADE)."""
        self._cache.invalidate(job_id)

    async def get(self, job_id: int, document_number: int) -> Document | None:
        for document in await self._of_job(job_id):
            if document.document_number == document_number:
                return document
        return None

    async def list(self, job_id: int) -> builtins.list[Document]:
        return builtins.list(await self._of_job(job_id))

    async def awaiting_data(self, job_id: int) -> int:
        """Documents by reference still being fetched."""
        return sum(
            1
            for d in await self._of_job(job_id)
            if d.spool_name is None
            and d.document_uri is not None
            and d.document_state == DocumentState.PENDING
        )

    async def list_awaiting_data(self, job_id: int | None = None) -> builtins.list[Document]:
        sql = (
            "SELECT d.* FROM documents d JOIN jobs j ON j.job_id = d.job_id"
            " WHERE d.spool_name IS NULL AND d.document_uri IS NOT NULL"
            f" AND d.document_state = '{DocumentState.PENDING.value}' AND j.{JOB_ACTIVE}"
        )
        params: tuple[Any, ...] = ()
        if job_id is not None:
            sql += " AND d.job_id = ?"
            params = (job_id,)
        rows = await self.db.fetchall(sql, params)
        return [_from_row(r) for r in rows]

    async def update(self, document: Document, **changes: Any) -> Document:
        """Write the given columns of one document (none of STATE_COLUMNS)."""
        state = STATE_COLUMNS & set(changes)
        if state:
            raise ValueError(f"{sorted(state)} change through the job state machine")
        return await self._write(document, changes)

    async def transition(self, document: Document, **changes: Any) -> Document:
        """Write a change of the document's state (JobStates.change_document alone)."""
        return await self._write(document, changes)

    async def _write(self, document: Document, changes: dict[str, Any]) -> Document:
        if not changes:
            return document
        assignments = ", ".join(f"{name} = ?" for name in changes)
        params = [_to_column(n, v) for n, v in changes.items()]
        row = await self.db.fetchone(
            f"UPDATE documents SET {assignments} WHERE job_id = ? AND document_number = ?"
            " RETURNING *",
            [*params, document.job_id, document.document_number],
        )
        if row is None:
            self._cache.invalidate(document.job_id)
            return replace(document, **changes)
        stored = _from_row(row)
        self._stage(stored)
        return stored

    async def _of_job(self, job_id: int) -> tuple[Document, ...]:
        async def load() -> tuple[Document, ...]:
            rows = await self.db.fetchall(
                "SELECT * FROM documents WHERE job_id = ? ORDER BY document_number", (job_id,)
            )
            return tuple(_from_row(r) for r in rows)

        return await self._cache.get(job_id, load)

    def _stage(self, stored: Document) -> None:
        """After a write of one document: the job's documents with it, if they are known
        (else they are read again)."""
        found, known = self._cache.known(stored.job_id)
        if not found or known is None:
            self._cache.invalidate(stored.job_id)
            return
        others = [d for d in known if d.document_number != stored.document_number]
        documents = sorted([*others, stored], key=lambda d: d.document_number)
        self._cache.stage(stored.job_id, tuple(documents))
