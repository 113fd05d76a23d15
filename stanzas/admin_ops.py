"""Payloads of the administrative operations (seed 001, Tables 2 and 3) and of devices.

Named without the service word: the service is the `service-type` and `printer-name`
elements (a queue is one of the seeds' Services). Table 3's operations that target one
service (RestartService, ShutdownService, StartupService, DeleteService) share their
names and payloads with Table 2's; `service-type` `system` names the System Control
Service. Administrative requests are IQ set, reads (Get…, List…) IQ get.

A request refused because of some of the things it names (Cancel<Service>Jobs,
Set<Service>ServiceElements, SetSystemElements) fails as a whole and changes nothing;
the error names what could not be done (Cancel<Service>Jobs: the job ids, in the
error's <job-ids/>; the Set operations: the elements, in its text).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from stanzas.groups import (
    Capabilities,
    JobStatus,
    JobTicket,
    QueueConfiguration,
    ServiceStatus,
)
from stanzas.model import Element, Payload
from stanzas.states import PrinterState, RegistrationState, ServiceType
from stanzas.types import (
    BareJid,
    Count,
    DeviceName,
    EnrollmentCode,
    EpochSeconds,
    GroupName,
    JobId,
    Keyword,
    Name,
    QueueName,
    Text,
    UuidUrn,
)


class AnyServiceType(StrEnum):
    """The seeds' <Service> of a job service, or the System Control Service (Table 3)."""

    PRINT = "print"
    SCAN = "scan"
    FAX_OUT = "faxout"
    EMAIL_OUT = "emailout"
    SYSTEM = "system"  # the SystemControlService: the service as a whole

    @property
    def is_job_service(self) -> bool:
        return self != AnyServiceType.SYSTEM


class ServiceState(StrEnum):
    """ServiceState (PWG 5108.01 §7.2.1): IPP printer-state plus 'down'."""

    IDLE = "idle"  # accepts and schedules jobs; none is at the device
    PROCESSING = "processing"  # jobs are at the device (acknowledged, not yet ended)
    STOPPED = "stopped"  # paused: no job is handed to the device
    DOWN = "down"  # shut down: only RestartService is answered; jobs are kept


class ServiceStateReason:
    """ServiceStateReasons as IPP printer-state-reasons keywords (RFC 2911 §4.4.12, RFC 3998)."""

    NONE = "none"
    MOVING_TO_PAUSED = "moving-to-paused"  # pausing; jobs at the device still finish
    PAUSED = "paused"  # Pause…: the service hands out no work
    HOLD_NEW_JOBS = "hold-new-jobs"  # HoldNewJobs: new jobs are created pending-held
    SHUTDOWN = "shutdown"  # ShutdownService: the service is down


class AlertEvent(StrEnum):
    """What an administrator can subscribe to; delivered as chat messages."""

    DEVICE_OFFLINE = "device-offline"  # a device's manager account went unavailable
    JOB_ABORTED = "job-aborted"  # a job ended aborted
    QUEUE_STOPPED = "queue-stopped"  # a queue became stopped or down


# --- element groups ----------------------------------------------------------------------


class ServiceSummary(Element):
    """One service as ListAllServices shows it (seed: Id, ServiceName, ServiceState,
    ServiceStateReasons). A job service is named by its queue, printer-name."""

    service_type: AnyServiceType
    printer_name: Name | None = None  # the queue; absent for the System Control Service
    service_state: ServiceState
    service_state_reasons: list[Keyword]
    service_state_message: Text | None = None
    is_accepting_jobs: bool | None = None  # absent for the System Control Service
    hold_new_jobs_until: Keyword | None = None  # HoldNewJobs in force: job-hold-until …
    hold_new_jobs_until_time: EpochSeconds | None = None  # … or job-hold-until-time
    queued_job_count: Count | None = None  # jobs not yet ended
    output_device_uuid: UuidUrn | None = None
    device_online: bool | None = None
    printer_state: PrinterState | None = None  # as the device reports it
    printer_state_reasons: list[Keyword] | None = None  # as the device reports it
    printer_info: Text | None = None
    printer_location: Text | None = None


class DescriptionChange(Element):
    """The queue's description elements in Set<Service>ServiceElements (seed
    ServiceDescription). printer-make-and-model is the device's and read-only."""

    printer_info: Text | None = None
    printer_location: Text | None = None
    printer_make_and_model: Text | None = None


class DevicePolicy(Element):
    """How the queue treats devices that register for it (seed ServiceConfiguration)."""

    auto_approve_devices: bool | None = None  # absent: the system's setting applies


class SystemDescription(Element):
    """The System Object's description (PWG 5100.22 system-*). make-and-model and uuid
    are read-only."""

    system_name: Text | None = None
    system_info: Text | None = None
    system_location: Text | None = None
    system_make_and_model: Text | None = None
    system_uuid: UuidUrn | None = None


class SystemConfiguration(Element):
    """Service-wide settings. admins and operators come from the configuration file and
    are read-only here."""

    auto_approve_devices: bool | None = None
    admins: list[BareJid] | None = None
    operators: list[BareJid] | None = None


class SystemStatus(Element):
    """The System Object's status (PWG 5100.22 system-state …); read-only."""

    system_state: ServiceState | None = None
    system_state_reasons: list[Keyword] | None = None
    system_up_time: Count | None = None  # seconds since the service started
    system_current_time: EpochSeconds | None = None
    service_count: Count | None = None  # job services (queues)
    active_job_count: Count | None = None
    device_count: Count | None = None
    devices_online: Count | None = None


class DeviceSummary(Element):
    """A registered device: who registered it, whether it is served, whether it is online."""

    output_device_uuid: UuidUrn
    printer_name: Name  # the queue it serves
    registered_by: BareJid  # the manager's account (or component)
    registration_state: RegistrationState
    online: bool  # from the manager's presence
    time_registered: EpochSeconds
    time_last_seen: EpochSeconds
    printer_state: PrinterState | None = None
    printer_state_reasons: list[Keyword] | None = None
    printer_state_message: Text | None = None
    capabilities: Capabilities | None = None  # GetDevice only
    device_name: DeviceName | None = None  # its own name (output-device-assigned)
    printer_names: list[QueueName] | None = None  # every queue it serves
    device_paused: bool | None = None  # PauseDevice: handed no new work
    job_ids: list[JobId] | None = None  # the unfinished jobs it holds


# --- requests that target one service (Table 2, and Table 3's by-name operations) ----------


class ServiceRequest(Payload):
    """The first children of every request that targets one job service."""

    service_type: ServiceType = ServiceType.PRINT
    printer_name: QueueName
    message: Text | None = None  # seed Message: why (it goes to the log and the state message)


class TargetRequest(Payload):
    """Table 3's form (Id, ServiceType): a job service by its type and name, or the
    System Control Service by the type 'system' alone."""

    service_type: AnyServiceType
    printer_name: QueueName | None = None

    @model_validator(mode="after")
    def _names_a_service(self) -> Self:
        if self.service_type.is_job_service and self.printer_name is None:
            raise ValueError("a job service is named by printer-name")
        if not self.service_type.is_job_service and self.printer_name is not None:
            raise ValueError("the System Control Service has no printer-name")
        return self


class CancelJobs(ServiceRequest):
    """Seed Cancel<Service>Jobs; IPP Cancel-Jobs (PWG 5100.11). All or nothing: without
    job-ids, every job of the queue that has not ended."""

    ELEMENT = "CancelJobs"
    job_ids: list[JobId] | None = None


class CancelJobsResponse(Payload):
    """The jobs canceled, or whose cancel the device was asked for (the first 1000, the
    most a list holds). When the request fails, the error names the jobs that could not
    be canceled (seed Note 1) in its <job-ids/>, and nothing was canceled."""

    ELEMENT = "CancelJobsResponse"
    job_ids: list[JobId] = Field(default_factory=list)


class DisableService(ServiceRequest):
    """Seed Disable<Service>Service; IPP Disable-Printer: is-accepting-jobs false."""

    ELEMENT = "DisableService"


class EnableService(ServiceRequest):
    """Seed Enable<Service>Service; IPP Enable-Printer: is-accepting-jobs true."""

    ELEMENT = "EnableService"


class HoldNewJobs(ServiceRequest):
    """Seed HoldNew<Service>Jobs; IPP Hold-New-Jobs (RFC 3998). New jobs are created
    pending-held until ReleaseNewJobs, or until job-hold-until-time. Without either
    element the hold is 'indefinite'."""

    ELEMENT = "HoldNewJobs"
    job_hold_until: Keyword | None = None  # only 'indefinite' is supported
    job_hold_until_time: EpochSeconds | None = None  # not with job-hold-until (seed: "|")


class ReleaseNewJobs(ServiceRequest):
    """Seed ReleaseNew<Service>Jobs; IPP Release-Held-New-Jobs (RFC 3998)."""

    ELEMENT = "ReleaseNewJobs"


class PauseService(ServiceRequest):
    """Seed Pause<Service>Service; IPP Pause-Printer."""

    ELEMENT = "PauseService"


class PauseServiceAfterCurrentJob(ServiceRequest):
    """Seed Pause<Service>ServiceAfterCurrentJob; IPP Pause-Printer-After-Current-Job."""

    ELEMENT = "PauseServiceAfterCurrentJob"


class ResumeService(ServiceRequest):
    """Seed Resume<Service>Service; IPP Resume-Printer."""

    ELEMENT = "ResumeService"


class PromoteJob(Payload):
    """Seed Promote<Service>Job; IPP Promote-Job, or Schedule-Job-After with a predecessor."""

    ELEMENT = "PromoteJob"
    job_id: JobId
    predecessor_job_id: JobId | None = None
    message: Text | None = None


class PromoteJobResponse(Payload):
    """The promoted job and the queue's waiting jobs in the order they will be handed
    out (the first 100)."""

    ELEMENT = "PromoteJobResponse"
    job: JobStatus
    scheduled_job_ids: list[JobId]


class RestartService(TargetRequest):
    """Seed Restart<Service>Service (Table 2) and RestartService (Table 3): from any state,
    even down, to idle with no reasons and accepting jobs; jobs are kept."""

    ELEMENT = "RestartService"
    is_accepting_jobs: bool | None = None  # false: restart without accepting jobs
    start_service_paused: bool | None = None  # true: down → idle → stopped
    message: Text | None = None


class ShutdownService(TargetRequest):
    """Seed Shutdown<Service>Service (Table 2) and ShutdownService (Table 3): to down,
    keeping every job; jobs at the device finish. An error for the System Control Service."""

    ELEMENT = "ShutdownService"
    message: Text | None = None


class StartupService(TargetRequest):
    """Table 3 StartupService: a new queue of the given type, taken from down to idle.
    printer-name names the new queue (the seed's response Id)."""

    ELEMENT = "StartupService"
    is_accepting_jobs: bool | None = None
    start_service_paused: bool | None = None
    message: Text | None = None


class DeleteService(TargetRequest):
    """Table 3 DeleteService: removes a shut-down queue with all its jobs, documents and
    device registration. An error for a queue that is not down, or for the system."""

    ELEMENT = "DeleteService"
    message: Text | None = None


class DeleteServiceResponse(Payload):
    ELEMENT = "DeleteServiceResponse"
    printer_name: Name
    deleted_job_count: Count


class SetServiceElements(ServiceRequest):
    """Seed Set<Service>ServiceElements: atomic, all or nothing. Settable: the description
    (printer-info, printer-location), the configuration, the default job ticket and the
    device policy. delete-elements names elements to remove (the seed's "element with no
    value"). Capabilities (the device's report) and status are never settable."""

    ELEMENT = "SetServiceElements"
    description: DescriptionChange | None = None
    configuration: QueueConfiguration | None = None
    default_job_ticket: JobTicket | None = None
    device_policy: DevicePolicy | None = None
    capabilities: Capabilities | None = None
    status: ServiceStatus | None = None
    delete_elements: list[Keyword] | None = None


class ServiceResponse(Payload):
    """The answer of every operation that changes one service: its summary afterwards."""

    ELEMENT = "ServiceResponse"
    service: ServiceSummary
    configuration: QueueConfiguration | None = None  # SetServiceElements only
    device_policy: DevicePolicy | None = None  # SetServiceElements only


# --- system operations (Table 3) ---------------------------------------------------------


class AllServicesRequest(Payload):
    message: Text | None = None


class DisableAllServices(AllServicesRequest):
    ELEMENT = "DisableAllServices"


class EnableAllServices(AllServicesRequest):
    ELEMENT = "EnableAllServices"


class PauseAllServices(AllServicesRequest):
    ELEMENT = "PauseAllServices"


class PauseAllServicesAfterCurrentJob(AllServicesRequest):
    ELEMENT = "PauseAllServicesAfterCurrentJob"


class ResumeAllServices(AllServicesRequest):
    ELEMENT = "ResumeAllServices"


class RestartAllServices(AllServicesRequest):
    ELEMENT = "RestartAllServices"
    is_accepting_jobs: bool | None = None
    start_service_paused: bool | None = None


class StartupAllServices(AllServicesRequest):
    """Takes every shut-down queue from down to idle (or stopped with start-system-paused)."""

    ELEMENT = "StartupAllServices"
    is_accepting_jobs: bool | None = None
    start_system_paused: bool | None = None


class ShutdownAllServices(AllServicesRequest):
    ELEMENT = "ShutdownAllServices"


class ListAllServices(Payload):
    """Table 3 ListAllServices: every queue and the System Control Service."""

    ELEMENT = "ListAllServices"


class ServicesResponse(Payload):
    """The answer of ListAllServices and of every …AllServices operation."""

    ELEMENT = "ServicesResponse"
    service: list[ServiceSummary] = Field(default_factory=list)


class GetSystemElements(Payload):
    """Table 3 GetSystemElements; requested-elements picks groups: system-configuration,
    system-description, system-status (default: all three)."""

    ELEMENT = "GetSystemElements"
    requested_elements: list[Keyword] | None = None


class SystemElementsResponse(Payload):
    """The answer of GetSystemElements, and of SetSystemElements (the groups it set)."""

    ELEMENT = "SystemElementsResponse"
    system_configuration: SystemConfiguration | None = None
    system_description: SystemDescription | None = None
    system_status: SystemStatus | None = None


class SetSystemElements(Payload):
    """Table 3 SetSystemElements: atomic; settable are system-description's name, info and
    location and system-configuration's auto-approve-devices. It cannot name any
    service's elements (a request that tries is not valid)."""

    ELEMENT = "SetSystemElements"
    system_configuration: SystemConfiguration | None = None
    system_description: SystemDescription | None = None
    system_status: SystemStatus | None = None
    delete_elements: list[Keyword] | None = None
    message: Text | None = None


# --- devices -----------------------------------------------------------------------------


class DeviceTarget(Payload):
    """A device by its name (INFRA: an Output Device has a printer-name of its own, here
    its device-name), or as the one device of the queue so named (seed 001's "no more
    than one Device Manager" per Service; a queue served by several devices is not named
    so, its devices are)."""

    printer_name: QueueName


class ListDevices(Payload):
    """Every registered device, or (printer-name) the devices of one queue."""

    ELEMENT = "ListDevices"
    printer_name: QueueName | None = None


class ListDevicesResponse(Payload):
    ELEMENT = "ListDevicesResponse"
    device: list[DeviceSummary] = Field(default_factory=list)


class GetDevice(DeviceTarget):
    """One device with the capabilities it reported."""

    ELEMENT = "GetDevice"


class ApproveDevice(DeviceTarget):
    """Serve a device whose registration awaits an administrator (seed 000 registration)."""

    ELEMENT = "ApproveDevice"


class RemoveDevice(DeviceTarget):
    """Deny a pending registration, or deregister an approved device: its jobs that have
    not ended go back to the queue's fetchable list."""

    ELEMENT = "RemoveDevice"


class DeviceResponse(Payload):
    ELEMENT = "DeviceResponse"
    device: DeviceSummary


class PauseDevice(DeviceTarget):
    """An operator pauses one device, not its queues: it is handed no new work (jobs it
    holds finish), and the queue's other devices take the queue's jobs."""

    ELEMENT = "PauseDevice"


class ResumeDevice(DeviceTarget):
    """Undo PauseDevice: the device is offered work again."""

    ELEMENT = "ResumeDevice"


class DeviceQueueChange(Payload):
    """A device (device-name) and a queue (printer-name)."""

    printer_name: QueueName
    device_name: DeviceName


class AddDeviceToQueue(DeviceQueueChange):
    """An administrator adds a registered device to a queue (fan-in: a device serves
    several queues; fan-out: a queue has several devices)."""

    ELEMENT = "AddDeviceToQueue"


class RemoveDeviceFromQueue(DeviceQueueChange):
    """An administrator takes a device off a queue; jobs of the queue it holds finish
    there, the queue's waiting jobs go to its other devices."""

    ELEMENT = "RemoveDeviceFromQueue"


class IssueEnrollmentCode(ServiceRequest):
    """A one-time enrolment code for the queue (issue 11): a manager whose config carries
    it presents it in RegisterDevice once, and its device joins the queue (approved at
    once where the queue or the system auto-approves). The queue need not exist yet: the
    registration makes it. Expires at time-expires (default: in 24 hours)."""

    ELEMENT = "IssueEnrollmentCode"
    time_expires: EpochSeconds | None = None


class IssueEnrollmentCodeResponse(Payload):
    """The code, shown this once: the service keeps only its hash."""

    ELEMENT = "IssueEnrollmentCodeResponse"
    printer_name: Name
    enrollment_code: EnrollmentCode
    time_expires: EpochSeconds


# --- groups of users (queue permissions) ---------------------------------------------------


class Group(Element):
    """One of the service's groups of users; a queue's allowed-groups names them."""

    group_name: GroupName
    members: list[BareJid] = Field(default_factory=list)


class AddGroupMembers(Payload):
    """An administrator adds accounts to a group (made if it is new)."""

    ELEMENT = "AddGroupMembers"
    group_name: GroupName
    members: list[BareJid]


class RemoveGroupMembers(Payload):
    """An administrator takes accounts out of a group; without members, the group goes."""

    ELEMENT = "RemoveGroupMembers"
    group_name: GroupName
    members: list[BareJid] | None = None


class ListGroups(Payload):
    ELEMENT = "ListGroups"


class GroupsResponse(Payload):
    """Every group with its members (the answer of the three group operations)."""

    ELEMENT = "GroupsResponse"
    group: list[Group] = Field(default_factory=list)


# --- alerts ------------------------------------------------------------------------------


class SetAlertSubscription(Payload):
    """Which alerts the sender receives as chat messages; an empty list unsubscribes."""

    ELEMENT = "SetAlertSubscription"
    alert_events: list[AlertEvent]


class AlertSubscriptionResponse(Payload):
    ELEMENT = "AlertSubscriptionResponse"
    alert_events: list[AlertEvent]
