"""Element groups shared by several payloads: the job ticket, capabilities, status."""

from __future__ import annotations

from typing import Literal

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
    Uri,
    UuidUrn,
)


class MediaSize(Element):
    """media-size member of media-col: dimensions in hundredths of millimetres."""

    x_dimension: int = Field(ge=1, le=10_000_000)
    y_dimension: int = Field(ge=1, le=10_000_000)


class MediaCol(Element):
    """media-col (PWG 5100.7): the medium described by its properties."""

    media_size: MediaSize | None = None
    media_size_name: Keyword | None = None
    media_type: Keyword | None = None  # stationery, photographic …
    media_source: Keyword | None = None  # tray-1, manual …
    media_color: Keyword | None = None


class JobTicket(Element):
    """The job ticket: IPP Job Template attributes (RFC 8011 §5.2, PWG 5100.7).

    Also a document's ticket (PWG 5100.5: the same attributes, per document)."""

    copies: int | None = Field(default=None, ge=1, le=9999)
    media: Keyword | None = None  # e.g. iso_a4_210x297mm
    media_col: MediaCol | None = None
    sides: Keyword | None = None  # one-sided, two-sided-long-edge, two-sided-short-edge
    print_color_mode: Keyword | None = None  # auto, color, monochrome …
    print_quality: int | None = Field(default=None, ge=3, le=5)  # 3 draft, 4 normal, 5 high
    finishings: list[int] | None = None  # enum values, 3 = none
    page_ranges: str | None = Field(default=None, pattern=r"^\d+(-\d+)?(,\d+(-\d+)?)*$")
    orientation_requested: int | None = Field(default=None, ge=3, le=7)
    number_up: int | None = Field(default=None, ge=1, le=16)
    job_priority: int | None = Field(default=None, ge=1, le=100)
    job_hold_until: Keyword | None = None  # no-hold, indefinite, …
    document_format: MimeType | None = None  # the format the documents will have
    # Scan (PWG 5100.17 IPP Scan): how the hardcopy is scanned. document-format is then
    # the format of the scanned documents and media the area scanned.
    input_source: Keyword | None = None  # platen, adf
    input_color_mode: Keyword | None = None  # color, monochrome, bi-level
    input_resolution: int | None = Field(default=None, ge=1, le=9600)  # dots per inch
    input_sides: Keyword | None = None  # one-sided, two-sided-long-edge … (feeder)
    number_of_pages: int | None = Field(default=None, ge=1, le=10_000)  # from the feeder
    # EmailOut and FaxOut (PWG 5100.15): where the documents go (mailto:, tel: URIs).
    destination_uris: list[Uri] | None = Field(default=None, min_length=1, max_length=100)


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
    media_type_supported: list[Keyword] | None = None
    media_source_supported: list[Keyword] | None = None
    orientation_requested_supported: list[int] | None = None
    number_up_supported: list[int] | None = None
    page_ranges_supported: bool | None = None
    job_priority_supported: int | None = Field(default=None, ge=1, le=100)
    # A scanner's (PWG 5100.17): what a scan ticket may ask.
    input_source_supported: list[Keyword] | None = None
    input_color_mode_supported: list[Keyword] | None = None
    input_resolution_supported: list[int] | None = None  # dots per inch
    input_sides_supported: list[Keyword] | None = None
    # EmailOut and FaxOut: the URI schemes destination-uris may use (mailto, tel).
    destination_uri_schemes_supported: list[Keyword] | None = None


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
    job_media_sheets_completed: Count | None = None
    job_k_octets: Count | None = None  # the documents' size; set when the job ends
    output_device_uuid: UuidUrn | None = None
    output_device_job_id: Count | None = None
    output_device_job_state: JobState | None = None
    time_at_creation: EpochSeconds | None = None
    time_at_processing: EpochSeconds | None = None
    time_at_completed: EpochSeconds | None = None
    job_ticket: JobTicket | None = None
    unsupported_elements: list[Keyword] | None = None  # ignored from the ticket at creation


class DocumentStatus(Element):
    """A document of a job (PWG 5100.5 Document Description and Status attributes)."""

    job_id: JobId
    document_number: DocumentNumber
    document_name: Name | None = None
    document_format: MimeType | None = None
    document_state: DocumentState
    document_state_reasons: list[Keyword] = Field(default_factory=lambda: ["none"])
    document_size: Octets | None = None  # octets
    document_uri: Uri | None = None  # for documents sent by reference
    document_ticket: JobTicket | None = None


class QueueConfiguration(Element):
    """The queue's settable configuration (the seeds' Service Configuration group)."""

    default_job_ticket: JobTicket | None = None
    # Seed 000, data-retention policy: 'discard' right after processing, 'timed'
    # (kept document-retention-period seconds), or 'keep'.
    document_retention: Keyword | None = None
    document_retention_period: int | None = Field(default=None, ge=0)
    job_history_period: int | None = Field(default=None, ge=0)  # seconds; 0 keeps forever
    # PWG 5100.5: how long the service waits for the next document of an open job,
    # and what it does then: 'abort-job', 'hold-job' or 'process-job'.
    multiple_operation_time_out: int | None = Field(default=None, ge=1)
    multiple_operation_time_out_action: Keyword | None = None
    allow_private_document_uris: bool | None = None  # Send<Service>Uri to internal hosts
    job_mandatory_elements: list[Keyword] | None = None  # always honoured, per queue
    # A job over its user's or group's quota: 'hold-job' (pending-held with
    # account-limit-reached, the default) or 'refuse-job' (client-error-not-possible).
    quota_exceeded_action: Literal["hold-job", "refuse-job"] | None = None


class ServiceDescription(Element):
    printer_name: Name
    service_type: Keyword
    printer_info: Text | None = None
    printer_location: Text | None = None
    printer_make_and_model: Text | None = None
    output_device_uuid: UuidUrn | None = None


class ServiceElements(Element):
    """What Get<Service>ServiceElements returns, by requested group."""

    description: ServiceDescription | None = None
    capabilities: Capabilities | None = None
    configuration: QueueConfiguration | None = None
    status: ServiceStatus | None = None
    default_job_ticket: JobTicket | None = None
    is_accepting_jobs: bool | None = None
    queued_job_count: Count | None = None
