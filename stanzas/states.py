"""States and reasons of the PWG Semantic Model / IPP (RFC 8011), as keywords."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """job-state (RFC 8011 §5.3.7)."""

    PENDING = "pending"  # waiting to be fetched or printed
    PENDING_HELD = "pending-held"  # not a candidate for processing (job-hold-until, held)
    PROCESSING = "processing"  # the device is working on it
    PROCESSING_STOPPED = "processing-stopped"  # processing, but the device has stopped
    CANCELED = "canceled"  # final: canceled by a user, operator or the device
    ABORTED = "aborted"  # final: aborted by the system (device reject, error)
    COMPLETED = "completed"  # final: done

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_JOB_STATES


TERMINAL_JOB_STATES = frozenset({JobState.CANCELED, JobState.ABORTED, JobState.COMPLETED})


class DocumentState(StrEnum):
    """document-state (PWG 5100.5 §5.3.6): the job states without pending-held."""

    PENDING = "pending"
    PROCESSING = "processing"
    PROCESSING_STOPPED = "processing-stopped"
    CANCELED = "canceled"
    ABORTED = "aborted"
    COMPLETED = "completed"

    @property
    def is_terminal(self) -> bool:
        return self in (DocumentState.CANCELED, DocumentState.ABORTED, DocumentState.COMPLETED)


class PrinterState(StrEnum):
    """printer-state (RFC 8011 §5.4.11); the seeds' Idle / Processing / Stopped."""

    IDLE = "idle"
    PROCESSING = "processing"
    STOPPED = "stopped"


class RegistrationState(StrEnum):
    """Whether the service serves a registered device yet (an administrator approves)."""

    PENDING = "pending"
    APPROVED = "approved"


class ServiceType(StrEnum):
    """The seeds' <Service>: every operation takes it as a parameter."""

    PRINT = "print"
    SCAN = "scan"
    FAX_OUT = "faxout"
    EMAIL_OUT = "emailout"


class JobStateReason:
    """job-state-reasons keywords used here (RFC 8011 §5.3.8, PWG 5100.18 INFRA)."""

    NONE = "none"
    JOB_INCOMING = "job-incoming"  # documents still being received (job not closed)
    JOB_FETCHABLE = "job-fetchable"  # INFRA: waiting for the Output Device to fetch it
    JOB_QUEUED = "job-queued"  # accepted by the device, waiting there
    JOB_PRINTING = "job-printing"  # the device is marking
    JOB_HOLD_UNTIL_SPECIFIED = "job-hold-until-specified"
    # PWG 5100.16: held (or refused) because its user's or group's quota is used up.
    ACCOUNT_LIMIT_REACHED = "account-limit-reached"
    PRINTER_STOPPED = "printer-stopped"  # the device is stopped (paper out …)
    JOB_SUSPENDED = "job-suspended"  # SuspendCurrent<Service>Job (PWG 5100.11)
    PROCESSING_TO_STOP_POINT = "processing-to-stop-point"  # cancel requested, device stopping
    JOB_CANCELED_BY_USER = "job-canceled-by-user"
    JOB_CANCELED_BY_OPERATOR = "job-canceled-by-operator"
    JOB_CANCELED_AT_DEVICE = "job-canceled-at-device"
    ABORTED_BY_SYSTEM = "aborted-by-system"
    DOCUMENT_ACCESS_ERROR = "document-access-error"
    DOCUMENT_FORMAT_ERROR = "document-format-error"
    UNSUPPORTED_DOCUMENT_FORMAT = "unsupported-document-format"
    JOB_COMPLETED_SUCCESSFULLY = "job-completed-successfully"
    JOB_COMPLETED_WITH_ERRORS = "job-completed-with-errors"
