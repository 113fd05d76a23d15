"""The devices table: which manager account serves which device, and the device's own
state and capabilities as it last reported them."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import aiosqlite

from server.stores.cache import RowCache
from server.stores.db import Database
from server.stores.queue_devices import QueueDeviceStore
from stanzas.groups import Capabilities, ServiceStatus
from stanzas.states import PrinterState, RegistrationState


@dataclass(frozen=True)
class Device:
    output_device_uuid: str
    jid: str  # bare JID of the manager account that registered it
    printer_name: str  # the queue it registered for (queue_devices: every queue it serves)
    registration_state: RegistrationState
    time_registered: int
    time_last_seen: int
    # How users and administrators name it (`cirrus release 12 --at lobby`), unique; the
    # job's output-device-assigned. None only for rows written before registration named it.
    device_name: str | None = None
    is_paused: bool = False  # an operator paused it: it is handed no new work
    printer_info: str = ""
    printer_location: str = ""
    printer_state: PrinterState = PrinterState.IDLE
    printer_state_reasons: tuple[str, ...] = ("none",)
    printer_state_message: str = ""
    printer_is_accepting_jobs: bool = True
    capabilities: Capabilities = field(default_factory=Capabilities)
    time_offline: int | None = None  # when its manager went away; None while online

    @property
    def name(self) -> str:
        return self.device_name or self.printer_name

    @property
    def approved(self) -> bool:
        return self.registration_state == RegistrationState.APPROVED

    def to_status(self) -> ServiceStatus:
        return ServiceStatus(
            printer_state=self.printer_state,
            printer_state_reasons=list(self.printer_state_reasons) or ["none"],
            printer_state_message=self.printer_state_message or None,
            printer_is_accepting_jobs=self.printer_is_accepting_jobs,
        )


_COLUMNS = [f.name for f in fields(Device)]
# What a registration writes again on every connect of a device already known: not its
# account (a device keeps its first one), its approval or its name.
_REGISTERED_AGAIN = ("printer_name", "time_last_seen")


def _from_row(row: aiosqlite.Row) -> Device:
    values = dict(row)
    values["registration_state"] = RegistrationState(values["registration_state"])
    values["printer_state"] = PrinterState(values["printer_state"])
    values["printer_state_reasons"] = tuple(values["printer_state_reasons"].split())
    values["printer_is_accepting_jobs"] = bool(values["printer_is_accepting_jobs"])
    values["is_paused"] = bool(values["is_paused"])
    values["capabilities"] = Capabilities.model_validate_json(values["capabilities"] or "{}")
    return Device(**values)


def _to_column(name: str, value: Any) -> Any:
    if name == "printer_state_reasons":
        return " ".join(value)
    if name == "capabilities":
        return value.model_dump_json(exclude_none=True)
    if name in ("printer_is_accepting_jobs", "is_paused"):
        return int(value)
    if isinstance(value, (PrinterState, RegistrationState)):
        return value.value
    return value


# A device's time-last-seen is written at most this often (seconds): see DeviceStore.seen.
SEEN_WRITE_INTERVAL = 30


class DeviceStore:
    """The devices table. Lookups by device, account, name and queue come from a cache:
    every handler of a manager's request, and every client request (is the sender a
    device account?), asks. Devices change rarely, so most writes clear the whole cache."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: RowCache[tuple[str, str], Device | None] = RowCache.of(db, DeviceStore)
        self._all: RowCache[str, list[Device]] = RowCache.of(db, _AllDevices)
        self._memberships = QueueDeviceStore(db)  # they hang off devices (ON DELETE CASCADE)
        # When this instance last heard from each device (epoch seconds), to the second;
        # the row has it to within SEEN_WRITE_INTERVAL.
        self._heard: dict[str, int] = {}

    async def seen(self, device: Device, now: int) -> None:
        """The device's manager sent a request. A manager reporting every few seconds
        must not cost a write each time: the time is kept here, and written to the row
        only once the row's is SEEN_WRITE_INTERVAL old, so what survives a restart of
        the service (and what another instance on the same database reads) is at most
        that much behind. A device marked offline is written at once: it is back (the
        offline redirection reads time-offline)."""
        self._heard[device.output_device_uuid] = now
        if device.time_offline is not None or now - device.time_last_seen >= SEEN_WRITE_INTERVAL:
            await self.touch(device.output_device_uuid, now)

    def last_seen(self, device: Device) -> int:
        """When the device was last heard from, as precisely as this instance knows."""
        return max(device.time_last_seen, self._heard.get(device.output_device_uuid, 0))

    async def get(self, output_device_uuid: str) -> Device | None:
        return await self._one("output_device_uuid", output_device_uuid)

    async def get_by_name(self, device_name: str) -> Device | None:
        return await self._one("device_name", device_name)

    async def get_by_printer(self, printer_name: str) -> Device | None:
        """A device that registered for the queue (queue_devices says which serve it)."""
        return await self._one("printer_name", printer_name)

    async def get_by_jid(self, jid: str) -> Device | None:
        return await self._one("jid", jid)

    async def list_all(self) -> list[Device]:
        async def load() -> list[Device]:
            rows = await self.db.fetchall(
                "SELECT * FROM devices ORDER BY COALESCE(device_name, printer_name)"
            )
            return [_from_row(r) for r in rows]

        return await self._all.get("all", load)

    async def list_by_jid(self, jid: str) -> list[Device]:
        """The devices one manager account registered (index devices_by_jid)."""
        return [d for d in await self.list_all() if d.jid == jid]

    async def upsert(self, device: Device) -> Device:
        names = list(_COLUMNS)
        updates = ", ".join(f"{n} = excluded.{n}" for n in _REGISTERED_AGAIN)
        row = await self.db.fetchone(
            f"INSERT INTO devices ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
            f" ON CONFLICT (output_device_uuid) DO UPDATE SET {updates} RETURNING *",
            [_to_column(n, getattr(device, n)) for n in names],
        )
        self._changed()
        assert row is not None
        return _from_row(row)

    async def update(self, device: Device, **changes: Any) -> Device:
        """Write the given columns of one device (its reported state, capabilities,
        description, pause, name); returns it as now stored."""
        if not changes:
            return device
        unknown = set(changes) - set(_COLUMNS)
        if unknown or "output_device_uuid" in changes:
            raise ValueError(f"not device columns: {sorted(unknown) or ['output_device_uuid']}")
        assignments = ", ".join(f"{name} = ?" for name in changes)
        row = await self.db.fetchone(
            f"UPDATE devices SET {assignments} WHERE output_device_uuid = ? RETURNING *",
            [*(_to_column(n, v) for n, v in changes.items()), device.output_device_uuid],
        )
        self._changed()
        return _from_row(row) if row is not None else device

    async def touch(self, output_device_uuid: str, now: int) -> None:
        """The manager was heard from (so it is online). Frequent with many devices:
        only this device's entries change (its uuid and name are unique keys of it; its
        account's and its queue's may name another device, so those are read again)."""
        row = await self.db.fetchone(
            "UPDATE devices SET time_last_seen = ?, time_offline = NULL"
            " WHERE output_device_uuid = ? RETURNING *",
            (now, output_device_uuid),
        )
        if row is None:
            return
        device = _from_row(row)
        self._cache.stage(("output_device_uuid", device.output_device_uuid), device)
        if device.device_name is not None:
            self._cache.stage(("device_name", device.device_name), device)
        self._cache.invalidate(("printer_name", device.printer_name))
        self._cache.invalidate(("jid", device.jid))
        self._all.invalidate("all")

    async def set_registration_state(
        self, output_device_uuid: str, state: RegistrationState
    ) -> None:
        """An administrator approved the device (seed 000 registration)."""
        await self.db.execute(
            "UPDATE devices SET registration_state = ? WHERE output_device_uuid = ?",
            (state.value, output_device_uuid),
        )
        self._changed()

    async def delete(self, output_device_uuid: str) -> None:
        """The device's memberships go with it (ON DELETE CASCADE)."""
        self._heard.pop(output_device_uuid, None)
        await self.db.execute(
            "DELETE FROM devices WHERE output_device_uuid = ?", (output_device_uuid,)
        )
        self._changed()
        self._memberships.device_deleted()

    def _changed(self) -> None:
        self._cache.invalidate_all()
        self._all.invalidate_all()

    async def _one(self, column: str, value: str) -> Device | None:
        async def load() -> Device | None:
            # LIMIT 1: an account may have registered several devices (get_by_jid), and
            # several devices may have registered for one queue (get_by_printer).
            row = await self.db.fetchone(
                f"SELECT * FROM devices WHERE {column} = ?"
                " ORDER BY time_registered, output_device_uuid LIMIT 1",
                (value,),
            )
            return _from_row(row) if row else None

        return await self._cache.get((column, value), load)


class _AllDevices:
    """The key of the cache of the whole devices list (RowCache.of keys caches by class)."""
