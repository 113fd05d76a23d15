"""Quotas: at most so many jobs or impressions per period, for a user or a group, on one
queue or on all. A job is checked when it is created: one that would go over is held
(pending-held, account-limit-reached) or refused, as its queue's quota-exceeded-action
says, and a held one is released when its period resets or an administrator raises (or
removes) the quota.

What counts in a period: the jobs that ended in it (job_usage) and the jobs that have
not ended yet, with the impressions they have printed so far. A job that starts within
the quota prints whole; the one after it is held.

The quotas are few and read at every job's creation, so they are kept in memory and
read again when one changes here (and at each housekeeping round, for the changes of
another instance on a shared database).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from server.accounting.groups import Groups
from server.accounting.periods import Period, next_start, start_of
from server.jobs.states import JobStates
from server.stores.jobs import Job, JobStore
from server.stores.quotas import ALL_QUEUES, Quota, QuotaStore
from server.stores.usage import UsageStore
from stanzas.states import JobState
from stanzas.states import JobStateReason as R

HOLD, REFUSE = "hold-job", "refuse-job"  # a queue's quota-exceeded-action
_UNIT = {"daily": "day", "weekly": "week", "monthly": "month"}


@dataclass(frozen=True)
class Exceeded:
    """The first quota a new job would go over, and by how much it is used."""

    quota: Quota
    used: int
    limit: int
    what: str  # jobs | impressions
    resets: int  # when its period starts again

    @property
    def message(self) -> str:
        who = ("group " if self.quota.subject_kind == "group" else "") + self.quota.subject
        where = f" on {self.quota.printer_name}" if self.quota.printer_name else ""
        resets = datetime.fromtimestamp(self.resets).strftime("%Y-%m-%d %H:%M")
        return (
            f"{who} has used {self.used} of {self.limit} {self.what}{where} this "
            f"{_UNIT[self.quota.quota_period]} (quota); "
            f"it resets {resets}, or an administrator raises the quota"
        )


class Quotas:
    def __init__(
        self,
        store: QuotaStore,
        usage: UsageStore,
        jobs: JobStore,
        job_states: JobStates,
        groups: Groups,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.usage = usage
        self.jobs = jobs
        self.job_states = job_states
        self.groups = groups
        self.clock = clock
        self._quotas: list[Quota] = []
        # The last release pass, and the first reset of a period after it: then the
        # next pass is due (the first one at start, for resets while the service was off).
        self._released_at = 0.0
        self._next_reset = 0.0

    async def load(self) -> None:
        self._quotas = await self.store.list_all()
        self._next_reset = min(
            (next_start(Period(q.quota_period), self._released_at) for q in self._quotas),
            default=0.0,
        )

    @property
    def all(self) -> list[Quota]:
        return list(self._quotas)

    async def put(self, quota: Quota) -> None:
        await self.store.put(quota)
        await self.load()

    async def delete(self, kind: str, subject: str, printer_name: str, period: str | None) -> bool:
        found = await self.store.delete(kind, subject, printer_name, period) > 0
        await self.load()
        return found

    # --- the check ------------------------------------------------------------------------
    async def exceeded(
        self, user: str, printer_name: str, *, excluding: int | None = None
    ) -> Exceeded | None:
        """The quota a new job of `user` on this queue would go over, or None. Costs
        nothing while no quota is set."""
        if not self._quotas:
            return None
        groups = await self.groups.groups_of(user)
        subjects = {("user", user), *(("group", g) for g in groups)}
        now = self.clock()
        for quota in self._quotas:
            if (quota.subject_kind, quota.subject) not in subjects:
                continue
            if quota.printer_name not in (ALL_QUEUES, printer_name):
                continue
            over = await self._over(quota, now, excluding)
            if over is not None:
                return over
        return None

    async def used(
        self, quota: Quota, now: float, *, excluding: int | None = None
    ) -> tuple[int, int]:
        """(jobs, impressions) counted against the quota in its current period: the jobs
        that ended in it, and those not ended yet with what they printed so far."""
        members = (
            [quota.subject]
            if quota.subject_kind == "user"
            else (await self.groups.all_groups()).get(quota.subject, [])
        )
        scope = quota.printer_name or None
        ended = await self.usage.used(members, scope, start_of(Period(quota.quota_period), now))
        active, printed = await self.jobs.active_usage(members, scope, excluding=excluding)
        return ended.jobs + active, ended.impressions + printed

    async def _over(self, quota: Quota, now: float, excluding: int | None) -> Exceeded | None:
        jobs, impressions = await self.used(quota, now, excluding=excluding)
        resets = next_start(Period(quota.quota_period), now)
        if quota.job_limit is not None and jobs >= quota.job_limit:
            return Exceeded(quota, jobs, quota.job_limit, "jobs", resets)
        if quota.impression_limit is not None and impressions >= quota.impression_limit:
            return Exceeded(quota, impressions, quota.impression_limit, "impressions", resets)
        return None

    # --- release ---------------------------------------------------------------------------
    def due(self) -> bool:
        """Whether a period has reset since the quotas were last read."""
        return bool(self._quotas) and self.clock() >= self._next_reset

    async def release_held(self) -> list[Job]:
        """Release the jobs held over a quota that they are within now (a period reset,
        a quota raised or removed), oldest first: each released job counts for the next."""
        self._released_at = self.clock()
        await self.load()
        released = []
        for job in await self.jobs.list_held_for(R.ACCOUNT_LIMIT_REACHED):
            if await self.exceeded(job.owner, job.printer_name, excluding=job.job_id):
                continue
            still_held = R.JOB_HOLD_UNTIL_SPECIFIED in job.job_state_reasons
            released.append(
                await self.job_states.change(
                    job,
                    JobState.PENDING_HELD if still_held else JobState.PENDING,
                    remove=[R.ACCOUNT_LIMIT_REACHED],
                    message="released: within the quota again",
                )
            )
        return released
