"""The users' side of a benchmark, in its own process: M clients submitting print jobs.

Each client is a real `cirrus.client.CirrusClient` and does what `cirrus print --wait`
does for every job: CreateJob, SendDocument + HTTPS PUT, then GetJobElements and the
JobEvents until the job ends. Driven by the parent (bench.common.Child) over
stdin/stdout:

    → {"event": "ready"}                       once every client is online
    ← {"command": "run", "jobs": N, ...}       one run (see Run below); repeatable
    → {"event": "done", "records": [...]}      one record per job
    ← {"command": "exit"}

Runs are "closed" (each client keeps `in_flight` jobs going until N are done: a
throughput figure) or "paced" (jobs start at a fixed or Poisson rate whatever happens
to earlier ones: a light load for latency figures).

A job whose final push has not come within `push_wait` seconds of the last one is
asked for (GetJobElements); if it has ended, it is recorded with `missed` set: the
client library drops a push of a job that arrives in the same read as the answer that
created it (the push is handled before the awaiting coroutine registers the job), and
then waits for ever. The benchmarks count such jobs instead of hanging on them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench.common import commands, emit
from cirrus.client import CirrusClient, ClientSettings
from stanzas.groups import JobStatus
from stanzas.types import INLINE_DOCUMENT_MAX

# job id, queue, submitted, created, uploaded, done (monotonic), final state, whether
# the client missed its final push (and learnt it by asking)
Record = tuple[int, str, float, float, float, float, str, bool]


@dataclass
class Run:
    jobs: int
    queues: list[str]
    document: str
    mode: str = "closed"  # closed | paced
    in_flight: int = 10  # closed: jobs each client keeps going
    rate: float = 20.0  # paced: jobs started per second
    poisson: bool = False  # paced: exponential gaps instead of fixed ones
    seed: int = 6
    timeout: float = 180.0  # per job, until its final state
    push_wait: float = 10.0  # without a push for this long, ask whether the job ended


async def one_job(client: CirrusClient, queue: str, document: Path, run: Run) -> Record:
    t0 = time.monotonic()
    if document.stat().st_size <= INLINE_DOCUMENT_MAX:
        # As `cirrus print FILE` does it: one small file is one Print-Job request.
        job = await client.print_files(queue, [document], job_name=document.name)
        t1 = t2 = time.monotonic()
    else:  # created, then uploaded: the two times apart
        job = await client.create_job(queue, job_name=document.name)
        t1 = time.monotonic()
        await client.send_document(job.job_id, document)
        t2 = time.monotonic()
    final, missed = await final_state(client, job.job_id, t0 + run.timeout, run.push_wait)
    t3 = time.monotonic()
    return (job.job_id, queue, t0, t1, t2, t3, final.job_state.value, missed)


async def final_state(
    client: CirrusClient, job_id: int, deadline: float, push_wait: float
) -> tuple[JobStatus, bool]:
    """The job's final state from its pushes, or, when none has come for `push_wait`
    seconds and the service says it has ended, from asking (missed = True)."""
    while True:
        try:
            return await client.wait_for_final(job_id, timeout=push_wait), False
        except TimeoutError:
            status = await client.get_job(job_id)
            if status.job_state.is_terminal:
                return status, True
            if time.monotonic() > deadline:
                raise


async def closed(clients: list[CirrusClient], run: Run) -> list[Record]:
    document = Path(run.document)
    counter = iter(range(run.jobs))
    records: list[Record] = []

    async def worker(client: CirrusClient) -> None:
        for index in counter:
            queue = run.queues[index % len(run.queues)]
            records.append(await one_job(client, queue, document, run))

    await asyncio.gather(*(worker(c) for c in clients for _ in range(run.in_flight)))
    return records


async def paced(clients: list[CirrusClient], run: Run) -> list[Record]:
    document = Path(run.document)
    rng = random.Random(run.seed)
    start = time.monotonic()
    at = 0.0
    tasks = []
    for index in range(run.jobs):
        delay = start + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        client = clients[index % len(clients)]
        queue = run.queues[index % len(run.queues)]
        tasks.append(asyncio.create_task(one_job(client, queue, document, run)))
        at += rng.expovariate(run.rate) if run.poisson else 1 / run.rate
    return list(await asyncio.gather(*tasks))


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
    try:
        await asyncio.gather(*(c.start(timeout=60) for c in clients))
        emit("ready", clients=len(clients))
        while True:
            command = await queue.get()
            if command.get("command") != "run":
                break
            run = Run(**{k: v for k, v in command.items() if k != "command"})
            started = time.monotonic()
            try:
                records = await (paced if run.mode == "paced" else closed)(clients, run)
            except Exception as exc:
                emit("error", error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
                continue
            emit("done", started=started, records=records)
    finally:
        await asyncio.gather(*(c.stop() for c in clients), return_exceptions=True)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    uvloop.run(main(json.loads(args.config.read_text())))


if __name__ == "__main__":
    cli()
