"""The devices table: which manager account serves which device and queue."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from server.db import Database
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


class DeviceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, output_device_uuid: str) -> Device | None:
        row = await self.db.fetchone(
            "SELECT * FROM devices WHERE output_device_uuid = ?", (output_device_uuid,)
        )
        return _from_row(row) if row else None

    async def get_by_printer(self, printer_name: str) -> Device | None:
        row = await self.db.fetchone(
            "SELECT * FROM devices WHERE printer_name = ?", (printer_name,)
        )
        return _from_row(row) if row else None

    async def get_by_jid(self, jid: str) -> Device | None:
        row = await self.db.fetchone("SELECT * FROM devices WHERE jid = ? LIMIT 1", (jid,))
        return _from_row(row) if row else None

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
        await self.db.execute(
            "INSERT INTO devices (output_device_uuid, jid, printer_name, registration_state,"
            " time_registered, time_last_seen) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (output_device_uuid) DO UPDATE SET printer_name = excluded.printer_name,"
            " time_last_seen = excluded.time_last_seen",
            (
                device.output_device_uuid,
                device.jid,
                device.printer_name,
                device.registration_state.value,
                device.time_registered,
                device.time_last_seen,
            ),
        )
        stored = await self.get(device.output_device_uuid)
        assert stored is not None
        return stored

    async def touch(self, output_device_uuid: str, now: int) -> None:
        await self.db.execute(
            "UPDATE devices SET time_last_seen = ? WHERE output_device_uuid = ?",
            (now, output_device_uuid),
        )

    async def set_registration_state(
        self, output_device_uuid: str, state: RegistrationState
    ) -> None:
        """An administrator approved the device (seed 000 registration)."""
        await self.db.execute(
            "UPDATE devices SET registration_state = ? WHERE output_device_uuid = ?",
            (state.value, output_device_uuid),
        )

    async def delete(self, output_device_uuid: str) -> None:
        await self.db.execute(
            "DELETE FROM devices WHERE output_device_uuid = ?", (output_device_uuid,)
        )
