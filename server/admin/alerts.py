"""Alerts as chat messages to the operators and administrators who subscribed
(SetAlertSubscription; `alerts on` in chat): a device went offline, a job was aborted,
a queue stopped."""

from __future__ import annotations

from collections.abc import Callable

from server.context import ServiceContext
from server.stores.devices import Device
from server.stores.jobs import Job
from server.stores.queue_states import QueueState
from stanzas.admin_ops import AlertEvent, ServiceState
from stanzas.states import JobState

Send = Callable[[str, str], None]  # (bare JID, text)


class Alerts:
    def __init__(self, ctx: ServiceContext, send: Send) -> None:
        self.ctx = ctx
        self.send = send
        self.store = ctx.alerts

    def attach(self) -> None:
        self.ctx.job_states.listeners.append(self.job_changed)
        self.ctx.queue_states.listeners.append(self.queue_changed)

    def detach(self) -> None:
        self.ctx.job_states.listeners.remove(self.job_changed)
        self.ctx.queue_states.listeners.remove(self.queue_changed)

    def job_changed(self, before: Job | None, after: Job) -> None:
        was_aborted = before is not None and before.job_state == JobState.ABORTED
        if after.job_state == JobState.ABORTED and not was_aborted:
            why = after.job_state_message or ", ".join(after.job_state_reasons)
            self.raise_alert(
                AlertEvent.JOB_ABORTED,
                f"⚠ job {after.job_id} ({after.job_name}) of {after.owner} on "
                f"{after.printer_name} was aborted: {why}",
            )

    def queue_changed(self, before: QueueState, after: QueueState) -> None:
        stopped = (ServiceState.STOPPED, ServiceState.DOWN)
        if after.service_state in stopped and after.service_state != before.service_state:
            why = ", ".join(r for r in after.service_state_reasons if r != "none") or "-"
            message = f" — {after.service_state_message}" if after.service_state_message else ""
            self.raise_alert(
                AlertEvent.QUEUE_STOPPED,
                f"⚠ queue {after.printer_name} is {after.service_state.value} ({why}){message}",
            )

    def device_offline(self, device: Device) -> None:
        self.raise_alert(
            AlertEvent.DEVICE_OFFLINE,
            f"⚠ device {device.output_device_uuid} (queue {device.printer_name}, account "
            f"{device.jid}) went offline",
        )

    def raise_alert(self, event: AlertEvent, text: str) -> None:
        self.ctx.tasks.spawn(self._deliver(event, text))

    async def _deliver(self, event: AlertEvent, text: str) -> None:
        for jid in await self.store.subscribers(event.value):
            self.send(jid, text)
