"""The job_usage table: what each ended job used (accounting), and the sums over it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server.stores.db import Database


@dataclass(frozen=True)
class Usage:
    """What some jobs used: the sums of their job_usage rows."""

    jobs: int = 0
    documents: int = 0
    impressions: int = 0
    sheets: int = 0
    octets: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.jobs + other.jobs,
            self.documents + other.documents,
            self.impressions + other.impressions,
            self.sheets + other.sheets,
            self.octets + other.octets,
        )


_SUMS = (
    "COUNT(*) AS jobs, COALESCE(SUM(number_of_documents), 0) AS documents,"
    " COALESCE(SUM(impressions), 0) AS impressions, COALESCE(SUM(sheets), 0) AS sheets,"
    " COALESCE(SUM(octets), 0) AS octets"
)
# What `totals` may group by: a column of the table each.
GROUPINGS = {"user": "owner", "queue": "printer_name"}


def _usage(row: object) -> Usage:
    r: dict[str, int] = dict(row)  # type: ignore[call-overload]
    return Usage(r["jobs"], r["documents"], r["impressions"], r["sheets"], r["octets"])


class UsageStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self,
        *,
        job_id: int,
        job_uuid: str,
        owner: str,
        printer_name: str,
        service_type: str,
        job_state: str,
        documents: int,
        impressions: int,
        sheets: int,
        octets: int,
        time_at_creation: int,
        time_at_completed: int,
    ) -> None:
        """A job ended (the job state machine, in the transaction that ends it)."""
        await self.db.execute(
            "INSERT INTO job_usage (job_id, job_uuid, owner, printer_name, service_type,"
            " job_state, number_of_documents, impressions, sheets, octets, time_at_creation,"
            " time_at_completed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (job_id) DO NOTHING",
            (
                job_id,
                job_uuid,
                owner,
                printer_name,
                service_type,
                job_state,
                documents,
                impressions,
                sheets,
                octets,
                time_at_creation,
                time_at_completed,
            ),
        )

    async def totals(self, since: int, until: int, by: str) -> dict[str, Usage]:
        """Sums of the jobs that ended in [since, until), by user or queue."""
        column = GROUPINGS[by]
        rows = await self.db.fetchall(
            f"SELECT {column} AS name, {_SUMS} FROM job_usage"
            " WHERE time_at_completed >= ? AND time_at_completed < ?"
            f" GROUP BY {column} ORDER BY {column}",
            (since, until),
        )
        return {row["name"]: _usage(row) for row in rows}

    async def used(self, owners: Sequence[str], printer_name: str | None, since: int) -> Usage:
        """What these users' jobs that ended since `since` used (on one queue, or on
        all with None)."""
        if not owners:
            return Usage()
        marks = ", ".join("?" for _ in owners)
        sql = f"SELECT {_SUMS} FROM job_usage WHERE owner IN ({marks}) AND time_at_completed >= ?"
        params: list[object] = [*owners, since]
        if printer_name is not None:
            sql += " AND printer_name = ?"
            params.append(printer_name)
        row = await self.db.fetchone(sql, params)
        return _usage(row) if row else Usage()
