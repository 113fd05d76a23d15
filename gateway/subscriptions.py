"""Event notification subscriptions with the ippget pull method (RFC 3995, RFC 3996).

Events come from the service's pushes: every JobEvent that reaches a user's gateway
session is published here (``publish_job``), as are the jobs the gateway creates and the
queue states it observes. A subscription keeps its last ``MAX_EVENTS`` events; the
client pulls them with Get-Notifications (optionally waiting, ``notify-wait``). An event
is kept ``EVENT_LIFE`` seconds (RFC 3996 ippget-event-life), so what a subscription
holds is bounded both in number and in age.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from stanzas.groups import JobStatus, ServiceStatus

MAX_EVENTS = 100
MAX_SUBSCRIPTIONS = 1000
MAX_PER_OWNER = 100  # one account cannot take every subscription of the gateway
#: ippget-event-life (RFC 3996 §7.1, at least 15 s): how long an event can be fetched.
EVENT_LIFE = 300
#: notify-get-interval: how long a client waits between polls when nothing is pending.
GET_INTERVAL = 10


@dataclass(frozen=True)
class Event:
    """One notification event (RFC 3995 §5.3.3 notify-subscribed-event)."""

    name: str  # job-created, job-state-changed, job-completed, printer-state-changed …
    queue: str
    owner: str  # whose session saw it (job events are private to their owner)
    time: int
    job: JobStatus | None = None
    printer: ServiceStatus | None = None
    text: str = ""


@dataclass
class Subscription:
    subscription_id: int
    owner: str
    queue: str
    job_id: int | None  # a job subscription; None for a printer subscription
    events: frozenset[str]
    lease_duration: int  # seconds, 0 = no expiry (job subscriptions end with the job)
    user_data: bytes | None
    created: int
    expires_at: float | None
    seen_operator: bool = False  # the owner may see everyone's job events
    next_sequence: int = 1
    pending: deque[tuple[int, Event]] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    job_done: bool = False

    def wants(self, event: Event) -> bool:
        if event.queue != self.queue:
            return False
        if self.job_id is not None and (event.job is None or event.job.job_id != self.job_id):
            return False
        if event.job is not None and event.owner != self.owner and not self.seen_operator:
            return False
        if event.name in self.events:
            return True
        # job-completed is also a job-state-changed (RFC 3995 §5.3.3.4.2)
        return event.name == "job-completed" and "job-state-changed" in self.events


class Subscriptions:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._subs: dict[int, Subscription] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._subs)

    def create(
        self,
        *,
        owner: str,
        queue: str,
        job_id: int | None,
        events: Iterable[str],
        lease_duration: int,
        user_data: bytes | None = None,
        operator: bool = False,
    ) -> Subscription:
        self._expire()
        now = self._clock()
        sub = Subscription(
            subscription_id=next(self._ids),
            owner=owner,
            queue=queue,
            job_id=job_id,
            events=frozenset(events),
            lease_duration=0 if job_id is not None else lease_duration,
            user_data=user_data,
            created=int(now),
            expires_at=None if job_id is not None or not lease_duration else now + lease_duration,
            seen_operator=operator,
        )
        self._subs[sub.subscription_id] = sub
        return sub

    def full(self, owner: str | None = None) -> bool:
        """Whether no subscription can be added (for ``owner``, when named)."""
        self._expire()
        if len(self._subs) >= MAX_SUBSCRIPTIONS:
            return True
        return owner is not None and (
            sum(1 for s in self._subs.values() if s.owner == owner) >= MAX_PER_OWNER
        )

    def get(self, subscription_id: int) -> Subscription | None:
        self._expire()
        return self._subs.get(subscription_id)

    def all(self) -> list[Subscription]:
        self._expire()
        return list(self._subs.values())

    def renew(self, sub: Subscription, lease_duration: int) -> None:
        sub.lease_duration = lease_duration
        sub.expires_at = None if not lease_duration else self._clock() + lease_duration

    def cancel(self, subscription_id: int) -> bool:
        found = self._subs.pop(subscription_id, None) is not None
        self._wake()
        return found

    def publish(self, event: Event) -> None:
        oldest = event.time - EVENT_LIFE
        for sub in self._subs.values():
            while sub.pending and sub.pending[0][1].time < oldest:
                sub.pending.popleft()
            if sub.wants(event):
                sub.pending.append((sub.next_sequence, event))
                sub.next_sequence += 1
            if (
                sub.job_id is not None
                and event.job is not None
                and event.job.job_id == sub.job_id
                and event.job.job_state.is_terminal
            ):
                sub.job_done = True
        self._wake()

    def publish_job(self, name: str, owner: str, job: JobStatus, text: str = "") -> None:
        self.publish(
            Event(
                name=name,
                queue=job.printer_name or "",
                owner=owner,
                time=int(self._clock()),
                job=job,
                text=text or f"job {job.job_id} is {job.job_state.value}",
            )
        )

    def events_after(self, sub: Subscription, sequence: int) -> list[tuple[int, Event]]:
        """The events from ``sequence`` on that are younger than EVENT_LIFE."""
        oldest = self._clock() - EVENT_LIFE
        return [(seq, ev) for seq, ev in sub.pending if seq >= sequence and ev.time >= oldest]

    async def wait(self, timeout: float) -> None:
        """Until the next publish (or cancel), at most ``timeout`` seconds."""
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _expire(self) -> None:
        now = self._clock()
        for sid in [
            s.subscription_id for s in self._subs.values() if s.expires_at and s.expires_at < now
        ]:
            del self._subs[sid]
