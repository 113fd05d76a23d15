"""Payloads of the client → Cloud Imaging Service operations (seed 001, Table 1).

Named without the service word; the service is the service-type element.
"""

from __future__ import annotations

from stanzas.groups import JobStatus, JobTicket
from stanzas.model import Payload
from stanzas.states import JobState, ServiceType
from stanzas.types import (
    DocumentNumber,
    JobId,
    Keyword,
    MimeType,
    Name,
    Octets,
    Sha256Hex,
    Text,
    Uri,
)


class CreateJob(Payload):
    """Seed Create<Service>Job; IPP Create-Job. The owner is the sender's bare JID."""

    ELEMENT = "CreateJob"
    service_type: ServiceType = ServiceType.PRINT
    printer_name: Name  # the queue
    job_name: Name | None = None
    job_ticket: JobTicket | None = None


class CreateJobResponse(Payload):
    ELEMENT = "CreateJobResponse"
    job: JobStatus


class SendDocument(Payload):
    """Seed Send<Service>Document; IPP Send-Document.

    Answered with a one-time HTTPS upload URL (the bytes do not travel in XMPP);
    the PUT's 201 answer means the document is committed. `no-data` with
    last-document closes the job without adding a document.
    """

    ELEMENT = "SendDocument"
    job_id: JobId
    document_name: Name | None = None
    document_format: MimeType = "application/octet-stream"
    document_size: Octets | None = None
    document_digest: Sha256Hex | None = None
    last_document: bool = True
    no_data: bool = False


class SendDocumentResponse(Payload):
    ELEMENT = "SendDocumentResponse"
    job_id: JobId
    document_number: DocumentNumber | None = None
    upload_uri: Uri | None = None
    job_state: JobState
    job_state_reasons: list[Keyword]


class GetJobElements(Payload):
    """Seed Get<Service>JobElements; IPP Get-Job-Attributes."""

    ELEMENT = "GetJobElements"
    job_id: JobId


class GetJobElementsResponse(Payload):
    ELEMENT = "GetJobElementsResponse"
    job: JobStatus


class CancelJob(Payload):
    """Seed Cancel<Service>Job; IPP Cancel-Job."""

    ELEMENT = "CancelJob"
    job_id: JobId
    message: Text | None = None


class CancelJobResponse(Payload):
    ELEMENT = "CancelJobResponse"
    job: JobStatus


class JobEvent(Payload):
    """A <message> the service pushes to the job's submitter on every state change
    (IPP notify-subscribed-event job-state-changed / job-completed)."""

    ELEMENT = "JobEvent"
    notify_subscribed_event: Keyword = "job-state-changed"
    job: JobStatus
    printer_state_reasons: list[Keyword] | None = None
