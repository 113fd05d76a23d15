"""The job_schedule table: Promote<Service>Job's order and HoldNew<Service>Jobs' holds."""

from __future__ import annotations

from collections.abc import Iterable

from server.stores.db import Database
from stanzas.states import JobState


class JobScheduleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ranks(self, job_ids: Iterable[int]) -> dict[int, int]:
        """The explicit rank of each of these jobs that has one."""
        ids = list(job_ids)
        if not ids:
            return {}
        rows = await self.db.fetchall(
            "SELECT job_id, schedule_rank FROM job_schedule WHERE schedule_rank IS NOT NULL"
            f" AND job_id IN ({', '.join('?' for _ in ids)})",
            ids,
        )
        return {row["job_id"]: row["schedule_rank"] for row in rows}

    async def set_ranks(self, ranks: dict[int, int | None]) -> None:
        for job_id, rank in ranks.items():
            await self.db.execute(
                "INSERT INTO job_schedule (job_id, schedule_rank) VALUES (?, ?)"
                " ON CONFLICT (job_id) DO UPDATE SET schedule_rank = excluded.schedule_rank",
                (job_id, rank),
            )

    async def mark_held(self, job_id: int, held: bool) -> None:
        await self.db.execute(
            "INSERT INTO job_schedule (job_id, held_by_service) VALUES (?, ?)"
            " ON CONFLICT (job_id) DO UPDATE SET held_by_service = excluded.held_by_service",
            (job_id, int(held)),
        )

    async def held_by_service(self, printer_name: str) -> list[int]:
        """Jobs of the queue that HoldNewJobs made pending-held and that still are."""
        rows = await self.db.fetchall(
            "SELECT s.job_id FROM job_schedule s JOIN jobs j ON j.job_id = s.job_id"
            " WHERE s.held_by_service = 1 AND j.printer_name = ? AND j.job_state = ?"
            " ORDER BY s.job_id",
            (printer_name, JobState.PENDING_HELD.value),
        )
        return [row["job_id"] for row in rows]
