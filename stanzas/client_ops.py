"""Payloads of the client → Cloud Imaging Service operations (seed 001, Table 1).

Named without the service word; the service is the service-type element. The
requesting user is never a field: it is the sender's JID as Prosody stamped it.
"""

from __future__ import annotations

from pydantic import Field

from stanzas.groups import DocumentStatus, JobStatus, JobTicket, ServiceElements
from stanzas.model import Payload
from stanzas.states import JobState, ServiceType
from stanzas.types import (
    DeviceName,
    DocumentData,
    DocumentNumber,
    IdempotencyKey,
    JobId,
    Keyword,
    MimeType,
    Name,
    Octets,
    Sha256Hex,
    Text,
    Uri,
)

# --- job creation and documents -------------------------------------------------------


class CreateJob(Payload):
    """Seed Create<Service>Job; IPP Create-Job."""

    ELEMENT = "CreateJob"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name  # the queue
    job_name: Name | None = None
    job_ticket: JobTicket | None = None
    # Elements that must be honoured or the job refused (PWG 5100.7 job-mandatory-attributes);
    # other unsupported elements are dropped and named in the answer.
    job_mandatory_elements: list[Keyword] | None = None
    # Chosen by the client, unique among its jobs: a request sent again with the same key
    # (its first outcome unknown) is answered with the job the first one created, if it
    # did, instead of creating a second (docs/protocol.md, CreateJob).
    idempotency_key: IdempotencyKey | None = None


class CreateJobResponse(Payload):
    ELEMENT = "CreateJobResponse"
    job: JobStatus
    unsupported_elements: list[Keyword] | None = None


class PrintJob(CreateJob):
    """IPP Print-Job: Create<Service>Job and one small document (up to
    INLINE_DOCUMENT_MAX octets, in `document-data`) in one request. The answer means
    the job and its document are committed and the job is closed; a bigger document
    takes CreateJob and SendDocument."""

    ELEMENT = "PrintJob"
    document_name: Name | None = None
    document_format: MimeType = "application/octet-stream"
    document_digest: Sha256Hex | None = None
    document_data: DocumentData


class PrintJobResponse(CreateJobResponse):
    ELEMENT = "PrintJobResponse"


class SendDocument(Payload):
    """Seed Send<Service>Document; IPP Send-Document.

    Answered with a one-time HTTPS upload URL (the bytes do not travel in XMPP);
    the PUT's 201 answer means the document is committed. A small document (up to
    INLINE_DOCUMENT_MAX octets) may come in `document-data` instead: then the answer
    means it is committed and carries no URL. `no-data` with last-document closes
    the job without adding a document.
    """

    ELEMENT = "SendDocument"
    job_id: JobId
    document_name: Name | None = None
    document_format: MimeType = "application/octet-stream"
    document_size: Octets | None = None
    document_digest: Sha256Hex | None = None
    last_document: bool = True
    no_data: bool = False
    document_ticket: JobTicket | None = None
    document_data: DocumentData | None = None


class SendDocumentResponse(Payload):
    ELEMENT = "SendDocumentResponse"
    job_id: JobId
    document_number: DocumentNumber | None = None
    upload_uri: Uri | None = None
    job_state: JobState
    job_state_reasons: list[Keyword]


class SendUri(Payload):
    """Seed Send<Service>Uri; IPP Send-URI. The service fetches the document itself."""

    ELEMENT = "SendUri"
    job_id: JobId
    document_uri: Uri
    document_name: Name | None = None
    document_format: MimeType = "application/octet-stream"
    last_document: bool = True
    document_ticket: JobTicket | None = None


class SendUriResponse(Payload):
    ELEMENT = "SendUriResponse"
    job_id: JobId
    document_number: DocumentNumber
    job_state: JobState
    job_state_reasons: list[Keyword]


class AddHardcopyDocument(Payload):
    """Seed Add<Service>HardcopyDocument: only for services whose device scans."""

    ELEMENT = "AddHardcopyDocument"
    job_id: JobId
    input_source: Keyword | None = None  # adf, platen …
    last_document: bool = True


class AddHardcopyDocumentResponse(Payload):
    ELEMENT = "AddHardcopyDocumentResponse"
    job_id: JobId
    document_number: DocumentNumber


class GetDocumentData(Payload):
    """A job's document bytes for its owner (or an administrator): the documents a
    scan produced. Answered with a one-time HTTPS download URL, or, with
    document-data-accepted and a small document, the bytes themselves."""

    ELEMENT = "GetDocumentData"
    job_id: JobId
    document_number: DocumentNumber
    document_data_accepted: bool = False


class GetDocumentDataResponse(Payload):
    ELEMENT = "GetDocumentDataResponse"
    job_id: JobId
    document_number: DocumentNumber
    document_name: Name
    document_format: MimeType
    document_size: Octets
    document_digest: Sha256Hex  # SHA-256 of the bytes, lowercase hex
    document_access_uri: Uri | None = None
    document_data: DocumentData | None = None


class CloseJob(Payload):
    """Seed Close<Service>Job; IPP Close-Job."""

    ELEMENT = "CloseJob"
    job_id: JobId


class CloseJobResponse(Payload):
    ELEMENT = "CloseJobResponse"
    job: JobStatus


# --- reading ------------------------------------------------------------------------


class GetJobElements(Payload):
    """Seed Get<Service>JobElements; IPP Get-Job-Attributes. requested-elements names
    groups: job-status, job-ticket, job-receipt (all when absent)."""

    ELEMENT = "GetJobElements"
    job_id: JobId
    requested_elements: list[Keyword] | None = None


class GetJobElementsResponse(Payload):
    ELEMENT = "GetJobElementsResponse"
    job: JobStatus
    job_receipt: JobTicket | None = None  # the ticket as the device was given it


class GetActiveJobs(Payload):
    """Seed GetActive<Service>Jobs; IPP Get-Jobs which-jobs=not-completed."""

    ELEMENT = "GetActiveJobs"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name | None = None  # all queues when absent
    my_jobs: bool = False
    limit: int | None = Field(default=None, ge=1, le=10_000)


class GetJobHistory(Payload):
    """Seed Get<Service>Jobs / Get<Service>JobHistory; IPP Get-Jobs which-jobs=completed."""

    ELEMENT = "GetJobHistory"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name | None = None
    my_jobs: bool = False
    limit: int | None = Field(default=None, ge=1, le=10_000)


class JobList(Payload):
    """Job summaries (job-id, job-name, job-originating-user-name, job-state, reasons);
    other users' jobs are trimmed for users who are not operators or administrators."""

    ELEMENT = "JobListResponse"
    job: list[JobStatus] = Field(default_factory=list)


class GetDocuments(Payload):
    """Seed Get<Service>Documents; IPP Get-Documents."""

    ELEMENT = "GetDocuments"
    job_id: JobId


class GetDocumentsResponse(Payload):
    ELEMENT = "GetDocumentsResponse"
    job_id: JobId
    job_name: Name
    document: list[DocumentStatus] = Field(default_factory=list)


class GetDocumentElements(Payload):
    """Seed Get<Service>DocumentElements; IPP Get-Document-Attributes."""

    ELEMENT = "GetDocumentElements"
    job_id: JobId
    document_number: DocumentNumber


class GetDocumentElementsResponse(Payload):
    ELEMENT = "GetDocumentElementsResponse"
    document: DocumentStatus


class GetServiceElements(Payload):
    """Seed Get<Service>ServiceElements; IPP Get-Printer-Attributes. requested-elements
    names groups: capabilities, configuration, description, status, default-job-ticket."""

    ELEMENT = "GetServiceElements"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name
    requested_elements: list[Keyword] | None = None


class GetServiceElementsResponse(Payload):
    ELEMENT = "GetServiceElementsResponse"
    service: ServiceElements


class GetServices(Payload):
    """The queues a user may print to, with their description and status (the user's
    view of the seeds' ListAllServices)."""

    ELEMENT = "GetServices"
    service_type: ServiceType | None = None


class GetServicesResponse(Payload):
    ELEMENT = "GetServicesResponse"
    service: list[ServiceElements] = Field(default_factory=list)


# --- changing jobs and documents ------------------------------------------------------


class CancelJob(Payload):
    """Seed Cancel<Service>Job; IPP Cancel-Job."""

    ELEMENT = "CancelJob"
    job_id: JobId
    message: Text | None = None


class CancelJobResponse(Payload):
    ELEMENT = "CancelJobResponse"
    job: JobStatus


class CancelCurrentJob(Payload):
    """Seed CancelCurrent<Service>Job; IPP Cancel-Current-Job."""

    ELEMENT = "CancelCurrentJob"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name
    job_id: JobId | None = None
    message: Text | None = None


class CancelMyJobs(Payload):
    """Seed CancelMy<Service>Jobs; IPP Cancel-My-Jobs. All or nothing."""

    ELEMENT = "CancelMyJobs"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name | None = None
    job_ids: list[JobId] | None = None
    message: Text | None = None


class CancelMyJobsResponse(Payload):
    ELEMENT = "CancelMyJobsResponse"
    job_ids: list[JobId] = Field(default_factory=list)  # canceled (or cancel requested)
    # The warning the seed asks for: named jobs that had already ended.
    already_terminated_job_ids: list[JobId] | None = None


class CancelDocument(Payload):
    """Seed Cancel<Service>Document; IPP Cancel-Document."""

    ELEMENT = "CancelDocument"
    job_id: JobId
    document_number: DocumentNumber
    message: Text | None = None


class SetJobElements(Payload):
    """Seed Set<Service>JobElements; IPP Set-Job-Attributes. Atomic; delete-elements
    names elements to remove (the seed's 'element with no value')."""

    ELEMENT = "SetJobElements"
    job_id: JobId
    job_name: Name | None = None
    job_ticket: JobTicket | None = None
    delete_elements: list[Keyword] | None = None
    message: Text | None = None


class SetDocumentElements(Payload):
    """Seed Set<Service>DocumentElements; IPP Set-Document-Attributes. Atomic."""

    ELEMENT = "SetDocumentElements"
    job_id: JobId
    document_number: DocumentNumber
    document_name: Name | None = None
    document_ticket: JobTicket | None = None
    delete_elements: list[Keyword] | None = None
    message: Text | None = None


class SuspendCurrentJob(Payload):
    """Seed SuspendCurrent<Service>Job; IPP Suspend-Current-Job."""

    ELEMENT = "SuspendCurrentJob"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name
    job_id: JobId | None = None
    message: Text | None = None


class ResumeJob(Payload):
    """Seed Resume<Service>Job; IPP Resume-Job. Resumes a suspended job."""

    ELEMENT = "ResumeJob"
    job_id: JobId
    message: Text | None = None


class ResubmitJob(Payload):
    """Seed Resubmit<Service>Job; IPP Resubmit-Job. A new job from a retained one."""

    ELEMENT = "ResubmitJob"
    job_id: JobId
    job_ticket: JobTicket | None = None


class ReleaseJobs(Payload):
    """IPP Release-Job (RFC 8011) of jobs a queue holds for release at the device (PWG
    5100.11 job-release-action owner-authorized): the owner releases them at the device
    of their choice (output-device), where they print. Without job-ids, every job of the
    sender's that waits for release on a queue that device serves."""

    ELEMENT = "ReleaseJobs"
    output_device: DeviceName
    job_ids: list[JobId] | None = None
    message: Text | None = None


class ReleaseJobsResponse(Payload):
    """The jobs released (none: nothing of the sender's waited there)."""

    ELEMENT = "ReleaseJobsResponse"
    output_device: DeviceName
    job_ids: list[JobId] = Field(default_factory=list)


class JobResponse(Payload):
    """The changed job, for operations that change one."""

    ELEMENT = "JobResponse"
    job: JobStatus
    unsupported_elements: list[Keyword] | None = None


class JobsResponse(Payload):
    """The changed jobs, for operations that may change several."""

    ELEMENT = "JobsResponse"
    job: list[JobStatus] = Field(default_factory=list)


class DocumentResponse(Payload):
    ELEMENT = "DocumentResponse"
    document: DocumentStatus


class IdentifyPrinter(Payload):
    """IPP Identify-Printer (PWG 5100.13), relayed to the queue's device: make it show,
    flash, sound or speak so that a person can find it."""

    ELEMENT = "IdentifyPrinter"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name
    identify_actions: list[Keyword] | None = None  # display, flash, sound, speak
    message: Text | None = None


class IdentifyPrinterResponse(Payload):
    ELEMENT = "IdentifyPrinterResponse"
    printer_name: Name
    device_online: bool  # whether a device was there to be told


# --- validation -------------------------------------------------------------------------


class ValidateJobTicket(Payload):
    """Seed Validate<Service>JobTicket; IPP Validate-Job."""

    ELEMENT = "ValidateJobTicket"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name
    job_ticket: JobTicket
    job_mandatory_elements: list[Keyword] | None = None


class ValidateDocumentTicket(Payload):
    """Seed Validate<Service>DocumentTicket; IPP Validate-Document."""

    ELEMENT = "ValidateDocumentTicket"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name
    document_ticket: JobTicket


class ValidateResponse(Payload):
    """Valid as given (unsupported-elements absent), or valid once the named
    elements that are not mandatory are dropped."""

    ELEMENT = "ValidateResponse"
    unsupported_elements: list[Keyword] | None = None


# --- pushes -----------------------------------------------------------------------------


class JobEvent(Payload):
    """A <message> the service pushes to the job's submitter on every state change
    (IPP notify-subscribed-event job-state-changed / job-completed)."""

    ELEMENT = "JobEvent"
    notify_subscribed_event: Keyword = "job-state-changed"
    job: JobStatus
