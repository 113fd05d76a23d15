"""One scanner's side of the Scan flow: registration as a scan queue, resync, and each
job: FetchJob → AcknowledgeJob → scan → PutJobDocumentData for each document → the
job's end (seed 001).

The scanned documents go to the service in the request itself when small, else over
the HTTPS byte path to the one-time upload URL the answer carries, streamed from the
file with the size and SHA-256 the service checks. A scan can be repeated without harm
(nothing is consumed), so scan jobs are kept in memory only: a job the manager was
scanning when it stopped is not listed at the next resync, the service makes it
fetchable again, and it is scanned again (a feeder that was emptied then reports
media-empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import shutil
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypeVar

import aiohttp

from manager.device_worker import Requester
from manager.drivers.base import DeviceStatus, DeviceUnreachable
from manager.drivers.scanner import (
    ScanDriver,
    ScanFailed,
    ScannedDocument,
    ScannerCapabilities,
    ScanTicket,
)
from manager.status import status_element
from manager.transform.options import media_points
from stanzas import device_ops as ops
from stanzas.errors import CloudImagingError, NotFetchable, NotFound
from stanzas.groups import Capabilities, JobTicket
from stanzas.model import Payload
from stanzas.states import JobState, ServiceType
from stanzas.types import INLINE_DOCUMENT_MAX

log = logging.getLogger(__name__)
P = TypeVar("P", bound=Payload)
READ_CHUNK = 1 << 20
_POINTS_TO_HUNDREDTHS_MM = 2540 / 72


def scanner_capabilities(caps: ScannerCapabilities) -> Capabilities:
    return Capabilities(
        printer_make_and_model=caps.printer_make_and_model[:1023] or None,
        document_format_supported=list(caps.document_format_supported) or None,
        input_source_supported=list(caps.input_source_supported) or None,
        input_color_mode_supported=list(caps.input_color_mode_supported) or None,
        input_resolution_supported=list(caps.input_resolution_supported) or None,
        input_sides_supported=list(caps.input_sides_supported) or None,
    )


def scan_ticket(ticket: JobTicket, caps: ScannerCapabilities, name: str) -> ScanTicket:
    """The driver's ticket: what the job asks (the service checked it against the
    capabilities), the scanner's defaults for the rest."""
    area = media_points(ticket.media)
    return ScanTicket(
        input_source=ticket.input_source or caps.input_source_default,
        input_color_mode=ticket.input_color_mode or caps.input_color_mode_default,
        input_resolution=ticket.input_resolution or caps.input_resolution_default,
        input_sides=ticket.input_sides or "one-sided",
        document_format=ticket.document_format or caps.document_format_default,
        number_of_pages=ticket.number_of_pages,
        width=round(area[0] * _POINTS_TO_HUNDREDTHS_MM) if area else None,
        height=round(area[1] * _POINTS_TO_HUNDREDTHS_MM) if area else None,
        document_name=_stem(name),
    )


def _stem(name: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-")
    return cleaned[:80] or "scan"


class ScanWorker:
    def __init__(
        self,
        *,
        output_device_uuid: str,
        printer_name: str,
        driver: ScanDriver,
        session: Requester,
        spool_dir: Path,
        http_ssl: ssl.SSLContext | None,
        printer_info: str | None = None,
        printer_location: str | None = None,
        status_interval: float = 2.0,
    ) -> None:
        self.uuid = output_device_uuid
        self.printer_name = printer_name
        self.driver = driver
        self.session = session
        self.spool_dir = spool_dir
        self.http_ssl = http_ssl
        self.printer_info = printer_info
        self.printer_location = printer_location
        self.status_interval = status_interval
        self.registered = asyncio.Event()
        self.device_answers = False  # the scanner answered its last status query (metrics)
        self.idle = asyncio.Event()
        self.idle.set()
        self._jobs: dict[int, asyncio.Task[None]] = {}
        self._device_ids: dict[int, int] = {}
        self._next_device_id = 1
        self._caps: ScannerCapabilities | None = None
        self._last_status: DeviceStatus | None = None
        self._http: aiohttp.ClientSession | None = None
        self._monitor: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        await self.driver.start()
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.http_ssl if self.http_ssl else False),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60),
        )
        self._monitor = asyncio.create_task(self._watch_device())

    async def stop(self) -> None:
        tasks = [t for t in (*self._jobs.values(), self._monitor) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        await self.driver.close()

    async def call(self, payload: ops.DeviceRequest, response_type: type[P]) -> P:
        payload.service_type = ServiceType.SCAN  # the queue it registers is a scan queue
        return await self.session.request(payload, response_type)

    # --- registration and resync -----------------------------------------------------------
    async def register(self) -> ops.RegisterDeviceResponse:
        self._caps = await self.driver.get_capabilities()
        status = await self.driver.get_status()
        self._last_status = status
        response = await self.call(
            ops.RegisterDevice(
                output_device_uuid=self.uuid,
                printer_name=self.printer_name,
                printer_info=self.printer_info or None,
                printer_location=self.printer_location,
                capabilities=scanner_capabilities(self._caps),
                status=status_element(status),
            ),
            ops.RegisterDeviceResponse,
        )
        self.registered.set()
        return response

    async def resync(self) -> None:
        held = [
            ops.HeldJob(
                job_id=job_id,
                job_state=JobState.PROCESSING,
                job_state_reasons=["none"],
                output_device_job_id=self._device_ids[job_id],
            )
            for job_id in self._jobs
            if job_id in self._device_ids
        ]
        response = await self.call(
            ops.UpdateFetchableJobs(output_device_uuid=self.uuid, job=held),
            ops.UpdateFetchableJobsResponse,
        )
        for job_id in response.cancel_job_ids:
            self.cancel(job_id)
        for job_id in response.fetchable_job_ids:
            self.start_job(job_id)

    async def on_notification(self, note: ops.WorkNotification) -> None:
        for job_id in note.cancel_job_ids:
            self.cancel(job_id)
        if note.resync:
            await self.resync()
        for job_id in note.fetchable_job_ids:
            self.start_job(job_id)

    def cancel(self, job_id: int) -> None:
        task = self._jobs.get(job_id)
        if task is not None:
            task.cancel()  # kills the scan; _run_job reports the job canceled

    def start_job(self, job_id: int) -> None:
        if job_id in self._jobs:
            return
        self.idle.clear()
        task = asyncio.create_task(self._run_job(job_id))
        self._jobs[job_id] = task
        task.add_done_callback(functools.partial(self._job_done, job_id))

    def _job_done(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._jobs.pop(job_id, None)
        self._device_ids.pop(job_id, None)
        if not self._jobs:
            self.idle.set()

    # --- one job ---------------------------------------------------------------------------
    async def _run_job(self, job_id: int) -> None:
        workdir = self.spool_dir / f"scan-{job_id}"
        try:
            fetched = await self.call(
                ops.FetchJob(output_device_uuid=self.uuid, job_id=job_id), ops.FetchJobResponse
            )
            device_id = self._next_device_id
            self._next_device_id += 1
            ack = await self.call(
                ops.AcknowledgeJob(
                    output_device_uuid=self.uuid, job_id=job_id, output_device_job_id=device_id
                ),
                ops.AcknowledgeJobResponse,
            )
            if ack.job_state.is_terminal:
                return
            self._device_ids[job_id] = device_id
            await self._report(job_id, JobState.PROCESSING, ["none"], "scanning")
            caps = self._caps or await self.driver.get_capabilities()
            ticket = scan_ticket(fetched.job_ticket, caps, fetched.job_name)
            try:
                documents = await self.driver.scan(ticket, workdir)
            except ScanFailed as exc:
                await self._report(
                    job_id, JobState.ABORTED, ["aborted-by-system", exc.reason], exc.message
                )
                return
            for index, document in enumerate(documents):
                await self._put(job_id, document, last=index == len(documents) - 1)
            pages = sum(d.pages for d in documents)
            await self._report(
                job_id,
                JobState.COMPLETED,
                ["job-completed-successfully"],
                f"scanned {pages} page(s) into {len(documents)} document(s)",
                impressions=pages,
            )
        except asyncio.CancelledError:
            if job_id in self._device_ids:
                with contextlib.suppress(CloudImagingError):
                    await asyncio.shield(
                        self._report(job_id, JobState.CANCELED, ["job-canceled-by-user"], "")
                    )
            raise
        except (NotFetchable, NotFound) as exc:
            log.info("scan job %s: %s", job_id, exc)
        except (CloudImagingError, DeviceUnreachable) as exc:
            log.warning("scan job %s: %s", job_id, exc)
            if job_id in self._device_ids:
                with contextlib.suppress(CloudImagingError):
                    await self._report(
                        job_id, JobState.ABORTED, ["aborted-by-system"], f"not scanned: {exc}"
                    )
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _put(self, job_id: int, document: ScannedDocument, last: bool) -> None:
        """PutJobDocumentData: in the request when small, else PUT to the upload URL."""
        size, digest = await asyncio.to_thread(_measure, document.path)
        small = size <= INLINE_DOCUMENT_MAX
        data = await asyncio.to_thread(document.path.read_bytes) if small else None
        response = await self.call(
            ops.PutJobDocumentData(
                output_device_uuid=self.uuid,
                job_id=job_id,
                document_format=document.document_format,
                document_size=size,
                document_digest=digest,
                last_document=last,
                document_name=document.path.name,
                document_data=data,
            ),
            ops.PutJobDocumentDataResponse,
        )
        if response.upload_uri is None:
            return
        assert self._http is not None
        async with self._http.put(
            response.upload_uri,
            data=_chunks(document.path),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        ) as answer:
            if answer.status != 201:
                raise DeviceUnreachable(
                    f"the upload of {document.path.name} got HTTP {answer.status}"
                )

    async def _report(
        self,
        job_id: int,
        state: JobState,
        reasons: list[str],
        message: str,
        *,
        impressions: int | None = None,
    ) -> None:
        await self.call(
            ops.UpdateJobState(
                output_device_uuid=self.uuid,
                job_id=job_id,
                job_state=state,
                job_state_reasons=reasons,
                job_state_message=message[:1023] or None,
                output_device_job_id=self._device_ids.get(job_id),
                output_device_job_state=state,
                job_impressions_completed=impressions,
            ),
            ops.UpdateJobStateResponse,
        )

    async def _watch_device(self) -> None:
        while True:
            try:
                status = await self.driver.get_status()
                self.device_answers = True
                if status != self._last_status and self.registered.is_set():
                    self._last_status = status
                    await self.call(
                        ops.UpdateServiceState(
                            output_device_uuid=self.uuid, status=status_element(status)
                        ),
                        ops.UpdateServiceStateResponse,
                    )
            except DeviceUnreachable as exc:
                self.device_answers = False
                log.debug("scanner status not reported: %s", exc)
            except CloudImagingError as exc:
                log.debug("scanner status not reported: %s", exc)
            await asyncio.sleep(self.status_interval)


def _measure(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    f = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(f.read, READ_CHUNK):
            yield chunk
    finally:
        f.close()
