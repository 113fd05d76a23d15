"""One device's side of the job flow: registration, resync, fetch, print, report.

The order of steps (create the device job, AcknowledgeJob, then documents) and the
held-jobs file together make each job print at most once; see docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol, TypeVar

import aiohttp

from manager.download import DocumentFailed, fetch, verified
from manager.download import in_memory as _in_memory
from manager.download import read_file as _read_file
from manager.drivers.base import (
    DeviceCapabilities,
    DeviceDriver,
    DeviceJobStatus,
    DeviceJobTicket,
    DeviceRejected,
    DeviceStatus,
    DeviceUnreachable,
)
from manager.faults import crash_point
from manager.held_jobs import HeldJob, HeldJobs, Phase
from manager.status import capabilities_element, cloud_report, status_element
from manager.transform import Converted, Transformer, TransformFailed, plan, reachable
from stanzas import device_ops as ops
from stanzas.errors import (
    CloudImagingError,
    InternalError,
    NotAuthorized,
    NotFetchable,
    NotFound,
    ServiceUnavailable,
    Timeout,
)
from stanzas.groups import JobTicket
from stanzas.model import Payload
from stanzas.states import JobState, ServiceType

log = logging.getLogger(__name__)
P = TypeVar("P", bound=Payload)
# Failures that pass: the job is tried again later.
_TRANSIENT = frozenset({ServiceUnavailable.status, Timeout.status, InternalError.status})


class Requester(Protocol):
    """What a worker needs from the XMPP session."""

    async def request(
        self, payload: Payload, response_type: type[P], timeout: float = 30.0
    ) -> P: ...


class DeviceWorker:
    def __init__(
        self,
        *,
        output_device_uuid: str,
        printer_name: str,
        driver: DeviceDriver,
        session: Requester,
        held: HeldJobs,
        spool_dir: Path,
        http_ssl: ssl.SSLContext | None,
        printer_info: str | None = None,
        printer_location: str | None = None,
        status_interval: float = 2.0,
        service_type: ServiceType = ServiceType.PRINT,
        transformer: Transformer | None = None,
    ) -> None:
        self.uuid = output_device_uuid
        self.service_type = service_type
        # Converts what the device does not take (None: documents go as they are).
        self.transformer = transformer
        self._caps: DeviceCapabilities | None = None
        self._tickets: dict[int, DeviceJobTicket] = {}
        self.printer_name = printer_name
        self.driver = driver
        self.session = session
        self.held = held
        self.spool_dir = spool_dir
        self.http_ssl = http_ssl
        self.printer_info = printer_info
        self.printer_location = printer_location
        self.status_interval = status_interval
        self.registered = asyncio.Event()
        self.device_answers = False  # the device answered its last status query (metrics)
        self._jobs: dict[int, asyncio.Task[None]] = {}
        self._attempts: dict[int, int] = {}
        self._retries: dict[int, asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._cancel: set[int] = set()
        # The job-state-message last reported per job: a message that changes alone
        # (a printer status read a moment too early said "unknown reason") is resent.
        self._messages: dict[int, str] = {}
        self._resync_lock = asyncio.Lock()
        self._last_status: DeviceStatus | None = None
        self._http: aiohttp.ClientSession | None = None
        self._monitor: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()
        self.idle.set()

    # --- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        await self.driver.start()
        self._http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.http_ssl if self.http_ssl else False),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60),
        )
        self._monitor = asyncio.create_task(self._watch_device())

    async def stop(self) -> None:
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        tasks = [
            t for t in (*self._jobs.values(), *self._background, self._monitor) if t is not None
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._jobs.clear()
        if self._http is not None:
            await self._http.close()
        await self.driver.close()

    async def call(self, payload: Payload, response_type: type[P]) -> P:
        return await self.session.request(payload, response_type)

    # --- registration and resync (on every connect, and when the service asks) ----------
    async def register(self) -> ops.RegisterDeviceResponse:
        status = await self.driver.get_status()
        capabilities = await self.driver.get_capabilities()
        self._caps = capabilities
        self._last_status = status
        advertised = capabilities
        if self.transformer is not None:  # the queue's real reach
            advertised = replace(
                advertised,
                document_format_supported=reachable(capabilities.document_format_supported),
            )
        response = await self.call(
            ops.RegisterDevice(
                output_device_uuid=self.uuid,
                service_type=self.service_type,
                printer_name=self.printer_name,
                printer_info=self.printer_info or capabilities.printer_info or None,
                printer_location=self.printer_location,
                capabilities=capabilities_element(advertised),
                status=status_element(status),
            ),
            ops.RegisterDeviceResponse,
        )
        self.registered.set()
        return response

    async def resync(self) -> None:
        """UpdateFetchableJobs, then act on what the service says (seed 001)."""
        async with self._resync_lock:
            await self._recover_interrupted()
            # A job whose acknowledged record is still being written must be listed,
            # or the service would take it back while the job goes on.
            await self.held.synced()
            held = [
                ops.HeldJob(
                    job_id=h.job_id,
                    job_state=JobState(h.last_state),
                    job_state_reasons=list(h.last_reasons),
                    output_device_job_id=h.device_job_id,
                )
                for h in self.held.for_device(self.uuid)
                if h.phase != Phase.CREATED
            ]
            response = await self.call(
                ops.UpdateFetchableJobs(output_device_uuid=self.uuid, job=held),
                ops.UpdateFetchableJobsResponse,
            )
            for job_id in response.cancel_job_ids:
                await self.cancel(job_id)
            for held_job in self.held.for_device(self.uuid):
                self.start_job(held_job.job_id)
            for job_id in response.fetchable_job_ids:
                self.start_job(job_id)

    async def _quiet_resync(self) -> None:
        try:
            await self.resync()
        except (CloudImagingError, DeviceUnreachable) as exc:
            log.warning("resync failed (%s); the next connect or notification retries it", exc)

    async def _recover_interrupted(self) -> None:
        """Settle jobs a previous run left half-done, never sending a document twice."""
        for job in self.held.for_device(self.uuid):
            if job.job_id in self._jobs:
                continue
            if job.phase == Phase.CREATED:
                # The service may or may not have bound it; not listing it in the resync
                # makes it fetchable again, and the empty device job must not linger.
                await self._quietly_cancel(job.device_job_id)
                await self.held.drop(job.job_id)
            elif job.phase == Phase.SENDING:
                status = await self._device_job(job)
                if status is None or status.job_state in ("pending", "pending-held"):
                    # We cannot tell whether the device got the whole document: not
                    # resending it is the price of printing at most once.
                    await self._quietly_cancel(job.device_job_id)
                    job = await self.held.advance(job, phase=Phase.SENT)
                    lost = DeviceJobStatus(
                        job_id=job.device_job_id,
                        job_state="aborted",
                        job_state_reasons=("aborted-by-system",),
                        job_state_message="the manager restarted while handing a document to the "
                        "device; it is not sent again so that nothing prints twice",
                    )
                    job = await self._report(job, lost)
                    await self.held.drop(job.job_id)
                else:
                    await self.held.advance(job, phase=Phase.SENT)

    # --- work notifications ------------------------------------------------------------
    async def on_notification(self, note: ops.WorkNotification) -> None:
        for job_id in note.cancel_job_ids:
            await self.cancel(job_id)
        if note.identify_actions is not None:
            try:
                await self.driver.identify(note.identify_actions, note.identify_message)
            except (DeviceRejected, DeviceUnreachable) as exc:
                log.warning("the device could not identify itself: %s", exc)
        for job_id in note.suspend_job_ids:
            await self._device_call(job_id, self.driver.suspend_job)
        for job_id in note.resume_job_ids:
            await self._device_call(job_id, self.driver.resume_job)
        if note.resync:
            await self.resync()
        for job_id in note.fetchable_job_ids:
            self.start_job(job_id)

    async def _device_call(self, job_id: int, action: Callable[[int], Awaitable[None]]) -> None:
        held = self.held.get(job_id)
        if held is None:
            return
        try:
            await action(held.device_job_id)
        except (DeviceRejected, DeviceUnreachable) as exc:
            log.warning("job %s: the device did not %s it: %s", job_id, action.__name__, exc)

    async def cancel(self, job_id: int) -> None:
        self._cancel.add(job_id)
        held = self.held.get(job_id)
        if held is not None:
            await self._quietly_cancel(held.device_job_id)

    def start_job(self, job_id: int) -> None:
        if job_id in self._jobs:
            return
        self.idle.clear()
        task = asyncio.create_task(self._run_job(job_id))
        self._jobs[job_id] = task
        task.add_done_callback(functools.partial(self._job_done, job_id))

    def _job_done(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._jobs.pop(job_id, None)
        self._tickets.pop(job_id, None)
        self._messages.pop(job_id, None)
        if not self._jobs:
            self.idle.set()

    # --- the job flow ------------------------------------------------------------------
    async def _run_job(self, job_id: int) -> None:
        try:
            held = self.held.get(job_id)
            if held is None:
                held = await self._take_job(job_id)
                if held is None:
                    return
            if held.phase in (Phase.CREATED, Phase.SENDING):
                return  # half-done by an earlier run: the resync settles it first
            if held.phase == Phase.ACKNOWLEDGED:
                held = await self._send_documents(held)
            if held is not None and held.phase == Phase.SENT:
                await self._follow(held)
        except (NotFetchable, NotFound) as exc:
            log.info("job %s: %s", job_id, exc)
        except NotAuthorized as exc:
            log.warning("job %s: %s", job_id, exc)
        except CloudImagingError as exc:
            if exc.status in _TRANSIENT:
                self._retry_later(job_id, f"{exc.status} {exc.message}")
            else:
                log.warning("job %s: %s %s", job_id, exc.status, exc.message)
        except DeviceUnreachable as exc:
            self._retry_later(job_id, f"device unreachable: {exc}")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s failed in the manager", job_id)
        else:
            self._attempts.pop(job_id, None)

    def _retry_later(self, job_id: int, why: str) -> None:
        """Try the job again after a growing delay (0.5 s doubling up to a minute); what
        was already done is in the held-jobs file, so the retry picks up where it stopped."""
        attempt = self._attempts.get(job_id, 0) + 1
        self._attempts[job_id] = attempt
        delay = min(60.0, 0.5 * 2 ** (attempt - 1))
        log.warning("job %s paused (%s); retrying in %.1f s", job_id, why, delay)
        self._retries[job_id] = asyncio.get_running_loop().call_later(
            delay, self._retry_now, job_id
        )

    def _retry_now(self, job_id: int) -> None:
        self._retries.pop(job_id, None)
        held = self.held.get(job_id)
        if held is not None and held.phase in (Phase.CREATED, Phase.SENDING):
            self.spawn_resync()  # a half-done job is settled by the resync, not retried
        else:
            self.start_job(job_id)

    def spawn_resync(self) -> None:
        task = asyncio.create_task(self._quiet_resync())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _take_job(self, job_id: int) -> HeldJob | None:
        """FetchJob, create the device job, AcknowledgeJob."""
        fetched = await self.call(
            ops.FetchJob(output_device_uuid=self.uuid, job_id=job_id), ops.FetchJobResponse
        )
        crash_point("after-fetch-job")
        if job_id in self._cancel:
            return None
        ticket = _device_ticket(fetched)
        self._tickets[job_id] = ticket
        try:
            device_job_id = await self.driver.create_job(ticket)
        except DeviceRejected as exc:
            await self.call(
                ops.AcknowledgeJob(
                    output_device_uuid=self.uuid,
                    job_id=job_id,
                    fetch_status_code=exc.status,
                    fetch_status_message=exc.message,
                ),
                ops.AcknowledgeJobResponse,
            )
            return None
        held = await self.held.put(
            HeldJob(
                job_id=job_id,
                output_device_uuid=self.uuid,
                phase=Phase.CREATED,
                device_job_id=device_job_id,
                number_of_documents=fetched.number_of_documents,
                documents=tuple(
                    fetched.document_numbers
                    if fetched.document_numbers is not None
                    else range(1, fetched.number_of_documents + 1)
                ),
            )
        )
        try:
            ack = await self.call(
                ops.AcknowledgeJob(
                    output_device_uuid=self.uuid, job_id=job_id, output_device_job_id=device_job_id
                ),
                ops.AcknowledgeJobResponse,
            )
        except CloudImagingError as exc:
            if exc.status not in _TRANSIENT:
                # Refused: the job is not bound to this device. Its device job is empty;
                # leaving it would also keep a one-job-at-a-time printer (and the ipp
                # driver's submission turn) waiting for it until the next resync.
                await self._quietly_cancel(device_job_id)
                await self.held.drop(job_id)
            raise
        if ack.job_state.is_terminal or job_id in self._cancel:
            await self._quietly_cancel(device_job_id)
            await self.held.drop(job_id)
            return None
        crash_point("after-acknowledge-job")
        return await self.held.advance(held, phase=Phase.ACKNOWLEDGED)

    async def _send_documents(self, held: HeldJob) -> HeldJob | None:
        numbers = held.documents or tuple(range(1, held.number_of_documents + 1))
        for index in range(held.documents_sent, len(numbers)):
            number = numbers[index]
            if held.job_id in self._cancel:
                break
            document = await self.call(
                ops.FetchDocument(
                    output_device_uuid=self.uuid,
                    job_id=held.job_id,
                    document_number=number,
                    document_data_accepted=True,  # a small one comes in the answer
                ),
                ops.FetchDocumentResponse,
            )
            path = (self.driver.staging_dir or self.spool_dir) / f"{held.job_id}-{number}"
            try:
                small = await self._download(document, path)
            except DocumentFailed as exc:
                await self.call(
                    ops.AcknowledgeDocument(
                        output_device_uuid=self.uuid,
                        job_id=held.job_id,
                        document_number=number,
                        fetch_status_code="client-error-document-access-error",
                        fetch_status_message=str(exc),
                    ),
                    ops.AcknowledgeDocumentResponse,
                )
                await self._quietly_cancel(held.device_job_id)
                await self.held.drop(held.job_id)
                return None
            ack = await self.call(
                ops.AcknowledgeDocument(
                    output_device_uuid=self.uuid, job_id=held.job_id, document_number=number
                ),
                ops.AcknowledgeDocumentResponse,
            )
            if ack.job_state.is_terminal:
                path.unlink(missing_ok=True)
                break
            try:
                converted = await self._transform(held.job_id, document, path, small)
            except TransformFailed as exc:
                path.unlink(missing_ok=True)
                await self._quietly_cancel(held.device_job_id)
                held = await self.held.advance(held, phase=Phase.SENT)
                await self._report(
                    held,
                    DeviceJobStatus(
                        job_id=held.device_job_id,
                        job_state="aborted",
                        job_state_reasons=("aborted-by-system", "document-format-error"),
                        job_state_message=f"the document could not be converted: {exc}",
                    ),
                )
                return None
            last = index == len(numbers) - 1
            try:
                held = await self.held.advance(held, phase=Phase.SENDING)
                if converted is not None:
                    data: AsyncIterator[bytes] = _read_file(converted.path)
                    document_format = converted.document_format
                else:
                    data = _read_file(path) if small is None else _in_memory(small)
                    document_format = document.document_format
                await self.driver.send_document(
                    held.device_job_id, data, document_format, document.document_name, last
                )
            except DeviceRejected as exc:
                path.unlink(missing_ok=True)
                await self._quietly_cancel(held.device_job_id)  # do not leave the printer busy
                held = await self.held.advance(held, phase=Phase.SENT)
                await self._report(
                    held,
                    DeviceJobStatus(
                        job_id=held.device_job_id,
                        job_state="aborted",
                        job_state_reasons=("aborted-by-system",),
                        job_state_message="the device refused the document: "
                        f"{exc.message} ({exc.status})",
                    ),
                )
                return None
            finally:
                if converted is not None:  # sent, refused or cut off: it is made again
                    converted.path.unlink(missing_ok=True)
            if small is None:  # a small one never touched the spool: no unlink syscall
                path.unlink(missing_ok=True)
            # After the last document straight to SENT: one durable write, not two
            # (ACKNOWLEDGED with every document sent would be followed the same way).
            held = await self.held.advance(
                held,
                phase=Phase.SENT if last else Phase.ACKNOWLEDGED,
                documents_sent=index + 1,
            )
            crash_point("after-send-document")
        return await self.held.advance(held, phase=Phase.SENT)

    async def _transform(
        self, job_id: int, document: ops.FetchDocumentResponse, path: Path, small: bytes | None
    ) -> Converted | None:
        """The document converted for the device when it does not take its format
        (manager/transform/); None when it goes as it is."""
        caps = self._caps
        if self.transformer is None or caps is None:
            return None
        if not plan(document.document_format, caps.document_format_supported):
            return None  # taken as it is (or nothing reaches the device: it says so)
        if small is not None:  # the converters read files
            await asyncio.to_thread(path.write_bytes, small)
        ticket = self._tickets.get(job_id)
        if ticket is None:  # after a restart: the ticket again (a bound job may be re-fetched)
            fetched = await self.call(
                ops.FetchJob(output_device_uuid=self.uuid, job_id=job_id), ops.FetchJobResponse
            )
            ticket = self._tickets[job_id] = _device_ticket(fetched)
        try:
            return await self.transformer.for_device(path, document.document_format, ticket, caps)
        finally:
            if small is not None:
                path.unlink(missing_ok=True)

    async def _download(self, document: ops.FetchDocumentResponse, path: Path) -> bytes | None:
        """GET the document, checking size and SHA-256 before the device sees any of it
        (manager/download.py): a small one is returned, a bigger one left at `path`."""
        if document.document_data is not None:  # a small document, in the answer itself
            return verified(
                document.document_data, document.document_size, document.document_digest
            )
        if document.document_access_uri is None:
            raise DocumentFailed("the service sent neither the data nor a URL for it")
        assert self._http is not None
        return await fetch(
            self._http,
            document.document_access_uri,
            path,
            document.document_size,
            document.document_digest,
        )

    async def _follow(self, held: HeldJob) -> None:
        """Report the device job's states until it ends and the service has heard it;
        then the job leaves the held list (seed 001, UpdateFetchable<Service>Jobs)."""
        while True:
            status = await self._device_job(held)
            if status is None:
                status = DeviceJobStatus(
                    job_id=held.device_job_id,
                    job_state="aborted",
                    job_state_reasons=("aborted-by-system",),
                    job_state_message="the device no longer knows the job",
                )
            held = await self._report(held, status)
            if JobState(held.last_state).is_terminal:
                await self.held.drop(held.job_id)
                self._cancel.discard(held.job_id)
                return
            await self.driver.wait_for_change(self.status_interval)

    async def _report(self, held: HeldJob, status: DeviceJobStatus) -> HeldJob:
        """UpdateJobState when the rolled-up state or reasons changed."""
        printer = self._last_status
        if status.job_state == "processing-stopped" and (
            printer is None or printer.printer_state != "stopped"
        ):
            # The device job stopped before our watcher saw the printer stop: read the
            # printer now, so the report says why (and is not sent twice).
            with contextlib.suppress(DeviceUnreachable):
                printer = await self.driver.get_status()
        state, reasons, message = cloud_report(status, printer)
        if (
            state == held.last_state
            and tuple(reasons) == held.last_reasons
            and message == self._messages.get(held.job_id, message)
        ):
            return held
        await self.call(
            ops.UpdateJobState(
                output_device_uuid=self.uuid,
                job_id=held.job_id,
                job_state=JobState(state),
                job_state_reasons=reasons,
                job_state_message=message or None,
                output_device_job_id=held.device_job_id,
                output_device_job_state=JobState(status.job_state),
                job_impressions_completed=status.job_impressions_completed,
                job_media_sheets_completed=status.job_media_sheets_completed,
            ),
            ops.UpdateJobStateResponse,
        )
        self._messages[held.job_id] = message
        reported = replace(held, last_state=state, last_reasons=tuple(reasons))
        if JobState(state).is_terminal:
            # The service has heard the end, so the job leaves the file (seed 001):
            # state and drop in one sync.
            await self.held.finish(reported)
            return reported
        return await self.held.put(reported)

    async def _device_job(self, held: HeldJob) -> DeviceJobStatus | None:
        return await self.driver.get_job(held.device_job_id)

    async def _quietly_cancel(self, device_job_id: int) -> None:
        with contextlib.suppress(DeviceUnreachable, DeviceRejected):
            await self.driver.cancel_job(device_job_id)

    # --- device state --------------------------------------------------------------
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
                log.debug("device status not reported: %s", exc)
            except CloudImagingError as exc:
                log.debug("device status not reported: %s", exc)
            await self.driver.wait_for_change(self.status_interval)


def _device_ticket(fetched: ops.FetchJobResponse) -> DeviceJobTicket:
    ticket: JobTicket = fetched.job_ticket
    return DeviceJobTicket(
        job_name=fetched.job_name,
        requesting_user_name=fetched.job_originating_user_name,
        copies=ticket.copies or 1,
        media=ticket.media,
        sides=ticket.sides,
        print_color_mode=ticket.print_color_mode,
        print_quality=ticket.print_quality,
        destination_uris=tuple(ticket.destination_uris or ()),
    )
