"""Administrators' own tables: alert subscriptions, the system's settable elements, and
who is subscribed to the service's presence."""

from __future__ import annotations

import json
from typing import Any

from server.stores.db import Database


class AlertStore:
    """alert_subscriptions: who receives which alerts as chat messages."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, jid: str) -> list[str]:
        row = await self.db.fetchone(
            "SELECT alert_events FROM alert_subscriptions WHERE jid = ?", (jid,)
        )
        return row["alert_events"].split() if row else []

    async def set(self, jid: str, events: list[str]) -> None:
        if not events:
            await self.db.execute("DELETE FROM alert_subscriptions WHERE jid = ?", (jid,))
            return
        await self.db.execute(
            "INSERT INTO alert_subscriptions (jid, alert_events) VALUES (?, ?)"
            " ON CONFLICT (jid) DO UPDATE SET alert_events = excluded.alert_events",
            (jid, " ".join(events)),
        )

    async def subscribers(self, event: str) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT jid, alert_events FROM alert_subscriptions ORDER BY jid"
        )
        return [row["jid"] for row in rows if event in row["alert_events"].split()]


class SystemElementStore:
    """system_elements: values set with SetSystemElements, by element name."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self) -> dict[str, Any]:
        rows = await self.db.fetchall("SELECT name, value FROM system_elements")
        return {row["name"]: json.loads(row["value"]) for row in rows}

    async def put(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if value is None:
                await self.db.execute("DELETE FROM system_elements WHERE name = ?", (name,))
                continue
            await self.db.execute(
                "INSERT INTO system_elements (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, json.dumps(value)),
            )


class PresenceSubscriberStore:
    """presence_subscribers: the bare JIDs the service sends its presence to."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def all(self) -> list[str]:
        rows = await self.db.fetchall("SELECT jid FROM presence_subscribers ORDER BY jid")
        return [row["jid"] for row in rows]

    async def add(self, jid: str, now: int) -> None:
        await self.db.execute(
            "INSERT INTO presence_subscribers (jid, time_subscribed) VALUES (?, ?)"
            " ON CONFLICT (jid) DO NOTHING",
            (jid, now),
        )

    async def remove(self, jid: str) -> None:
        await self.db.execute("DELETE FROM presence_subscribers WHERE jid = ?", (jid,))
