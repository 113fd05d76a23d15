"""Tier 1: every payload model against literal XML and docs/cirrus-cloud-imaging.xsd.

- every payload of stanzas.registry.PAYLOADS, fully populated and minimal, goes out
  (to_xml), across the wire as bytes, and back in (from_xml) unchanged, and what went
  out is valid against the schema;
- the schema and the models agree element by element (names, order, optionality,
  nesting), so neither can drift from the other unnoticed;
- literal XML, as a peer would write it, reads as expected;
- bad input is refused with BadRequest (client-error-bad-request);
- hypothesis round trips of JobTicket and UpdateJobState.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from stanzas import client_ops as cops
from stanzas import device_ops as dops
from stanzas.errors import BadRequest, xmpp_condition
from stanzas.groups import (
    Capabilities,
    DocumentStatus,
    JobStatus,
    JobTicket,
    MediaCol,
    MediaSize,
    QueueConfiguration,
    ServiceDescription,
    ServiceElements,
    ServiceStatus,
)
from stanzas.model import MAX_CHILDREN, MAX_LIST_ITEMS, Element, Payload, _shape
from stanzas.namespace import NS, qname
from stanzas.registry import PAYLOADS
from stanzas.states import DocumentState, JobState, PrinterState, RegistrationState, ServiceType
from tests.schema_check import SCHEMA_PATH, compiled_schema, validate_payload
from tests.unit import admin_payloads, operating_payloads

XS = "{http://www.w3.org/2001/XMLSchema}"

DEVICE = "urn:uuid:6f1c2a9e-3b7d-4c1e-9a55-0d2b8e4f7a10"
JOB_UUID = "urn:uuid:0b7e5a44-92c1-4f0e-8d6a-3c9f1e2d7b58"
DIGEST = hashlib.sha256(b"%PDF-1.7 a one-page test document").hexdigest()
BASE = "https://print.example.net:8443"


# --- fixtures: every payload, fully populated and minimal ------------------------------------

MEDIA_COL = MediaCol(
    media_size=MediaSize(x_dimension=21000, y_dimension=29700),
    media_size_name="iso_a4_210x297mm",
    media_type="stationery",
    media_source="tray-1",
    media_color="white",
)
TICKET = JobTicket(
    copies=2,
    media="iso_a4_210x297mm",
    media_col=MEDIA_COL,
    sides="two-sided-long-edge",
    print_color_mode="monochrome",
    print_quality=5,
    finishings=[3, 4],
    page_ranges="1-3,7",
    orientation_requested=4,
    number_up=2,
    job_priority=60,
    job_hold_until="no-hold",
    document_format="application/pdf",
    input_source="adf",
    input_color_mode="color",
    input_resolution=300,
    input_sides="two-sided-long-edge",
    number_of_pages=12,
    destination_uris=["mailto:bob@example.org", "tel:+15555550100"],
)
CAPABILITIES = Capabilities(
    printer_make_and_model="Example LaserJet 400",
    printer_info="Second floor, by the kitchen",
    document_format_supported=["application/pdf", "image/pwg-raster", "image/jpeg"],
    media_supported=["iso_a4_210x297mm", "na_letter_8.5x11in"],
    media_default="iso_a4_210x297mm",
    sides_supported=["one-sided", "two-sided-long-edge", "two-sided-short-edge"],
    sides_default="one-sided",
    print_color_mode_supported=["auto", "color", "monochrome"],
    print_color_mode_default="auto",
    print_quality_supported=[3, 4, 5],
    finishings_supported=[3, 4],
    copies_supported=99,
    media_type_supported=["stationery", "photographic"],
    media_source_supported=["auto", "tray-1", "manual"],
    orientation_requested_supported=[3, 4],
    number_up_supported=[1, 2, 4],
    page_ranges_supported=True,
    job_priority_supported=100,
    input_source_supported=["platen", "adf"],
    input_color_mode_supported=["color", "monochrome"],
    input_resolution_supported=[75, 150, 300, 600],
    input_sides_supported=["one-sided", "two-sided-long-edge"],
    destination_uri_schemes_supported=["mailto"],
)
STATUS = ServiceStatus(
    printer_state=PrinterState.STOPPED,
    printer_state_reasons=["media-empty-error", "media-needed"],
    printer_state_message="Tray 1 is empty",
    printer_is_accepting_jobs=True,
)
JOB = JobStatus(
    job_id=42,
    job_uuid=JOB_UUID,
    printer_name="office",
    job_name="Quarterly report",
    job_originating_user_name="alice@localhost",
    job_state=JobState.PROCESSING,
    job_state_reasons=["job-printing"],
    job_state_message="printing page 2 of 5",
    number_of_documents=1,
    job_impressions_completed=1,
    job_media_sheets_completed=1,
    job_k_octets=12,
    output_device_uuid=DEVICE,
    output_device_job_id=17,
    output_device_job_state=JobState.PROCESSING,
    time_at_creation=1_732_252_800,
    time_at_processing=1_732_252_805,
    time_at_completed=1_732_252_830,
    job_ticket=TICKET,
    unsupported_elements=["finishings"],
)
DOCUMENT = DocumentStatus(
    job_id=42,
    document_number=1,
    document_name="report.pdf",
    document_format="application/pdf",
    document_state=DocumentState.COMPLETED,
    document_state_reasons=["none"],
    document_size=48_213,
    document_uri="https://files.example.net/reports/report.pdf",
    document_ticket=TICKET,
)
SERVICE = ServiceElements(
    description=ServiceDescription(
        printer_name="office",
        service_type="print",
        printer_info="Second floor, by the kitchen",
        printer_location="Building A, room 204",
        printer_make_and_model="Example LaserJet 400",
        output_device_uuid=DEVICE,
    ),
    capabilities=CAPABILITIES,
    configuration=QueueConfiguration(
        default_job_ticket=TICKET,
        document_retention="timed",
        document_retention_period=3600,
        job_history_period=0,
        multiple_operation_time_out=300,
        multiple_operation_time_out_action="abort-job",
        allow_private_document_uris=False,
        job_mandatory_elements=["copies"],
        quota_exceeded_action="hold-job",
    ),
    status=STATUS,
    default_job_ticket=TICKET,
    is_accepting_jobs=True,
    queued_job_count=3,
)

FULL: dict[str, Payload] = {
    "RegisterDevice": dops.RegisterDevice(
        output_device_uuid=DEVICE,
        service_type=ServiceType.PRINT,
        printer_name="office",
        printer_info="Example LaserJet 400",
        printer_location="Second floor",
        capabilities=CAPABILITIES,
        status=STATUS,
    ),
    "RegisterDeviceResponse": dops.RegisterDeviceResponse(
        output_device_uuid=DEVICE,
        printer_name="office",
        registration_state=RegistrationState.APPROVED,
    ),
    "DeregisterDevice": dops.DeregisterDevice(
        output_device_uuid=DEVICE, service_type=ServiceType.SCAN
    ),
    "DeregisterDeviceResponse": dops.DeregisterDeviceResponse(output_device_uuid=DEVICE),
    "GetFetchableJobs": dops.GetFetchableJobs(
        output_device_uuid=DEVICE, service_type=ServiceType.PRINT, limit=10
    ),
    "GetFetchableJobsResponse": dops.GetFetchableJobsResponse(
        job=[
            dops.FetchableJob(
                job_id=42,
                job_name="Quarterly report",
                job_originating_user_name="alice@localhost",
                job_priority=50,
                number_of_documents=1,
            ),
            dops.FetchableJob(
                job_id=43,
                job_name="Boarding pass",
                job_originating_user_name="bob@localhost",
                job_priority=80,
                number_of_documents=2,
            ),
        ]
    ),
    "FetchJob": dops.FetchJob(output_device_uuid=DEVICE, service_type=ServiceType.PRINT, job_id=42),
    "FetchJobResponse": dops.FetchJobResponse(
        job_id=42,
        job_uuid=JOB_UUID,
        job_name="Quarterly report",
        job_originating_user_name="alice@localhost",
        job_state=JobState.PENDING,
        job_state_reasons=["job-fetchable"],
        number_of_documents=2,
        job_ticket=TICKET,
        document_numbers=[1, 2],
    ),
    "AcknowledgeJob": dops.AcknowledgeJob(
        output_device_uuid=DEVICE,
        service_type=ServiceType.PRINT,
        job_id=42,
        fetch_status_code="client-error-document-format-not-supported",
        fetch_status_message="the device cannot print image/heic",
        output_device_job_id=17,
        unsupported_elements=["finishings", "number-up"],
    ),
    "AcknowledgeJobResponse": dops.AcknowledgeJobResponse(
        job_id=42, job_state=JobState.PENDING, job_state_reasons=["job-queued"]
    ),
    "FetchDocument": dops.FetchDocument(
        output_device_uuid=DEVICE,
        service_type=ServiceType.PRINT,
        job_id=42,
        document_number=1,
        document_data_accepted=True,
    ),
    "FetchDocumentResponse": dops.FetchDocumentResponse(
        job_id=42,
        document_number=1,
        document_name="report.pdf",
        document_format="application/pdf",
        document_size=48_213,
        document_digest=DIGEST,
        document_access_uri=f"{BASE}/documents/Vt3xq0c9Qd2mJ8kR1nZ5bYwL4sA7eH6uG0pT9fK2iXo",
        last_document=True,
        document_data=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    ),
    "AcknowledgeDocument": dops.AcknowledgeDocument(
        output_device_uuid=DEVICE,
        service_type=ServiceType.PRINT,
        job_id=42,
        document_number=1,
        fetch_status_code="client-error-document-access-error",
        fetch_status_message="the fetched data does not match document-size and document-digest",
    ),
    "AcknowledgeDocumentResponse": dops.AcknowledgeDocumentResponse(
        job_id=42,
        document_number=1,
        document_state=DocumentState.PENDING,
        job_state=JobState.PENDING,
        job_state_reasons=["job-queued"],
    ),
    "PutJobDocumentData": dops.PutJobDocumentData(
        output_device_uuid=DEVICE,
        service_type=ServiceType.SCAN,
        job_id=7,
        document_format="application/pdf",
        document_size=1_048_576,
        document_digest=DIGEST,
        last_document=False,
        document_name="scan.pdf",
        document_data=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    ),
    "PutJobDocumentDataResponse": dops.PutJobDocumentDataResponse(
        job_id=7, document_number=1, upload_uri=f"{BASE}/uploads/q1w2e3r4t5y6u7i8o9p0"
    ),
    "UpdateServiceState": dops.UpdateServiceState(
        output_device_uuid=DEVICE,
        service_type=ServiceType.PRINT,
        status=STATUS,
        capabilities=CAPABILITIES,
    ),
    "UpdateServiceStateResponse": dops.UpdateServiceStateResponse(
        output_device_uuid=DEVICE, status=STATUS
    ),
    "UpdateJobState": dops.UpdateJobState(
        output_device_uuid=DEVICE,
        service_type=ServiceType.PRINT,
        job_id=42,
        job_state=JobState.PROCESSING_STOPPED,
        job_state_reasons=["job-printing", "printer-stopped"],
        job_state_message="Tray 1 is empty",
        output_device_job_id=17,
        output_device_job_state=JobState.PROCESSING_STOPPED,
        job_impressions_completed=2,
        job_media_sheets_completed=1,
    ),
    "UpdateJobStateResponse": dops.UpdateJobStateResponse(
        job_id=42, job_state=JobState.PROCESSING_STOPPED, job_state_reasons=["printer-stopped"]
    ),
    "UpdateDocumentState": dops.UpdateDocumentState(
        output_device_uuid=DEVICE,
        service_type=ServiceType.PRINT,
        job_id=42,
        document_number=1,
        document_state=DocumentState.COMPLETED,
        document_state_reasons=["none"],
        document_state_message="all pages printed",
    ),
    "UpdateDocumentStateResponse": dops.UpdateDocumentStateResponse(document=DOCUMENT),
    "UpdateFetchableJobs": dops.UpdateFetchableJobs(
        output_device_uuid=DEVICE,
        service_type=ServiceType.PRINT,
        job=[
            dops.HeldJob(
                job_id=42,
                job_state=JobState.PROCESSING,
                job_state_reasons=["job-printing"],
                output_device_job_id=17,
            ),
            dops.HeldJob(
                job_id=44,
                job_state=JobState.PENDING,
                job_state_reasons=["none"],
                output_device_job_id=18,
            ),
        ],
    ),
    "UpdateFetchableJobsResponse": dops.UpdateFetchableJobsResponse(
        fetchable_job_ids=[45, 46], cancel_job_ids=[44]
    ),
    "WorkNotification": dops.WorkNotification(
        output_device_uuid=DEVICE,
        fetchable_job_ids=[45],
        cancel_job_ids=[44],
        suspend_job_ids=[42],
        resume_job_ids=[41],
        identify_actions=["flash", "sound"],
        identify_message="Looking for the office printer",
        resync=True,
    ),
    "CreateJob": cops.CreateJob(
        service_type=ServiceType.PRINT,
        printer_name="office",
        job_name="Quarterly report",
        job_ticket=TICKET,
        job_mandatory_elements=["copies", "media"],
        idempotency_key="6c1f0d7e-2b9a-4f5e-8d3c-a1b2c3d4e5f6",
    ),
    "CreateJobResponse": cops.CreateJobResponse(job=JOB, unsupported_elements=["finishings"]),
    "PrintJob": cops.PrintJob(
        service_type=ServiceType.PRINT,
        printer_name="office",
        job_name="Quarterly report",
        job_ticket=TICKET,
        job_mandatory_elements=["copies", "media"],
        idempotency_key="6c1f0d7e-2b9a-4f5e-8d3c-a1b2c3d4e5f6",
        document_name="report.pdf",
        document_format="application/pdf",
        document_digest=DIGEST,
        document_data=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    ),
    "PrintJobResponse": cops.PrintJobResponse(job=JOB, unsupported_elements=["finishings"]),
    "SendDocument": cops.SendDocument(
        job_id=42,
        document_name="report.pdf",
        document_format="application/pdf",
        document_size=48_213,
        document_digest=DIGEST,
        last_document=True,
        no_data=False,
        document_ticket=TICKET,
        document_data=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    ),
    "SendDocumentResponse": cops.SendDocumentResponse(
        job_id=42,
        document_number=1,
        upload_uri=f"{BASE}/uploads/Zr8Yb1Xc2Wd3Ve4Uf5Tg6Sh7Ri8Qj9Pk0Ol1Nm2Mn3Lo",
        job_state=JobState.PENDING,
        job_state_reasons=["job-incoming"],
    ),
    "SendUri": cops.SendUri(
        job_id=42,
        document_uri="https://files.example.net/reports/report.pdf",
        document_name="report.pdf",
        document_format="application/pdf",
        last_document=False,
        document_ticket=TICKET,
    ),
    "SendUriResponse": cops.SendUriResponse(
        job_id=42, document_number=2, job_state=JobState.PENDING, job_state_reasons=["job-incoming"]
    ),
    "AddHardcopyDocument": cops.AddHardcopyDocument(
        job_id=7, input_source="adf", last_document=False
    ),
    "AddHardcopyDocumentResponse": cops.AddHardcopyDocumentResponse(job_id=7, document_number=1),
    "CloseJob": cops.CloseJob(job_id=42),
    "CloseJobResponse": cops.CloseJobResponse(job=JOB),
    "GetJobElements": cops.GetJobElements(
        job_id=42, requested_elements=["job-status", "job-ticket", "job-receipt"]
    ),
    "GetJobElementsResponse": cops.GetJobElementsResponse(job=JOB, job_receipt=TICKET),
    "GetActiveJobs": cops.GetActiveJobs(
        service_type=ServiceType.PRINT, printer_name="office", my_jobs=True, limit=50
    ),
    "GetJobHistory": cops.GetJobHistory(
        service_type=ServiceType.PRINT, printer_name="office", my_jobs=False, limit=100
    ),
    "JobListResponse": cops.JobList(job=[JOB, JOB.model_copy(update={"job_id": 43})]),
    "GetDocuments": cops.GetDocuments(job_id=42),
    "GetDocumentsResponse": cops.GetDocumentsResponse(
        job_id=42, job_name="Quarterly report", document=[DOCUMENT, DOCUMENT]
    ),
    "GetDocumentElements": cops.GetDocumentElements(job_id=42, document_number=1),
    "GetDocumentData": cops.GetDocumentData(
        job_id=42, document_number=1, document_data_accepted=True
    ),
    "GetDocumentDataResponse": cops.GetDocumentDataResponse(
        job_id=42,
        document_number=1,
        document_name="scan.pdf",
        document_format="application/pdf",
        document_size=32,
        document_digest=DIGEST,
        document_access_uri=f"{BASE}/documents/z9x8c7v6b5n4m3",
        document_data=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    ),
    "GetDocumentElementsResponse": cops.GetDocumentElementsResponse(document=DOCUMENT),
    "GetServiceElements": cops.GetServiceElements(
        service_type=ServiceType.PRINT,
        printer_name="office",
        requested_elements=["description", "capabilities", "status"],
    ),
    "GetServiceElementsResponse": cops.GetServiceElementsResponse(service=SERVICE),
    "GetServices": cops.GetServices(service_type=ServiceType.PRINT),
    "GetServicesResponse": cops.GetServicesResponse(service=[SERVICE, SERVICE]),
    "CancelJob": cops.CancelJob(job_id=42, message="printed the wrong file"),
    "CancelJobResponse": cops.CancelJobResponse(job=JOB),
    "CancelCurrentJob": cops.CancelCurrentJob(
        service_type=ServiceType.PRINT, printer_name="office", job_id=42, message="paper jam"
    ),
    "CancelMyJobs": cops.CancelMyJobs(
        service_type=ServiceType.PRINT,
        printer_name="office",
        job_ids=[42, 43],
        message="going home",
    ),
    "CancelMyJobsResponse": cops.CancelMyJobsResponse(
        job_ids=[42], already_terminated_job_ids=[43]
    ),
    "CancelDocument": cops.CancelDocument(job_id=42, document_number=2, message="wrong file"),
    "SetJobElements": cops.SetJobElements(
        job_id=42,
        job_name="Quarterly report (final)",
        job_ticket=TICKET,
        delete_elements=["job-hold-until"],
        message="one more copy",
    ),
    "SetDocumentElements": cops.SetDocumentElements(
        job_id=42,
        document_number=1,
        document_name="report-final.pdf",
        document_ticket=TICKET,
        delete_elements=["copies"],
        message="first three pages",
    ),
    "SuspendCurrentJob": cops.SuspendCurrentJob(
        service_type=ServiceType.PRINT, printer_name="office", job_id=42, message="wait"
    ),
    "ResumeJob": cops.ResumeJob(job_id=42, message="go on"),
    "ResubmitJob": cops.ResubmitJob(job_id=42, job_ticket=TICKET),
    "JobResponse": cops.JobResponse(job=JOB, unsupported_elements=["finishings"]),
    "JobsResponse": cops.JobsResponse(job=[JOB, JOB]),
    "DocumentResponse": cops.DocumentResponse(document=DOCUMENT),
    "ValidateJobTicket": cops.ValidateJobTicket(
        service_type=ServiceType.PRINT,
        printer_name="office",
        job_ticket=TICKET,
        job_mandatory_elements=["media"],
    ),
    "ValidateDocumentTicket": cops.ValidateDocumentTicket(
        service_type=ServiceType.PRINT,
        printer_name="office",
        document_ticket=TICKET,
    ),
    "ValidateResponse": cops.ValidateResponse(unsupported_elements=["finishings", "number-up"]),
    "IdentifyPrinter": cops.IdentifyPrinter(
        service_type=ServiceType.PRINT,
        printer_name="office",
        identify_actions=["display", "sound"],
        message="Here I am",
    ),
    "IdentifyPrinterResponse": cops.IdentifyPrinterResponse(
        printer_name="office", device_online=True
    ),
    "JobEvent": cops.JobEvent(notify_subscribed_event="job-state-changed", job=JOB),
}

MINIMAL: dict[str, Payload] = {
    "RegisterDevice": dops.RegisterDevice(output_device_uuid=DEVICE, printer_name="office"),
    "RegisterDeviceResponse": dops.RegisterDeviceResponse(
        output_device_uuid=DEVICE,
        printer_name="office",
        registration_state=RegistrationState.PENDING,
    ),
    "DeregisterDevice": dops.DeregisterDevice(output_device_uuid=DEVICE),
    "DeregisterDeviceResponse": dops.DeregisterDeviceResponse(output_device_uuid=DEVICE),
    "GetFetchableJobs": dops.GetFetchableJobs(output_device_uuid=DEVICE),
    "GetFetchableJobsResponse": dops.GetFetchableJobsResponse(),
    "FetchJob": dops.FetchJob(output_device_uuid=DEVICE, job_id=1),
    "FetchJobResponse": dops.FetchJobResponse(
        job_id=1,
        job_uuid=JOB_UUID,
        job_name="",
        job_originating_user_name="alice@localhost",
        job_state=JobState.PENDING,
        job_state_reasons=[],
        number_of_documents=0,
        job_ticket=JobTicket(),
    ),
    "AcknowledgeJob": dops.AcknowledgeJob(output_device_uuid=DEVICE, job_id=1),
    "AcknowledgeJobResponse": dops.AcknowledgeJobResponse(
        job_id=1, job_state=JobState.CANCELED, job_state_reasons=["job-canceled-by-user"]
    ),
    "FetchDocument": dops.FetchDocument(output_device_uuid=DEVICE, job_id=1, document_number=1),
    "FetchDocumentResponse": dops.FetchDocumentResponse(
        job_id=1,
        document_number=1,
        document_name="document-1",
        document_format="application/octet-stream",
        document_size=0,
        document_digest=hashlib.sha256(b"").hexdigest(),
        last_document=False,
    ),
    "AcknowledgeDocument": dops.AcknowledgeDocument(
        output_device_uuid=DEVICE, job_id=1, document_number=1
    ),
    "AcknowledgeDocumentResponse": dops.AcknowledgeDocumentResponse(
        job_id=1,
        document_number=1,
        document_state=DocumentState.ABORTED,
        job_state=JobState.ABORTED,
        job_state_reasons=["document-access-error"],
    ),
    "PutJobDocumentData": dops.PutJobDocumentData(
        output_device_uuid=DEVICE, job_id=1, document_format="image/jpeg"
    ),
    "PutJobDocumentDataResponse": dops.PutJobDocumentDataResponse(job_id=1, document_number=1),
    "UpdateServiceState": dops.UpdateServiceState(output_device_uuid=DEVICE),
    "UpdateServiceStateResponse": dops.UpdateServiceStateResponse(
        output_device_uuid=DEVICE, status=ServiceStatus()
    ),
    "UpdateJobState": dops.UpdateJobState(
        output_device_uuid=DEVICE, job_id=1, job_state=JobState.COMPLETED
    ),
    "UpdateJobStateResponse": dops.UpdateJobStateResponse(
        job_id=1, job_state=JobState.COMPLETED, job_state_reasons=["job-completed-successfully"]
    ),
    "UpdateDocumentState": dops.UpdateDocumentState(
        output_device_uuid=DEVICE,
        job_id=1,
        document_number=1,
        document_state=DocumentState.PROCESSING,
    ),
    "UpdateDocumentStateResponse": dops.UpdateDocumentStateResponse(
        document=DocumentStatus(job_id=1, document_number=1, document_state=DocumentState.PENDING)
    ),
    "UpdateFetchableJobs": dops.UpdateFetchableJobs(output_device_uuid=DEVICE),
    "UpdateFetchableJobsResponse": dops.UpdateFetchableJobsResponse(),
    "WorkNotification": dops.WorkNotification(output_device_uuid=DEVICE),
    "CreateJob": cops.CreateJob(printer_name="office"),
    "CreateJobResponse": cops.CreateJobResponse(
        job=JobStatus(job_id=1, job_state=JobState.PENDING)
    ),
    "PrintJob": cops.PrintJob(printer_name="office", document_data=b""),
    "PrintJobResponse": cops.PrintJobResponse(job=JobStatus(job_id=1, job_state=JobState.PENDING)),
    "SendDocument": cops.SendDocument(job_id=1),
    "SendDocumentResponse": cops.SendDocumentResponse(
        job_id=1, job_state=JobState.PENDING, job_state_reasons=["job-fetchable"]
    ),
    "SendUri": cops.SendUri(job_id=1, document_uri="http://192.0.2.7/a.pdf"),
    "SendUriResponse": cops.SendUriResponse(
        job_id=1, document_number=1, job_state=JobState.PENDING, job_state_reasons=[]
    ),
    "AddHardcopyDocument": cops.AddHardcopyDocument(job_id=1),
    "AddHardcopyDocumentResponse": cops.AddHardcopyDocumentResponse(job_id=1, document_number=1),
    "CloseJob": cops.CloseJob(job_id=1),
    "CloseJobResponse": cops.CloseJobResponse(job=JobStatus(job_id=1, job_state=JobState.ABORTED)),
    "GetJobElements": cops.GetJobElements(job_id=1),
    "GetJobElementsResponse": cops.GetJobElementsResponse(
        job=JobStatus(job_id=1, job_state=JobState.COMPLETED)
    ),
    "GetActiveJobs": cops.GetActiveJobs(),
    "GetJobHistory": cops.GetJobHistory(),
    "JobListResponse": cops.JobList(),
    "GetDocuments": cops.GetDocuments(job_id=1),
    "GetDocumentsResponse": cops.GetDocumentsResponse(job_id=1, job_name=""),
    "GetDocumentElements": cops.GetDocumentElements(job_id=1, document_number=1),
    "GetDocumentData": cops.GetDocumentData(job_id=1, document_number=1),
    "GetDocumentDataResponse": cops.GetDocumentDataResponse(
        job_id=1,
        document_number=1,
        document_name="",
        document_format="image/jpeg",
        document_size=0,
        document_digest=DIGEST,
    ),
    "GetDocumentElementsResponse": cops.GetDocumentElementsResponse(
        document=DocumentStatus(job_id=1, document_number=1, document_state=DocumentState.ABORTED)
    ),
    "GetServiceElements": cops.GetServiceElements(printer_name="office"),
    "GetServiceElementsResponse": cops.GetServiceElementsResponse(service=ServiceElements()),
    "GetServices": cops.GetServices(),
    "GetServicesResponse": cops.GetServicesResponse(),
    "CancelJob": cops.CancelJob(job_id=1),
    "CancelJobResponse": cops.CancelJobResponse(
        job=JobStatus(job_id=1, job_state=JobState.CANCELED)
    ),
    "CancelCurrentJob": cops.CancelCurrentJob(printer_name="office"),
    "CancelMyJobs": cops.CancelMyJobs(),
    "CancelMyJobsResponse": cops.CancelMyJobsResponse(),
    "CancelDocument": cops.CancelDocument(job_id=1, document_number=1),
    "SetJobElements": cops.SetJobElements(job_id=1),
    "SetDocumentElements": cops.SetDocumentElements(job_id=1, document_number=1),
    "SuspendCurrentJob": cops.SuspendCurrentJob(printer_name="office"),
    "ResumeJob": cops.ResumeJob(job_id=1),
    "ResubmitJob": cops.ResubmitJob(job_id=1),
    "JobResponse": cops.JobResponse(job=JobStatus(job_id=2, job_state=JobState.PENDING_HELD)),
    "JobsResponse": cops.JobsResponse(),
    "DocumentResponse": cops.DocumentResponse(
        document=DocumentStatus(job_id=1, document_number=1, document_state=DocumentState.CANCELED)
    ),
    "ValidateJobTicket": cops.ValidateJobTicket(printer_name="office", job_ticket=JobTicket()),
    "ValidateDocumentTicket": cops.ValidateDocumentTicket(
        printer_name="office", document_ticket=JobTicket()
    ),
    "ValidateResponse": cops.ValidateResponse(),
    "IdentifyPrinter": cops.IdentifyPrinter(printer_name="office"),
    "IdentifyPrinterResponse": cops.IdentifyPrinterResponse(
        printer_name="office", device_online=False
    ),
    "JobEvent": cops.JobEvent(job=JobStatus(job_id=1, job_state=JobState.ABORTED)),
}


FULL |= admin_payloads.full(TICKET, CAPABILITIES, STATUS, JOB)  # administration
MINIMAL |= admin_payloads.MINIMAL
FULL |= operating_payloads.FULL  # usage, quotas, backup
MINIMAL |= operating_payloads.MINIMAL


def over_the_wire(payload: Payload) -> ET.Element:
    """to_xml, then bytes, then a fresh element: what the peer's parser sees."""
    return ET.fromstring(ET.tostring(payload.to_xml()))


def unset_fields(model: Element, where: str = "") -> list[str]:
    """Every field (recursively) left None or empty in `model`."""
    missing = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        path = f"{where}{name}"
        if value is None or value == []:
            missing.append(path)
        elif isinstance(value, Element):
            missing += unset_fields(value, path + ".")
        elif isinstance(value, list) and isinstance(value[0], Element):
            for item in value:
                missing += unset_fields(item, path + "[].")
    return missing


def required_fields(cls: type[Element]) -> set[str]:
    return {name for name, info in cls.model_fields.items() if info.is_required()}


# --- the fixtures cover everything ---------------------------------------------------------


def test_fixtures_cover_every_payload() -> None:
    assert set(FULL) == set(PAYLOADS)
    assert set(MINIMAL) == set(PAYLOADS)
    for name, cls in PAYLOADS.items():
        assert type(FULL[name]) is cls and type(MINIMAL[name]) is cls


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_full_fixture_sets_every_field(name: str) -> None:
    assert unset_fields(FULL[name]) == []


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_minimal_fixture_sets_only_required_fields(name: str) -> None:
    payload = MINIMAL[name]
    assert payload.model_fields_set == required_fields(type(payload))


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [*(FULL[n] for n in sorted(FULL)), *(MINIMAL[n] for n in sorted(MINIMAL))],
    ids=[*(f"full-{n}" for n in sorted(FULL)), *(f"minimal-{n}" for n in sorted(MINIMAL))],
)
def test_round_trip_and_schema(payload: Payload) -> None:
    element = payload.to_xml()
    assert element.tag == qname(payload.ELEMENT)
    validate_payload(element)
    back = PAYLOADS[payload.ELEMENT].from_xml(over_the_wire(payload))
    assert back == payload
    assert ET.tostring(back.to_xml()) == ET.tostring(element)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_emitted_children_follow_declaration_order(name: str) -> None:
    payload = FULL[name]
    aliases = [info.alias or n for n, info in type(payload).model_fields.items()]
    emitted = [child.tag.split("}")[1] for child in payload.to_xml()]
    deduplicated = [a for i, a in enumerate(emitted) if i == 0 or emitted[i - 1] != a]
    assert deduplicated == aliases


def test_defaults_are_emitted_and_read_back() -> None:
    element = over_the_wire(MINIMAL["AcknowledgeJob"])
    assert element.findtext(qname("service-type")) == "print"
    assert element.findtext(qname("fetch-status-code")) == "successful-ok"
    element = over_the_wire(MINIMAL["SendDocument"])
    assert element.findtext(qname("document-format")) == "application/octet-stream"
    assert element.findtext(qname("last-document")) == "true"
    assert element.findtext(qname("no-data")) == "false"


def test_empty_lists_round_trip_as_empty_elements() -> None:
    element = over_the_wire(MINIMAL["UpdateFetchableJobsResponse"])
    assert [c.tag for c in element] == [qname("fetchable-job-ids"), qname("cancel-job-ids")]
    assert all((c.text or "") == "" for c in element)
    assert list(over_the_wire(MINIMAL["GetFetchableJobsResponse"])) == []


# --- the schema and the models agree -------------------------------------------------------


def _schema_tree() -> etree._Element:
    return etree.parse(str(SCHEMA_PATH)).getroot()


def _sequence_of(node: etree._Element, groups: dict[str, etree._Element]) -> list[etree._Element]:
    """The xs:element children of a complex type's sequence, with group refs expanded."""
    sequence = node.find(f"{XS}sequence")
    assert sequence is not None, etree.tostring(node)
    out: list[etree._Element] = []
    for child in sequence:
        if child.tag == f"{XS}element":
            out.append(child)
        elif child.tag == f"{XS}group":
            out += _sequence_of(groups[child.get("ref").split(":")[1]], groups)
        elif child.tag != f"{XS}annotation" and isinstance(child.tag, str):
            raise AssertionError(f"unexpected {child.tag} in the schema")
    return out


def _check_against_model(cls: type[Element], elements: list[etree._Element]) -> None:
    fields = list(cls.model_fields.items())
    assert [e.get("name") for e in elements] == [info.alias or n for n, info in fields], cls
    for (name, info), decl in zip(fields, elements, strict=True):
        where = f"{cls.__name__}.{name}"
        assert decl.get("minOccurs", "1") == ("1" if info.is_required() else "0"), where
        kind, inner = _shape(info.annotation)
        assert decl.get("maxOccurs", "1") == ("unbounded" if kind == "models" else "1"), where
        if kind in ("model", "models"):
            assert inner is not None
            assert decl.get("type") == f"ci:{inner.__name__}", where
        else:
            assert decl.get("type", "").split(":")[-1] not in NESTED, where


NESTED = {
    cls.__name__: cls
    for cls in (
        MediaSize,
        MediaCol,
        JobTicket,
        Capabilities,
        ServiceStatus,
        JobStatus,
        DocumentStatus,
        QueueConfiguration,
        ServiceDescription,
        ServiceElements,
        dops.FetchableJob,
        dops.HeldJob,
        *admin_payloads.NESTED,
        *operating_payloads.NESTED,
    )
}


def test_schema_compiles_and_declares_exactly_the_payloads() -> None:
    compiled_schema()
    root = _schema_tree()
    assert root.get("targetNamespace") == NS
    declared = {e.get("name") for e in root.findall(f"{XS}element")}
    assert declared == {*PAYLOADS, "ipp-status", "job-ids"}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_schema_matches_payload_model(name: str) -> None:
    root = _schema_tree()
    groups = {g.get("name"): g for g in root.findall(f"{XS}group")}
    (decl,) = [e for e in root.findall(f"{XS}element") if e.get("name") == name]
    complex_type = decl.find(f"{XS}complexType")
    assert complex_type is not None
    _check_against_model(PAYLOADS[name], _sequence_of(complex_type, groups))


@pytest.mark.parametrize("name", sorted(NESTED))
def test_schema_matches_nested_model(name: str) -> None:
    root = _schema_tree()
    groups = {g.get("name"): g for g in root.findall(f"{XS}group")}
    (complex_type,) = [t for t in root.findall(f"{XS}complexType") if t.get("name") == name]
    _check_against_model(NESTED[name], _sequence_of(complex_type, groups))


def test_ipp_status_element_is_valid() -> None:
    status = ET.Element(qname("ipp-status"))
    status.text = "client-error-not-fetchable"
    validate_payload(status)
    status.text = "Not Found"
    with pytest.raises(AssertionError):
        validate_payload(status)


def test_job_ids_element_is_valid() -> None:
    """<job-ids/> next to <ipp-status/>: the jobs an all-or-nothing operation refused."""
    ids = ET.Element(qname("job-ids"))
    ids.text = "3 5"
    validate_payload(ids)
    ids.text = "3 0"
    with pytest.raises(AssertionError):
        validate_payload(ids)


def test_validate_payload_reports_the_error_log() -> None:
    element = MINIMAL["FetchJob"].to_xml()
    element.find(qname("job-id")).text = "0"  # type: ignore[union-attr]
    with pytest.raises(AssertionError, match="job-id"):
        validate_payload(element)


# --- literal XML ---------------------------------------------------------------------------


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def test_literal_fetch_job_response() -> None:
    response = dops.FetchJobResponse.from_xml(
        parse(
            f"""
            <FetchJobResponse xmlns="{NS}">
              <job-id>42</job-id>
              <job-uuid>{JOB_UUID}</job-uuid>
              <job-name>Quarterly report</job-name>
              <job-originating-user-name>alice@localhost</job-originating-user-name>
              <job-state>pending</job-state>
              <job-state-reasons>job-fetchable job-hold-until-specified</job-state-reasons>
              <number-of-documents>2</number-of-documents>
              <job-ticket>
                <copies>3</copies>
                <media>iso_a4_210x297mm</media>
                <finishings>3 4</finishings>
                <page-ranges>1-2,5</page-ranges>
              </job-ticket>
            </FetchJobResponse>"""
        )
    )
    assert response.job_id == 42
    assert response.job_state is JobState.PENDING
    assert response.job_state_reasons == ["job-fetchable", "job-hold-until-specified"]
    assert response.number_of_documents == 2
    assert response.job_ticket == JobTicket(
        copies=3, media="iso_a4_210x297mm", finishings=[3, 4], page_ranges="1-2,5"
    )


def test_literal_with_a_prefix_and_out_of_order_children() -> None:
    """Any prefix, any child order on the way in; declaration order on the way out."""
    text = f"""
        <ci:UpdateJobState xmlns:ci="{NS}">
          <ci:job-state-message>Tray 1 is empty</ci:job-state-message>
          <ci:job-state>processing-stopped</ci:job-state>
          <ci:job-state-reasons>job-printing printer-stopped</ci:job-state-reasons>
          <ci:job-id>42</ci:job-id>
          <ci:output-device-uuid>{DEVICE}</ci:output-device-uuid>
        </ci:UpdateJobState>"""
    update = dops.UpdateJobState.from_xml(parse(text))
    assert update.output_device_uuid == DEVICE
    assert update.service_type is ServiceType.PRINT
    assert update.job_id == 42
    assert update.job_state is JobState.PROCESSING_STOPPED
    assert update.job_state_reasons == ["job-printing", "printer-stopped"]
    assert update.job_state_message == "Tray 1 is empty"
    assert update.output_device_job_id is None
    with pytest.raises(AssertionError):
        validate_payload(parse(text))  # the schema documents the emitted order
    validate_payload(update.to_xml())


def test_literal_register_device() -> None:
    register = dops.RegisterDevice.from_xml(
        parse(
            f"""
            <RegisterDevice xmlns="{NS}">
              <output-device-uuid>{DEVICE}</output-device-uuid>
              <service-type>print</service-type>
              <printer-name>office</printer-name>
              <capabilities>
                <document-format-supported>application/pdf image/pwg-raster
                </document-format-supported>
                <media-supported>iso_a4_210x297mm  na_letter_8.5x11in</media-supported>
                <copies-supported>99</copies-supported>
              </capabilities>
              <status>
                <printer-state>idle</printer-state>
                <printer-state-reasons>none</printer-state-reasons>
                <printer-is-accepting-jobs>true</printer-is-accepting-jobs>
              </status>
            </RegisterDevice>"""
        )
    )
    assert register.printer_name == "office"
    assert register.capabilities is not None and register.status is not None
    assert register.capabilities.document_format_supported == [
        "application/pdf",
        "image/pwg-raster",
    ]
    assert register.capabilities.media_supported == ["iso_a4_210x297mm", "na_letter_8.5x11in"]
    assert register.capabilities.copies_supported == 99
    assert register.status.printer_state is PrinterState.IDLE
    assert register.status.printer_is_accepting_jobs is True


def test_literal_work_notification_with_empty_lists() -> None:
    note = dops.WorkNotification.from_xml(
        parse(
            f"<WorkNotification xmlns='{NS}'><output-device-uuid>{DEVICE}</output-device-uuid>"
            "<fetchable-job-ids/><cancel-job-ids>\n  7\t9 </cancel-job-ids><resync>true</resync>"
            "</WorkNotification>"
        )
    )
    assert note.fetchable_job_ids == []
    assert note.cancel_job_ids == [7, 9]
    assert note.resync is True


def test_literal_text_keeps_its_whitespace() -> None:
    cancel = cops.CancelJob.from_xml(
        parse(
            f"<CancelJob xmlns='{NS}'><job-id>5</job-id>"
            "<message>  two  spaces\n</message></CancelJob>"
        )
    )
    assert cancel.message == "  two  spaces\n"
    assert cops.CancelJob.from_xml(over_the_wire(cancel)) == cancel


def test_literal_update_fetchable_jobs_repeats_job() -> None:
    update = dops.UpdateFetchableJobs.from_xml(
        parse(
            f"""
            <UpdateFetchableJobs xmlns="{NS}">
              <output-device-uuid>{DEVICE}</output-device-uuid>
              <job><job-id>42</job-id><job-state>processing</job-state></job>
              <job><job-id>44</job-id><job-state>pending</job-state>
                   <output-device-job-id>18</output-device-job-id></job>
            </UpdateFetchableJobs>"""
        )
    )
    assert [j.job_id for j in update.job] == [42, 44]
    assert update.job[0].job_state_reasons == ["none"]
    assert update.job[1].output_device_job_id == 18


# --- bad input -----------------------------------------------------------------------------


def fetch_job(body: str, root: str = f"FetchJob xmlns='{NS}'") -> str:
    return f"<{root}><output-device-uuid>{DEVICE}</output-device-uuid>{body}</{root.split()[0]}>"


def update_job(extra: str) -> str:
    return fetch_job(
        f"<job-id>1</job-id><job-state>processing</job-state>{extra}",
        f"UpdateJobState xmlns='{NS}'",
    )


def ticket(body: str) -> str:
    return (
        f"<CreateJob xmlns='{NS}'><printer-name>office</printer-name>"
        f"<job-ticket>{body}</job-ticket></CreateJob>"
    )


LONG_LIST = " ".join(["none"] * (MAX_LIST_ITEMS + 1))

BAD_INPUT: list[tuple[str, type[Payload], str, bool]] = [
    # (case, model, XML, whether the schema refuses it too)
    (
        "wrong element",
        dops.FetchJob,
        fetch_job(
            "<job-id>1</job-id><document-number>1</document-number>", f"FetchDocument xmlns='{NS}'"
        ),
        False,
    ),
    (
        "root in another namespace",
        dops.FetchJob,
        fetch_job("<job-id>1</job-id>", "FetchJob xmlns='urn:x'"),
        True,
    ),
    ("root without a namespace", dops.FetchJob, "<FetchJob><job-id>1</job-id></FetchJob>", True),
    (
        "unknown child element",
        dops.FetchJob,
        fetch_job("<job-id>1</job-id><job-color>red</job-color>"),
        True,
    ),
    (
        "child in a foreign namespace",
        dops.FetchJob,
        fetch_job("<x:job-id xmlns:x='urn:example:other'>1</x:job-id>"),
        True,
    ),
    ("child without a namespace", dops.FetchJob, fetch_job("<job-id xmlns=''>1</job-id>"), True),
    ("duplicated scalar", dops.FetchJob, fetch_job("<job-id>1</job-id><job-id>2</job-id>"), True),
    (
        "duplicated list",
        dops.UpdateJobState,
        update_job(
            "<job-state-reasons>none</job-state-reasons><job-state-reasons>none</job-state-reasons>"
        ),
        True,
    ),
    ("missing required element", dops.FetchJob, fetch_job(""), True),
    ("empty integer", dops.FetchJob, fetch_job("<job-id/>"), True),
    ("not an integer", dops.FetchJob, fetch_job("<job-id>forty-two</job-id>"), True),
    ("job-id zero", dops.FetchJob, fetch_job("<job-id>0</job-id>"), True),
    ("job-id above 2^31-1", dops.FetchJob, fetch_job("<job-id>2147483648</job-id>"), True),
    ("copies zero", cops.CreateJob, ticket("<copies>0</copies>"), True),
    ("copies too many", cops.CreateJob, ticket("<copies>10000</copies>"), True),
    (
        "print-quality out of range",
        cops.CreateJob,
        ticket("<print-quality>6</print-quality>"),
        True,
    ),
    ("bad keyword (upper case first)", cops.CreateJob, ticket("<media>A4</media>"), True),
    ("bad keyword (space)", cops.CreateJob, ticket("<sides>two sided</sides>"), True),
    (
        "bad keyword in a list",
        dops.UpdateJobState,
        update_job("<job-state-reasons>none Printer-Stopped</job-state-reasons>"),
        True,
    ),
    ("bad integer in a list", cops.CreateJob, ticket("<finishings>3 staple</finishings>"), True),
    ("bad page-ranges", cops.CreateJob, ticket("<page-ranges>1-3;5</page-ranges>"), True),
    (
        "bad job-state",
        dops.UpdateJobState,
        fetch_job(
            "<job-id>1</job-id><job-state>printing</job-state>", f"UpdateJobState xmlns='{NS}'"
        ),
        True,
    ),
    (
        "bad service-type",
        dops.FetchJob,
        f"<FetchJob xmlns='{NS}'><output-device-uuid>{DEVICE}</output-device-uuid>"
        "<service-type>copy</service-type><job-id>1</job-id></FetchJob>",
        True,
    ),
    (
        "bad uuid",
        dops.FetchJob,
        f"<FetchJob xmlns='{NS}'><output-device-uuid>6f1c2a9e-3b7d</output-device-uuid>"
        "<job-id>1</job-id></FetchJob>",
        True,
    ),
    (
        "bad boolean",
        cops.SendDocument,
        f"<SendDocument xmlns='{NS}'><job-id>1</job-id>"
        "<last-document>maybe</last-document></SendDocument>",
        True,
    ),
    (
        "bad digest",
        cops.SendDocument,
        f"<SendDocument xmlns='{NS}'><job-id>1</job-id><document-digest>{DIGEST.upper()}"
        "</document-digest></SendDocument>",
        True,
    ),
    (
        "text too long",
        dops.UpdateJobState,
        update_job(f"<job-state-message>{'x' * 1024}</job-state-message>"),
        True,
    ),
    (
        "name too long",
        cops.CreateJob,
        f"<CreateJob xmlns='{NS}'><printer-name>office</printer-name>"
        f"<job-name>{'n' * 256}</job-name></CreateJob>",
        True,
    ),
    (
        "nested element where text is expected",
        dops.FetchJob,
        fetch_job(f"<job-id><job-id xmlns='{NS}'>1</job-id></job-id>"),
        True,
    ),
    (
        "nested element inside a nested group's scalar",
        cops.CreateJob,
        ticket("<copies><x/></copies>"),
        True,
    ),
    ("unknown element in a nested group", cops.CreateJob, ticket("<staple>yes</staple>"), True),
    (
        "too many list items",
        dops.UpdateJobState,
        update_job(f"<job-state-reasons>{LONG_LIST}</job-state-reasons>"),
        True,
    ),
    (
        "too many job ids",
        dops.WorkNotification,
        f"<WorkNotification xmlns='{NS}'><output-device-uuid>{DEVICE}</output-device-uuid>"
        f"<fetchable-job-ids>{' '.join(['1'] * (MAX_LIST_ITEMS + 1))}</fetchable-job-ids>"
        "</WorkNotification>",
        True,
    ),
    (
        "too many repeated elements",
        dops.UpdateFetchableJobs,
        f"<UpdateFetchableJobs xmlns='{NS}'><output-device-uuid>{DEVICE}</output-device-uuid>"
        + "<job><job-id>1</job-id><job-state>pending</job-state></job>" * (MAX_LIST_ITEMS + 1)
        + "</UpdateFetchableJobs>",
        False,
    ),
    (
        "too many children",
        dops.UpdateFetchableJobs,
        f"<UpdateFetchableJobs xmlns='{NS}'>"
        + "<x/>" * (MAX_CHILDREN + 1)
        + "</UpdateFetchableJobs>",
        True,
    ),
]


@pytest.mark.parametrize(
    ("model", "xml", "schema_refuses"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_is_a_bad_request(model: type[Payload], xml: str, schema_refuses: bool) -> None:
    element = parse(xml)
    with pytest.raises(BadRequest) as caught:
        model.from_xml(element)
    assert caught.value.status == "client-error-bad-request"
    assert caught.value.message
    if schema_refuses:
        with pytest.raises(AssertionError):
            validate_payload(element)


def test_bad_request_is_an_xmpp_bad_request() -> None:
    assert xmpp_condition(BadRequest.status) == ("bad-request", "modify")


def test_bad_request_names_the_element() -> None:
    with pytest.raises(BadRequest, match="job-state-reasons"):
        dops.UpdateJobState.from_xml(
            parse(update_job("<job-state-reasons>Bad</job-state-reasons>"))
        )
    with pytest.raises(BadRequest, match="unknown element <job-color>"):
        dops.FetchJob.from_xml(parse(fetch_job("<job-id>1</job-id><job-color>red</job-color>")))


# --- hypothesis ----------------------------------------------------------------------------

keywords = st.from_regex(r"[a-z0-9][a-zA-Z0-9._-]{0,40}", fullmatch=True)
# Characters XML 1.0 can carry and hands back unchanged (no other C0 controls, no CR).
xml_chars = st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff") | (
    st.sampled_from("\t\n")
)
texts = st.text(xml_chars, max_size=1023)
names = st.text(xml_chars, max_size=255)
counts = st.integers(0, 2**31 - 1)
job_ids = st.integers(1, 2**31 - 1)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


media_cols = st.builds(
    MediaCol,
    media_size=optional(
        st.builds(
            MediaSize,
            x_dimension=st.integers(1, 10_000_000),
            y_dimension=st.integers(1, 10_000_000),
        )
    ),
    media_size_name=optional(keywords),
    media_type=optional(keywords),
    media_source=optional(keywords),
    media_color=optional(keywords),
)

tickets = st.builds(
    JobTicket,
    copies=optional(st.integers(1, 9999)),
    media=optional(keywords),
    media_col=optional(media_cols),
    sides=optional(keywords),
    print_color_mode=optional(keywords),
    print_quality=optional(st.integers(3, 5)),
    finishings=optional(st.lists(st.integers(-(2**40), 2**40), max_size=20)),
    page_ranges=optional(
        st.from_regex(r"[0-9]{1,5}(-[0-9]{1,5})?(,[0-9]{1,5}(-[0-9]{1,5})?){0,4}", fullmatch=True)
    ),
    orientation_requested=optional(st.integers(3, 7)),
    number_up=optional(st.integers(1, 16)),
    job_priority=optional(st.integers(1, 100)),
    job_hold_until=optional(keywords),
    document_format=optional(
        st.sampled_from(["application/pdf", "image/pwg-raster", "text/plain"])
    ),
)

updates = st.builds(
    dops.UpdateJobState,
    output_device_uuid=st.uuids().map(lambda u: u.urn),
    service_type=st.sampled_from(ServiceType),
    job_id=job_ids,
    job_state=st.sampled_from(JobState),
    job_state_reasons=st.lists(keywords, max_size=20),
    job_state_message=optional(texts),
    output_device_job_id=optional(counts),
    output_device_job_state=optional(st.sampled_from(JobState)),
    job_impressions_completed=optional(counts),
    job_media_sheets_completed=optional(counts),
)


@settings(max_examples=200, deadline=None)
@given(tickets, optional(names))
def test_job_ticket_round_trips(ticket: JobTicket, job_name: str | None) -> None:
    create = cops.CreateJob(printer_name="office", job_name=job_name, job_ticket=ticket)
    element = over_the_wire(create)
    back = cops.CreateJob.from_xml(element)
    assert back.job_ticket == ticket
    assert back == create
    validate_payload(element)


@settings(max_examples=200, deadline=None)
@given(updates)
def test_update_job_state_round_trips(update: dops.UpdateJobState) -> None:
    element = over_the_wire(update)
    assert dops.UpdateJobState.from_xml(element) == update
    validate_payload(element)
