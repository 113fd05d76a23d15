"""Usage over a period, by user, queue or group: sums over job_usage (one row per ended
job, written in the transaction that ends it)."""

from __future__ import annotations

from server.accounting.groups import Groups
from server.stores.usage import Usage, UsageStore


async def report(
    usage: UsageStore, groups: Groups, since: int, until: int, by: str
) -> dict[str, Usage]:
    """What the jobs that ended in [since, until) used, by `by` (user, queue, group). By
    group, each group's members as they are now; a user in two groups counts in both."""
    if by != "group":
        return await usage.totals(since, until, by)
    per_user = await usage.totals(since, until, "user")
    totals: dict[str, Usage] = {}
    for group, members in sorted((await groups.all_groups()).items()):
        used = [per_user[m] for m in members if m in per_user]
        if used:
            total = Usage()
            for one in used:
                total = total + one
            totals[group] = total
    return totals
