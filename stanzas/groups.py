"""Element groups shared by several payloads: the job ticket, capabilities, status."""

from __future__ import annotations

from pydantic import Field

from stanzas.model import Element
from stanzas.states import DocumentState, JobState, PrinterState
from stanzas.types import (
    Count,
    DocumentNumber,
    EpochSeconds,
    JobId,
    Keyword,
    MimeType,
    Name,
    Octets,
    Text,
    UuidUrn,
)


class JobTicket(Element):
    """The job ticket: IPP Job Template attributes (RFC 8011 §5.2, PWG 5100.7)."""

    copies: int | None = Field(default=None, ge=1, le=9999)
    media: Keyword | None = None  # e.g. iso_a4_210x297mm
    sides: Keyword | None = None  # one-sided, two-sided-long-edge, two-sided-short-edge
    print_color_mode: Keyword | None = None  # auto, color, monochrome …
    print_quality: int | None = Field(default=None, ge=3, le=5)  # 3 draft, 4 normal, 5 high
    finishings: list[int] | None = None  # enum values, 3 = none
    page_ranges: str | None = Field(default=None, pattern=r"^\d+(-\d+)?(,\d+(-\d+)?)*$")
    orientation_requested: int | None = Field(default=None, ge=3, le=7)
    number_up: int | None = Field(default=None, ge=1, le=16)
    job_priority: int | None = Field(default=None, ge=1, le=100)
    job_hold_until: Keyword | None = None  # no-hold, indefinite, …


class Capabilities(Element):
    """What a device reported it supports (IPP Printer Description attributes)."""

    printer_make_and_model: Text | None = None
    printer_info: Text | None = None
    document_format_supported: list[MimeType] | None = None
    media_supported: list[Keyword] | None = None
    media_default: Keyword | None = None
    sides_supported: list[Keyword] | None = None
    sides_default: Keyword | None = None
    print_color_mode_supported: list[Keyword] | None = None
    print_color_mode_default: Keyword | None = None
    print_quality_supported: list[int] | None = None
    finishings_supported: list[int] | None = None
    copies_supported: int | None = Field(default=None, ge=1)  # the upper bound of 1:MAX


class ServiceStatus(Element):
    """The device's (and so the queue's) state group, sparse on updates."""

    printer_state: PrinterState | None = None
    printer_state_reasons: list[Keyword] | None = None
    printer_state_message: Text | None = None
    printer_is_accepting_jobs: bool | None = None


class JobStatus(Element):
    """A job as the service sees it (Job Description and Status attributes)."""

    job_id: JobId
    job_uuid: UuidUrn | None = None
    printer_name: Name | None = None  # the queue
    job_name: Name | None = None
    job_originating_user_name: Name | None = None
    job_state: JobState
    job_state_reasons: list[Keyword] = Field(default_factory=lambda: ["none"])
    job_state_message: Text | None = None
    number_of_documents: Count | None = None
    job_impressions_completed: Count | None = None
    output_device_uuid: UuidUrn | None = None
    output_device_job_id: Count | None = None
    output_device_job_state: JobState | None = None
    time_at_creation: EpochSeconds | None = None
    time_at_processing: EpochSeconds | None = None
    time_at_completed: EpochSeconds | None = None
    job_ticket: JobTicket | None = None


class DocumentStatus(Element):
    """A document of a job (PWG 5100.5 Document Description and Status attributes)."""

    job_id: JobId
    document_number: DocumentNumber
    document_name: Name | None = None
    document_format: MimeType | None = None
    document_state: DocumentState
    document_state_reasons: list[Keyword] = Field(default_factory=lambda: ["none"])
    document_size: Octets | None = None  # octets
