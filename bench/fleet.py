"""Many Device Managers in one process: the light manager harness of the benchmarks.

Each manager is a real `stanzas.session.ServiceSession` (c2s, STARTTLS, SCRAM, one
account each) that registers one device through the real RegisterDevice operation,
resyncs with UpdateFetchableJobs, and then prints every job it is told about with the
real operations: FetchJob, AcknowledgeJob, FetchDocument (a small document comes in the
answer, a bigger one by HTTPS GET; size and SHA-256 checked), AcknowledgeDocument,
UpdateJobState(completed). It keeps no held-jobs file
and drives no device: it measures the service's side, not the manager's.

A manager learns of work in one of two ways (its `mode`):

* push: the service's WorkNotification (what Cirrus does);
* poll: GetFetchableJobs every `interval` seconds, pushes ignored (PAPPL's proxy
  polls every 5 s).

(The INFRA reference's loop, ippsample's ippproxy, is not emulated here: bench.infra
runs the real one.)

For each job it records when it first knew of the job (the notification or poll
answer parsed) and when it had the whole document, on CLOCK_MONOTONIC, which the
parent subtracts from the service's commit times (bench.probe_service).

Driven by the parent over stdin/stdout (bench.common.Child):

    ← {"command": "connect", "managers": [[user, password, queue, uuid, mode, interval, code]]}
    → {"event": "connected", "count": N, "seconds": S, ...}
    ← {"command": "records"}  → {"event": "records", "jobs": [...]}
    ← {"command": "exit"}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import random
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from bench.common import commands, emit, fast_scram, no_throwaway_ssl_contexts, summary_ms
from manager.drivers.base import DeviceCapabilities, DeviceStatus
from manager.status import capabilities_element, status_element
from stanzas import device_ops as ops
from stanzas.errors import CloudImagingError
from stanzas.session import ServiceSession, tls_context
from stanzas.states import JobState

log = logging.getLogger("bench.fleet")

CAPABILITIES = capabilities_element(
    DeviceCapabilities(
        printer_make_and_model="Cirrus Bench Device",
        document_format_supported=("application/pdf", "application/octet-stream"),
        media_supported=("iso_a4_210x297mm",),
        media_default="iso_a4_210x297mm",
    )
)
STATUS = status_element(DeviceStatus("idle"))

# job id, queue, mode, first known, document whole, completed (monotonic; 0 = never)
JobRecord = list[Any]


class LightManager:
    def __init__(
        self,
        fleet: Fleet,
        user: str,
        password: str,
        queue: str,
        uuid: str,
        mode: str,
        interval: float,
        enrollment_code: str,
    ) -> None:
        xmpp = fleet.xmpp
        self.fleet = fleet
        self.queue = queue
        self.enrollment_code = enrollment_code
        self.uuid = uuid
        self.mode = mode
        self.interval = interval
        self.session = ServiceSession(
            f"{user}@{xmpp['domain']}/bench",
            password,
            service_jid=xmpp["service_jid"],
            host=xmpp["host"],
            port=xmpp["port"],
            ssl_context=fleet.ssl,
        )
        self.session.service_messages.append(self.on_message)
        self.seen: set[int] = set()
        self.tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        await self.session.start(timeout=120)
        await self.session.request(
            ops.RegisterDevice(
                output_device_uuid=self.uuid,
                printer_name=self.queue,
                capabilities=CAPABILITIES,
                status=STATUS,
                enrollment_code=self.enrollment_code,
            ),
            ops.RegisterDeviceResponse,
            timeout=120,
        )
        resync = await self.session.request(
            ops.UpdateFetchableJobs(output_device_uuid=self.uuid),
            ops.UpdateFetchableJobsResponse,
            timeout=120,
        )
        for job_id in resync.fetchable_job_ids:
            self.take(job_id, time.monotonic())
        if self.mode == "poll":
            self.spawn(self.poll_loop())

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- learning of work -------------------------------------------------------------
    def on_message(self, element: ET.Element) -> None:
        try:
            note = ops.WorkNotification.from_xml(element)
        except CloudImagingError:
            return
        now = time.monotonic()
        if self.mode == "poll":
            return
        for job_id in note.fetchable_job_ids:
            self.take(job_id, now)

    async def poll_loop(self) -> None:
        await asyncio.sleep(random.uniform(0, self.interval))
        while True:
            await self.poll_once()
            await asyncio.sleep(self.interval)

    async def poll_once(self) -> int:
        try:
            answer = await self.session.request(
                ops.GetFetchableJobs(output_device_uuid=self.uuid),
                ops.GetFetchableJobsResponse,
            )
        except CloudImagingError as exc:
            log.warning("%s: GetFetchableJobs failed: %s", self.queue, exc)
            return 0
        now = time.monotonic()
        new = [j.job_id for j in answer.job if j.job_id not in self.seen]
        for job_id in new:
            self.take(job_id, now)
        return len(new)

    # --- printing a job ---------------------------------------------------------------
    def take(self, job_id: int, seen: float) -> None:
        if job_id in self.seen:
            return
        self.seen.add(job_id)
        record: JobRecord = [job_id, self.queue, self.mode, seen, 0.0, 0.0]
        self.fleet.records.append(record)
        self.spawn(self.print_job(job_id, record))

    async def call(self, payload: Any, response: Any) -> Any:
        return await self.session.request(payload, response, timeout=120)

    async def print_job(self, job_id: int, record: JobRecord) -> None:
        uuid = self.uuid
        try:
            fetched = await self.call(
                ops.FetchJob(output_device_uuid=uuid, job_id=job_id), ops.FetchJobResponse
            )
            await self.call(
                ops.AcknowledgeJob(
                    output_device_uuid=uuid, job_id=job_id, output_device_job_id=job_id
                ),
                ops.AcknowledgeJobResponse,
            )
            numbers = getattr(fetched, "document_numbers", None) or range(
                1, fetched.number_of_documents + 1
            )
            for number in numbers:
                document = await self.call(
                    ops.FetchDocument(
                        output_device_uuid=uuid,
                        job_id=job_id,
                        document_number=number,
                        document_data_accepted=True,  # as the real manager does
                    ),
                    ops.FetchDocumentResponse,
                )
                await self.fleet.download(document)
                record[4] = time.monotonic()
                await self.call(
                    ops.AcknowledgeDocument(
                        output_device_uuid=uuid, job_id=job_id, document_number=number
                    ),
                    ops.AcknowledgeDocumentResponse,
                )
            await self.call(
                ops.UpdateJobState(
                    output_device_uuid=uuid,
                    job_id=job_id,
                    job_state=JobState.COMPLETED,
                    job_state_reasons=["job-completed-successfully"],
                    output_device_job_id=job_id,
                    output_device_job_state=JobState.COMPLETED,
                    job_impressions_completed=1,
                ),
                ops.UpdateJobStateResponse,
            )
            record[5] = time.monotonic()
        except Exception as exc:  # a benchmark counts failures, it does not stop
            self.fleet.failures += 1
            log.warning("job %s on %s failed: %r", job_id, self.queue, exc)


class Fleet:
    def __init__(self, xmpp: dict[str, Any], login_concurrency: int) -> None:
        self.xmpp = xmpp
        self.ssl = tls_context(Path(xmpp["ca_file"]))  # one context for every session
        self.gate = asyncio.Semaphore(login_concurrency)
        self.managers: list[LightManager] = []
        self.records: list[JobRecord] = []
        self.failures = 0
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.ssl, limit=64),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120),
        )

    async def download(self, document: ops.FetchDocumentResponse) -> None:
        digest = hashlib.sha256()
        if document.document_data is not None:  # a small one came in the answer
            digest.update(document.document_data)
            size = len(document.document_data)
        elif document.document_access_uri is not None:
            size = await self._get(document.document_access_uri, digest)
        else:
            raise RuntimeError("neither document data nor a URL")
        if size != document.document_size or digest.hexdigest() != document.document_digest:
            raise RuntimeError("document size or digest mismatch")

    async def _get(self, url: str, digest: Any) -> int:
        size = 0
        async with self.http.get(url) as response:
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status} for the document")
            async for chunk in response.content.iter_chunked(1 << 20):
                size += len(chunk)
                digest.update(chunk)
        return size

    async def connect(self, specs: list[list[Any]]) -> dict[str, Any]:
        logins: list[float] = []
        failed: list[str] = []

        async def one(spec: list[Any]) -> None:
            user, password, queue, uuid, mode, interval, code = spec
            manager = LightManager(self, user, password, queue, uuid, mode, float(interval), code)
            async with self.gate:
                t0 = time.monotonic()
                try:
                    await manager.start()
                except Exception as exc:
                    failed.append(f"{user}: {exc!r}")
                    return
                logins.append(time.monotonic() - t0)
            self.managers.append(manager)

        started = time.monotonic()
        await asyncio.gather(*(one(spec) for spec in specs))
        return {
            "count": len(specs) - len(failed),
            "failed": len(failed),
            "failures": failed[:5],
            "seconds": round(time.monotonic() - started, 3),
            "login_register_resync": summary_ms(logins),
            "total": len(self.managers),
        }

    async def close(self) -> None:
        for manager in self.managers:
            for task in list(manager.tasks):
                task.cancel()
            manager.session.stopping = True
            with contextlib.suppress(Exception):
                manager.session.abort()
        await self.http.close()


async def main(config: dict[str, Any]) -> None:
    fast_scram()
    no_throwaway_ssl_contexts()
    fleet = Fleet(config["xmpp"], config.get("login_concurrency", 64))
    queue = await commands()
    emit("ready")
    try:
        while True:
            command = await queue.get()
            name = command.get("command")
            try:
                if name == "connect":
                    result = await fleet.connect(command["managers"])
                    emit("connected", **result)
                elif name == "records":
                    jobs, fleet.records = fleet.records, []
                    emit("records", jobs=jobs, failures=fleet.failures)
                else:
                    break
            except Exception as exc:
                emit("error", error=f"{name}: {exc!r}\n{traceback.format_exc()}")
    finally:
        await fleet.close()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    uvloop.run(main(json.loads(args.config.read_text())))


if __name__ == "__main__":
    cli()
