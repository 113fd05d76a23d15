"""The Cloud Imaging Service: queues, jobs and documents, independent of XMPP.

The XMPP component (server.component) feeds it requests and carries its pushes;
the HTTPS endpoint (server.http) feeds it document bytes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from server.config import Settings
from server.db import Database
from server.job_state import JobStates
from server.spool import Spool, SpooledFile
from server.stores.devices import Device, DeviceStore
from server.stores.documents import Document, DocumentStore
from server.stores.jobs import Job, JobStore
from server.stores.queues import QueueStore
from server.transfer import Slots, UploadSlot
from stanzas.errors import NotPossible
from stanzas.states import DocumentState, JobState
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
    ) -> None: ...


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
        self.slots = Slots(ttl=settings.http.slot_ttl)
        self.spool = Spool(settings.spool_dir)
        self.push: Push | None = None
        self.public_url = ""
        self._tasks: set[asyncio.Task[Any]] = set()

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
        if after.cancel_requested and not before.cancel_requested and after.output_device_uuid:
            self.spawn(self.notify_device(after.printer_name, cancel=[after.job_id]))
        if after.job_state.is_terminal and not before.job_state.is_terminal:
            self.slots.forget_job(after.job_id)
            if not self.settings.retain_documents:
                self.spawn(self.discard_documents(after.job_id))

    async def notify_device(
        self, printer_name: str, fetchable: list[int] | None = None, cancel: list[int] | None = None
    ) -> None:
        device = await self.devices.get_by_printer(printer_name)
        if device is None or self.push is None or device.registration_state != "approved":
            return
        self.push.work(device, fetchable or [], cancel or [])

    async def discard_documents(self, job_id: int) -> None:
        """Data-retention default (seed 000): document data goes once the job has ended."""
        async with self.db.transaction():
            for document in await self.documents.list(job_id):
                if document.spool_name:
                    await self.documents.update(document, spool_name=None)
                    name = document.spool_name
                    self.db.after_commit(functools.partial(self.spool.discard, name))

    async def announce_restart(self) -> None:
        """After a (re)start, ask every device to resync and tell it of waiting work."""
        if self.push is None:
            return
        for device in await self.devices.list_all():
            if device.registration_state != "approved":
                continue
            fetchable = [j.job_id for j in await self.jobs.list_fetchable(device.printer_name)]
            self.push.work(device, fetchable, [], resync=True)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    # --- jobs ---------------------------------------------------------------------
    def new_job_uuid(self) -> str:
        return uuid.uuid4().urn

    async def commit_upload(self, slot: UploadSlot, spooled: SpooledFile) -> tuple[Job, Document]:
        """A whole document has arrived: record it and, if it was the last, close the job.
        Committed before the uploader hears 201."""
        async with self.db.transaction():
            job = await self.jobs.get(slot.job_id)
            if job is None or job.job_state.is_terminal or job.is_closed:
                state = job.job_state.value if job else "gone"
                raise NotPossible(f"job {slot.job_id} no longer takes documents (it is {state})")
            document = await self.documents.insert(
                Document(
                    job_id=job.job_id,
                    document_number=slot.document_number,
                    document_name=slot.document_name,
                    document_format=slot.document_format,
                    document_state=DocumentState.PENDING,
                    document_state_reasons=(R.NONE,),
                    document_state_message="",
                    document_size=spooled.size,
                    document_digest=spooled.digest,
                    spool_name=spooled.name,
                    last_document=slot.last_document,
                    time_at_creation=self.now(),
                )
            )
            job = await self.close_or_count(job, slot.last_document, job.number_of_documents + 1)
        return job, document

    async def close_or_count(self, job: Job, last: bool, count: int) -> Job:
        if not last:
            return await self.jobs.update(job, number_of_documents=count)
        if count == 0:
            return await self.states.change(
                job,
                JobState.ABORTED,
                reasons=[R.ABORTED_BY_SYSTEM],
                message="the job was closed without any document",
                is_closed=True,
            )
        add = [R.JOB_FETCHABLE] if job.job_state == JobState.PENDING else []
        return await self.states.change(
            job,
            job.job_state,
            remove=[R.JOB_INCOMING],
            add=add,
            is_closed=True,
            number_of_documents=count,
        )
