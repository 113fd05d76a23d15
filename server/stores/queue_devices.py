"""The queue_devices table: which devices serve which queue (INFRA: the Output Devices
of an Infrastructure Printer; a device may serve several queues)."""

from __future__ import annotations

from server.stores.cache import RowCache
from server.stores.db import Database


class QueueDeviceStore:
    """Both directions come from a cache: every work notification and every fetch asks.
    Memberships change rarely (registration, administrators), so a write clears it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: RowCache[tuple[str, str], tuple[str, ...]] = RowCache.of(db, QueueDeviceStore)

    async def devices_of(self, printer_name: str) -> tuple[str, ...]:
        """The output-device-uuids serving the queue, in the order they joined it."""
        return await self._list("printer_name", printer_name, "output_device_uuid")

    async def queues_of(self, output_device_uuid: str) -> tuple[str, ...]:
        """The queues the device serves, in the order it joined them."""
        return await self._list("output_device_uuid", output_device_uuid, "printer_name")

    async def add(self, printer_name: str, output_device_uuid: str, now: int) -> bool:
        """Whether the device was not a member yet."""
        row = await self.db.fetchone(
            "INSERT INTO queue_devices (printer_name, output_device_uuid, time_added)"
            " VALUES (?, ?, ?) ON CONFLICT (printer_name, output_device_uuid) DO NOTHING"
            " RETURNING printer_name",
            (printer_name, output_device_uuid, now),
        )
        self._cache.invalidate_all()
        return row is not None

    async def remove(self, printer_name: str, output_device_uuid: str) -> bool:
        """Whether the device was a member."""
        changed = await self.db.execute(
            "DELETE FROM queue_devices WHERE printer_name = ? AND output_device_uuid = ?",
            (printer_name, output_device_uuid),
        )
        self._cache.invalidate_all()
        return changed > 0

    def device_deleted(self) -> None:
        """A device's memberships went with it (ON DELETE CASCADE)."""
        self._cache.invalidate_all()

    def queue_deleted(self) -> None:
        """A queue's memberships went with it (ON DELETE CASCADE)."""
        self._cache.invalidate_all()

    async def _list(self, column: str, value: str, other: str) -> tuple[str, ...]:
        async def load() -> tuple[str, ...]:
            rows = await self.db.fetchall(
                f"SELECT {other} FROM queue_devices WHERE {column} = ?"
                f" ORDER BY time_added, {other}",
                (value,),
            )
            return tuple(row[other] for row in rows)

        return await self._cache.get((column, value), load)
