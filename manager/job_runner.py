"""One job's way through the manager: take it, hand its documents over, follow it.

A DeviceWorker (manager/device_worker.py) makes a JobRunner for each job it works on and
for each half-done job a previous run left behind (`settle`). The order of steps
(create the device job, AcknowledgeJob, then each document) and the held-jobs journal
make each job print at most once, and exactly once where the device can say what it
got (docs/architecture.md, "Print at most once"). Every change of the job's phase goes
through `_move`, which checks it against manager/job_phase.py's table.

Each job has two states, kept apart as ippsample's ippproxy keeps them: the remote one
(what the service last heard: `HeldJob.last_state`, and whether it asked for a cancel)
and the local one (the device job's: `HeldJob.device_job_id`, `device_job_state`).
`_report` maps the local onto the remote, through manager/status.py's `cloud_report`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiohttp

from manager.cut_off import Verdict, judge
from manager.download import DocumentFailed, fetch, in_memory, read_file, verified
from manager.drivers.base import (
    DeviceCapabilities,
    DeviceDriver,
    DeviceJobStatus,
    DeviceJobTicket,
    DeviceRejected,
    DeviceStatus,
    DeviceUnreachable,
)
from manager.faults import armed, crash_point
from manager.held_jobs import HeldJob, HeldJobs
from manager.job_phase import Phase, check_move
from manager.status import cloud_report
from manager.transform import Converted, Transformer, TransformFailed, plan
from stanzas import device_ops as ops
from stanzas.errors import (
    CloudImagingError,
    InternalError,
    NotFetchable,
    ServiceUnavailable,
    Timeout,
)
from stanzas.groups import JobTicket
from stanzas.model import Payload
from stanzas.states import JobState
from stanzas.states import JobStateReason as R

log = logging.getLogger(__name__)
P = TypeVar("P", bound=Payload)
# Failures that pass: the job is tried again later.
TRANSIENT = frozenset({ServiceUnavailable.status, Timeout.status, InternalError.status})


class Requester(Protocol):
    """What a worker needs from the XMPP session."""

    async def request(
        self, payload: Payload, response_type: type[P], timeout: float = 30.0
    ) -> P: ...


def _listing_done() -> asyncio.Event:
    done = asyncio.Event()
    done.set()
    return done


@dataclass
class DeviceSide:
    """What the jobs of one device share; its DeviceWorker owns it."""

    output_device_uuid: str
    driver: DeviceDriver
    session: Requester
    held: HeldJobs
    spool_dir: Path
    status_interval: float = 2.0
    # How long an empty device job waits for the service's AcknowledgeJob answer
    # before it is given back (a one-job-at-a-time printer is busy while it exists).
    device_hold: float = 2.0
    http: aiohttp.ClientSession | None = None
    printer: DeviceStatus | None = None  # the printer's state as the worker last read it
    capabilities: DeviceCapabilities | None = None  # as the device said at registration
    # Converts what the device does not take (None: documents go as they are).
    transformer: Transformer | None = None
    # remote: the jobs the service asked to cancel (only ones held or being taken)
    cancels: set[int] = field(default_factory=set)
    # Clear while a resync's UpdateFetchableJobs is on its way: an AcknowledgeJob sent
    # meanwhile could overtake it and be undone by it, so it waits.
    listing_done: asyncio.Event = field(default_factory=_listing_done)

    async def call(self, payload: Payload, response_type: type[P]) -> P:
        return await self.session.request(payload, response_type)


class JobRunner:
    def __init__(self, side: DeviceSide, job_id: int) -> None:
        self.side = side
        self.job_id = job_id
        self._fetched: ops.FetchJobResponse | None = None  # the job and its ticket
        self._message: str | None = None  # the job-state-message last reported
        self._retaken = False

    @property
    def cancel_requested(self) -> bool:
        return self.job_id in self.side.cancels

    async def run(self) -> None:
        held = self.side.held.get(self.job_id)
        if held is None:
            held = await self.take()
        if held is None or held.phase in (Phase.CREATED, Phase.SENDING):
            return  # done with, or half-done by an earlier run: the resync settles it
        if held.phase == Phase.ACKNOWLEDGED:
            held = await self._send_documents(held)
        if held is not None and held.phase == Phase.SENT:
            await self._follow(held)

    # --- the one way a phase changes ---------------------------------------------------
    async def _move(
        self, phase: Phase | None, job: HeldJob | None = None, **changes: Any
    ) -> HeldJob | None:
        """Record the job in `phase` with `changes` (durable when this returns), after
        checking the move against PHASE_TRANSITIONS. `job`: the whole record, to enter
        the journal, or (with phase None) the last state to record as it leaves it."""
        current = self.side.held.get(self.job_id)
        check_move(self.job_id, current.phase if current is not None else None, phase)
        if phase is None:
            if job is not None:
                await self.side.held.finish(job)  # the state and the drop in one sync
            else:
                await self.side.held.drop(self.job_id)
            self.side.cancels.discard(self.job_id)
            return None
        base = job if job is not None else current
        assert base is not None
        return await self.side.held.put(replace(base, phase=phase, **changes))

    # --- taking the job (seed 001) -------------------------------------------------------
    async def take(self) -> HeldJob | None:
        """FetchJob, create the device job, AcknowledgeJob."""
        fetched = await self.side.call(
            ops.FetchJob(output_device_uuid=self.side.output_device_uuid, job_id=self.job_id),
            ops.FetchJobResponse,
        )
        crash_point("after-fetch-job")
        if self.cancel_requested:
            return None
        self._fetched = fetched
        try:
            device_job_id = await self.side.driver.create_job(device_ticket(fetched))
        except DeviceRejected as exc:
            await self.side.call(
                self._acknowledgement(
                    fetch_status_code=exc.status, fetch_status_message=exc.message
                ),
                ops.AcknowledgeJobResponse,
            )
            return None
        documents = fetched.document_numbers
        held = await self._move(
            Phase.CREATED,
            HeldJob(
                job_id=self.job_id,
                output_device_uuid=self.side.output_device_uuid,
                phase=Phase.CREATED,
                device_job_id=device_job_id,
                number_of_documents=fetched.number_of_documents,
                documents=tuple(
                    documents
                    if documents is not None
                    else range(1, fetched.number_of_documents + 1)
                ),
            ),
        )
        assert held is not None
        return await self._acknowledge(held)

    def _acknowledgement(self, **fields: Any) -> ops.AcknowledgeJob:
        return ops.AcknowledgeJob(
            output_device_uuid=self.side.output_device_uuid, job_id=self.job_id, **fields
        )

    async def _acknowledge(self, held: HeldJob) -> HeldJob | None:
        await self.side.listing_done.wait()
        try:
            ack = await self._ask(
                self._acknowledgement(output_device_job_id=held.device_job_id),
                ops.AcknowledgeJobResponse,
            )
        except CloudImagingError as exc:
            if exc.status not in TRANSIENT:
                # Refused: the job is not bound to this device. Its device job is empty;
                # leaving it would keep a one-job-at-a-time printer (and the ipp
                # driver's submission turn) waiting for it until the next resync.
                await self._quietly_cancel(self._device_job_id())
                await self._move(None)
            raise
        if ack.job_state.is_terminal or self.cancel_requested:
            await self._quietly_cancel(self._device_job_id())
            await self._move(None)
            return None
        crash_point("after-acknowledge-job")
        return await self._move(Phase.ACKNOWLEDGED)

    async def _ask(self, payload: Payload, response_type: type[P]) -> P:
        """A request to the service. While the job's device job exists and holds no
        document, the device is given back (`_give_back_device`) when the service is
        away (ServiceUnavailable: it answers nothing before it is back and asks for a
        resync) or slow (no answer within `device_hold` seconds)."""
        if not self._holds_empty_device_job():
            return await self.side.call(payload, response_type)
        giving_back: list[asyncio.Task[None]] = []

        def slow() -> None:
            log.info("job %s: the service is slow to answer; the device is freed", self.job_id)
            giving_back.append(asyncio.create_task(self._give_back_device()))

        # A timer, not a task per request: this is on every job's path.
        timer = asyncio.get_running_loop().call_later(self.side.device_hold, slow)
        try:
            return await self.side.call(payload, response_type)
        except ServiceUnavailable:
            timer.cancel()
            if not giving_back:
                await self._give_back_device()
            raise
        finally:
            timer.cancel()
            for task in giving_back:  # the job goes on only once the record says so
                await task

    def _holds_empty_device_job(self) -> bool:
        held = self.side.held.get(self.job_id)
        return held is not None and held.device_job_id is not None and not held.documents_sent

    async def _give_back_device(self) -> None:
        """Cancel the device job while it holds no document (so that the printer, and
        the ipp driver's submission turn, serve other jobs); a new one is made when the
        first document is ready."""
        if not self._holds_empty_device_job():
            return
        held = self.side.held.get(self.job_id)
        assert held is not None
        await self._quietly_cancel(held.device_job_id)
        await self._move(held.phase, device_job_id=None)

    def _device_job_id(self) -> int | None:
        held = self.side.held.get(self.job_id)
        return held.device_job_id if held is not None else None

    # --- documents -----------------------------------------------------------------------
    async def _send_documents(self, held: HeldJob) -> HeldJob | None:
        numbers = held.documents or tuple(range(1, held.number_of_documents + 1))
        while held.documents_sent < len(numbers) and not self.cancel_requested:
            last = held.documents_sent == len(numbers) - 1
            after = await self._send_one(held, numbers[held.documents_sent], last)
            if after is None or after.phase == Phase.SENT:
                return after
            held = after
        return await self._move(Phase.SENT)

    async def _send_one(self, held: HeldJob, number: int, last: bool) -> HeldJob | None:
        """FetchDocument, check it, AcknowledgeDocument, hand it to the device. The record
        after it (SENT once the job needs no more), or None: the job is settled."""
        document = await self._fetch_document(held, number)
        if document is None:
            return None
        path = (self.side.driver.staging_dir or self.side.spool_dir) / f"{self.job_id}-{number}"
        try:
            small = await self._download(document, path)
        except DocumentFailed as exc:
            await self._acknowledge_document(
                number,
                fetch_status_code="client-error-document-access-error",
                fetch_status_message=str(exc),
            )
            await self._quietly_cancel(held.device_job_id)
            await self._move(None)
            return None
        try:
            ack = await self._acknowledge_document(number)
            if ack.job_state.is_terminal:
                return await self._move(Phase.SENT)  # the service ended it: follow it out
            try:
                converted = await self._transform(document, path, small)
            except TransformFailed as exc:
                await self._quietly_cancel(held.device_job_id)
                await self._refused(
                    f"the document could not be converted: {exc}", (R.DOCUMENT_FORMAT_ERROR,)
                )
                return None
            try:
                return await self._hand_over(held, document, path, small, last, converted)
            finally:
                if converted is not None:  # sent, refused or cut off: it is made again
                    converted.path.unlink(missing_ok=True)
        finally:
            if small is None:  # a small one never touched the spool: no unlink syscall
                path.unlink(missing_ok=True)

    async def _transform(
        self, document: ops.FetchDocumentResponse, path: Path, small: bytes | None
    ) -> Converted | None:
        """The document converted for the device when it does not take its format
        (manager/transform/); None when it goes as it is."""
        caps = self.side.capabilities
        if self.side.transformer is None or caps is None:
            return None
        if not plan(document.document_format, caps.document_format_supported):
            return None  # taken as it is (or nothing reaches the device: it says so)
        if small is not None:  # the converters read files
            await asyncio.to_thread(path.write_bytes, small)
        try:
            ticket = device_ticket(await self._job())
            return await self.side.transformer.for_device(
                path, document.document_format, ticket, caps
            )
        finally:
            if small is not None:
                path.unlink(missing_ok=True)

    async def _fetch_document(self, held: HeldJob, number: int) -> ops.FetchDocumentResponse | None:
        try:
            return await self._ask(
                ops.FetchDocument(
                    output_device_uuid=self.side.output_device_uuid,
                    job_id=self.job_id,
                    document_number=number,
                    document_data_accepted=True,  # a small one comes in the answer
                ),
                ops.FetchDocumentResponse,
            )
        except NotFetchable as exc:
            if held.documents_sent:
                raise
            # The job is not (or no longer) bound here and nothing of it is on the
            # device: forget it and take it again (FetchJob says if it ended).
            await self._take_again(held, exc)
            return None

    async def _take_again(self, held: HeldJob, refusal: NotFetchable) -> None:
        if self._retaken:
            raise refusal
        self._retaken = True
        log.info("job %s: %s; taking it again", self.job_id, refusal.message)
        await self._quietly_cancel(held.device_job_id)
        await self._move(None)
        again = await self.take()
        if again is not None:
            after = await self._send_documents(again)
            if after is not None and after.phase == Phase.SENT:
                await self._follow(after)
        return None

    async def _acknowledge_document(
        self, number: int, **fields: Any
    ) -> ops.AcknowledgeDocumentResponse:
        return await self._ask(
            ops.AcknowledgeDocument(
                output_device_uuid=self.side.output_device_uuid,
                job_id=self.job_id,
                document_number=number,
                **fields,
            ),
            ops.AcknowledgeDocumentResponse,
        )

    async def _download(self, document: ops.FetchDocumentResponse, path: Path) -> bytes | None:
        """GET the document, checking size and SHA-256 before the device sees any of it
        (manager/download.py): a small one is returned, a bigger one left at `path`."""
        if document.document_data is not None:  # a small document, in the answer itself
            return verified(
                document.document_data, document.document_size, document.document_digest
            )
        if document.document_access_uri is None:
            raise DocumentFailed("the service sent neither the data nor a URL for it")
        assert self.side.http is not None
        return await fetch(
            self.side.http,
            document.document_access_uri,
            path,
            document.document_size,
            document.document_digest,
        )

    async def _hand_over(
        self,
        held: HeldJob,
        document: ops.FetchDocumentResponse,
        path: Path,
        small: bytes | None,
        last: bool,
        converted: Converted | None,
    ) -> HeldJob | None:
        """Send one checked (and, if need be, converted) document to the device (a new
        device job first, if the earlier one was given back)."""
        device_job_id = held.device_job_id
        if device_job_id is None:
            try:
                device_job_id = await self.side.driver.create_job(device_ticket(await self._job()))
            except DeviceRejected as exc:
                await self._refused(f"the device refused the job: {exc.message} ({exc.status})")
                return None
        if converted is not None:
            data: AsyncIterator[bytes] = read_file(converted.path)
            document_format = converted.document_format
            size = (await asyncio.to_thread(converted.path.stat)).st_size
        else:
            data = read_file(path) if small is None else in_memory(small)
            document_format, size = document.document_format, document.document_size
        sending = await self._move(
            Phase.SENDING, device_job_id=device_job_id, octets=held.octets + size
        )
        assert sending is not None
        try:
            await self.side.driver.send_document(
                device_job_id,
                _cut_short(data) if armed("mid-send-document") else data,
                document_format,
                document.document_name,
                last,
                document_size=size,
            )
        except DeviceRejected as exc:
            await self._quietly_cancel(device_job_id)  # do not leave the printer busy
            await self._refused(f"the device refused the document: {exc.message} ({exc.status})")
            return None
        after = await self._move(
            Phase.SENT if last else Phase.ACKNOWLEDGED, documents_sent=held.documents_sent + 1
        )
        crash_point("after-send-document")
        return after

    async def _refused(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        """Report the job aborted: the device refused it, or it could not be converted."""
        held = await self._move(Phase.SENT)
        assert held is not None
        await self._report(held, DeviceJobStatus.aborted(held.device_job_id, message, reasons))

    async def _job(self) -> ops.FetchJobResponse:
        """The job's ticket: from FetchJob (again, after a restart)."""
        if self._fetched is None:
            self._fetched = await self.side.call(
                ops.FetchJob(output_device_uuid=self.side.output_device_uuid, job_id=self.job_id),
                ops.FetchJobResponse,
            )
        return self._fetched

    # --- following the device job --------------------------------------------------------
    async def _follow(self, held: HeldJob) -> None:
        """Report the device job's states until it ends and the service has heard it;
        then the job leaves the journal (seed 001, UpdateFetchable<Service>Jobs)."""
        following: HeldJob | None = held
        while following is not None:
            status = await self._device_status(following)
            if status is None and following.device_job_id is None and self.cancel_requested:
                # canceled while the device job was given back: nothing is on the device
                status = DeviceJobStatus(0, JobState.CANCELED, (R.JOB_CANCELED_BY_USER,))
            elif status is None:
                status = DeviceJobStatus.aborted(
                    following.device_job_id, "the device no longer knows the job"
                )
            following = await self._report(following, status)
            if following is not None:
                await self.side.driver.wait_for_change(self.side.status_interval)

    async def _report(self, held: HeldJob, status: DeviceJobStatus) -> HeldJob | None:
        """UpdateJobState when the rolled-up state, reasons or message changed. The
        record after it, or None once the service heard a terminal state."""
        printer = self.side.printer
        if status.job_state == JobState.PROCESSING_STOPPED and (
            printer is None or printer.printer_state != "stopped"
        ):
            # The device job stopped before our watcher saw the printer stop: read the
            # printer now, so the report says why (and is not sent twice).
            with contextlib.suppress(DeviceUnreachable):
                printer = await self.side.driver.get_status()
        state, reasons, message = cloud_report(status, printer)
        if (
            state == held.last_state
            and tuple(reasons) == held.last_reasons
            and message == (message if self._message is None else self._message)
        ):
            return held
        await self.side.call(
            ops.UpdateJobState(
                output_device_uuid=self.side.output_device_uuid,
                job_id=self.job_id,
                job_state=state,
                job_state_reasons=reasons,
                job_state_message=message or None,
                output_device_job_id=held.device_job_id,
                output_device_job_state=status.job_state,
                job_impressions_completed=status.job_impressions_completed,
                job_media_sheets_completed=status.job_media_sheets_completed,
            ),
            ops.UpdateJobStateResponse,
        )
        self._message = message
        heard = replace(
            held, last_state=state, last_reasons=tuple(reasons), device_job_state=status.job_state
        )
        # Terminal: the service has heard the end, so the job leaves the journal (seed 001).
        return await self._move(None if state.is_terminal else Phase.SENT, heard)

    async def _device_status(self, held: HeldJob) -> DeviceJobStatus | None:
        if held.device_job_id is None:
            return None
        return await self.side.driver.get_job(held.device_job_id)

    async def _quietly_cancel(self, device_job_id: int | None) -> None:
        if device_job_id is None:
            return
        with contextlib.suppress(DeviceUnreachable, DeviceRejected):
            await self.side.driver.cancel_job(device_job_id)

    # --- what an earlier run left half-done ----------------------------------------------
    async def settle(self) -> None:
        """Settle a job left in `created` or `sending`, never sending a document twice
        (docs/architecture.md). The worker calls it only when no runner has the job."""
        held = self.side.held.get(self.job_id)
        if held is None:
            return
        if held.phase == Phase.CREATED:
            # The service may or may not have bound it; not listing it in the resync
            # makes it fetchable again, and the empty device job must not linger.
            await self._quietly_cancel(held.device_job_id)
            await self._move(None)
        elif held.phase == Phase.SENDING:
            await self._settle_cut_off(held)

    async def _settle_cut_off(self, held: HeldJob) -> None:
        """A document's hand-over was cut off: the device's record decides
        (manager/cut_off.py)."""
        verdict, why = judge(await self._device_status(held), held.octets, canceled=False)
        if verdict == Verdict.CANCEL_FIRST:
            await self._quietly_cancel(held.device_job_id)
            verdict, why = judge(await self._device_status(held), held.octets, canceled=True)
        log.info("job %s: the interrupted hand-over is settled: %s", self.job_id, verdict.value)
        if verdict == Verdict.RESEND:
            await self._move(None)  # not listed: the service makes it fetchable again
        elif verdict == Verdict.ARRIVED:
            numbers = held.documents or range(1, held.number_of_documents + 1)
            last = held.documents_sent + 1 >= len(numbers)
            await self._move(
                Phase.SENT if last else Phase.ACKNOWLEDGED, documents_sent=held.documents_sent + 1
            )
        elif verdict == Verdict.ENDED:
            await self._move(Phase.SENT)  # followed next: its end is reported as it is
        else:
            await self._quietly_cancel(held.device_job_id)
            sent = await self._move(Phase.SENT)
            assert sent is not None
            await self._report(sent, DeviceJobStatus.aborted(sent.device_job_id, why))


async def _cut_short(data: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The crash point mid-send-document: half of the first piece goes to the device,
    then the manager dies (the driver has written the piece when it asks for more)."""
    async for chunk in data:
        yield chunk[: max(1, len(chunk) // 2)]
        crash_point("mid-send-document")
        yield chunk[max(1, len(chunk) // 2) :]


def device_ticket(fetched: ops.FetchJobResponse) -> DeviceJobTicket:
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
