"""Who is in which group, for group quotas and usage by group.

The service's groups (issue 13) plug in here; until they do, `NoGroups` is used and
group quotas match nobody. The interface is all accounting needs: the groups of one
user (a quota check), and every group with its members (usage by group).
"""

from __future__ import annotations

from typing import Protocol


class Groups(Protocol):
    async def groups_of(self, user: str) -> list[str]: ...

    async def all_groups(self) -> dict[str, list[str]]: ...


class NoGroups:
    async def groups_of(self, user: str) -> list[str]:
        return []

    async def all_groups(self) -> dict[str, list[str]]:
        return {}
