"""What every part of the Cloud Imaging Service works with: its settings and clock, the
database and one store per table, the spool and the byte-path slots, who is who (roles),
background tasks, and the two state machines that are the only writers of job and queue
states. Built once per service (server/app.py wires the layers above it: the notifier,
the XMPP component, the HTTPS endpoint, the administrators' front ends).

Nothing here pushes anything: the state machines tell their listeners of committed
changes, and the notifier (server/notifier.py) decides what the devices and users hear,
through the `Push` port the XMPP component implements.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.accounting.quotas import Quotas
from server.config import Settings
from server.documents.slots import Slots
from server.documents.spool import Spool
from server.documents.uploads import UploadOrigins
from server.joblog.record import FACILITIES
from server.joblog.recorder import JobLog
from server.joblog.writer import JobLogWriter
from server.jobs.retention import RetentionPolicy
from server.jobs.states import JobStates
from server.queues.states import QueueStates
from server.stores.admin import AlertStore, PresenceSubscriberStore, SystemElementStore
from server.stores.chat import ChatDefaultStore, ChatJobStore
from server.stores.db import Database
from server.stores.devices import Device, DeviceStore
from server.stores.documents import DocumentStore
from server.stores.enrollment import EnrollmentCodeStore
from server.stores.groups import GroupStore
from server.stores.jobs import Job, JobStore
from server.stores.queue_devices import QueueDeviceStore
from server.stores.queue_states import QueueStateStore
from server.stores.queues import QueueStore
from server.stores.quotas import QuotaStore
from server.stores.schedule import JobScheduleStore
from server.stores.usage import UsageStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as Prosody authenticated and stamped it."""

    jid: str  # full JID (user@domain/resource, or a component's domain)

    @property
    def bare(self) -> str:
        return self.jid.split("/", 1)[0]


class Push(Protocol):
    """How the service tells others of changes: XMPP messages, sent by the component."""

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


@dataclass
class Traffic:
    """Counts the hot path keeps as plain integers (server/metrics.py exports them at
    each scrape): document bytes in and out, the component's reconnects, and every
    request by operation and outcome (its IPP status)."""

    document_bytes_in: int = 0
    document_bytes_out: int = 0
    reconnects: int = 0
    requests: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)


class Tasks:
    """Background work of the service: follow-up work of committed changes (pushes,
    retention, fetches) and, as `daemon`s, loops that run until the service stops."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._daemons: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, daemon: bool = False) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        if daemon:
            self._daemons.add(task)
        task.add_done_callback(self._done)

    async def settled(self) -> None:
        """Wait until the follow-up work is done; loops excepted."""
        while pending := self._tasks - self._daemons:
            await asyncio.wait(pending)

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._daemons.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())


def job_log_writer(settings: Settings) -> JobLogWriter | None:
    """The job log's writer for the settings' destinations (None: no job log)."""
    config = settings.job_log
    if not config.destinations:
        return None
    return JobLogWriter(
        file=settings.job_log_file() if "file" in config.destinations else None,
        syslog_socket=config.syslog_socket if "syslog" in config.destinations else None,
        facility=FACILITIES[config.facility],
        hostname=config.hostname,
        max_bytes=config.max_bytes,
        rotate_seconds=config.rotate_after,
        retention_seconds=config.retention_days * 86400,
    )


class ServiceContext:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.started = clock()  # for system-up-time
        self.tasks = Tasks()
        self.traffic = Traffic()
        self.db = Database(settings.database, synchronous=settings.sqlite_synchronous)
        self.jobs = JobStore(self.db)
        self.documents = DocumentStore(self.db)
        self.devices = DeviceStore(self.db)
        self.queues = QueueStore(self.db)
        self.queue_devices = QueueDeviceStore(self.db)  # which devices serve which queue
        self.enrollment = EnrollmentCodeStore(self.db)  # one-time codes that enrol devices
        self.groups = GroupStore(self.db)  # the service's groups of users (permissions)
        self.schedule = JobScheduleStore(self.db)
        self.alerts = AlertStore(self.db)
        self.system = SystemElementStore(self.db)
        self.presence_subscribers = PresenceSubscriberStore(self.db)
        self.chat_defaults = ChatDefaultStore(self.db)  # users' default queues (chat)
        self.chat_jobs = ChatJobStore(self.db)  # where chat jobs' notices go
        self.spool = Spool(settings.spool_dir)
        self.slots = Slots(ttl=settings.http.slot_ttl)
        self.retention = RetentionPolicy(
            self.db, self.jobs, self.documents, self.queues, self.spool, self.tasks.spawn
        )
        self.usage = UsageStore(self.db)
        self.job_states = JobStates(
            self.db, self.jobs, self.documents, self.retention, clock, usage=self.usage
        )
        # The quotas; group quotas count the members of the service's groups above.
        self.quotas = Quotas(
            QuotaStore(self.db), self.usage, self.jobs, self.job_states, self.groups, clock
        )
        self.job_log = JobLog(
            job_log_writer(settings), settings.xmpp.component_jid, clock, self.db.after_commit
        )
        self.queue_states = QueueStates(
            self.db,
            QueueStateStore(self.db),
            self.queues,
            self.jobs,
            self.schedule,
            self.job_states,
            self.tasks.spawn,
            clock,
        )
        # Within the context: a queue is idle or processing as its jobs reach and leave
        # the device; an ended job's transfer slots go.
        self.job_states.listeners += [self.queue_states.job_changed, self.slots.job_changed]
        # Every committed change of a job is a record of the job log (seed 000).
        self.job_states.listeners.append(self.job_log.job_changed)
        self.push: Push | None = None  # the XMPP component, once connected (server/app.py)
        self.online: set[str] = set()  # device accounts (bare JIDs) present, from presence
        # Told, after the commit, of a device that may take work again: it came online,
        # was approved, resumed, or added to a queue (the notifier offers it work).
        self.availability: list[Callable[[Device], None]] = []
        # Trust for Send<Service>Uri over https (None: the system's CAs).
        self.uri_ssl_context: ssl.SSLContext | None = (
            ssl.create_default_context(cafile=str(settings.uri_ca_file))
            if settings.uri_ca_file
            else None
        )
        # The XMPP server's file share, whose uploads chat users share (chat_print).
        self.upload_origins = UploadOrigins(
            settings.chat_print.upload_hosts,
            settings.chat_print.ca_file,
            settings.chat_print.owner_in_url,
        )
        self.public_url = ""  # of the HTTPS endpoint, once it listens

    async def start(self) -> None:
        self.spool.prepare()
        self.job_log.start()
        await self.db.open()
        await self.queue_states.start()
        await self.quotas.load()

    async def stop(self) -> None:
        self.queue_states.stop()
        await self.tasks.cancel_all()
        await self.db.close()
        self.job_log.stop()

    def device_available(self, device: Device) -> None:
        """After the current transaction commits (now, outside one)."""

        def tell() -> None:
            for listener in list(self.availability):
                listener(device)

        self.db.after_commit(tell)

    def now(self) -> int:
        return int(self.clock())

    async def settled(self) -> None:
        """Wait until the follow-up work of committed changes (pushes to devices,
        retention, fetches) is done; loops excepted."""
        await self.tasks.settled()

    # --- roles --------------------------------------------------------------------
    def is_admin(self, caller: Caller) -> bool:
        return caller.bare in self.settings.admins

    def is_operator(self, caller: Caller) -> bool:
        return caller.bare in self.settings.operators or self.is_admin(caller)

    def is_local_user(self, caller: Caller) -> bool:
        return "@" in caller.bare and caller.bare.endswith("@" + self.settings.xmpp.domain)
