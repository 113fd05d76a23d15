"""An in-memory simulated printer for tests, benchmarks and demos.

The test controls it in the same process::

    sim = SimDriver(speed=0.05)             # seconds per job (0 = instant)
    sim.stop("media-empty", "Out of paper") # printer stopped; the job printing stops too
    sim.resume()
    sim.reject_next("client-error-document-format-not-supported", "no PDF today")
    sim.abort_next("Paper jam")             # the next job to finish printing aborts
    sim.unreachable = True                  # every call raises DeviceUnreachable
    sim.jobs[1].state, sim.jobs[1].byte_count, sim.jobs[1].documents

Jobs print one at a time in the order their last document arrived. ``wait_for_change``
wakes as soon as anything changes (no polling). From the command line:
``SimDriver.from_spec("speed=0.5,formats=application/pdf|image/jpeg")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import weakref
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from stanzas.states import JobState

from .base import (
    DeviceCapabilities,
    DeviceDriver,
    DeviceJobStatus,
    DeviceJobTicket,
    DeviceRejected,
    DeviceStatus,
    DeviceUnreachable,
)

__all__ = ["ChangeNotifier", "SimDocument", "SimDriver", "SimJob"]

TERMINAL_STATES = ("canceled", "aborted", "completed")


class ChangeNotifier:
    """Wakes waiters when something changes, without lost wake-ups.

    Each task's last look at the state (``observed()``, called by get_job/get_status) is
    remembered: ``wait()`` returns at once if something changed since that task last
    looked, and otherwise sleeps until the next ``notify()`` or the timeout."""

    def __init__(self) -> None:
        self.version = 0
        self._event = asyncio.Event()
        self._seen: weakref.WeakKeyDictionary[asyncio.Task[object], int] = (
            weakref.WeakKeyDictionary()
        )

    def notify(self) -> None:
        self.version += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    def observed(self) -> None:
        """Record that the current task has just looked at the state."""
        try:
            task = asyncio.current_task()
        except RuntimeError:
            return
        if task is not None:
            self._seen[task] = self.version

    async def wait(self, timeout: float | None) -> None:
        """Until the next change (or one missed since this task last looked)."""
        task = asyncio.current_task()
        if task is not None:
            seen = self._seen.get(task)
            if seen is not None and seen != self.version:
                self._seen[task] = self.version
                return
        event = self._event
        if timeout is None:
            await event.wait()
            return
        if timeout <= 0:
            return
        # Not asyncio.wait_for: on Python 3.11 it returns normally when the task is
        # cancelled just as the event is set, and the cancel is lost (a worker that
        # stops while a device job is canceled would then never end).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()


@dataclass
class SimDocument:
    """A document the simulated printer received."""

    name: str
    format: str
    size: int
    sha256: str
    data: bytes | None = None  # kept only with keep_data=True


@dataclass
class SimJob:
    """A job on the simulated printer (its state as get_job reports it)."""

    job_id: int
    ticket: DeviceJobTicket
    documents: list[SimDocument] = field(default_factory=list)
    state: str = "pending"
    reasons: tuple[str, ...] = ("job-incoming",)
    message: str = ""
    impressions: int = 0
    last_received: bool = False
    began: bool = False  # printing has started (IPP time-at-processing has a value)

    @property
    def name(self) -> str:
        return self.ticket.job_name

    @property
    def byte_count(self) -> int:
        return sum(doc.size for doc in self.documents)

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def status(self) -> DeviceJobStatus:
        return DeviceJobStatus(
            job_id=self.job_id,
            job_state=JobState(self.state),
            job_state_reasons=self.reasons,
            job_state_message=self.message,
            job_impressions_completed=self.impressions,
            job_media_sheets_completed=self.sheets,
            processing_began=self.began,
            job_k_octets=-(-self.byte_count // 1024),
        )

    @property
    def sheets(self) -> int:
        """Two impressions a sheet when printed on both sides."""
        two_sided = (self.ticket.sides or "").startswith("two-sided")
        return (self.impressions + 1) // 2 if two_sided else self.impressions


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


class SimDriver(DeviceDriver):
    """A simulated printer; see the module docstring."""

    name = "sim"

    DEFAULT_FORMATS: tuple[str, ...] = (
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/pwg-raster",
        "image/urf",
        "text/plain",
        "application/postscript",
        "application/octet-stream",  # accepts anything: the printer "auto-detects"
    )
    DEFAULT_MEDIA: tuple[str, ...] = (
        "iso_a4_210x297mm",
        "na_letter_8.5x11in",
        "na_legal_8.5x14in",
        "iso_a5_148x210mm",
    )

    def __init__(
        self,
        *,
        speed: float = 0.0,
        document_formats: Sequence[str] = DEFAULT_FORMATS,
        media_supported: Sequence[str] = DEFAULT_MEDIA,
        make_and_model: str = "Cirrus Simulated Printer",
        info: str = "In-memory simulated printer",
        keep_data: bool = False,
        first_job_id: int = 1,
        accepting: bool = True,
        destination_uri_schemes: Sequence[str] = (),
    ) -> None:
        self.speed = speed
        # A simulated sender (FaxOut: tel): the URI schemes it says it sends to.
        self.destination_uri_schemes = tuple(destination_uri_schemes)
        self.document_formats = tuple(document_formats)
        self.media_supported = tuple(media_supported)
        self.make_and_model = make_and_model
        self.info = info
        self.keep_data = keep_data
        self.accepting = accepting
        self.unreachable = False
        self.jobs: dict[int, SimJob] = {}
        self.suspended: set[int] = set()  # device job ids held by suspend_job
        self.identified: list[tuple[tuple[str, ...], str | None]] = []  # identify() calls
        self._next_id = first_job_id
        self._queue: deque[int] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._stop_reason: str | None = None
        self._stop_message = ""
        self._reject: tuple[str, str] | None = None
        self._abort: str | None = None
        self._changes = ChangeNotifier()

    @classmethod
    def from_spec(cls, spec: str) -> SimDriver:
        """Build from "key=value,key=value": speed (seconds per job), formats
        ("|"-separated MIME types), media ("|"-separated), model, info, keep (bool),
        first_job_id, accepting (bool), stopped (a printer-state-reason to start with),
        destinations ("|"-separated URI schemes a simulated FaxOut or EmailOut device
        sends to: tel, mailto)."""
        kwargs: dict[str, object] = {}
        stopped: str | None = None
        for part in spec.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            key = key.strip().lower().replace("-", "_")
            value = value.strip()
            if not sep:
                raise ValueError(f"sim spec: expected key=value, got {part!r}")
            if key == "speed":
                kwargs["speed"] = float(value)
            elif key == "formats":
                kwargs["document_formats"] = tuple(v for v in value.split("|") if v)
            elif key == "media":
                kwargs["media_supported"] = tuple(v for v in value.split("|") if v)
            elif key == "destinations":
                kwargs["destination_uri_schemes"] = tuple(v for v in value.split("|") if v)
            elif key in ("model", "make_and_model"):
                kwargs["make_and_model"] = value
            elif key == "info":
                kwargs["info"] = value
            elif key == "keep":
                kwargs["keep_data"] = _parse_bool(value)
            elif key == "first_job_id":
                kwargs["first_job_id"] = int(value)
            elif key == "accepting":
                kwargs["accepting"] = _parse_bool(value)
            elif key == "stopped":
                stopped = value
            else:
                raise ValueError(f"sim spec: unknown key {key!r}")
        driver = cls(**kwargs)  # type: ignore[arg-type]
        if stopped:
            driver.stop(stopped)
        return driver

    # ------------------------------------------------------------------ test controls

    @property
    def printer_state(self) -> str:
        if self._stop_reason is not None:
            return "stopped"
        if any(job.state == "processing" for job in self.jobs.values()):
            return "processing"
        return "idle"

    def stop(self, reason: str = "media-empty", message: str = "Out of paper") -> None:
        """Stop the printer: printer-state stopped with ``reason``; the job printing goes
        to processing-stopped ('printer-stopped') and does not finish until resume()."""
        self._stop_reason = reason
        self._stop_message = message
        for job in self.jobs.values():
            if job.state == "processing":
                self._set(job, "processing-stopped", ("printer-stopped",), message)
        self._changes.notify()

    def resume(self) -> None:
        """Undo stop(): stopped jobs carry on printing."""
        self._stop_reason = None
        self._stop_message = ""
        for job in self.jobs.values():
            if job.state == "processing-stopped":
                self._set(job, "processing", ("job-printing",), "")
        self._changes.notify()

    def reject_next(
        self,
        status: str = "client-error-document-format-not-supported",
        message: str = "Rejected by the simulated printer",
    ) -> None:
        """The next create_job or send_document raises DeviceRejected(status, message)."""
        self._reject = (status, message)

    def abort_next(self, message: str = "Simulated printer error") -> None:
        """The next job to finish printing ends 'aborted' with this message."""
        self._abort = message

    def printed(self) -> list[SimJob]:
        """The jobs that completed, in job-id order."""
        return [job for job in self.jobs.values() if job.state == "completed"]

    def notify_changed(self) -> None:
        """Wake wait_for_change() (for tests that poke at ``jobs`` directly)."""
        self._changes.notify()

    # ------------------------------------------------------------------ driver API

    def _check(self) -> None:
        if self.unreachable:
            raise DeviceUnreachable("simulated printer is unreachable")

    async def start(self) -> None:
        self._check()

    async def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None and not worker.done():
            worker.cancel()
            try:
                await worker
            except asyncio.CancelledError:
                pass

    async def get_capabilities(self) -> DeviceCapabilities:
        self._check()
        return DeviceCapabilities(
            printer_make_and_model=self.make_and_model,
            printer_info=self.info,
            document_format_supported=self.document_formats,
            media_supported=self.media_supported,
            media_default=self.media_supported[0] if self.media_supported else "",
            sides_supported=("one-sided", "two-sided-long-edge", "two-sided-short-edge"),
            sides_default="one-sided",
            print_color_mode_supported=("auto", "monochrome", "color"),
            print_color_mode_default="auto",
            print_quality_supported=(3, 4, 5),
            finishings_supported=(3,),
            copies_max=999,
            destination_uri_schemes_supported=self.destination_uri_schemes,
        )

    async def get_status(self) -> DeviceStatus:
        self._check()
        self._changes.observed()
        if self._stop_reason is not None:
            return DeviceStatus("stopped", (self._stop_reason,), self._stop_message, self.accepting)
        return DeviceStatus(self.printer_state, ("none",), "", self.accepting)

    async def create_job(self, ticket: DeviceJobTicket) -> int:
        self._check()
        if self._reject is not None:
            (status, message), self._reject = self._reject, None
            raise DeviceRejected(status, message)
        if not self.accepting:
            raise DeviceRejected("server-error-not-accepting-jobs", "Not accepting jobs")
        job_id = self._next_id
        self._next_id += 1
        self.jobs[job_id] = SimJob(job_id, ticket)
        self._changes.notify()
        return job_id

    async def send_document(
        self,
        job_id: int,
        data: AsyncIterator[bytes],
        document_format: str,
        document_name: str,
        last: bool,
        *,
        document_size: int | None = None,
    ) -> None:
        self._check()
        job = self.jobs.get(job_id)
        if job is None:
            raise DeviceRejected("client-error-not-found", f"No job {job_id}")
        if job.is_terminal:
            raise DeviceRejected("client-error-not-possible", f"Job {job_id} is {job.state}")
        if job.last_received:
            raise DeviceRejected(
                "client-error-not-possible", f"Job {job_id} already has its last document"
            )
        if self._reject is not None:
            (status, message), self._reject = self._reject, None
            self._set(job, "aborted", ("aborted-by-system",), message)
            self._changes.notify()
            raise DeviceRejected(status, message)
        if (
            document_format not in self.document_formats
            and "application/octet-stream" not in self.document_formats
        ):
            message = f"Unsupported document-format {document_format!r}"
            self._set(job, "aborted", ("unsupported-document-format",), message)
            self._changes.notify()
            raise DeviceRejected("client-error-document-format-not-supported", message)
        digest = hashlib.sha256()
        size = 0
        kept: list[bytes] | None = [] if self.keep_data else None
        async for chunk in data:
            size += len(chunk)
            digest.update(chunk)
            if kept is not None:
                kept.append(bytes(chunk))
        if job.is_terminal:  # canceled while the data was arriving
            raise DeviceRejected("client-error-not-possible", f"Job {job_id} is {job.state}")
        job.documents.append(
            SimDocument(
                document_name,
                document_format,
                size,
                digest.hexdigest(),
                b"".join(kept) if kept is not None else None,
            )
        )
        if last:
            job.last_received = True
            job.reasons = ("none",)
            self._queue.append(job_id)
            if self._worker is None or self._worker.done():
                self._worker = asyncio.create_task(self._work(), name="sim-printer")
        self._changes.notify()

    async def get_job(self, job_id: int) -> DeviceJobStatus | None:
        self._check()
        self._changes.observed()
        job = self.jobs.get(job_id)
        return job.status() if job is not None else None

    async def cancel_job(self, job_id: int) -> None:
        self._check()
        job = self.jobs.get(job_id)
        if job is None or job.is_terminal:
            return
        self._set(job, "canceled", ("job-canceled-by-user",), "Job canceled.")
        self._changes.notify()

    async def identify(self, actions: list[str], message: str | None) -> None:
        self._check()
        self.identified.append((tuple(actions), message))
        self._changes.notify()

    async def suspend_job(self, job_id: int) -> None:
        self._check()
        job = self.jobs.get(job_id)
        if job is None or job.is_terminal:
            raise DeviceRejected("client-error-not-possible", f"job {job_id} is not active")
        self.suspended.add(job_id)
        self._changes.notify()

    async def resume_job(self, job_id: int) -> None:
        self._check()
        self.suspended.discard(job_id)
        self._changes.notify()

    async def wait_for_change(self, timeout: float) -> None:
        await self._changes.wait(timeout)

    # ------------------------------------------------------------------ printing

    def _set(self, job: SimJob, state: str, reasons: tuple[str, ...], message: str) -> None:
        job.state = state
        job.reasons = reasons
        job.message = message

    async def _work(self) -> None:
        while self._queue:
            job = self.jobs[self._queue[0]]
            if not job.is_terminal:
                await self._print(job)
            self._queue.popleft()

    async def _print(self, job: SimJob) -> None:
        loop = asyncio.get_running_loop()
        remaining = max(self.speed, 0.0)
        while True:
            if job.is_terminal:
                return
            if job.job_id in self.suspended:
                if job.state != "processing-stopped" or job.reasons != ("job-suspended",):
                    self._set(job, "processing-stopped", ("job-suspended",), "Job suspended.")
                    self._changes.notify()
                await self._changes.wait(None)
                continue
            if self._stop_reason is not None:
                if job.state == "processing":
                    self._set(job, "processing-stopped", ("printer-stopped",), self._stop_message)
                    self._changes.notify()
                elif job.state == "pending":
                    job.reasons = ("printer-stopped",)
                    self._changes.notify()
                await self._changes.wait(None)
                continue
            if job.state != "processing":
                job.began = True
                self._set(job, "processing", ("job-printing",), "")
                self._changes.notify()
            if remaining <= 0:
                break
            started = loop.time()
            await self._changes.wait(remaining)
            remaining -= loop.time() - started
        if self._abort is not None:
            message, self._abort = self._abort, None
            self._set(job, "aborted", ("aborted-by-system",), message)
        else:
            job.impressions = max(len(job.documents), 1) * max(job.ticket.copies, 1)
            self._set(job, "completed", ("job-completed-successfully",), "Job completed.")
        self._changes.notify()
