"""Every administration payload (stanzas/admin_ops.py), fully populated and minimal, for
the tier-1 tests in test_stanzas.py (round trips, schema, model ↔ schema agreement).

`full()` takes test_stanzas' fully populated shared groups (ticket, capabilities, status,
job), so that "every field set" holds down to the last nested element."""

from __future__ import annotations

from stanzas import admin_ops as a
from stanzas.groups import (
    Capabilities,
    JobStatus,
    JobTicket,
    QueueConfiguration,
    ServiceStatus,
)
from stanzas.model import Element, Payload
from stanzas.states import JobState, PrinterState, RegistrationState, ServiceType

DEVICE = "urn:uuid:6f1c2a9e-3b7d-4c1e-9a55-0d2b8e4f7a10"
SYSTEM = "urn:uuid:1d6a3c55-8e2f-4b7a-9c10-5f3e2a8d4b66"

SUMMARY = a.ServiceSummary(
    service_type=a.AnyServiceType.PRINT,
    printer_name="office",
    service_state=a.ServiceState.PROCESSING,
    service_state_reasons=["moving-to-paused", "hold-new-jobs"],
    service_state_message="toner change at noon",
    is_accepting_jobs=True,
    hold_new_jobs_until="indefinite",
    hold_new_jobs_until_time=1_732_291_200,
    queued_job_count=3,
    output_device_uuid=DEVICE,
    device_online=True,
    printer_state=PrinterState.PROCESSING,
    printer_state_reasons=["none"],
    printer_info="Example LaserJet 400",
    printer_location="Second floor",
)
SYSTEM_SUMMARY = a.ServiceSummary(
    service_type=a.AnyServiceType.SYSTEM,
    service_state=a.ServiceState.IDLE,
    service_state_reasons=["none"],
)
CONFIGURATION = QueueConfiguration(
    default_job_ticket=JobTicket(copies=1, sides="two-sided-long-edge"),  # replaced in full()
    document_retention="timed",
    document_retention_period=3600,
    job_history_period=86_400,
    multiple_operation_time_out=300,
    multiple_operation_time_out_action="abort-job",
    allow_private_document_uris=False,
    job_mandatory_elements=["media"],
    quota_exceeded_action="refuse-job",
)
POLICY = a.DevicePolicy(auto_approve_devices=False)
DESCRIPTION = a.SystemDescription(
    system_name="print.example.net",
    system_info="Cirrus for the Example office",
    system_location="Building 2",
    system_make_and_model="Cirrus Cloud Imaging Service 0.1",
    system_uuid=SYSTEM,
)
SYSTEM_CONFIGURATION = a.SystemConfiguration(
    auto_approve_devices=False,
    admins=["admin@example.net"],
    operators=["operator@example.net", "night-shift@example.net"],
)
SYSTEM_STATUS = a.SystemStatus(
    system_state=a.ServiceState.PROCESSING,
    system_state_reasons=["none"],
    system_up_time=86_400,
    system_current_time=1_732_291_200,
    service_count=2,
    active_job_count=5,
    device_count=2,
    devices_online=1,
)
DEVICE_SUMMARY = a.DeviceSummary(
    output_device_uuid=DEVICE,
    printer_name="office",
    registered_by="office-manager@example.net",
    registration_state=RegistrationState.APPROVED,
    online=True,
    time_registered=1_732_200_000,
    time_last_seen=1_732_291_190,
    printer_state=PrinterState.STOPPED,
    printer_state_reasons=["media-empty-error"],
    printer_state_message="Tray 1 is empty",
    capabilities=Capabilities(copies_supported=99),  # replaced in full()
)
JOB = JobStatus(job_id=44, job_state=JobState.PENDING, job_state_reasons=["job-fetchable"])


def full(
    ticket: JobTicket, caps: Capabilities, status: ServiceStatus, job: JobStatus
) -> dict[str, Payload]:
    configuration = CONFIGURATION.model_copy(update={"default_job_ticket": ticket})
    device = DEVICE_SUMMARY.model_copy(update={"capabilities": caps})
    return {
        "CancelJobs": a.CancelJobs(
            service_type=ServiceType.PRINT,
            printer_name="office",
            message="the toner is out",
            job_ids=[41, 42],
        ),
        "CancelJobsResponse": a.CancelJobsResponse(job_ids=[41, 42]),
        "DisableService": a.DisableService(
            service_type=ServiceType.PRINT, printer_name="office", message="moving the printer"
        ),
        "EnableService": a.EnableService(
            service_type=ServiceType.PRINT, printer_name="office", message="back"
        ),
        "HoldNewJobs": a.HoldNewJobs(  # both: valid XML, refused by the service
            service_type=ServiceType.PRINT,
            printer_name="office",
            message="print after the meeting",
            job_hold_until="indefinite",
            job_hold_until_time=1_732_291_200,
        ),
        "ReleaseNewJobs": a.ReleaseNewJobs(
            service_type=ServiceType.PRINT, printer_name="office", message="go"
        ),
        "PauseService": a.PauseService(
            service_type=ServiceType.PRINT, printer_name="office", message="toner change"
        ),
        "PauseServiceAfterCurrentJob": a.PauseServiceAfterCurrentJob(
            service_type=ServiceType.PRINT, printer_name="office", message="after this one"
        ),
        "ResumeService": a.ResumeService(
            service_type=ServiceType.PRINT, printer_name="office", message="toner changed"
        ),
        "PromoteJob": a.PromoteJob(job_id=44, predecessor_job_id=41, message="the director's"),
        "PromoteJobResponse": a.PromoteJobResponse(job=job, scheduled_job_ids=[41, 44, 42]),
        "SetServiceElements": a.SetServiceElements(
            service_type=ServiceType.PRINT,
            printer_name="office",
            message="new location",
            description=a.DescriptionChange(
                printer_info="Colour laser",
                printer_location="Room 2.14",
                printer_make_and_model="Example LaserJet 400",
            ),
            configuration=configuration,
            default_job_ticket=ticket,
            device_policy=POLICY,
            capabilities=caps,
            status=status,
            delete_elements=["printer-info"],
        ),
        "ServiceResponse": a.ServiceResponse(
            service=SUMMARY, configuration=configuration, device_policy=POLICY
        ),
        "RestartService": a.RestartService(
            service_type=a.AnyServiceType.PRINT,
            printer_name="office",
            is_accepting_jobs=False,
            start_service_paused=True,
            message="after the repair",
        ),
        "ShutdownService": a.ShutdownService(
            service_type=a.AnyServiceType.PRINT, printer_name="office", message="repair"
        ),
        "StartupService": a.StartupService(
            service_type=a.AnyServiceType.PRINT,
            printer_name="lobby",
            is_accepting_jobs=True,
            start_service_paused=False,
            message="new printer in the lobby",
        ),
        "DeleteService": a.DeleteService(
            service_type=a.AnyServiceType.PRINT, printer_name="lobby", message="gone"
        ),
        "DeleteServiceResponse": a.DeleteServiceResponse(
            printer_name="lobby", deleted_job_count=12
        ),
        "ListAllServices": a.ListAllServices(),
        "ServicesResponse": a.ServicesResponse(service=[SUMMARY]),
        "DisableAllServices": a.DisableAllServices(message="maintenance"),
        "EnableAllServices": a.EnableAllServices(message="maintenance over"),
        "PauseAllServices": a.PauseAllServices(message="fire drill"),
        "PauseAllServicesAfterCurrentJob": a.PauseAllServicesAfterCurrentJob(message="closing"),
        "ResumeAllServices": a.ResumeAllServices(message="open"),
        "RestartAllServices": a.RestartAllServices(
            message="upgrade", is_accepting_jobs=False, start_service_paused=True
        ),
        "StartupAllServices": a.StartupAllServices(
            message="morning", is_accepting_jobs=True, start_system_paused=False
        ),
        "ShutdownAllServices": a.ShutdownAllServices(message="evening"),
        "GetSystemElements": a.GetSystemElements(requested_elements=["system-status"]),
        "SystemElementsResponse": a.SystemElementsResponse(
            system_configuration=SYSTEM_CONFIGURATION,
            system_description=DESCRIPTION,
            system_status=SYSTEM_STATUS,
        ),
        "SetSystemElements": a.SetSystemElements(
            system_configuration=SYSTEM_CONFIGURATION,  # read-only parts: refused by the service
            system_description=DESCRIPTION,
            system_status=SYSTEM_STATUS,
            delete_elements=["system-info"],
            message="moved",
        ),
        "ListDevices": a.ListDevices(),
        "ListDevicesResponse": a.ListDevicesResponse(device=[device]),
        "GetDevice": a.GetDevice(printer_name="office"),
        "ApproveDevice": a.ApproveDevice(printer_name="office"),
        "RemoveDevice": a.RemoveDevice(printer_name="office"),
        "DeviceResponse": a.DeviceResponse(device=device),
        "SetAlertSubscription": a.SetAlertSubscription(
            alert_events=[a.AlertEvent.DEVICE_OFFLINE, a.AlertEvent.QUEUE_STOPPED]
        ),
        "AlertSubscriptionResponse": a.AlertSubscriptionResponse(
            alert_events=[a.AlertEvent.DEVICE_OFFLINE, a.AlertEvent.QUEUE_STOPPED]
        ),
    }


MINIMAL: dict[str, Payload] = {
    "CancelJobs": a.CancelJobs(printer_name="office"),
    "CancelJobsResponse": a.CancelJobsResponse(),
    "DisableService": a.DisableService(printer_name="office"),
    "EnableService": a.EnableService(printer_name="office"),
    "HoldNewJobs": a.HoldNewJobs(printer_name="office"),
    "ReleaseNewJobs": a.ReleaseNewJobs(printer_name="office"),
    "PauseService": a.PauseService(printer_name="office"),
    "PauseServiceAfterCurrentJob": a.PauseServiceAfterCurrentJob(printer_name="office"),
    "ResumeService": a.ResumeService(printer_name="office"),
    "PromoteJob": a.PromoteJob(job_id=44),
    "PromoteJobResponse": a.PromoteJobResponse(job=JOB, scheduled_job_ids=[44]),
    "SetServiceElements": a.SetServiceElements(printer_name="office"),
    "ServiceResponse": a.ServiceResponse(service=SYSTEM_SUMMARY),
    "RestartService": a.RestartService(service_type=a.AnyServiceType.SYSTEM),
    "ShutdownService": a.ShutdownService(service_type=a.AnyServiceType.SYSTEM),
    "StartupService": a.StartupService(service_type=a.AnyServiceType.SYSTEM),
    "DeleteService": a.DeleteService(service_type=a.AnyServiceType.SYSTEM),
    "DeleteServiceResponse": a.DeleteServiceResponse(printer_name="lobby", deleted_job_count=0),
    "ListAllServices": a.ListAllServices(),
    "ServicesResponse": a.ServicesResponse(),
    "DisableAllServices": a.DisableAllServices(),
    "EnableAllServices": a.EnableAllServices(),
    "PauseAllServices": a.PauseAllServices(),
    "PauseAllServicesAfterCurrentJob": a.PauseAllServicesAfterCurrentJob(),
    "ResumeAllServices": a.ResumeAllServices(),
    "RestartAllServices": a.RestartAllServices(),
    "StartupAllServices": a.StartupAllServices(),
    "ShutdownAllServices": a.ShutdownAllServices(),
    "GetSystemElements": a.GetSystemElements(),
    "SystemElementsResponse": a.SystemElementsResponse(),
    "SetSystemElements": a.SetSystemElements(),
    "ListDevices": a.ListDevices(),
    "ListDevicesResponse": a.ListDevicesResponse(),
    "GetDevice": a.GetDevice(printer_name="office"),
    "ApproveDevice": a.ApproveDevice(printer_name="office"),
    "RemoveDevice": a.RemoveDevice(printer_name="office"),
    "DeviceResponse": a.DeviceResponse(device=DEVICE_SUMMARY.model_copy()),
    "SetAlertSubscription": a.SetAlertSubscription(alert_events=[]),
    "AlertSubscriptionResponse": a.AlertSubscriptionResponse(alert_events=[]),
}

NESTED: tuple[type[Element], ...] = (
    a.ServiceSummary,
    a.DescriptionChange,
    a.DevicePolicy,
    a.SystemDescription,
    a.SystemConfiguration,
    a.SystemStatus,
    a.DeviceSummary,
)
