"""The queues table: each queue is one of the seeds' Cloud Imaging Services."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import aiosqlite

from server.stores.cache import RowCache
from server.stores.db import Database
from server.stores.queue_devices import QueueDeviceStore
from server.stores.queue_states import QueueStateStore
from stanzas.groups import Capabilities, QueueConfiguration, ServiceStatus
from stanzas.states import PrinterState


@dataclass(frozen=True)
class Queue:
    """A queue; its printer state and capabilities are rolled up from its devices'
    (server/devices/rollup.py), the rest is the queue's own."""

    printer_name: str
    service_type: str
    printer_info: str
    printer_location: str
    printer_state: PrinterState
    printer_state_reasons: tuple[str, ...]
    printer_state_message: str
    printer_is_accepting_jobs: bool  # its devices' (one of them accepts)
    is_accepting_jobs: bool  # set by administrators
    capabilities: Capabilities
    time_created: int
    configuration: QueueConfiguration = field(default_factory=QueueConfiguration)

    def to_status(self) -> ServiceStatus:
        return ServiceStatus(
            printer_state=self.printer_state,
            printer_state_reasons=list(self.printer_state_reasons) or ["none"],
            printer_state_message=self.printer_state_message or None,
            printer_is_accepting_jobs=self.printer_is_accepting_jobs and self.is_accepting_jobs,
        )


_FIELDS = frozenset(f.name for f in fields(Queue))


def _from_row(row: aiosqlite.Row) -> Queue:
    # Only the columns Queue has: a test may read a database still at an older schema.
    values = {k: v for k, v in dict(row).items() if k in _FIELDS}
    values["printer_state"] = PrinterState(values["printer_state"])
    values["printer_state_reasons"] = tuple(values["printer_state_reasons"].split())
    values["printer_is_accepting_jobs"] = bool(values["printer_is_accepting_jobs"])
    values["is_accepting_jobs"] = bool(values["is_accepting_jobs"])
    values["capabilities"] = Capabilities.model_validate_json(values["capabilities"] or "{}")
    values["configuration"] = QueueConfiguration.model_validate_json(
        values["configuration"] or "{}"
    )
    return Queue(**values)


def _to_column(name: str, value: Any) -> Any:
    if name == "printer_state_reasons":
        return " ".join(value)
    if name in ("capabilities", "configuration"):
        return value.model_dump_json(exclude_none=True)
    if name in ("printer_is_accepting_jobs", "is_accepting_jobs"):
        return int(value)
    if isinstance(value, PrinterState):
        return value.value
    return value


class QueueStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: RowCache[str, Queue | None] = RowCache.of(db, QueueStore)
        # Their rows hang off queues (ON DELETE CASCADE).
        self._states = QueueStateStore(db)
        self._memberships = QueueDeviceStore(db)

    async def get(self, printer_name: str) -> Queue | None:
        async def load() -> Queue | None:
            row = await self.db.fetchone(
                "SELECT * FROM queues WHERE printer_name = ?", (printer_name,)
            )
            return _from_row(row) if row else None

        return await self._cache.get(printer_name, load)

    async def list_all(self) -> list[Queue]:
        rows = await self.db.fetchall("SELECT * FROM queues ORDER BY printer_name")
        return [_from_row(r) for r in rows]

    async def create(self, printer_name: str, service_type: str, now: int) -> Queue:
        row = await self.db.fetchone(
            "INSERT INTO queues (printer_name, service_type, time_created) VALUES (?, ?, ?)"
            " ON CONFLICT (printer_name) DO NOTHING RETURNING *",
            (printer_name, service_type, now),
        )
        if row is not None:  # new (an existing queue returns no row)
            self._cache.stage(printer_name, _from_row(row))
        queue = await self.get(printer_name)
        assert queue is not None
        return queue

    async def update(self, queue: Queue, **changes: Any) -> Queue:
        if not changes:
            return queue
        assignments = ", ".join(f"{name} = ?" for name in changes)
        params = [_to_column(n, v) for n, v in changes.items()]
        row = await self.db.fetchone(
            f"UPDATE queues SET {assignments} WHERE printer_name = ? RETURNING *",
            [*params, queue.printer_name],
        )
        if row is None:
            self._cache.invalidate(queue.printer_name)
            return replace(queue, **changes)
        stored = _from_row(row)
        self._cache.stage(queue.printer_name, stored)
        return stored

    async def delete(self, printer_name: str) -> None:
        """DeleteService: the queue row (its jobs must be gone first); its devices stay,
        no longer serving it."""
        await self.db.execute("DELETE FROM queues WHERE printer_name = ?", (printer_name,))
        self._cache.stage(printer_name, None)
        self._states.queue_deleted(printer_name)
        self._memberships.queue_deleted()
