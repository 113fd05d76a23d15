"""The quotas table: limits per user or group, per period, on one queue or all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.stores.db import Database

ALL_QUEUES = ""  # printer_name of a quota that counts every queue


@dataclass(frozen=True)
class Quota:
    subject_kind: str  # user | group
    subject: str  # a bare JID, or a group's name
    printer_name: str  # ALL_QUEUES, or the one queue it counts
    quota_period: str  # daily | weekly | monthly
    job_limit: int | None  # None: jobs are not limited
    impression_limit: int | None  # None: impressions are not limited


class QuotaStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, quota: Quota) -> None:
        await self.db.execute(
            "INSERT INTO quotas (subject_kind, subject, printer_name, quota_period, job_limit,"
            " impression_limit) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (subject_kind, subject, printer_name, quota_period) DO UPDATE SET"
            " job_limit = excluded.job_limit, impression_limit = excluded.impression_limit",
            (
                quota.subject_kind,
                quota.subject,
                quota.printer_name,
                quota.quota_period,
                quota.job_limit,
                quota.impression_limit,
            ),
        )

    async def delete(
        self, subject_kind: str, subject: str, printer_name: str, period: str | None
    ) -> int:
        """The quotas removed: of that period, or of every period with None."""
        sql = "DELETE FROM quotas WHERE subject_kind = ? AND subject = ? AND printer_name = ?"
        params: list[object] = [subject_kind, subject, printer_name]
        if period is not None:
            sql += " AND quota_period = ?"
            params.append(period)
        return await self.db.execute(sql, params)

    async def list_all(self) -> list[Quota]:
        rows = await self.db.fetchall(
            "SELECT * FROM quotas ORDER BY subject_kind DESC, subject, printer_name, quota_period"
        )
        return [Quota(**dict(row)) for row in rows]

    async def applying(self, user: str, groups: Sequence[str], printer_name: str) -> list[Quota]:
        """The quotas a job of `user` (a member of `groups`) on this queue counts against."""
        subjects = [("user", user), *(("group", g) for g in groups)]
        where = " OR ".join("(subject_kind = ? AND subject = ?)" for _ in subjects)
        params: list[object] = [v for pair in subjects for v in pair]
        rows = await self.db.fetchall(
            f"SELECT * FROM quotas WHERE ({where}) AND printer_name IN (?, ?)",
            [*params, ALL_QUEUES, printer_name],
        )
        return [Quota(**dict(row)) for row in rows]

    async def any(self) -> bool:
        return await self.db.fetchone("SELECT 1 FROM quotas LIMIT 1") is not None
