"""The data-retention policy (seed 000): what becomes of a job's document data and of the
job itself once it has ended.

By default the data goes right after processing (JobStates discards it in the
transaction that ends the job); a queue may keep it for a time ('timed') or until the
job is forgotten ('keep'). A job's history is kept for `job-history-period`, then the
job, its documents and their data go.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from server.documents.spool import Spool
from server.stores.db import Database
from server.stores.documents import DocumentStore
from server.stores.jobs import Job, JobStore
from server.stores.queues import Queue, QueueStore

# Defaults where a queue's configuration says nothing.
DOCUMENT_RETENTION = "discard"  # seed 000: discard right after processing
# A scan job's documents are its product, for the owner to retrieve (GetDocumentData):
# a scan queue keeps them for the retention period unless configured otherwise.
SCAN_DOCUMENT_RETENTION = "timed"
DOCUMENT_RETENTION_PERIOD = 24 * 3600
JOB_HISTORY_PERIOD = 30 * 24 * 3600

Spawn = Callable[[Coroutine[Any, Any, Any]], None]


def retention_policy(queue: Queue | None) -> str:
    """discard, timed or keep: the queue's, else its service's default."""
    if queue is not None and queue.configuration.document_retention:
        return queue.configuration.document_retention
    if queue is not None and queue.service_type == "scan":
        return SCAN_DOCUMENT_RETENTION
    return DOCUMENT_RETENTION


def discards_at_end(queue: Queue | None) -> bool:
    """Whether a job's document data goes as soon as the job ends."""
    return retention_policy(queue) == "discard"


class RetentionPolicy:
    def __init__(
        self,
        db: Database,
        jobs: JobStore,
        documents: DocumentStore,
        queues: QueueStore,
        spool: Spool,
        spawn: Spawn,
    ) -> None:
        self.db = db
        self.jobs = jobs
        self.documents = documents
        self.queues = queues
        self.spool = spool
        self.spawn = spawn

    async def discards_at_end(self, job: Job) -> bool:
        return discards_at_end(await self.queues.get(job.printer_name))

    def discard_data(self, spool_name: str) -> None:
        """After the commit that forgot the data: the file goes."""
        # In a worker thread: an unlink took ~10 % of the event loop at full throughput.
        self.spawn(asyncio.to_thread(self.spool.discard, spool_name))

    async def discard_documents(self, job_id: int) -> None:
        """The job's document data goes (its documents stay, without data)."""
        async with self.db.transaction():
            for document in await self.documents.list(job_id):
                if document.spool_name:
                    await self.documents.update(document, spool_name=None)
                    name = document.spool_name
                    self.db.after_commit(functools.partial(self.discard_data, name))

    async def forget_job(self, job: Job) -> None:
        """The job's history period is over: the job, its documents and their data go."""
        await self.discard_documents(job.job_id)
        await self.jobs.delete(job.job_id)

    async def apply(self, job: Job, queue: Queue, now: int) -> None:
        """An ended job, at `now`: forgotten once its history period is over; its data
        discarded once a 'timed' retention period is."""
        config = queue.configuration
        ended = job.time_at_completed or 0
        history = config.job_history_period
        history = JOB_HISTORY_PERIOD if history is None else history
        if history and ended + history <= now:
            await self.forget_job(job)
            return
        if retention_policy(queue) == "timed":
            period = config.document_retention_period or DOCUMENT_RETENTION_PERIOD
            if ended + period <= now:
                await self.discard_documents(job.job_id)
