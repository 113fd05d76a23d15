"""Payloads of the Cloud Imaging Device Manager → Cloud Imaging Service operations.

Seed 001, "Cloud Imaging Device Manager to Cloud Imaging Service Operations";
their IPP INFRA (PWG 5100.18) counterparts are named on each class. Every request
carries output-device-uuid: a manager may front several devices, each its own queue.
"""

from __future__ import annotations

from pydantic import Field

from stanzas.groups import Capabilities, DocumentStatus, JobStatus, JobTicket, ServiceStatus
from stanzas.model import Element, Payload
from stanzas.states import DocumentState, JobState, RegistrationState, ServiceType
from stanzas.types import (
    Count,
    DocumentData,
    DocumentNumber,
    JobId,
    Keyword,
    MimeType,
    Name,
    Octets,
    QueueName,
    Sha256Hex,
    Text,
    Uri,
    UuidUrn,
)


class DeviceRequest(Payload):
    output_device_uuid: UuidUrn
    service_type: ServiceType = ServiceType.PRINT


# --- registration (INFRA: Register-Output-Device / Deregister-Output-Device) -------------


class RegisterDevice(DeviceRequest):
    """Sent by a manager for each device it fronts, at every start."""

    ELEMENT = "RegisterDevice"
    printer_name: QueueName
    printer_info: Text | None = None
    printer_location: Text | None = None
    capabilities: Capabilities | None = None
    status: ServiceStatus | None = None


class RegisterDeviceResponse(Payload):
    ELEMENT = "RegisterDeviceResponse"
    output_device_uuid: UuidUrn
    printer_name: Name
    registration_state: RegistrationState


class DeregisterDevice(DeviceRequest):
    ELEMENT = "DeregisterDevice"


class DeregisterDeviceResponse(Payload):
    ELEMENT = "DeregisterDeviceResponse"
    output_device_uuid: UuidUrn


# --- fetching work ------------------------------------------------------------------------


class FetchableJob(Element):
    """A job summary, enough for a manager that schedules jobs itself."""

    job_id: JobId
    job_name: Name | None = None
    job_originating_user_name: Name | None = None
    job_priority: int | None = Field(default=None, ge=1, le=100)
    number_of_documents: Count | None = None


class GetFetchableJobs(DeviceRequest):
    """Seed GetFetchable<Service>Jobs; INFRA Get-Jobs with which-jobs='fetchable'."""

    ELEMENT = "GetFetchableJobs"
    limit: int | None = Field(default=None, ge=1, le=1000)


class GetFetchableJobsResponse(Payload):
    ELEMENT = "GetFetchableJobsResponse"
    job: list[FetchableJob] = Field(default_factory=list)


class FetchJob(DeviceRequest):
    """Seed Fetch<Service>Job; INFRA Fetch-Job."""

    ELEMENT = "FetchJob"
    job_id: JobId


class FetchJobResponse(Payload):
    ELEMENT = "FetchJobResponse"
    job_id: JobId
    job_uuid: UuidUrn
    job_name: Name
    job_originating_user_name: Name
    job_state: JobState
    job_state_reasons: list[Keyword]
    number_of_documents: Count
    job_ticket: JobTicket  # the queue's default job ticket applied under the job's
    document_numbers: list[DocumentNumber] | None = None  # the documents to print, in order


class AcknowledgeJob(DeviceRequest):
    """Seed Acknowledge<Service>Job; INFRA Acknowledge-Job.

    fetch-status 'successful-ok' accepts the job (with the device's job id);
    any client-error-* or server-error-* status rejects it.
    """

    ELEMENT = "AcknowledgeJob"
    job_id: JobId
    fetch_status_code: Keyword = "successful-ok"
    fetch_status_message: Text | None = None
    output_device_job_id: Count | None = None
    unsupported_elements: list[Keyword] | None = None


class AcknowledgeJobResponse(Payload):
    """The job as the service now sees it: tells the manager of a cancel it missed."""

    ELEMENT = "AcknowledgeJobResponse"
    job_id: JobId
    job_state: JobState
    job_state_reasons: list[Keyword]


class FetchDocument(DeviceRequest):
    """Seed Fetch<Service>Document; INFRA Fetch-Document. With document-data-accepted,
    a small document comes back in the answer itself (as INFRA's Fetch-Document
    carries the data) instead of behind a URL."""

    ELEMENT = "FetchDocument"
    job_id: JobId
    document_number: DocumentNumber
    document_data_accepted: bool = False


class FetchDocumentResponse(Payload):
    """Where to GET the bytes: a one-time HTTPS URL bound to the asking device, or,
    for a small document the device accepts in-band, the bytes (document-data)."""

    ELEMENT = "FetchDocumentResponse"
    job_id: JobId
    document_number: DocumentNumber
    document_name: Name
    document_format: MimeType
    document_size: Octets
    document_digest: Sha256Hex  # SHA-256 of the bytes, lowercase hex
    document_access_uri: Uri | None = None
    last_document: bool
    document_data: DocumentData | None = None


class AcknowledgeDocument(DeviceRequest):
    """Seed Acknowledge<Service>Document; INFRA Acknowledge-Document."""

    ELEMENT = "AcknowledgeDocument"
    job_id: JobId
    document_number: DocumentNumber
    fetch_status_code: Keyword = "successful-ok"
    fetch_status_message: Text | None = None


class AcknowledgeDocumentResponse(Payload):
    ELEMENT = "AcknowledgeDocumentResponse"
    job_id: JobId
    document_number: DocumentNumber
    document_state: DocumentState
    job_state: JobState
    job_state_reasons: list[Keyword]


class PutJobDocumentData(DeviceRequest):
    """Seed Put<Service>JobDocumentData: a document the device produced (a scan) for
    the service, which keeps it for the job's owner.

    Answered with a one-time HTTPS upload URL bound to the device; the PUT's 201 means
    the document is committed (size and digest checked). A small document (up to
    INLINE_DOCUMENT_MAX octets) may come in `document-data` instead; then the answer
    means it is committed. Print queues answer server-error-operation-not-supported.
    """

    ELEMENT = "PutJobDocumentData"
    job_id: JobId
    document_format: MimeType
    document_size: Octets | None = None
    document_digest: Sha256Hex | None = None
    last_document: bool = True
    document_name: Name | None = None
    document_data: DocumentData | None = None


class PutJobDocumentDataResponse(Payload):
    ELEMENT = "PutJobDocumentDataResponse"
    job_id: JobId
    document_number: DocumentNumber
    upload_uri: Uri | None = None  # absent when the data came in the request


# --- state updates (INFRA Update-Output-Device-Attributes, Update-Job-Status, …) ----------


class UpdateServiceState(DeviceRequest):
    """Seed Update<Service>ServiceState: sparse; only what changed is sent."""

    ELEMENT = "UpdateServiceState"
    status: ServiceStatus | None = None
    capabilities: Capabilities | None = None


class UpdateServiceStateResponse(Payload):
    ELEMENT = "UpdateServiceStateResponse"
    output_device_uuid: UuidUrn
    status: ServiceStatus


class UpdateJobState(DeviceRequest):
    """Seed Update<Service>JobState; INFRA Update-Job-Status."""

    ELEMENT = "UpdateJobState"
    job_id: JobId
    job_state: JobState
    job_state_reasons: list[Keyword] = Field(default_factory=lambda: ["none"])
    job_state_message: Text | None = None
    output_device_job_id: Count | None = None
    output_device_job_state: JobState | None = None
    job_impressions_completed: Count | None = None
    job_media_sheets_completed: Count | None = None  # RFC 8011 §5.3.18.2


class UpdateJobStateResponse(Payload):
    ELEMENT = "UpdateJobStateResponse"
    job_id: JobId
    job_state: JobState
    job_state_reasons: list[Keyword]


class UpdateDocumentState(DeviceRequest):
    """Seed Update<Service>DocumentState; INFRA Update-Document-Status."""

    ELEMENT = "UpdateDocumentState"
    job_id: JobId
    document_number: DocumentNumber
    document_state: DocumentState
    document_state_reasons: list[Keyword] = Field(default_factory=lambda: ["none"])
    document_state_message: Text | None = None


class UpdateDocumentStateResponse(Payload):
    ELEMENT = "UpdateDocumentStateResponse"
    document: DocumentStatus


class HeldJob(Element):
    """A job the manager has fetched and acknowledged (or meant to), with its state."""

    job_id: JobId
    job_state: JobState
    job_state_reasons: list[Keyword] = Field(default_factory=lambda: ["none"])
    output_device_job_id: Count | None = None


class UpdateFetchableJobs(DeviceRequest):
    """Seed UpdateFetchable<Service>Jobs; INFRA Update-Active-Jobs. The resync."""

    ELEMENT = "UpdateFetchableJobs"
    job: list[HeldJob] = Field(default_factory=list)


class UpdateFetchableJobsResponse(Payload):
    """The seed's plain acknowledgement, plus what the manager should act on next."""

    ELEMENT = "UpdateFetchableJobsResponse"
    fetchable_job_ids: list[JobId] = Field(default_factory=list)
    cancel_job_ids: list[JobId] = Field(default_factory=list)  # held jobs to stop


# --- the push (INFRA: event notifications over the XMPP transport) ------------------------


class WorkNotification(Payload):
    """A <message> the service pushes to the manager's account when work appears.

    Carries the job ids so the manager needs no extra round trip; `resync` asks the
    manager to send UpdateFetchableJobs (sent after the service restarts).
    """

    ELEMENT = "WorkNotification"
    output_device_uuid: UuidUrn
    fetchable_job_ids: list[JobId] = Field(default_factory=list)
    cancel_job_ids: list[JobId] = Field(default_factory=list)
    suspend_job_ids: list[JobId] = Field(default_factory=list)  # SuspendCurrent<Service>Job
    resume_job_ids: list[JobId] = Field(default_factory=list)  # Resume<Service>Job
    identify_actions: list[Keyword] | None = None  # IPP Identify-Printer, relayed
    identify_message: Text | None = None
    resync: bool = False


__all__ = [
    "AcknowledgeDocument",
    "AcknowledgeDocumentResponse",
    "AcknowledgeJob",
    "AcknowledgeJobResponse",
    "DeregisterDevice",
    "DeregisterDeviceResponse",
    "FetchDocument",
    "FetchDocumentResponse",
    "FetchJob",
    "FetchJobResponse",
    "FetchableJob",
    "GetFetchableJobs",
    "GetFetchableJobsResponse",
    "HeldJob",
    "JobStatus",
    "PutJobDocumentData",
    "PutJobDocumentDataResponse",
    "RegisterDevice",
    "RegisterDeviceResponse",
    "UpdateDocumentState",
    "UpdateDocumentStateResponse",
    "UpdateFetchableJobs",
    "UpdateFetchableJobsResponse",
    "UpdateJobState",
    "UpdateJobStateResponse",
    "UpdateServiceState",
    "UpdateServiceStateResponse",
    "WorkNotification",
]
