"""What the devices and users hear of committed changes.

The state machines tell their listeners after each COMMIT; the notifier turns that into
pushes through the context's `Push` port (the XMPP component): JobEvents to the job's
submitter, work notifications to the queue's device (jobs that became fetchable, cancel,
suspend and resume requests), and a resync when a queue restarts or the service comes
back. It never writes anything.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from server.context import ServiceContext
from server.stores.devices import Device
from server.stores.jobs import Job
from server.stores.queue_states import QueueState
from stanzas.states import JobStateReason as R
from stanzas.states import RegistrationState


class Notifier:
    def __init__(
        self, ctx: ServiceContext, pushed: Callable[[str, float], None] | None = None
    ) -> None:
        self.ctx = ctx
        # Told how long after its COMMIT each push left (the metrics' push latency).
        self.pushed = pushed or (lambda _kind, _seconds: None)
        self._push_order = asyncio.Lock()
        self.attached = False

    def attach(self) -> None:
        self.attached = True
        self.ctx.job_states.listeners.append(self.job_changed)
        self.ctx.queue_states.listeners.append(self.queue_changed)
        self.ctx.queue_states.restarted.append(self.queue_restarted)

    def detach(self) -> None:
        self.attached = False
        self.ctx.job_states.listeners.remove(self.job_changed)
        self.ctx.queue_states.listeners.remove(self.queue_changed)
        self.ctx.queue_states.restarted.remove(self.queue_restarted)

    # --- listeners (after each commit) ------------------------------------------------
    def job_changed(self, before: Job | None, after: Job) -> None:
        push = self.ctx.push
        if push is None:
            return
        if before is None:  # a new job; one complete at birth (Print-Job) is work already
            if after.is_fetchable:
                self._notify(after.printer_name, fetchable=[after.job_id])
            return
        committed = time.monotonic()
        if (
            after.job_state != before.job_state
            or after.job_state_reasons != before.job_state_reasons
            or after.job_state_message != before.job_state_message
        ):
            push.job_event(after)
            self.pushed("job-event", time.monotonic() - committed)
        if after.is_fetchable and not before.is_fetchable:
            self._notify(after.printer_name, fetchable=[after.job_id])
        if after.output_device_uuid:
            if after.cancel_requested and not before.cancel_requested:
                self._notify(after.printer_name, cancel=[after.job_id])
            suspended = R.JOB_SUSPENDED in after.job_state_reasons
            if suspended != (R.JOB_SUSPENDED in before.job_state_reasons):
                change = {"suspend" if suspended else "resume": [after.job_id]}
                self._notify(after.printer_name, **change)

    def queue_changed(self, before: QueueState, after: QueueState) -> None:
        if after.hands_out_work and not before.hands_out_work:
            self.ctx.tasks.spawn(self.hand_out(after.printer_name))

    def queue_restarted(self, printer_name: str) -> None:
        self.ctx.tasks.spawn(resync_queue(self.ctx, printer_name))

    # --- pushes ---------------------------------------------------------------------
    async def hand_out(self, printer_name: str) -> None:
        """The queue hands out work again: tell its device which jobs wait, in order."""
        fetchable = [j.job_id for j in await self.ctx.jobs.list_fetchable(printer_name)]
        if fetchable:
            await self.notify_device(printer_name, fetchable=fetchable)

    def _notify(self, printer_name: str, **work: list[int]) -> None:
        self.ctx.tasks.spawn(self.notify_device(printer_name, since=time.monotonic(), **work))

    async def notify_device(
        self,
        printer_name: str,
        fetchable: list[int] | None = None,
        cancel: list[int] | None = None,
        suspend: list[int] | None = None,
        resume: list[int] | None = None,
        since: float | None = None,
    ) -> None:
        # One at a time, so that pushes leave in the order of the changes they announce
        # (a suspend must not overtake the resume that follows it).
        async with self._push_order:
            device = await approved_device(self.ctx, printer_name)
            push = self.ctx.push
            if device is None or push is None:
                return
            fetchable = await self.ctx.queue_states.dispatchable(printer_name, fetchable or [])
            if not (fetchable or cancel or suspend or resume):
                return  # a paused queue hands out no work
            push.work(
                device, fetchable or [], cancel or [], suspend=suspend or [], resume=resume or []
            )
            if since is not None:
                self.pushed("work", time.monotonic() - since)


async def approved_device(ctx: ServiceContext, printer_name: str) -> Device | None:
    device = await ctx.devices.get_by_printer(printer_name)
    if device is None or device.registration_state != RegistrationState.APPROVED:
        return None
    return device


async def resync(ctx: ServiceContext, device: Device) -> None:
    """Ask the device to resynchronise (UpdateFetchableJobs), naming the waiting work."""
    if ctx.push is None:
        return
    fetchable = [j.job_id for j in await ctx.jobs.list_fetchable(device.printer_name)]
    ctx.push.work(device, fetchable, [], resync=True)


async def resync_queue(ctx: ServiceContext, printer_name: str) -> None:
    device = await approved_device(ctx, printer_name)
    if device is not None:
        await resync(ctx, device)


async def announce_restart(ctx: ServiceContext) -> None:
    """After a (re)start, ask every device to resync and tell it of waiting work."""
    if ctx.push is None:
        return
    for device in await ctx.devices.list_all():
        if device.registration_state == RegistrationState.APPROVED:
            await resync(ctx, device)
