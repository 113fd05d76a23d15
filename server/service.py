"""The Cloud Imaging Service: queues, jobs and documents, independent of XMPP.

The XMPP component (server.component) feeds it requests and carries its pushes;
the HTTPS endpoint (server.http) feeds it document bytes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from server.config import Settings
from server.db import Database
from server.job_state import JobStates
from server.service_state import ServiceStates
from server.spool import Spool
from server.stores.devices import Device, DeviceStore
from server.stores.documents import DocumentStore
from server.stores.jobs import Job, JobStore
from server.stores.queues import QueueStore
from server.transfer import Slots
from stanzas.states import JobStateReason as R

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as Prosody authenticated and stamped it."""

    jid: str  # full JID (user@domain/resource, or a component's domain)

    @property
    def bare(self) -> str:
        return self.jid.split("/", 1)[0]


class Push(Protocol):
    """How the service tells others of changes (XMPP messages, sent by the component)."""

    def job_event(self, job: Job) -> None: ...

    def work(
        self,
        device: Device,
        fetchable: list[int],
        cancel: list[int],
        *,
        resync: bool = False,
        suspend: list[int] | None = None,
        resume: list[int] | None = None,
    ) -> None: ...

    def identify(self, device: Device, actions: list[str], message: str | None) -> None: ...


class CloudImagingService:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.db = Database(settings.database, synchronous=settings.sqlite_synchronous)
        self.jobs = JobStore(self.db)
        self.documents = DocumentStore(self.db)
        self.devices = DeviceStore(self.db)
        self.queues = QueueStore(self.db)
        self.states = JobStates(self.db, self.jobs, self.documents, self, clock)
        self.job_listeners: list[Callable[[Job, Job], None]] = []  # told of each job change
        self.service_states = ServiceStates(self)  # each queue's service state (administration)
        self.slots = Slots(ttl=settings.http.slot_ttl)
        self.spool = Spool(settings.spool_dir)
        self.push: Push | None = None
        self.close_after_upload: set[int] = set()  # CloseJob came while an upload ran
        # Trust for Send<Service>Uri over https (None: the system's CAs).
        self.uri_ssl_context: ssl.SSLContext | None = (
            ssl.create_default_context(cafile=str(settings.uri_ca_file))
            if settings.uri_ca_file
            else None
        )
        self.public_url = ""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._push_order = asyncio.Lock()
        self._daemons: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self.spool.prepare()
        await self.db.open()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.db.close()

    def now(self) -> int:
        return int(self.clock())

    # --- roles --------------------------------------------------------------------
    def is_admin(self, caller: Caller) -> bool:
        return caller.bare in self.settings.admins

    def is_operator(self, caller: Caller) -> bool:
        return caller.bare in self.settings.operators or self.is_admin(caller)

    def is_local_user(self, caller: Caller) -> bool:
        return "@" in caller.bare and caller.bare.endswith("@" + self.settings.xmpp.domain)

    # --- events (called after commit by JobStates) --------------------------------
    def job_changed(self, before: Job, after: Job) -> None:
        for listener in self.job_listeners:
            listener(before, after)
        if self.push is None:
            return
        if (
            after.job_state != before.job_state
            or after.job_state_reasons != before.job_state_reasons
            or after.job_state_message != before.job_state_message
        ):
            self.push.job_event(after)
        if after.is_fetchable and not before.is_fetchable:
            self.spawn(self.notify_device(after.printer_name, fetchable=[after.job_id]))
        if after.output_device_uuid:
            if after.cancel_requested and not before.cancel_requested:
                self.spawn(self.notify_device(after.printer_name, cancel=[after.job_id]))
            suspended = R.JOB_SUSPENDED in after.job_state_reasons
            if suspended != (R.JOB_SUSPENDED in before.job_state_reasons):
                change = {"suspend" if suspended else "resume": [after.job_id]}
                self.spawn(self.notify_device(after.printer_name, **change))
        if after.job_state.is_terminal and not before.job_state.is_terminal:
            self.slots.forget_job(after.job_id)
            self.close_after_upload.discard(after.job_id)

    async def discards_at_end(self, job: Job) -> bool:
        from server import housekeeping

        return housekeeping.discards_at_end(await self.queues.get(job.printer_name))

    def discard_data(self, spool_name: str) -> None:
        # In a worker thread: an unlink took ~10 % of the event loop at full throughput.
        self.spawn(asyncio.to_thread(self.spool.discard, spool_name))

    def job_created(self, job: Job) -> None:
        """A job committed complete at birth (Print-Job): no change announces it, so
        its device hears of it here."""
        if job.is_fetchable and self.push is not None:
            self.spawn(self.notify_device(job.printer_name, fetchable=[job.job_id]))

    async def notify_device(
        self,
        printer_name: str,
        fetchable: list[int] | None = None,
        cancel: list[int] | None = None,
        suspend: list[int] | None = None,
        resume: list[int] | None = None,
    ) -> None:
        # One at a time, so that pushes leave in the order of the changes they announce
        # (a suspend must not overtake the resume that follows it).
        async with self._push_order:
            device = await self.devices.get_by_printer(printer_name)
            if device is None or self.push is None or device.registration_state != "approved":
                return
            fetchable = await self.service_states.dispatchable(printer_name, fetchable or [])
            if not (fetchable or cancel or suspend or resume):
                return  # a paused queue hands out no work
            self.push.work(
                device, fetchable or [], cancel or [], suspend=suspend or [], resume=resume or []
            )

    async def discard_documents(self, job_id: int) -> None:
        """Data-retention default (seed 000): document data goes once the job has ended."""
        async with self.db.transaction():
            for document in await self.documents.list(job_id):
                if document.spool_name:
                    await self.documents.update(document, spool_name=None)
                    name = document.spool_name
                    self.db.after_commit(functools.partial(self.discard_data, name))

    async def announce_restart(self) -> None:
        """After a (re)start, ask every device to resync and tell it of waiting work."""
        if self.push is None:
            return
        for device in await self.devices.list_all():
            if device.registration_state != "approved":
                continue
            fetchable = [j.job_id for j in await self.jobs.list_fetchable(device.printer_name)]
            self.push.work(device, fetchable, [], resync=True)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, daemon: bool = False) -> None:
        """Run a background task; `daemon` ones (loops) run until stop()."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        if daemon:
            self._daemons.add(task)
        task.add_done_callback(self._task_done)

    async def settled(self) -> None:
        """Wait until the follow-up work of committed changes (pushes to devices,
        retention, fetches) is done; loops excepted."""
        while pending := self._tasks - self._daemons:
            await asyncio.wait(pending)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._daemons.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    # --- jobs ---------------------------------------------------------------------
    def new_job_uuid(self) -> str:
        return uuid.uuid4().urn
