"""The service's job log (seed 000, "Logging"): one PWG Common Log Format record per job
transaction, written after the COMMIT that made it so.

Where the records come from:
- every committed change of a job (the job state machine's listeners): job-created,
  job-fetchable, job-acknowledged, job-state-changed, job-progress, job-returned,
  job-redirected, job-completed (canceled and aborted too, as IPP's job-completed event);
- documents whose data is in the spool: document-received (`document_received`);
- every request of a Device Manager (`interaction`, from the operation registry), answered
  or refused: the ones that changed a job are the records above, with the operation
  named; the others are records of their own (job-fetched, document-fetched,
  document-acknowledged, device-registered, printer-state-changed, device-resync …).

Each record names the operation and the account that caused it: the operation registry
sets `REQUEST` around each handler, and after-commit callbacks run in the context of the
code that registered them (server/stores/db.py), so a change committed by another task's
group commit still reads its own request. Changes of the service's own (time-outs,
retention, HoldNewJobs timers) have no request: their user is the service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field

from server.joblog.record import Entry, Severity
from server.joblog.writer import JobLogWriter
from server.stores.devices import Device
from server.stores.documents import Document
from server.stores.jobs import Job
from stanzas.device_ops import FetchDocumentResponse
from stanzas.errors import CloudImagingError
from stanzas.model import Payload
from stanzas.states import JobState

log = logging.getLogger(__name__)


@dataclass
class Request:
    """The request being handled: its operation, who sent it (bare JID), and the jobs a
    record has named under it so far."""

    operation: str
    user: str
    recorded: set[int] = field(default_factory=set)


REQUEST: ContextVar[Request | None] = ContextVar("cirrus_request", default=None)

# A device's requests that change no job, as the event they log.
_INTERACTIONS = {
    "FetchJob": "job-fetched",
    "AcknowledgeJob": "job-acknowledged",
    "FetchDocument": "document-fetched",
    "AcknowledgeDocument": "document-acknowledged",
    "UpdateJobState": "job-state-reported",
    "UpdateDocumentState": "document-state-changed",
    "PutJobDocumentData": "document-put",
    "RegisterDevice": "device-registered",
    "DeregisterDevice": "device-deregistered",
    "UpdateServiceState": "printer-state-changed",
    "UpdateFetchableJobs": "device-resync",
    "GetFetchableJobs": "fetchable-jobs-listed",
}


def job_params(job: Job) -> list[tuple[str, str]]:
    params = [
        ("ServiceName", job.printer_name),
        ("JobID", str(job.job_id)),
        ("JobUUID", job.job_uuid),
        ("JobName", job.job_name),
        ("JobOriginatingUserName", job.owner),
        ("JobState", job.job_state.value),
        ("JobStateReasons", " ".join(job.job_state_reasons)),
    ]
    if job.output_device_uuid:
        params.append(("DeviceUUID", job.output_device_uuid))
    if job.output_device_job_id is not None:
        params.append(("OutputDeviceJobID", str(job.output_device_job_id)))
    return params


def _usage(job: Job) -> list[tuple[str, str]]:
    return [
        ("NumberOfDocuments", str(job.number_of_documents)),
        ("JobImpressionsCompleted", str(job.job_impressions_completed)),
        ("JobMediaSheetsCompleted", str(job.job_media_sheets_completed)),
        ("JobKOctets", str(job.job_k_octets)),
    ]


def classify(before: Job | None, after: Job) -> str:
    """The event a committed change of a job is (its record's MSGID)."""
    if before is None:
        return "job-created"
    if after.job_state.is_terminal:
        return "job-completed"
    if after.printer_name != before.printer_name:
        return "job-redirected"
    if after.output_device_uuid and not before.output_device_uuid:
        return "job-acknowledged"
    if before.output_device_uuid and not after.output_device_uuid:
        return "job-returned"  # the device no longer holds it: fetchable again
    if after.job_state == before.job_state and after.is_fetchable and not before.is_fetchable:
        return "job-fetchable"
    if (
        after.job_state != before.job_state
        or after.job_state_reasons != before.job_state_reasons
        or after.job_state_message != before.job_state_message
    ):
        return "job-state-changed"
    if (
        after.job_impressions_completed != before.job_impressions_completed
        or after.job_media_sheets_completed != before.job_media_sheets_completed
    ):
        return "job-progress"
    return "job-updated"


def _message(event: str, job: Job) -> str:
    text = f"job {job.job_id} of {job.owner} on {job.printer_name}: {event}, {job.job_state.value}"
    if job.job_state.is_terminal:
        text += (
            f", {job.job_impressions_completed} impressions, "
            f"{job.job_media_sheets_completed} sheets"
        )
    if job.job_state_message:
        text += f" ({job.job_state_message})"
    return text


class JobLog:
    """Told of every committed change and every device request; writes through a
    `JobLogWriter` (or nowhere, when the service's settings name no destination)."""

    def __init__(
        self,
        writer: JobLogWriter | None,
        service_name: str,
        clock: Callable[[], float],
        after_commit: Callable[[Callable[[], None]], None],
    ) -> None:
        self.writer = writer
        self.service_name = service_name  # the user of the service's own changes
        self.clock = clock
        self.after_commit = after_commit

    def start(self) -> None:
        if self.writer is not None:
            self.writer.start()

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.stop()

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    # --- sources -----------------------------------------------------------------------
    def job_changed(self, before: Job | None, after: Job) -> None:
        """A job listener (server/jobs/states.py): one record per committed change."""
        if self.writer is None:
            return
        event = classify(before, after)
        params = self._cause(after.job_id) + job_params(after)
        if event in ("job-completed", "job-progress"):
            params += _usage(after)
        aborted = after.job_state == JobState.ABORTED
        self._put(event, params, _message(event, after), warn=aborted)

    def document_received(self, job: Job, document: Document) -> None:
        """A document's data is in the spool; recorded once the caller's transaction
        commits."""
        if self.writer is None:
            return
        params = [
            *job_params(job),
            ("DocumentNumber", str(document.document_number)),
            ("DocumentName", document.document_name),
            ("DocumentFormat", document.document_format),
            ("DocumentOctets", str(document.document_size)),
        ]
        message = (
            f"job {job.job_id}: document {document.document_number} received, "
            f"{document.document_size} octets of {document.document_format}"
        )

        def record() -> None:
            self._put("document-received", self._cause(job.job_id) + params, message)

        self.after_commit(record)

    def job_refused(self, user: str, printer_name: str, why: str) -> None:
        """A new job was refused (over a quota, on a queue that refuses then)."""
        if self.writer is None:
            return
        params = [
            *self._cause(0),
            ("ServiceName", printer_name),
            ("StatusCode", "client-error-not-possible"),
        ]
        self._put("job-refused", params, f"a job of {user} on {printer_name}: {why}", warn=True)

    def wants(self, request: Payload, error: CloudImagingError | None) -> bool:
        """Whether a device's request needs a record of its own: not when it changed
        the job it names (that change was recorded, naming the operation)."""
        if self.writer is None:
            return False
        job_id = getattr(request, "job_id", None)
        current = REQUEST.get()
        return error is not None or job_id is None or not current or job_id not in current.recorded

    def interaction(
        self,
        operation: str,
        caller: str,
        device: Device | None,
        request: Payload,
        job: Job | None,
        response: Payload | None,
        error: CloudImagingError | None,
    ) -> None:
        """A Device Manager's request, answered (`response`) or refused (`error`). One
        that changed the job it names was recorded with that change; the rest are
        records of their own."""
        if not self.wants(request, error):
            return
        job_id = getattr(request, "job_id", None)
        params: list[tuple[str, str]] = [("Operation", operation), ("UserName", caller)]
        printer = device.printer_name if device else getattr(request, "printer_name", None)
        uuid = device.output_device_uuid if device else getattr(request, "output_device_uuid", "")
        if job is not None:
            params += job_params(job)
        elif printer:
            params.append(("ServiceName", printer))
        if uuid and ("DeviceUUID", uuid) not in params:
            params.append(("DeviceUUID", uuid))
        if job is None and job_id is not None:
            params.append(("JobID", str(job_id)))
        params += _interaction_params(request, response)
        status = error.status if error else "successful-ok"
        params.append(("StatusCode", status))
        event = _INTERACTIONS.get(operation, "device-request")
        what = f"{operation} from {caller}: {status}"
        if error is not None:
            what += f" ({error.message})"
        self._put(event, params, what, warn=error is not None)

    # --- helpers ---------------------------------------------------------------------------
    def _cause(self, job_id: int) -> list[tuple[str, str]]:
        current = REQUEST.get()
        if current is None:
            return [("Operation", "-"), ("UserName", self.service_name)]
        current.recorded.add(job_id)
        return [("Operation", current.operation), ("UserName", current.user)]

    def _put(
        self, event: str, params: list[tuple[str, str]], message: str, *, warn: bool = False
    ) -> None:
        assert self.writer is not None
        severity = Severity.WARNING if warn else Severity.INFORMATIONAL
        self.writer.put(Entry(self.clock(), event, tuple(params), message, severity))


def _interaction_params(request: Payload, response: Payload | None) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    number = getattr(request, "document_number", None)
    if number is not None:
        params.append(("DocumentNumber", str(number)))
    fetch_status = getattr(request, "fetch_status_code", None)
    if fetch_status is not None:
        params.append(("FetchStatusCode", str(fetch_status)))
    if isinstance(response, FetchDocumentResponse):
        params.append(("DocumentOctets", str(response.document_size)))
        inline = response.document_data is not None
        params.append(("DocumentAccess", "inline" if inline else "uri"))
    return params
