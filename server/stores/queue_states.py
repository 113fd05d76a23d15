"""The service_states table: each queue's ServiceState (the seeds' element; a queue is
one of the seeds' Services) as administrators and the queue state machine
(server/queues/states.py) left it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import aiosqlite

from server.stores.cache import RowCache
from server.stores.db import Database
from stanzas.admin_ops import ServiceState


@dataclass(frozen=True)
class QueueState:
    """A queue's row; a queue without one is idle with no reasons."""

    printer_name: str
    service_state: ServiceState = ServiceState.IDLE
    service_state_reasons: tuple[str, ...] = ("none",)
    service_state_message: str = ""
    hands_out_work: bool = True  # derived: not paused, pausing or down
    hold_new_jobs_until: str | None = None  # HoldNewJobs in force: 'indefinite' …
    hold_new_jobs_until_time: int | None = None  # … or until this time
    auto_approve_devices: bool | None = None  # None: the system's setting applies
    admin_description: tuple[str, ...] = ()  # description elements administrators set
    time_state_changed: int = 0

    @property
    def holds_new_jobs(self) -> bool:
        return self.hold_new_jobs_until is not None or self.hold_new_jobs_until_time is not None


_COLUMNS = [f.name for f in fields(QueueState)]


def _from_row(row: aiosqlite.Row) -> QueueState:
    values = dict(row)
    values["service_state"] = ServiceState(values["service_state"])
    values["service_state_reasons"] = tuple(values["service_state_reasons"].split())
    values["hands_out_work"] = bool(values["hands_out_work"])
    values["admin_description"] = tuple(values["admin_description"].split())
    if values["auto_approve_devices"] is not None:
        values["auto_approve_devices"] = bool(values["auto_approve_devices"])
    return QueueState(**values)


def _to_column(name: str, value: Any) -> Any:
    if name in ("service_state_reasons", "admin_description"):
        return " ".join(value)
    if name in ("hands_out_work", "auto_approve_devices") and value is not None:
        return int(value)
    if isinstance(value, ServiceState):
        return value.value
    return value


class QueueStateStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: RowCache[str, QueueState] = RowCache.of(db, QueueStateStore)

    async def get(self, printer_name: str) -> QueueState:
        async def load() -> QueueState:
            row = await self.db.fetchone(
                "SELECT * FROM service_states WHERE printer_name = ?", (printer_name,)
            )
            return _from_row(row) if row else QueueState(printer_name)

        return await self._cache.get(printer_name, load)

    async def list_all(self) -> dict[str, QueueState]:
        rows = await self.db.fetchall("SELECT * FROM service_states")
        return {row["printer_name"]: _from_row(row) for row in rows}

    async def put(self, state: QueueState) -> QueueState:
        """Write the whole row (insert or replace); the queue must exist."""
        placeholders = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "printer_name")
        row = await self.db.fetchone(
            f"INSERT INTO service_states ({', '.join(_COLUMNS)}) VALUES ({placeholders})"
            f" ON CONFLICT (printer_name) DO UPDATE SET {updates} RETURNING *",
            [_to_column(c, getattr(state, c)) for c in _COLUMNS],
        )
        assert row is not None
        self._cache.stage(state.printer_name, _from_row(row))
        return state

    def queue_deleted(self, printer_name: str) -> None:
        """The queue's row went with the queue (ON DELETE CASCADE)."""
        self._cache.invalidate(printer_name)
