"""What the devices and users hear of committed changes.

The state machines tell their listeners after each COMMIT; the notifier turns that into
pushes through the context's `Push` port (the XMPP component): JobEvents to the job's
submitter, work notifications to devices (jobs they may take, as the dispatcher in
server/devices/dispatch.py offers them; cancel, suspend and resume requests to the
device holding the job), and a resync when a queue restarts or the service comes back.
It never writes anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from server.context import ServiceContext
from server.devices import dispatch
from server.devices.dispatch import Dispatcher, fetchable_for, refusal
from server.devices.rollup import serving
from server.stores.devices import Device
from server.stores.jobs import Job
from server.stores.queue_states import QueueState
from stanzas.states import JobStateReason as R


def _waits_at_device(job: Job | None) -> bool:
    """A job a device holds and has not started (what a shared queue's window counts)."""
    return (
        job is not None
        and job.output_device_uuid is not None
        and job.time_at_processing is None
        and not job.job_state.is_terminal
    )


class Notifier:
    def __init__(
        self, ctx: ServiceContext, pushed: Callable[[str, float], None] | None = None
    ) -> None:
        self.ctx = ctx
        self.dispatcher = Dispatcher(ctx)
        # Told how long after its COMMIT each push left (the metrics' push latency).
        self.pushed = pushed or (lambda _kind, _seconds: None)
        self._push_order = asyncio.Lock()
        self._queued: set[str] = set()  # queues whose dispatch round has not started yet
        self._races: dict[str, asyncio.TimerHandle] = {}
        self.attached = False

    def attach(self) -> None:
        self.attached = True
        self.ctx.availability.append(self.device_available)
        self.ctx.job_states.listeners.append(self.job_changed)
        self.ctx.queue_states.listeners.append(self.queue_changed)
        self.ctx.queue_states.restarted.append(self.queue_restarted)

    def detach(self) -> None:
        self.attached = False
        self.ctx.availability.remove(self.device_available)
        self.ctx.job_states.listeners.remove(self.job_changed)
        self.ctx.queue_states.listeners.remove(self.queue_changed)
        self.ctx.queue_states.restarted.remove(self.queue_restarted)
        for timer in self._races.values():
            timer.cancel()
        self._races.clear()

    # --- listeners (after each commit) ------------------------------------------------
    def job_changed(self, before: Job | None, after: Job) -> None:
        push = self.ctx.push
        if push is None:
            return
        committed = time.monotonic()
        if before is None:  # a new job; one complete at birth (Print-Job) is work already
            if after.is_fetchable:
                self.ctx.tasks.spawn(self.offer(after, since=committed))
            return
        if (
            after.job_state != before.job_state
            or after.job_state_reasons != before.job_state_reasons
            or after.job_state_message != before.job_state_message
        ):
            push.job_event(after)
            self.pushed("job-event", time.monotonic() - committed)
        if after.is_fetchable and not before.is_fetchable:
            self.ctx.tasks.spawn(self.offer(after, since=committed))
        elif before.is_fetchable and after.output_device_uuid is not None:
            self.ctx.tasks.spawn(self._taken(after.printer_name))  # the others may want more
        if before.output_device_uuid is not None and (
            (_waits_at_device(before) and not _waits_at_device(after))
            or (after.job_state.is_terminal and not before.job_state.is_terminal)
        ):  # the device started its next job, or finished one: it may take another
            self.ctx.tasks.spawn(self._freed(before.output_device_uuid))
        if after.output_device_uuid:
            device = after.output_device_uuid
            if after.cancel_requested and not before.cancel_requested:
                self.ctx.tasks.spawn(self.to_holder(device, cancel=[after.job_id], since=committed))
            suspended = R.JOB_SUSPENDED in after.job_state_reasons
            if suspended != (R.JOB_SUSPENDED in before.job_state_reasons):
                change = {"suspend" if suspended else "resume": [after.job_id]}
                self.ctx.tasks.spawn(self.to_holder(device, since=committed, **change))

    def queue_changed(self, before: QueueState, after: QueueState) -> None:
        if after.hands_out_work and not before.hands_out_work:
            self.dispatch(after.printer_name)

    def queue_restarted(self, printer_name: str) -> None:
        self.ctx.tasks.spawn(resync_queue(self.ctx, printer_name))

    # --- offering work --------------------------------------------------------------
    async def offer(self, job: Job, since: float | None = None) -> None:
        """A job became fetchable. A queue with one device: offer it this job now (no
        look at the others: its device takes them all). Shared queues: a round."""
        devices = await serving(self.ctx, job.printer_name)
        if len(devices) > 1:
            self.dispatch(job.printer_name, since=since)
            return
        async with self._push_order:
            push = self.ctx.push
            if not devices or push is None or devices[0].is_paused:
                return
            if not await self.ctx.queue_states.dispatchable(job.printer_name, [job.job_id]):
                return  # a paused queue hands out no work
            if await refusal(self.ctx, devices[0], job) is None:
                push.work(devices[0], [job.job_id], [])
                if since is not None:
                    self.pushed("work", time.monotonic() - since)

    async def _taken(self, printer_name: str) -> None:
        """A device took a job: in a shared queue, the devices that lost the race for it
        may take another."""
        if len(await serving(self.ctx, printer_name)) > 1:
            self.dispatch(printer_name)

    async def _freed(self, output_device_uuid: str) -> None:
        """A device started, finished (or gave up) a job: it may take the next one of its
        shared queues (it holds every job of a queue it serves alone already)."""
        for printer_name in await self.ctx.queue_devices.queues_of(output_device_uuid):
            if len(await serving(self.ctx, printer_name)) > 1:
                self.dispatch(printer_name)

    def device_available(self, device: Device) -> None:
        """A device came online, was approved, resumed or added to a queue."""
        self.ctx.tasks.spawn(self._available(device.output_device_uuid))

    async def _available(self, output_device_uuid: str) -> None:
        for printer_name in await self.ctx.queue_devices.queues_of(output_device_uuid):
            self.dispatch(printer_name)

    def dispatch(self, printer_name: str, since: float | None = None) -> None:
        """A round of offers for the queue, soon; rounds asked for before it starts are
        the same round (`since`: the commit that asked, for the push latency)."""
        if printer_name in self._queued:
            return
        self._queued.add(printer_name)
        self.ctx.tasks.spawn(self._round(printer_name, since=since))

    async def hand_out(self, printer_name: str) -> None:
        """The queue hands out work again: offer it."""
        await self._round(printer_name, queued=False)

    async def _round(
        self,
        printer_name: str,
        *,
        race: bool = False,
        queued: bool = True,
        since: float | None = None,
    ) -> None:
        if queued and not race:
            self._queued.discard(printer_name)  # a change from now on asks for another round
        # One at a time, so that pushes leave in the order of the changes they announce.
        async with self._push_order:
            push = self.ctx.push
            if push is None:
                return
            offers = await self.dispatcher.offers(printer_name, race=race)
            for uuid, job_ids in offers.jobs.items():
                push.work(offers.devices[uuid], job_ids, [])
            if offers.jobs and since is not None:
                self.pushed("work", time.monotonic() - since)
        if offers.waiting and printer_name not in self._races:
            loop = asyncio.get_running_loop()
            self._races[printer_name] = loop.call_later(
                dispatch.RACE_DELAY, self._race, printer_name
            )

    def _race(self, printer_name: str) -> None:
        self._races.pop(printer_name, None)
        if self.attached:
            self.ctx.tasks.spawn(self._round(printer_name, race=True))

    async def to_holder(
        self,
        output_device_uuid: str,
        cancel: list[int] | None = None,
        suspend: list[int] | None = None,
        resume: list[int] | None = None,
        since: float | None = None,
    ) -> None:
        """Cancel, suspend or resume requests to the device that holds the job."""
        async with self._push_order:
            device = await self.ctx.devices.get(output_device_uuid)
            push = self.ctx.push
            if device is None or not device.approved or push is None:
                return
            push.work(device, [], cancel or [], suspend=suspend or [], resume=resume or [])
            if since is not None:
                self.pushed("work", time.monotonic() - since)


async def resync(ctx: ServiceContext, device: Device) -> None:
    """Ask the device to resynchronise (UpdateFetchableJobs), naming the work it may take."""
    if ctx.push is None:
        return
    fetchable = [j.job_id for j in await fetchable_for(ctx, device)]
    ctx.push.work(device, fetchable, [], resync=True)


async def resync_queue(ctx: ServiceContext, printer_name: str) -> None:
    for device in await serving(ctx, printer_name):
        await resync(ctx, device)


async def announce_restart(ctx: ServiceContext) -> None:
    """After a (re)start, ask every device to resync and tell it of waiting work."""
    if ctx.push is None:
        return
    for device in await ctx.devices.list_all():
        if device.approved:
            await resync(ctx, device)
