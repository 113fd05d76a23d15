"""Printer events for ippget subscribers: what the gateway learns of each queue's state.

A queue's state is its device's (the manager reports it every few seconds) or the one
administrators gave it. The service pushes job events to a job's submitter, but no
queue-state events to anyone (docs/gateway.md says what the protocol would need), so
the gateway learns of a change from four sources:

- ``pushed``: a queue-state push. The interface the service's push would call: no
  stanza carries one yet;
- ``observe``: every read of the queue (GetServiceElements), whoever asked;
- ``hint``: a job event pushed for a job on the queue. A job starting or ending moves
  the device between idle and processing, so the queue is read at once and again
  ``settle`` seconds later, when the manager's next report has arrived;
- a poll every ``poll_interval`` seconds of the queues that printer subscriptions
  watch, for changes no job causes (an administrator pausing the queue).

Each change becomes printer-state-changed (and printer-stopped when it stopped), or
printer-config-changed when the device's capabilities or the queue's description did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from stanzas.groups import ServiceStatus

from .attributes import QueueInfo
from .subscriptions import Event, Subscriptions

log = logging.getLogger(__name__)

#: Reads a queue's state afresh; None when it cannot be read now.
Reader = Callable[[str], Awaitable[QueueInfo | None]]
PRINTER_EVENTS = ("printer-config-changed", "printer-state-changed", "printer-stopped")


@dataclass
class _Seen:
    state: tuple[object, ...]
    state_time: int
    config: tuple[object, ...]
    config_time: int


def _state_key(status: ServiceStatus, accepting: bool) -> tuple[object, ...]:
    return (
        status.printer_state,
        tuple(status.printer_state_reasons or ()),
        status.printer_state_message,
        accepting,
    )


def _config_key(info: QueueInfo) -> tuple[object, ...]:
    return (info.capabilities.model_dump_json(), info.printer_info, info.printer_location)


class QueueWatch:
    def __init__(
        self,
        subscriptions: Subscriptions,
        now: Callable[[], int],
        *,
        started: int,
        poll_interval: float = 5.0,
        settle: float = 2.5,
    ) -> None:
        self._subscriptions = subscriptions
        self._now = now
        self.started = started
        self.poll_interval = poll_interval
        self.settle = settle
        self._seen: dict[str, _Seen] = {}
        self._reader: Reader | None = None
        self._hinted: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._poller: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ what was seen
    def state_change_time(self, queue: str) -> int:
        seen = self._seen.get(queue)
        return seen.state_time if seen else self.started

    def config_change_time(self, queue: str) -> int:
        seen = self._seen.get(queue)
        return seen.config_time if seen else self.started

    # ------------------------------------------------------------------ sources
    def observe(self, info: QueueInfo) -> None:
        """A read of the queue (GetServiceElements)."""
        accepting = info.is_accepting_jobs and info.status.printer_is_accepting_jobs is not False
        self._state(info.name, info.status, accepting)
        key = _config_key(info)
        seen = self._seen[info.name]
        if seen.config != key:
            first = not seen.config
            seen.config, seen.config_time = key, seen.config_time if first else self._now()
            if not first:
                self._publish(info.name, "printer-config-changed", info.status, "changed")

    def pushed(self, queue: str, status: ServiceStatus, accepting: bool) -> None:
        """A queue-state push from the service (the interface its push would call)."""
        self._state(queue, status, accepting)

    def hint(self, queue: str | None) -> None:
        """A job of ``queue`` changed state: read the queue now and once it settled."""
        if not queue or self._reader is None:
            return
        if queue in self._hinted:
            self._again.add(queue)
            return
        task = asyncio.get_running_loop().create_task(self._follow(queue))
        self._hinted[queue] = task
        task.add_done_callback(lambda _t: self._hinted.pop(queue, None))

    # ------------------------------------------------------------------ lifecycle
    def start(self, reader: Reader) -> None:
        self._reader = reader
        if self._poller is None:
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        tasks = [t for t in (self._poller, *self._hinted.values()) if t is not None]
        self._poller, self._reader = None, None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ------------------------------------------------------------------ internals
    def _state(self, queue: str, status: ServiceStatus, accepting: bool) -> None:
        key = _state_key(status, accepting)
        seen = self._seen.get(queue)
        if seen is None:
            self._seen[queue] = _Seen(key, self.started, (), self.started)
            return
        if seen.state == key:
            return
        seen.state, seen.state_time = key, self._now()
        state = status.printer_state.value if status.printer_state else "idle"
        self._publish(queue, "printer-state-changed", status, f"is {state}")
        if state == "stopped":
            self._publish(queue, "printer-stopped", status, "stopped")

    def _publish(self, queue: str, name: str, status: ServiceStatus, what: str) -> None:
        event = Event(
            name=name,
            queue=queue,
            owner="",
            time=self._now(),
            printer=status,
            text=f"{queue} {what}",
        )
        self._subscriptions.publish(event)

    async def _read(self, queue: str) -> None:
        if self._reader is None:
            return
        try:
            info = await self._reader(queue)
        except Exception:  # the next hint or poll tries again
            log.debug("reading %s for its subscribers failed", queue, exc_info=True)
            return
        if info is not None:
            self.observe(info)

    async def _follow(self, queue: str) -> None:
        while True:  # one more round for every burst of hints during a round
            await self._read(queue)
            await asyncio.sleep(self.settle)
            await self._read(queue)
            if queue not in self._again:
                return
            self._again.discard(queue)

    def _watched(self) -> set[str]:
        return {
            sub.queue
            for sub in self._subscriptions.all()
            if sub.job_id is None and sub.events & set(PRINTER_EVENTS)
        }

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            for queue in sorted(self._watched()):
                await self._read(queue)
