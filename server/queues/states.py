"""The one place where a queue's service state changes (seed 001 Table 2; PWG 5108.01 §7.2.1).

A queue is one of the seeds' Services. Its ServiceState is idle, processing, stopped or
down, with reasons (IPP printer-state-reasons keywords). Every change goes through
`QueueStates.change`: it checks `SERVICE_TRANSITIONS`, settles the reasons, derives
whether the queue hands out work, writes the row and, once the transaction commits,
tells the listeners (the notifier, which tells the queue's device when the queue hands
out work again; alerts). No other code writes service_states.

Which jobs are "current": those a device has acknowledged and that have not ended. The
seed's operations "do not directly affect the Device Managers or Devices", so pausing
never stops a job at the device: a queue with current jobs stays processing with
'moving-to-paused' until the last one ends, then becomes stopped with 'paused'.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import replace
from typing import Any

from server.jobs import actions as job_actions
from server.jobs.states import JobStates
from server.stores.db import Database
from server.stores.jobs import Job, JobStore
from server.stores.queue_states import QueueState, QueueStateStore
from server.stores.queues import Queue, QueueStore
from server.stores.schedule import JobScheduleStore
from stanzas.admin_ops import ServiceState
from stanzas.admin_ops import ServiceStateReason as SR
from stanzas.errors import NotFetchable, NotFound, NotPossible, ServiceUnavailable
from stanzas.groups import JobStatus
from stanzas.states import JobState
from stanzas.states import JobStateReason as R

log = logging.getLogger(__name__)

_I, _P, _S, _D = ServiceState.IDLE, ServiceState.PROCESSING, ServiceState.STOPPED, ServiceState.DOWN

# state -> states it may move to; staying is a reasons or settings change. Down is left
# only through idle (Restart/Startup: "from Down to Idle, then immediately to Stopped").
SERVICE_TRANSITIONS: dict[ServiceState, frozenset[ServiceState]] = {
    _I: frozenset({_I, _P, _S, _D}),
    _P: frozenset({_P, _I, _S, _D}),
    _S: frozenset({_S, _I, _P, _D}),
    _D: frozenset({_D, _I}),
}

# Reasons that only make sense in some states; settle_reasons drops them elsewhere.
_ONLY_IN: dict[str, frozenset[ServiceState]] = {
    SR.PAUSED: frozenset({_S}),
    SR.MOVING_TO_PAUSED: frozenset({_I, _P}),
    SR.SHUTDOWN: frozenset({_D}),
}


def settle_reasons(
    state: ServiceState, current: Iterable[str], add: Iterable[str] = (), remove: Iterable[str] = ()
) -> tuple[str, ...]:
    """current - remove + add, without the reasons the new state cannot have."""
    removed = set(remove)
    reasons = [r for r in current if r not in removed and r != SR.NONE]
    reasons += [r for r in dict.fromkeys(add) if r not in reasons and r != SR.NONE]
    reasons = [r for r in reasons if state in _ONLY_IN.get(r, frozenset(ServiceState))]
    return tuple(reasons) or (SR.NONE,)


def hands_out_work(state: ServiceState, reasons: Iterable[str]) -> bool:
    """Seed: a paused, pausing or down service advances no job to processing."""
    return state in (_I, _P) and SR.MOVING_TO_PAUSED not in reasons


def _activity_changes(state: QueueState, busy: bool) -> bool:
    """Whether settle_activity has something to do: idle with a current job, or
    processing without one."""
    return (state.service_state == _I and busy) or (state.service_state == _P and not busy)


def is_current(job: Job | None) -> bool:
    """A job a device has acknowledged and that has not ended."""
    return job is not None and job.output_device_uuid is not None and not job.job_state.is_terminal


Listener = Callable[[QueueState, QueueState], None]
Spawn = Callable[[Coroutine[Any, Any, Any]], None]


class QueueStates:
    def __init__(
        self,
        db: Database,
        store: QueueStateStore,
        queues: QueueStore,
        jobs: JobStore,
        schedule: JobScheduleStore,
        job_states: JobStates,
        spawn: Spawn,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.store = store
        self.queues = queues
        self.jobs = jobs
        self.schedule = schedule
        self.job_states = job_states
        self.spawn = spawn
        self.clock = clock
        self._settle_queued: dict[str, bool | None] = {}  # queue → busy hint, not yet started
        self.listeners: list[Listener] = []  # told of every committed change
        # Told, after the commit, of each queue restarted: its device resynchronises.
        self.restarted: list[Callable[[str], None]] = []
        self._timers: dict[str, asyncio.TimerHandle] = {}

    async def get(self, printer_name: str) -> QueueState:
        return await self.store.get(printer_name)

    # --- the one change function -------------------------------------------------------
    async def change(
        self,
        printer_name: str,
        state: ServiceState,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        reasons: Iterable[str] | None = None,
        message: str | None = None,
        **fields: Any,
    ) -> QueueState:
        """Move the queue to `state`; `reasons` replaces the reasons, `add`/`remove` edit
        them; `fields` are other columns written with it (hold-new settings …)."""
        if {"service_state", "service_state_reasons", "hands_out_work"} & set(fields):
            raise ValueError("state, reasons and hands-out-work are derived here")
        async with self.db.transaction():
            await self.existing(printer_name)  # its row must not outlive the queue
            before = await self.store.get(printer_name)
            if state not in SERVICE_TRANSITIONS[before.service_state]:
                raise NotPossible(
                    f"queue {printer_name} is {before.service_state.value}; "
                    f"it cannot become {state.value}"
                )
            base = before.service_state_reasons if reasons is None else tuple(reasons)
            settled = settle_reasons(state, base, add, remove)
            after = replace(
                before,
                service_state=state,
                service_state_reasons=settled,
                hands_out_work=hands_out_work(state, settled),
                service_state_message=before.service_state_message if message is None else message,
                time_state_changed=int(self.clock())
                if state != before.service_state
                else before.time_state_changed,
                **fields,
            )
            await self.store.put(after)
            self.db.after_commit(lambda: self._committed(before, after))
        return after

    def _committed(self, before: QueueState, after: QueueState) -> None:
        if after.hold_new_jobs_until_time != before.hold_new_jobs_until_time:
            self._arm(after)
        for listener in list(self.listeners):
            try:
                listener(before, after)
            except Exception:
                log.exception("a service-state listener failed")

    # --- what the rest of the service asks ---------------------------------------------
    async def existing(self, printer_name: str) -> Queue:
        """The queue, or NotFound: a request that found it may see it deleted before it
        writes (DeleteService runs between the steps of an …AllServices request)."""
        queue = await self.queues.get(printer_name)
        if queue is None:
            raise NotFound(f"no queue named {printer_name!r} (it was deleted)")
        return queue

    async def require_up(self, printer_name: str) -> QueueState:
        """Seed Shutdown<Service>Service: a down service answers only RestartService."""
        state = await self.store.get(printer_name)
        if state.service_state == _D:
            raise ServiceUnavailable(
                f"queue {printer_name} is shut down; it answers only RestartService"
            )
        return state

    async def dispatchable(self, printer_name: str, job_ids: list[int]) -> list[int]:
        """The fetchable jobs a work notification may name: none while the queue hands
        out no work (paused, pausing, down)."""
        if not job_ids:
            return job_ids
        return job_ids if (await self.store.get(printer_name)).hands_out_work else []

    async def check_fetch(self, job: Job) -> None:
        """FetchJob of a job no device holds yet: refused while the queue hands out none."""
        if job.output_device_uuid is None and not (await self.get(job.printer_name)).hands_out_work:
            raise NotFetchable(f"queue {job.printer_name} is not handing out jobs (paused)")

    async def lazy_statuses(self, jobs: list[Job], statuses: list[JobStatus]) -> list[JobStatus]:
        """Seed Pause<Service>Service: pending and pending-held jobs of a stopped service
        have the 'Stopped' reason, added when they are read ("lazy evaluation"); the IPP
        keyword is printer-stopped (RFC 8011 §5.3.8)."""
        states: dict[str, QueueState] = {}
        out = []
        for job, status in zip(jobs, statuses, strict=True):
            if job.printer_name not in states:
                states[job.printer_name] = await self.store.get(job.printer_name)
            stopped = states[job.printer_name].service_state in (_S, _D)
            waiting = job.output_device_uuid is None and status.job_state in (
                JobState.PENDING,
                JobState.PENDING_HELD,
            )
            if stopped and waiting and R.PRINTER_STOPPED not in status.job_state_reasons:
                reasons = [r for r in status.job_state_reasons if r != R.NONE]
                status = status.model_copy(
                    update={"job_state_reasons": [*reasons, R.PRINTER_STOPPED]}
                )
            out.append(status)
        return out

    async def lazy_status(self, job: Job, status: JobStatus) -> JobStatus:
        return (await self.lazy_statuses([job], [status]))[0]

    # --- idle / processing / stopped, following the jobs ------------------------------
    def job_changed(self, before: Job | None, after: Job) -> None:
        """Called after every committed job change (a JobStates listener)."""
        if is_current(before) == is_current(after):
            return
        name, busy = after.printer_name, is_current(after) or None
        # A settle of this queue that has not started yet covers this change too (a
        # group commit announces many changes at once): one look instead of several.
        if name in self._settle_queued:
            if self._settle_queued[name] != busy:
                self._settle_queued[name] = None  # mixed news: look
            return
        self._settle_queued[name] = busy
        self.spawn(self._settle_queued_queue(name))

    async def _settle_queued_queue(self, printer_name: str) -> None:
        busy = self._settle_queued.pop(printer_name)
        await self.settle_activity(printer_name, busy=busy)

    async def current_jobs(self, printer_name: str) -> list[Job]:
        return [j for j in await self.jobs.list_active(printer_name) if is_current(j)]

    async def settle_activity(self, printer_name: str, *, busy: bool | None = None) -> QueueState:
        """Idle ⇄ processing as jobs reach and leave the device; a pausing queue whose
        last current job ended becomes stopped with 'paused'. `busy` True: a job has
        just become current (no need to look)."""
        # Most calls change nothing (the queue is already processing while jobs come and
        # go): decide that from committed state, without taking a write transaction.
        state = await self.store.get(printer_name)
        if busy is None:
            busy = await self.jobs.has_current(printer_name)
        if not _activity_changes(state, busy):
            return state
        async with self.db.transaction():
            state = await self.store.get(printer_name)
            if await self.queues.get(printer_name) is None:
                return state
            busy = await self.jobs.has_current(printer_name)
            current = state.service_state
            if current == _I and busy:
                return await self.change(printer_name, _P)
            if current == _P and not busy:
                if SR.MOVING_TO_PAUSED in state.service_state_reasons:
                    return await self.change(
                        printer_name, _S, remove=[SR.MOVING_TO_PAUSED], add=[SR.PAUSED]
                    )
                return await self.change(printer_name, _I)
            return state

    # --- the operations' state steps (handlers check who asks) -----------------------
    async def pause(self, printer_name: str, message: str | None) -> QueueState:
        """Pause and PauseAfterCurrentJob alike (the seed allows it when current jobs
        cannot be stopped): stopped now, or moving-to-paused until the device is done."""
        async with self.db.transaction():
            state = await self.require_up(printer_name)
            if state.service_state == _S:
                return await self.change(printer_name, _S, message=message)
            if await self.current_jobs(printer_name):
                return await self.change(
                    printer_name, _P, add=[SR.MOVING_TO_PAUSED], message=message
                )
            return await self.change(printer_name, _S, add=[SR.PAUSED], message=message)

    async def resume(self, printer_name: str, message: str | None) -> QueueState:
        """Seed Resume<Service>Service: accepted in any state (but down); back to idle or
        processing, 'paused' and 'moving-to-paused' gone."""
        async with self.db.transaction():
            await self.require_up(printer_name)
            busy = bool(await self.current_jobs(printer_name))
            return await self.change(
                printer_name,
                _P if busy else _I,
                remove=[SR.PAUSED, SR.MOVING_TO_PAUSED],
                message=message,
            )

    async def shutdown(self, printer_name: str, message: str | None) -> QueueState:
        """Seed Shutdown<Service>Service: to down from any state; jobs are kept, and jobs
        at the device finish (nothing is handed out any more)."""
        return await self.change(
            printer_name,
            _D,
            reasons=[SR.SHUTDOWN],
            message=message or "",
            hold_new_jobs_until=None,
            hold_new_jobs_until_time=None,
        )

    async def restart(
        self,
        printer_name: str,
        *,
        accepting: bool | None,
        paused: bool | None,
        message: str | None,
    ) -> QueueState:
        """Seed Restart<Service>Service: from any state, even down, to idle with no reasons
        and accepting jobs (Table 3 notes 5-7: start paused, or not accepting). Jobs are
        kept; the device is asked to resynchronise (after the commit)."""
        async with self.db.transaction():
            queue = await self.existing(printer_name)
            state = await self.change(
                printer_name,
                _I,
                reasons=[],
                message=message or "",
                hold_new_jobs_until=None,
                hold_new_jobs_until_time=None,
            )
            # Jobs the ended HoldNewJobs condition held stay held until ReleaseNewJobs.
            await self.queues.update(
                queue, is_accepting_jobs=True if accepting is None else accepting
            )
            if paused:
                state = await self.pause(printer_name, message)
            else:
                state = await self.settle_activity(printer_name)
            self.db.after_commit(lambda: self._restarted(printer_name))
        return state

    def _restarted(self, printer_name: str) -> None:
        for listener in list(self.restarted):
            try:
                listener(printer_name)
            except Exception:
                log.exception("a restart listener failed")

    async def set_accepting(self, printer_name: str, accepting: bool, message: str | None) -> None:
        """Seed Disable/Enable<Service>Service: is-accepting-jobs only; the state stays."""
        async with self.db.transaction():
            state = await self.require_up(printer_name)
            queue = await self.existing(printer_name)
            await self.queues.update(queue, is_accepting_jobs=accepting)
            await self.change(printer_name, state.service_state, message=message)

    # --- HoldNew / ReleaseNew -----------------------------------------------------------
    async def hold_new(
        self, printer_name: str, until: str | None, until_time: int | None, message: str | None
    ) -> QueueState:
        async with self.db.transaction():
            state = await self.require_up(printer_name)
            return await self.change(
                printer_name,
                state.service_state,
                add=[SR.HOLD_NEW_JOBS],
                message=message,
                hold_new_jobs_until=None if until_time is not None else (until or "indefinite"),
                hold_new_jobs_until_time=until_time,
            )

    async def release_new(self, printer_name: str, message: str | None) -> QueueState:
        """Seed ReleaseNew<Service>Jobs: the condition ends, and every job it held is
        released (pending, and fetchable once its documents are in)."""
        async with self.db.transaction():
            state = await self.store.get(printer_name)
            state = await self.change(
                printer_name,
                state.service_state,
                remove=[SR.HOLD_NEW_JOBS],
                message=message,
                hold_new_jobs_until=None,
                hold_new_jobs_until_time=None,
            )
            for job_id in await self.schedule.held_by_service(printer_name):
                job = await self.jobs.get(job_id)
                if job is not None:
                    ticket = job.job_ticket.model_copy(update={"job_hold_until": None})
                    job = await self.jobs.update(job, job_ticket=ticket)
                    await job_actions.release(self.job_states, job, message)
                await self.schedule.mark_held(job_id, False)
        return state

    async def hold_if_held_new(self, job: Job) -> Job:
        """CreateJob under HoldNewJobs: the new job is pending-held with the condition's
        job-hold-until (seed: "MUST add the supplied JobHoldUntil … to the Jobs")."""
        state = await self.store.get(job.printer_name)
        if not state.holds_new_jobs or job.job_state != JobState.PENDING:
            return job  # no condition, or the user held the job already
        until = state.hold_new_jobs_until or "indefinite"
        message = "held by the queue (HoldNewJobs)"
        async with self.db.transaction():
            ticket = job.job_ticket.model_copy(update={"job_hold_until": until})
            job = await self.jobs.update(job, job_ticket=ticket)
            job = await job_actions.hold(self.job_states, job, until, message)
            await self.schedule.mark_held(job.job_id, True)
        return job

    async def start(self) -> None:
        """Arm the timers of HoldNewJobs conditions with a job-hold-until-time."""
        for state in (await self.store.list_all()).values():
            self._arm(state)

    def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def _arm(self, state: QueueState) -> None:
        old = self._timers.pop(state.printer_name, None)
        if old is not None:
            old.cancel()
        if state.hold_new_jobs_until_time is None:
            return
        delay = max(0.0, state.hold_new_jobs_until_time - self.clock())
        name = state.printer_name
        self._timers[name] = asyncio.get_running_loop().call_later(
            delay, lambda: self.spawn(self._hold_time_reached(name))
        )

    async def _hold_time_reached(self, printer_name: str) -> None:
        self._timers.pop(printer_name, None)
        state = await self.store.get(printer_name)
        due = state.hold_new_jobs_until_time
        if due is not None and due <= self.clock():
            await self.release_new(printer_name, "job-hold-until-time reached")
