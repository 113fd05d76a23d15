"""A driver for a network printer that speaks IPP (an IPP Everywhere printer, CUPS,
ippeveprinter).

Mapping: create_job → Create-Job; send_document → Send-Document (streamed,
last-document); get_job → Get-Job-Attributes; cancel_job → Cancel-Job;
get_status/get_capabilities → Get-Printer-Attributes. Transport failures and
unparseable responses raise DeviceUnreachable; refusals raise
DeviceRejected(status keyword, status-message).

Printer behaviours handled here:

* server-error-busy (and service-unavailable, temporary-error) on Create-Job: retried
  with a growing delay (5 ms up to poll_interval) for at most ``busy_timeout`` seconds,
  then DeviceUnreachable (the manager retries later; the job is not failed).
  ippeveprinter is busy whenever another job is active.
* client-error-attributes-or-values-not-supported on Create-Job: the job template
  attributes the printer lists as unsupported (all optional ones if it lists none) are
  dropped and Create-Job is retried once.
* Polling: wait_for_change sleeps min_poll_interval (10 ms) right after this driver
  created, sent or canceled something, then doubles up to poll_interval (0.2 s), per
  waiting task, so a follower sees a fast printer finish within milliseconds without
  polling an idle one more than five times a second.
* One submission at a time: a job's Create-Job up to its last Send-Document happens
  before the next job's Create-Job starts (the manager runs several jobs at once, and a
  printer that prints one job at a time would otherwise see them all retry Create-Job
  against server-error-busy, and take documents in whatever order they came). The turn
  is passed on after the last document is sent, when a Create-Job or Send-Document
  fails, when the job is canceled, or when get_job sees it ended. It orders only the
  submission: a printer that queues jobs still prints one while the next is sent. A
  holder that does nothing with the driver for ``submit_lease`` seconds (the manager
  gave up on the job without canceling it) loses its turn to the next waiter.
* A document is sent with a Content-Length, and every connection to the printer is
  closed with a reset (SO_LINGER 0), also when the manager dies: a printer reading a
  request whose sender went away then sees an error, not an early end of the document.
  ippeveprinter takes a connection closed the ordinary way (FIN) halfway through a
  document for the end of it and prints what came; after a reset it aborts the job
  without printing it, and get_job says so (time-at-processing without a value), so
  the manager can send the job again (manager/cut_off.py).
* A printer without multiple-document-jobs-supported (ippeveprinter) would end the job
  after its first document, so each further document goes into a new device job with
  the same ticket. get_job reports the set as one job under the first job-id (terminal
  when all are, aborted/canceled if any was); cancel_job cancels them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl as _ssl
import struct
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp

from ipp.client import IppClient, IppTransportError
from ipp.codec import IppGroup, IppMessage, IppParseError, Resolution, StringWithLanguage
from ipp.constants import (
    ATTRIBUTE_SYNTAX,
    GroupTag,
    JobState,
    Operation,
    PrinterState,
    StatusCode,
    ValueTag,
    status_name,
)
from stanzas.states import JobState as Keyword  # the keywords; JobState: IPP's enums

from .base import (
    DeviceCapabilities,
    DeviceDriver,
    DeviceJobStatus,
    DeviceJobTicket,
    DeviceRejected,
    DeviceStatus,
    DeviceUnreachable,
)

__all__ = ["IppDriver"]

log = logging.getLogger(__name__)

_BUSY = frozenset(
    {
        StatusCode.SERVER_ERROR_BUSY,
        StatusCode.SERVER_ERROR_SERVICE_UNAVAILABLE,
        StatusCode.SERVER_ERROR_TEMPORARY_ERROR,
    }
)
_GONE = frozenset({StatusCode.CLIENT_ERROR_NOT_FOUND, StatusCode.CLIENT_ERROR_GONE})

CAPABILITY_ATTRIBUTES = [
    "printer-make-and-model",
    "printer-info",
    "document-format-supported",
    "media-supported",
    "media-default",
    "sides-supported",
    "sides-default",
    "print-color-mode-supported",
    "print-color-mode-default",
    "print-quality-supported",
    "finishings-supported",
    "copies-supported",
    "multiple-document-jobs-supported",
    # what the transform (manager/transform/) renders raster and PDLs at
    "pwg-raster-document-resolution-supported",
    "pwg-raster-document-type-supported",
    "pwg-raster-document-sheet-back",
    "urf-supported",
    "printer-resolution-supported",
    "destination-uri-schemes-supported",  # an IPP FaxOut device's (PWG 5100.15)
]
STATUS_ATTRIBUTES = [
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
]
JOB_ATTRIBUTES = [
    "job-state",
    "job-state-reasons",
    "job-state-message",
    "job-impressions-completed",
    "job-media-sheets-completed",
    "time-at-processing",  # no-value until the printer begins processing the job
    "job-k-octets",
]
_ABORTIVE_CLOSE = struct.pack("ii", 1, 0)  # struct linger {l_onoff = 1, l_linger = 0}


def _abortive_socket(addr_info: Any) -> socket.socket:
    """A socket whose close sends a reset, not a FIN (aiohttp's socket_factory)."""
    family, type_, proto, _, _ = addr_info
    sock = socket.socket(family=family, type=type_, proto=proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _ABORTIVE_CLOSE)
    return sock


@dataclass
class _Job:
    ticket: DeviceJobTicket | None
    device_ids: list[int]
    documents_sent: int = 0
    last_sent: bool = False
    canceled: bool = False
    statuses: dict[int, DeviceJobStatus] = field(default_factory=dict)
    turn: int | None = None  # this job's submission turn (_SubmitTurns), until given back


class _SubmitTurns:
    """Whose turn it is to submit a job: one holder at a time, the others wait.

    A turn is a number; give_back() and the in_use() bracket ignore a number that no
    longer holds the turn, so a late call from a job that lost it changes nothing."""

    def __init__(self, lease: float) -> None:
        self.lease = lease
        self._holder: int | None = None
        self._last = 0
        self._busy = 0  # driver calls the holder has under way
        self._since = 0.0  # when the holder last finished one
        self._changed = asyncio.Event()

    @property
    def holder(self) -> int | None:
        return self._holder

    async def take(self) -> int:
        loop = asyncio.get_running_loop()
        while self._holder is not None:
            idle_for = loop.time() - self._since
            if self._busy == 0 and idle_for >= self.lease:
                log.warning(
                    "a job held the printer's submission turn %.0f s without using it; "
                    "the next job goes ahead",
                    idle_for,
                )
                break
            self._changed.clear()
            wait = self.lease - idle_for if self._busy == 0 else self.lease
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.001)):
                    await self._changed.wait()
        self._last += 1
        self._holder = self._last
        self._busy = 0
        self._since = loop.time()
        return self._last

    def give_back(self, turn: int | None) -> None:
        if turn is not None and turn == self._holder:
            self._holder = None
            self._changed.set()

    @contextlib.contextmanager
    def in_use(self, turn: int | None) -> Iterator[None]:
        """Around a driver call of the holder: it cannot lose the turn meanwhile."""
        mine = turn is not None and turn == self._holder
        if mine:
            self._busy += 1
        try:
            yield
        finally:
            if mine and turn == self._holder:
                self._busy -= 1
                self._since = asyncio.get_running_loop().time()


def _text(value: Any) -> str:
    if isinstance(value, StringWithLanguage):
        return value.text
    return "" if value is None else str(value)


def _extra_value(name: str, value: str) -> Any:
    """A ticket "extra" string as the attribute's usual syntax."""
    syntax = ATTRIBUTE_SYNTAX.get(name)
    if syntax in (ValueTag.INTEGER, ValueTag.ENUM):
        try:
            return int(value)
        except ValueError:
            return value
    if syntax == ValueTag.BOOLEAN and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


class IppDriver(DeviceDriver):
    """An IPP printer at ``printer_uri`` (ipp://, ipps://, http:// or https://)."""

    name = "ipp"

    def __init__(
        self,
        printer_uri: str,
        *,
        session: aiohttp.ClientSession | None = None,
        ssl: _ssl.SSLContext | bool | None = None,
        requesting_user_name: str = "cirrus-manager",
        poll_interval: float = 0.2,
        min_poll_interval: float = 0.01,
        busy_timeout: float = 60.0,
        timeout: float = 60.0,
        max_tracked_jobs: int = 4096,
        submit_lease: float | None = None,
    ) -> None:
        """`submit_lease`: how long a job may hold the submission turn without using the
        driver (default: busy_timeout)."""
        self.printer_uri = printer_uri
        self.poll_interval = poll_interval
        self.min_poll_interval = min(min_poll_interval, poll_interval)
        self.busy_timeout = busy_timeout
        self.max_tracked_jobs = max_tracked_jobs
        self._session = session
        self._own_session: aiohttp.ClientSession | None = None
        self._client_factory: Callable[[], IppClient] = lambda: IppClient(
            printer_uri,
            session=self._session or self._abortive_session(),
            ssl=ssl,
            requesting_user_name=requesting_user_name,
            timeout=timeout,
        )
        self._client: IppClient | None = None
        self._jobs: OrderedDict[int, _Job] = OrderedDict()
        self._multi_document: bool | None = None
        self._turns = _SubmitTurns(busy_timeout if submit_lease is None else submit_lease)
        # polling back-off per waiting task: (activity count seen, last delay)
        self._activity = 0
        self._waits: weakref.WeakKeyDictionary[asyncio.Task[object], tuple[int, float]] = (
            weakref.WeakKeyDictionary()
        )

    # ------------------------------------------------------------------ plumbing

    @property
    def client(self) -> IppClient:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    async def start(self) -> None:
        _ = self.client

    def _abortive_session(self) -> aiohttp.ClientSession:
        if self._own_session is None or self._own_session.closed:
            self._own_session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(socket_factory=_abortive_socket)
            )
        return self._own_session

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()
        own, self._own_session = self._own_session, None
        if own is not None:
            await own.close()

    async def _send(
        self,
        req: IppMessage,
        data: AsyncIterator[bytes] | None = None,
        data_size: int | None = None,
    ) -> IppMessage:
        try:
            return await self.client.request(req, data, check=False, data_size=data_size)
        except (IppTransportError, IppParseError) as exc:
            raise DeviceUnreachable(f"{self.printer_uri}: {exc}") from exc

    async def _send_retrying_busy(self, req: IppMessage) -> IppMessage:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_timeout
        delay = 0.005
        while True:
            resp = await self._send(req)
            if resp.status_code not in _BUSY:
                return resp
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DeviceUnreachable(
                    f"{self.printer_uri}: still {resp.status_name} after {self.busy_timeout:g} s"
                    f" ({resp.status_message})"
                )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, self.poll_interval)
            req.request_id = self.client.next_request_id()

    def _track(self, job_id: int, job: _Job) -> None:
        self._jobs[job_id] = job
        while len(self._jobs) > self.max_tracked_jobs:
            self._jobs.popitem(last=False)

    async def _printer_attributes(self, requested: list[str]) -> IppGroup:
        req = self.client.new_request(Operation.GET_PRINTER_ATTRIBUTES)
        req.operation_attributes(requested_attributes=requested)
        resp = await self._send(req)
        if not resp.is_successful:
            raise DeviceUnreachable(
                f"{self.printer_uri}: Get-Printer-Attributes failed: {resp.status_name} "
                f"{resp.status_message}".rstrip()
            )
        return resp.group(GroupTag.PRINTER) or resp.add_group(GroupTag.PRINTER)

    async def _supports_multiple_documents(self) -> bool:
        if self._multi_document is None:
            printer = await self._printer_attributes(["multiple-document-jobs-supported"])
            self._multi_document = bool(printer.first("multiple-document-jobs-supported", False))
        return self._multi_document

    # ------------------------------------------------------------------ printer

    async def get_capabilities(self) -> DeviceCapabilities:
        printer = await self._printer_attributes(CAPABILITY_ATTRIBUTES)
        self._multi_document = bool(printer.first("multiple-document-jobs-supported", False))
        defaults = DeviceCapabilities()
        copies = printer.first("copies-supported")
        copies_max = getattr(copies, "upper", copies if isinstance(copies, int) else 1)

        def strings(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
            values = tuple(_text(v) for v in printer.values(name))
            return values or default

        def ints(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
            values = tuple(v for v in printer.values(name) if isinstance(v, int))
            return values or default

        def dpi(name: str) -> tuple[int, ...]:
            """Square resolutions in dots per inch (units 4 are dots per centimetre)."""
            return tuple(
                r.x if r.units == 3 else round(r.x * 2.54)
                for r in printer.values(name)
                if isinstance(r, Resolution) and r.x == r.y
            )

        return DeviceCapabilities(
            printer_make_and_model=_text(printer.first("printer-make-and-model", "")),
            printer_info=_text(printer.first("printer-info", "")),
            document_format_supported=strings(
                "document-format-supported", defaults.document_format_supported
            ),
            media_supported=strings("media-supported", ()),
            media_default=_text(printer.first("media-default", "")),
            sides_supported=strings("sides-supported", defaults.sides_supported),
            sides_default=_text(printer.first("sides-default", defaults.sides_default)),
            print_color_mode_supported=strings(
                "print-color-mode-supported", defaults.print_color_mode_supported
            ),
            print_color_mode_default=_text(
                printer.first("print-color-mode-default", defaults.print_color_mode_default)
            ),
            print_quality_supported=ints(
                "print-quality-supported", defaults.print_quality_supported
            ),
            finishings_supported=ints("finishings-supported", defaults.finishings_supported),
            copies_max=copies_max if isinstance(copies_max, int) and copies_max > 0 else 1,
            pwg_raster_document_resolution_supported=dpi(
                "pwg-raster-document-resolution-supported"
            ),
            pwg_raster_document_type_supported=strings("pwg-raster-document-type-supported", ()),
            pwg_raster_document_sheet_back=_text(
                printer.first("pwg-raster-document-sheet-back", "")
            ),
            urf_supported=strings("urf-supported", ()),
            printer_resolution_supported=dpi("printer-resolution-supported"),
            destination_uri_schemes_supported=strings("destination-uri-schemes-supported", ()),
        )

    async def get_status(self) -> DeviceStatus:
        printer = await self._printer_attributes(STATUS_ATTRIBUTES)
        state = printer.first("printer-state")
        try:
            keyword = PrinterState(state).keyword
        except ValueError:
            keyword = "stopped"
        reasons = tuple(_text(v) for v in printer.values("printer-state-reasons")) or ("none",)
        return DeviceStatus(
            printer_state=keyword,
            printer_state_reasons=reasons,
            printer_state_message=_text(printer.first("printer-state-message", "")),
            printer_is_accepting_jobs=bool(printer.first("printer-is-accepting-jobs", True)),
        )

    async def wait_for_change(self, timeout: float) -> None:
        """Sleep before the caller polls again: min_poll_interval right after this driver
        created, sent or canceled something, then twice as long each time up to
        poll_interval (tracked per waiting task)."""
        delay = self.poll_interval
        task = asyncio.current_task()
        if task is not None:
            seen, last = self._waits.get(task, (-1, self.poll_interval))
            if seen != self._activity:
                delay = self.min_poll_interval
            else:
                delay = min(last * 2, self.poll_interval)
            self._waits[task] = (self._activity, delay)
        await asyncio.sleep(max(0.0, min(delay, timeout)))

    # ------------------------------------------------------------------ jobs

    @staticmethod
    def _job_template(ticket: DeviceJobTicket) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        if ticket.copies != 1:
            attrs["copies"] = ticket.copies
        for name, value in (
            ("media", ticket.media),
            ("sides", ticket.sides),
            ("print-color-mode", ticket.print_color_mode),
            ("print-quality", ticket.print_quality),
        ):
            if value is not None:
                attrs[name] = value
        if ticket.destination_uris:  # IPP FaxOut (PWG 5100.15): where the fax goes
            attrs["destination-uris"] = [{"destination-uri": u} for u in ticket.destination_uris]
        for name, value in ticket.extra.items():
            attrs.setdefault(name, _extra_value(name, value))
        return attrs

    async def _create_device_job(self, ticket: DeviceJobTicket) -> int:
        attrs = self._job_template(ticket)
        for attempt in range(2):
            req = self.client.new_request(Operation.CREATE_JOB, with_user=False)
            req.operation_attributes(
                requesting_user_name=ticket.requesting_user_name or None,
                job_name=ticket.job_name or None,
            )
            if attrs:
                req.job_attributes(attrs)
            resp = await self._send_retrying_busy(req)
            if resp.is_successful:
                job_id = resp.first("job-id", group=GroupTag.JOB)
                if not isinstance(job_id, int) or isinstance(job_id, bool):
                    raise DeviceUnreachable(f"{self.printer_uri}: Create-Job returned no job-id")
                return job_id
            if (
                resp.status_code == StatusCode.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
                and attempt == 0
                and attrs
            ):
                unsupported = set()
                for group in resp.groups_of(GroupTag.UNSUPPORTED):
                    unsupported.update(group.names())
                dropped = [name for name in attrs if name in unsupported] or list(attrs)
                if "destination-uris" in dropped:  # a fax without its number is no fax
                    raise DeviceRejected(resp.status_name, "the device refused destination-uris")
                for name in dropped:
                    del attrs[name]
                continue
            raise DeviceRejected(resp.status_name, resp.status_message or resp.status_name)
        raise AssertionError("unreachable")

    async def create_job(self, ticket: DeviceJobTicket) -> int:
        if ticket.destination_uris:
            await self._check_destinations(ticket.destination_uris)
        turn = await self._turns.take()
        try:
            with self._turns.in_use(turn):
                job_id = await self._create_device_job(ticket)
        except BaseException:
            self._turns.give_back(turn)
            raise
        self._track(job_id, _Job(ticket, [job_id], turn=turn))
        self._activity += 1
        return job_id

    async def _check_destinations(self, uris: tuple[str, ...]) -> None:
        """A FaxOut job goes only to a device that says it sends to such URIs: a printer
        takes Create-Job with destination-uris and ignores them (ippeveprinter does),
        and would print the fax instead of sending it."""
        printer = await self._printer_attributes(["destination-uri-schemes-supported"])
        schemes = {_text(v).lower() for v in printer.values("destination-uri-schemes-supported")}
        wrong = [u for u in uris if u.partition(":")[0].lower() not in schemes]
        if wrong:
            raise DeviceRejected(
                "client-error-attributes-or-values-not-supported",
                f"the device does not send to {', '.join(wrong)} (destination-uri-schemes-"
                f"supported: {', '.join(sorted(schemes)) or 'none: it is no FaxOut device'})",
            )

    def _give_back_turn(self, job: _Job) -> None:
        self._turns.give_back(job.turn)
        job.turn = None

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
        job = self._jobs.get(job_id)
        if job is None:  # e.g. created before a restart: no ticket to split with
            job = _Job(None, [job_id])
            self._track(job_id, job)
        if job.canceled:
            raise DeviceRejected("client-error-not-possible", f"job {job_id} was canceled")
        try:
            with self._turns.in_use(job.turn):
                await self._send_document(
                    job, data, document_format, document_name, last, document_size
                )
        except BaseException:
            self._give_back_turn(job)
            raise
        if last:
            self._give_back_turn(job)

    async def _send_document(
        self,
        job: _Job,
        data: AsyncIterator[bytes],
        document_format: str,
        document_name: str,
        last: bool,
        document_size: int | None,
    ) -> None:
        multi = True
        if job.documents_sent > 0 or not last:
            multi = await self._supports_multiple_documents()
        if job.documents_sent > 0 and not multi:
            if job.ticket is None:
                raise DeviceRejected(
                    status_name(StatusCode.SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED),
                    "the printer takes one document per job",
                )
            job.device_ids.append(await self._create_device_job(job.ticket))
        target = job.device_ids[-1]
        req = self.client.new_request(Operation.SEND_DOCUMENT, with_user=False)
        req.operation_attributes(
            job_id=target,
            requesting_user_name=(job.ticket.requesting_user_name if job.ticket else None)
            or self.client.requesting_user_name,
            document_name=document_name or None,
            document_format=document_format or "application/octet-stream",
            last_document=last or not multi,
        )
        resp = await self._send(req, data, document_size)
        self._activity += 1
        if not resp.is_successful:
            raise DeviceRejected(resp.status_name, resp.status_message or resp.status_name)
        job.documents_sent += 1
        job.last_sent = last

    async def _get_one(self, device_id: int) -> DeviceJobStatus | None:
        req = self.client.new_request(Operation.GET_JOB_ATTRIBUTES)
        req.operation_attributes(job_id=device_id, requested_attributes=JOB_ATTRIBUTES)
        resp = await self._send(req)
        if resp.status_code in _GONE:
            return None
        if not resp.is_successful:
            raise DeviceUnreachable(
                f"{self.printer_uri}: Get-Job-Attributes {device_id} failed: "
                f"{resp.status_name} {resp.status_message}".rstrip()
            )
        job = resp.group(GroupTag.JOB) or resp.add_group(GroupTag.JOB)
        try:
            state = Keyword(JobState(job.first("job-state")).keyword)
        except ValueError:
            state = Keyword.PENDING
        processing = job.get("time-at-processing")
        k_octets = job.first("job-k-octets")
        return DeviceJobStatus(
            job_id=device_id,
            job_state=state,
            job_state_reasons=tuple(_text(v) for v in job.values("job-state-reasons")) or ("none",),
            job_state_message=_text(job.first("job-state-message", "")),
            job_impressions_completed=int(job.first("job-impressions-completed", 0) or 0),
            job_media_sheets_completed=int(job.first("job-media-sheets-completed", 0) or 0),
            # RFC 8011 §5.3.14: no-value until the job begins processing
            processing_began=None if processing is None else not processing.is_out_of_band,
            job_k_octets=k_octets if isinstance(k_octets, int) else None,
        )

    async def get_job(self, job_id: int) -> DeviceJobStatus | None:
        job = self._jobs.get(job_id)
        status = await self._get_job(job_id, job)
        if job is not None and job.turn is not None and (status is None or status.is_terminal):
            self._give_back_turn(job)  # ended on the printer before its last document
        return status

    async def _get_job(self, job_id: int, job: _Job | None) -> DeviceJobStatus | None:
        if job is None or (len(job.device_ids) == 1 and job.last_sent):
            return await self._get_one(job_id)
        statuses: list[DeviceJobStatus] = []
        for device_id in job.device_ids:
            known = job.statuses.get(device_id)
            if known is not None and known.is_terminal:
                statuses.append(known)
                continue
            status = await self._get_one(device_id)
            if status is None:
                if device_id == job_id and known is None:
                    return None
                # purged by the printer after it ended: keep what was seen last
                status = known or DeviceJobStatus(device_id, Keyword.COMPLETED)
            job.statuses[device_id] = status
            statuses.append(status)
        return self._combine(job_id, job, statuses)

    @staticmethod
    def _combine(job_id: int, job: _Job, statuses: list[DeviceJobStatus]) -> DeviceJobStatus:
        """The device jobs of one job (one per document) as one."""
        shown = (
            next((s for s in statuses if s.job_state == Keyword.ABORTED), None)
            or next((s for s in statuses if s.job_state == Keyword.CANCELED), None)
            or next((s for s in statuses if not s.is_terminal), None)
        )
        if shown is None and not job.last_sent:  # every document so far printed; more coming
            shown = DeviceJobStatus(job_id, Keyword.PROCESSING, ("job-incoming",))
        if shown is None:
            shown = replace(statuses[-1], job_state=Keyword.COMPLETED)
        began = [s.processing_began for s in statuses]
        k_octets = [s.job_k_octets for s in statuses]
        return replace(
            shown,
            job_id=job_id,
            job_impressions_completed=sum(s.job_impressions_completed for s in statuses),
            job_media_sheets_completed=sum(s.job_media_sheets_completed for s in statuses),
            processing_began=True if any(began) else None if None in began else False,
            job_k_octets=None if None in k_octets else sum(k or 0 for k in k_octets),
        )

    async def identify(self, actions: list[str], message: str | None) -> None:
        req = self.client.new_request(Operation.IDENTIFY_PRINTER)
        if actions:
            req.operation_attributes(identify_actions=list(actions))  # keywords
        if message:
            req.operation_attributes(message=message)
        resp = await self._send(req)
        if not resp.is_successful:
            raise DeviceRejected(resp.status_name, resp.status_message or resp.status_name)

    async def cancel_job(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        device_ids = job.device_ids if job is not None else [job_id]
        if job is not None:
            job.canceled = True
            self._give_back_turn(job)
        self._activity += 1
        for device_id in device_ids:
            req = self.client.new_request(Operation.CANCEL_JOB)
            req.operation_attributes(job_id=device_id)
            resp = await self._send(req)
            if (
                resp.is_successful
                or resp.status_code in _GONE
                or (resp.status_code == StatusCode.CLIENT_ERROR_NOT_POSSIBLE)
            ):
                continue  # not-possible: the job already ended
            raise DeviceRejected(resp.status_name, resp.status_message or resp.status_name)
