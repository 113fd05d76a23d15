"""The users' side of bench.chaos and bench.soak, in its own process: C clients
submitting marked documents (bench.marked) and following each job to its final state,
through crashes of everything around them.

Each client is a real `cirrus.client.CirrusClient` on its own account. A job is one
PrintJob (a small document, in-band) or CreateJob + SendDocument with an HTTPS upload
(a bigger one). The client library itself sends a CreateJob or PrintJob whose outcome
is unknown again with its idempotency key (cirrus.client.CirrusClient.submit); a
submission the client still sees fail is retried here with a new key, as a user would
press "print" again, up to `retries` times;
"accepted" means the client got a job id. After a failed upload of an accepted job
the client asks the job's state and sends again while the job is still waiting for
its document, and cancels it after three tries (the job is then "abandoned").

Driven by the parent (bench.common.Child) over stdin/stdout:

    → {"event": "ready"}                      every client online
    ← {"command": "run", ...}                 one Plan (below)
    → {"event": "progress", ...counts}        every 0.5 s while running
    → {"event": "submitted", ...counts}       every job submitted (or given up)
    → {"event": "done", ...counts}            every accepted job followed to its end,
                                              or the drain deadline passed
    ← {"command": "audit"}
    → {"event": "audit", "active": [...], "recheck": {...}}
    ← {"command": "exit"}

Every attempt ends as one JSON line in the journal (Plan.journal; none for a soak,
which keeps only counts, so that the process's memory is the client library's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import time
import traceback
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import uvloop

from bench import marked
from bench.common import commands, emit
from cirrus.client import CirrusClient, ClientSettings
from stanzas.groups import JobStatus
from stanzas.types import INLINE_DOCUMENT_MAX

PUSH_WAIT = 15.0  # seconds without a push before the client asks for the job's state
SEND_TRIES = 5  # uploads of an accepted job before it is canceled
BACKOFF = 0.25  # seconds before the first retry; doubled each time, up to BACKOFF_MAX
BACKOFF_MAX = 4.0
CHUNK = 64 * 1024


@dataclass
class Plan:
    jobs: int
    queues: list[str]
    seed: int = 1
    in_flight: int = 4  # jobs each client keeps going
    retries: int = 8  # new submissions after a failed one
    big_share: float = 0.0  # share of jobs sent as CreateJob + HTTPS upload
    small_size: tuple[int, int] = (1024, 8192)  # octets, uniform
    big_size: tuple[int, int] = (INLINE_DOCUMENT_MAX + 1, 4 * INLINE_DOCUMENT_MAX)
    job_timeout: float = 60.0  # a slot waits this long for a job's end, then moves on
    deadline: float = 600.0  # seconds from the start of the run: every wait ends here
    journal: str | None = None


@dataclass
class Attempt:
    """One submission and what became of it (a journal line)."""

    key: str
    job: int  # the logical job (its index in the run)
    attempt: int
    client: int
    queue: str
    size: int
    big: bool
    t_job: float  # when the logical job's first attempt started (monotonic)
    t_submit: float
    job_id: int | None = None  # None: the client never got a job id
    t_accepted: float | None = None
    error: str | None = None  # the last failure the client saw
    errors: list[str] = field(default_factory=list)  # every one, the first eight
    # What that failure said of the request (the library's `delivered`): False never
    # reached the service, None may have been done, "n/a" the error does not say.
    delivered: bool | str | None = "n/a"
    sent: bool = False  # the document is committed, as far as the client knows
    abandoned: bool = False  # canceled by the client after failed uploads
    final: str | None = None  # the final job state the client saw
    reasons: list[str] = field(default_factory=list)
    message: str | None = None
    device_job_id: int | None = None
    t_final: float | None = None
    polled: bool = False  # the final state was asked for, no push told it

    def failed(self, exc: BaseException) -> None:
        self.error = describe(exc)
        if len(self.errors) < 8:
            self.errors.append(self.error)


@dataclass
class Counts:
    started: int = 0  # logical jobs begun
    accepted: int = 0
    failed_attempts: int = 0  # attempts the client saw fail before a job id
    final: int = 0
    given_up: int = 0  # logical jobs whose every attempt failed
    abandoned: int = 0
    polled: int = 0
    stuck: int = 0  # followed until the deadline without an end


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


def online_event(client: CirrusClient) -> asyncio.Event:
    """An event set while the client is logged in, kept by its connection listener."""
    online = asyncio.Event()
    if client.online:
        online.set()
    client.add_connection_listener(lambda up: online.set() if up else online.clear())
    return online


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


class Workload:
    def __init__(self, clients: list[CirrusClient], plan: Plan) -> None:
        self.clients = clients
        self.plan = plan
        self.counts = Counts()
        self.started_at = time.monotonic()
        self.deadline = self.started_at + plan.deadline
        self.followers: set[asyncio.Task[None]] = set()
        self.online = [online_event(c) for c in clients]
        self.unfinished: list[tuple[int, int]] = []  # (client, job id) never seen final
        # Line-buffered: what the process wrote is on disk should it be killed.
        self._journal: IO[str] | None = (
            open(plan.journal, "a", buffering=1) if plan.journal else None
        )

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def write(self, record: Attempt) -> None:
        if self._journal is not None:
            self._journal.write(json.dumps(asdict(record)) + "\n")

    async def run(self) -> None:
        ticker = asyncio.create_task(self._tick())
        try:
            jobs = iter(range(self.plan.jobs))

            async def worker(index: int) -> None:
                for job in jobs:
                    if self.left() <= 0:
                        return
                    await self.job(index, job)

            slots = [i for i in range(len(self.clients)) for _ in range(self.plan.in_flight)]
            await asyncio.gather(*(worker(i) for i in slots))
            emit("submitted", **asdict(self.counts))
            if self.followers:
                await asyncio.wait(set(self.followers), timeout=max(0.0, self.left()))
            for task in list(self.followers):
                task.cancel()
            await asyncio.gather(*self.followers, return_exceptions=True)
            emit("done", **asdict(self.counts))
        finally:
            ticker.cancel()
            if self._journal is not None:
                self._journal.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            emit("progress", **asdict(self.counts))

    async def until_connected(self, client: CirrusClient) -> None:
        online = self.online[self.clients.index(client)]
        if not online.is_set() and self.left() > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(online.wait(), self.left())

    # --- one logical job ------------------------------------------------------------
    async def job(self, index: int, job: int) -> None:
        client = self.clients[index]
        rng = random.Random(f"{self.plan.seed}:{job}")
        queue = self.plan.queues[job % len(self.plan.queues)]
        big = rng.random() < self.plan.big_share
        size = rng.randint(*(self.plan.big_size if big else self.plan.small_size))
        self.counts.started += 1
        t_job = time.monotonic()
        for attempt in range(self.plan.retries + 1):
            await self.until_connected(client)
            if self.left() <= 0:
                break
            record = Attempt(
                marked.attempt_key(job, attempt),
                job,
                attempt,
                index,
                queue,
                size,
                big,
                t_job,
                time.monotonic(),
            )
            if await self.submit(client, record):
                self.counts.accepted += 1
                follower = asyncio.create_task(self.follow(client, record))
                self.followers.add(follower)
                follower.add_done_callback(self.followers.discard)
                await asyncio.wait({follower}, timeout=self.plan.job_timeout)
                return
            self.counts.failed_attempts += 1
            self.write(record)
            await asyncio.sleep(_backoff(attempt, rng))
        self.counts.given_up += 1

    async def submit(self, client: CirrusClient, record: Attempt) -> bool:
        """True once the client has a job id (the job is then followed)."""
        data = marked.make(record.key, record.size)
        name = f"{record.key}.txt"
        try:
            if record.big:
                job = await client.create_job(record.queue, job_name=record.key)
            else:
                job = await client.print_document(
                    record.queue,
                    data,
                    document_name=name,
                    document_format=marked.FORMAT,
                    job_name=record.key,
                )
        except Exception as exc:
            record.failed(exc)
            record.delivered = getattr(exc, "delivered", "n/a")
            return False
        record.job_id = job.job_id
        record.t_accepted = time.monotonic()
        if not record.big:
            record.sent = True
            return True
        digest = hashlib.sha256(data).hexdigest()
        rng = random.Random(record.key)
        for attempt in range(SEND_TRIES):
            try:
                await client.send_document_stream(
                    job.job_id,
                    chunks(data),
                    document_name=name,
                    document_format=marked.FORMAT,
                    size=len(data),
                    digest=digest,
                )
                record.sent = True
                return True
            except Exception as exc:
                record.failed(exc)
            await asyncio.sleep(_backoff(attempt, rng))
            await self.until_connected(client)
            state = await self.ask(client, job.job_id)
            if state is not None and not _waiting_for_document(state):
                record.sent = True  # committed, although the answer was lost
                return True
        record.abandoned = True
        self.counts.abandoned += 1
        await _retrying(
            lambda: client.cancel_job(job.job_id, "bench.chaos: the document could not be sent")
        )
        return True

    async def ask(self, client: CirrusClient, job_id: int) -> JobStatus | None:
        try:
            return await client.get_job(job_id)
        except Exception:
            return None

    async def follow(self, client: CirrusClient, record: Attempt) -> None:
        assert record.job_id is not None
        try:
            while self.left() > 0:
                wait = min(PUSH_WAIT, self.left())
                try:
                    final = await asyncio.wait_for(client.wait_for_final(record.job_id), wait)
                except TimeoutError:
                    # No push for a while: ask, as a client that cannot trust pushes would.
                    asked = await self.ask(client, record.job_id)
                    if asked is None or not asked.job_state.is_terminal:
                        continue
                    final = asked
                    record.polled = True
                    self.counts.polled += 1
                except Exception as exc:
                    record.failed(exc)
                    await asyncio.sleep(0.1)
                    await self.until_connected(client)
                    continue
                record.final = final.job_state.value
                record.reasons = list(final.job_state_reasons)
                record.message = final.job_state_message
                record.device_job_id = final.output_device_job_id
                record.t_final = time.monotonic()
                self.counts.final += 1
                return
            self.counts.stuck += 1
            self.unfinished.append((record.client, record.job_id))
        finally:
            self.write(record)

    # --- at the end -----------------------------------------------------------------
    async def audit(self) -> dict[str, Any]:
        """What the service says now: every client's jobs not yet ended, and the state
        of each job the client followed without seeing it end."""
        active: list[dict[str, Any]] = []
        recheck: dict[str, Any] = {}
        for index, client in enumerate(self.clients):
            jobs = await _retrying(lambda c=client: c.get_jobs(which="not-completed"))
            if jobs is None:
                active.append({"client": index, "error": "GetActiveJobs failed"})
                continue
            active += [_summary(index, j) for j in jobs]
        for index, job_id in self.unfinished:
            client = self.clients[index]
            job = await _retrying(lambda c=client, j=job_id: c.get_job(j))
            recheck[str(job_id)] = _summary(index, job) if job is not None else None
        return {"active": active, "recheck": recheck}


def _backoff(attempt: int, rng: random.Random) -> float:
    return min(BACKOFF_MAX, BACKOFF * 2**attempt) * rng.uniform(0.5, 1.5)


def _waiting_for_document(state: JobStatus) -> bool:
    return state.job_state == "pending" and "job-incoming" in state.job_state_reasons


def _summary(client: int, job: JobStatus) -> dict[str, Any]:
    return {
        "client": client,
        "job_id": job.job_id,
        "job_name": job.job_name,
        "state": job.job_state.value,
        "reasons": list(job.job_state_reasons),
        "message": job.job_state_message,
        "device_job_id": job.output_device_job_id,
    }


async def _retrying(call: Any, tries: int = 20) -> Any:
    for _ in range(tries):
        try:
            return await call()
        except Exception:
            await asyncio.sleep(0.5)
    return None


async def main(config: dict[str, Any]) -> None:
    xmpp = config["xmpp"]
    clients = [
        CirrusClient(
            ClientSettings(
                jid=f"{user}@{xmpp['domain']}",
                password=password,
                service_jid=xmpp["service_jid"],
                host=xmpp["host"],
                port=xmpp["port"],
                ca_file=Path(xmpp["ca_file"]),
            )
        )
        for user, password in config["clients"]
    ]
    queue = await commands()
    workload: Workload | None = None
    running: asyncio.Task[None] | None = None
    try:
        await asyncio.gather(*(c.start(timeout=60) for c in clients))
        emit("ready", clients=len(clients))
        while True:  # commands are read while a run goes on: "exit" ends it at once
            command = await queue.get()
            name = command.pop("command", None)
            if name == "run" and running is None:
                workload = Workload(clients, Plan(**command))
                running = asyncio.create_task(workload.run())
                running.add_done_callback(_report_failure)
            elif name == "audit" and workload is not None and running is not None:
                await asyncio.wait({running})
                try:
                    emit("audit", **await workload.audit())
                except Exception as exc:
                    emit("error", error=f"{describe(exc)}\n{traceback.format_exc()}")
            else:
                break
    finally:
        if running is not None:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        await asyncio.gather(*(c.stop() for c in clients), return_exceptions=True)


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        assert exc is not None
        trace = "".join(traceback.format_exception(exc))
        emit("error", error=f"{describe(exc)}\n{trace}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    uvloop.run(main(json.loads(args.config.read_text())))


if __name__ == "__main__":
    cli()
