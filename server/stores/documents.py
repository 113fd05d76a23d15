"""The documents table."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field, fields, replace
from typing import Any

import aiosqlite

from server.db import Database
from stanzas.groups import DocumentStatus, JobTicket
from stanzas.states import DocumentState


@dataclass(frozen=True)
class Document:
    job_id: int
    document_number: int
    document_name: str
    document_format: str
    document_state: DocumentState
    document_state_reasons: tuple[str, ...]
    document_state_message: str
    document_size: int
    document_digest: str
    spool_name: str | None
    last_document: bool
    time_at_creation: int
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


class DocumentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, document: Document) -> Document:
        sql = (
            f"INSERT INTO documents ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
        )
        await self.db.execute(sql, [_to_column(n, getattr(document, n)) for n in _COLUMNS])
        return document

    async def get(self, job_id: int, document_number: int) -> Document | None:
        row = await self.db.fetchone(
            "SELECT * FROM documents WHERE job_id = ? AND document_number = ?",
            (job_id, document_number),
        )
        return _from_row(row) if row else None

    async def list(self, job_id: int) -> list[Document]:
        rows = await self.db.fetchall(
            "SELECT * FROM documents WHERE job_id = ? ORDER BY document_number", (job_id,)
        )
        return [_from_row(r) for r in rows]

    async def awaiting_data(self, job_id: int) -> int:
        """Documents by reference still being fetched."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM documents WHERE job_id = ? AND spool_name IS NULL"
            " AND document_uri IS NOT NULL AND document_state = 'pending'",
            (job_id,),
        )
        return int(row["n"]) if row else 0

    async def list_awaiting_data(self, job_id: int | None = None) -> builtins.list[Document]:
        sql = (
            "SELECT d.* FROM documents d JOIN jobs j ON j.job_id = d.job_id"
            " WHERE d.spool_name IS NULL AND d.document_uri IS NOT NULL"
            " AND d.document_state = 'pending'"
            " AND j.job_state NOT IN ('canceled', 'aborted', 'completed')"
        )
        params: tuple[Any, ...] = ()
        if job_id is not None:
            sql += " AND d.job_id = ?"
            params = (job_id,)
        rows = await self.db.fetchall(sql, params)
        return [_from_row(r) for r in rows]

    async def update(self, document: Document, **changes: Any) -> Document:
        if not changes:
            return document
        assignments = ", ".join(f"{name} = ?" for name in changes)
        params = [_to_column(n, v) for n, v in changes.items()]
        await self.db.execute(
            f"UPDATE documents SET {assignments} WHERE job_id = ? AND document_number = ?",
            [*params, document.job_id, document.document_number],
        )
        return replace(document, **changes)
