"""The chat front end's own tables (server/chatprint/): users' default queues, and the
conversation each job shared by chat came from."""

from __future__ import annotations

from dataclasses import dataclass

from server.stores.db import Database


class ChatDefaultStore:
    """chat_defaults: each user's default queue (bare JID -> printer-name)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, jid: str) -> str | None:
        row = await self.db.fetchone("SELECT printer_name FROM chat_defaults WHERE jid = ?", (jid,))
        return str(row["printer_name"]) if row else None

    async def set(self, jid: str, printer_name: str | None, now: int) -> None:
        if printer_name is None:
            await self.db.execute("DELETE FROM chat_defaults WHERE jid = ?", (jid,))
            return
        await self.db.execute(
            "INSERT INTO chat_defaults (jid, printer_name, time_set) VALUES (?, ?, ?)"
            " ON CONFLICT (jid) DO UPDATE SET printer_name = excluded.printer_name,"
            " time_set = excluded.time_set",
            (jid, printer_name, now),
        )


@dataclass(frozen=True)
class ChatJob:
    job_id: int
    jid: str  # the full JID that shared the file
    address: str  # the service's address, or a queue's, that it was shared with
    time_at_creation: int


class ChatJobStore:
    """chat_jobs: where each chat job's notices go."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, job: ChatJob) -> None:
        await self.db.execute(
            "INSERT INTO chat_jobs (job_id, jid, address, time_at_creation) VALUES (?, ?, ?, ?)",
            (job.job_id, job.jid, job.address, job.time_at_creation),
        )

    async def unfinished(self) -> list[ChatJob]:
        """The chat jobs that have not ended, oldest first (their notices are to come)."""
        rows = await self.db.fetchall(
            "SELECT c.job_id, c.jid, c.address, c.time_at_creation FROM chat_jobs c"
            " JOIN jobs j ON j.job_id = c.job_id"
            " WHERE j.job_state NOT IN ('completed', 'canceled', 'aborted')"
            " ORDER BY c.job_id"
        )
        return [ChatJob(**dict(row)) for row in rows]
