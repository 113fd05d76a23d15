"""The devices table: which manager account serves which device and queue."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from server.stores.cache import RowCache
from server.stores.db import Database
from stanzas.states import RegistrationState


@dataclass(frozen=True)
class Device:
    output_device_uuid: str
    jid: str  # bare JID of the manager account that registered it
    printer_name: str
    registration_state: RegistrationState
    time_registered: int
    time_last_seen: int


def _from_row(row: aiosqlite.Row) -> Device:
    values = dict(row)
    values["registration_state"] = RegistrationState(values["registration_state"])
    return Device(**values)


# A device's time-last-seen is written at most this often (seconds): see DeviceStore.seen.
SEEN_WRITE_INTERVAL = 30


class DeviceStore:
    """The devices table. Lookups by device, account and queue come from a cache: every
    handler of a manager's request, and every client request (is the sender a device
    account?), asks. Devices change rarely, so any write clears the whole cache."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: RowCache[tuple[str, str], Device | None] = RowCache.of(db, DeviceStore)
        # When this instance last heard from each device (epoch seconds), to the second;
        # the row has it to within SEEN_WRITE_INTERVAL.
        self._heard: dict[str, int] = {}

    async def seen(self, device: Device, now: int) -> None:
        """The device's manager sent a request. A manager reporting every few seconds
        must not cost a write each time: the time is kept here, and written to the row
        only once the row's is SEEN_WRITE_INTERVAL old, so what survives a restart of
        the service (and what another instance on the same database reads) is at most
        that much behind."""
        self._heard[device.output_device_uuid] = now
        if now - device.time_last_seen >= SEEN_WRITE_INTERVAL:
            await self.touch(device.output_device_uuid, now)

    def last_seen(self, device: Device) -> int:
        """When the device was last heard from, as precisely as this instance knows."""
        return max(device.time_last_seen, self._heard.get(device.output_device_uuid, 0))

    async def get(self, output_device_uuid: str) -> Device | None:
        return await self._one("output_device_uuid", output_device_uuid)

    async def get_by_printer(self, printer_name: str) -> Device | None:
        return await self._one("printer_name", printer_name)

    async def get_by_jid(self, jid: str) -> Device | None:
        return await self._one("jid", jid)

    async def list_all(self) -> list[Device]:
        rows = await self.db.fetchall("SELECT * FROM devices ORDER BY printer_name")
        return [_from_row(r) for r in rows]

    async def list_by_jid(self, jid: str) -> list[Device]:
        """The devices one manager account registered (index devices_by_jid)."""
        rows = await self.db.fetchall(
            "SELECT * FROM devices WHERE jid = ? ORDER BY printer_name", (jid,)
        )
        return [_from_row(r) for r in rows]

    async def upsert(self, device: Device) -> Device:
        row = await self.db.fetchone(
            "INSERT INTO devices (output_device_uuid, jid, printer_name, registration_state,"
            " time_registered, time_last_seen) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (output_device_uuid) DO UPDATE SET printer_name = excluded.printer_name,"
            " time_last_seen = excluded.time_last_seen RETURNING *",
            (
                device.output_device_uuid,
                device.jid,
                device.printer_name,
                device.registration_state.value,
                device.time_registered,
                device.time_last_seen,
            ),
        )
        self._cache.invalidate_all()
        assert row is not None
        return _from_row(row)

    async def touch(self, output_device_uuid: str, now: int) -> None:
        """The manager was heard from. Frequent with many devices: only this device's
        entries change (its uuid and queue name are unique; its account's may name
        another of the account's devices, so that one is read again)."""
        row = await self.db.fetchone(
            "UPDATE devices SET time_last_seen = ? WHERE output_device_uuid = ? RETURNING *",
            (now, output_device_uuid),
        )
        if row is None:
            return
        device = _from_row(row)
        self._cache.stage(("output_device_uuid", device.output_device_uuid), device)
        self._cache.stage(("printer_name", device.printer_name), device)
        self._cache.invalidate(("jid", device.jid))

    async def set_registration_state(
        self, output_device_uuid: str, state: RegistrationState
    ) -> None:
        """An administrator approved the device (seed 000 registration)."""
        await self.db.execute(
            "UPDATE devices SET registration_state = ? WHERE output_device_uuid = ?",
            (state.value, output_device_uuid),
        )
        self._cache.invalidate_all()

    async def delete(self, output_device_uuid: str) -> None:
        self._heard.pop(output_device_uuid, None)
        await self.db.execute(
            "DELETE FROM devices WHERE output_device_uuid = ?", (output_device_uuid,)
        )
        self._cache.invalidate_all()

    async def _one(self, column: str, value: str) -> Device | None:
        async def load() -> Device | None:
            # LIMIT 1: an account may have registered several devices (get_by_jid).
            row = await self.db.fetchone(
                f"SELECT * FROM devices WHERE {column} = ? LIMIT 1", (value,)
            )
            return _from_row(row) if row else None

        return await self._cache.get((column, value), load)
