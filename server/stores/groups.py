"""The user_groups table: the service's own groups of users, for queue permissions."""

from __future__ import annotations

from collections.abc import Iterable

from server.stores.cache import RowCache
from server.stores.db import Database


class GroupStore:
    """Which groups an account is in comes from a cache: every client request on a queue
    with permissions asks. Groups change rarely, so a write clears it."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: RowCache[str, frozenset[str]] = RowCache.of(db, GroupStore)

    async def groups_of(self, member: str) -> frozenset[str]:
        async def load() -> frozenset[str]:
            rows = await self.db.fetchall(
                "SELECT group_name FROM user_groups WHERE member = ?", (member,)
            )
            return frozenset(row["group_name"] for row in rows)

        return await self._cache.get(member, load)

    async def all_groups(self) -> dict[str, list[str]]:
        """Every group with its members (accounting's Groups interface)."""
        return await self.all()

    async def all(self) -> dict[str, list[str]]:
        """Every group with its members, by name."""
        rows = await self.db.fetchall(
            "SELECT group_name, member FROM user_groups ORDER BY group_name, member"
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["group_name"], []).append(row["member"])
        return found

    async def add(self, group_name: str, members: Iterable[str]) -> None:
        for member in members:
            await self.db.execute(
                "INSERT INTO user_groups (group_name, member) VALUES (?, ?)"
                " ON CONFLICT (group_name, member) DO NOTHING",
                (group_name, member),
            )
        self._cache.invalidate_all()

    async def remove(self, group_name: str, members: Iterable[str] | None) -> None:
        """The members named, or (None) the whole group."""
        if members is None:
            await self.db.execute("DELETE FROM user_groups WHERE group_name = ?", (group_name,))
        else:
            for member in members:
                await self.db.execute(
                    "DELETE FROM user_groups WHERE group_name = ? AND member = ?",
                    (group_name, member),
                )
        self._cache.invalidate_all()
