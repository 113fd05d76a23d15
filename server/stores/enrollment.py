"""The enrollment_codes table: one-time codes that enrol a device in a queue."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from server.stores.db import Database


@dataclass(frozen=True)
class EnrollmentCode:
    code_hash: str
    printer_name: str
    issued_by: str
    time_issued: int
    time_expires: int
    time_used: int | None = None
    used_by_device: str | None = None


def _from_row(row: aiosqlite.Row) -> EnrollmentCode:
    return EnrollmentCode(**dict(row))


class EnrollmentCodeStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, code: EnrollmentCode) -> None:
        await self.db.execute(
            "INSERT INTO enrollment_codes (code_hash, printer_name, issued_by, time_issued,"
            " time_expires) VALUES (?, ?, ?, ?, ?)",
            (
                code.code_hash,
                code.printer_name,
                code.issued_by,
                code.time_issued,
                code.time_expires,
            ),
        )

    async def redeem(
        self, code_hash: str, printer_name: str, output_device_uuid: str, now: int
    ) -> EnrollmentCode | None:
        """Use the code for this queue and device, once: one conditional UPDATE, so of
        two registrations presenting the same code only one gets it. None: no such
        unused, unexpired code for this queue."""
        row = await self.db.fetchone(
            "UPDATE enrollment_codes SET time_used = ?, used_by_device = ?"
            " WHERE code_hash = ? AND printer_name = ? AND time_used IS NULL"
            " AND time_expires > ? RETURNING *",
            (now, output_device_uuid, code_hash, printer_name, now),
        )
        return _from_row(row) if row else None

    async def list_for(self, printer_name: str) -> list[EnrollmentCode]:
        rows = await self.db.fetchall(
            "SELECT * FROM enrollment_codes WHERE printer_name = ? ORDER BY time_issued",
            (printer_name,),
        )
        return [_from_row(r) for r in rows]

    async def delete_queue(self, printer_name: str) -> None:
        """DeleteService: the queue's codes go with it."""
        await self.db.execute(
            "DELETE FROM enrollment_codes WHERE printer_name = ?", (printer_name,)
        )

    async def purge(self, before: int) -> int:
        """Forget codes that expired (used or not) before `before`."""
        return await self.db.execute(
            "DELETE FROM enrollment_codes WHERE time_expires < ?", (before,)
        )
