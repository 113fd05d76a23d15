"""Every administrative operation, asked by a user, a device's account, an operator and
an administrator: seed 001 reserves Tables 2 and 3 to operators and administrators (Note 2:
"If the requestor is not determined to have access, the Service MUST reject the request").
Whoever may not is refused with client-error-not-authorized and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas import admin_ops as a
from stanzas.errors import CloudImagingError, NotAuthorized
from stanzas.model import Payload
from stanzas.registry import PAYLOADS
from tests.conftest import Harness
from tests.integration.test_print_flow import SAMPLE
from tests.integration.test_security import raw_session

PRINT = a.AnyServiceType.PRINT
OPERATORS = {"operator", "admin"}
ADMINS = {"admin"}
ACCOUNTS = {"user": "alice", "device": "mgr1", "operator": "operator", "admin": "admin"}
NEED_A_JOB = {"PromoteJob", "CancelJobs"}


def q(cls: type[a.ServiceRequest]) -> Callable[[int], Payload]:
    return lambda job: cls(printer_name="office")


# In an order where what an allowed caller changes does not hide what the next tests.
CASES: dict[str, tuple[Callable[[int], Payload], type[Payload], set[str]]] = {
    "ListAllServices": (lambda j: a.ListAllServices(), a.ServicesResponse, OPERATORS),
    "GetSystemElements": (lambda j: a.GetSystemElements(), a.SystemElementsResponse, OPERATORS),
    "ListDevices": (lambda j: a.ListDevices(), a.ListDevicesResponse, OPERATORS),
    "GetDevice": (lambda j: a.GetDevice(printer_name="office"), a.DeviceResponse, OPERATORS),
    "SetAlertSubscription": (
        lambda j: a.SetAlertSubscription(alert_events=[a.AlertEvent.JOB_ABORTED]),
        a.AlertSubscriptionResponse,
        OPERATORS,
    ),
    "PromoteJob": (lambda j: a.PromoteJob(job_id=j), a.PromoteJobResponse, OPERATORS),
    "HoldNewJobs": (q(a.HoldNewJobs), a.ServiceResponse, OPERATORS),
    "ReleaseNewJobs": (q(a.ReleaseNewJobs), a.ServiceResponse, OPERATORS),
    "DisableService": (q(a.DisableService), a.ServiceResponse, OPERATORS),
    "EnableService": (q(a.EnableService), a.ServiceResponse, OPERATORS),
    "PauseService": (q(a.PauseService), a.ServiceResponse, OPERATORS),
    "PauseServiceAfterCurrentJob": (q(a.PauseServiceAfterCurrentJob), a.ServiceResponse, OPERATORS),
    "ResumeService": (q(a.ResumeService), a.ServiceResponse, OPERATORS),
    "CancelJobs": (
        lambda j: a.CancelJobs(printer_name="office", job_ids=[j]),
        a.CancelJobsResponse,
        OPERATORS,
    ),
    "SetServiceElements": (
        lambda j: a.SetServiceElements(
            printer_name="office", description=a.DescriptionChange(printer_info="x")
        ),
        a.ServiceResponse,
        ADMINS,
    ),
    "SetSystemElements": (
        lambda j: a.SetSystemElements(
            system_description=a.SystemDescription(system_location="here")
        ),
        a.SystemElementsResponse,
        ADMINS,
    ),
    "DisableAllServices": (lambda j: a.DisableAllServices(), a.ServicesResponse, OPERATORS),
    "EnableAllServices": (lambda j: a.EnableAllServices(), a.ServicesResponse, OPERATORS),
    "PauseAllServices": (lambda j: a.PauseAllServices(), a.ServicesResponse, OPERATORS),
    "PauseAllServicesAfterCurrentJob": (
        lambda j: a.PauseAllServicesAfterCurrentJob(),
        a.ServicesResponse,
        OPERATORS,
    ),
    "ResumeAllServices": (lambda j: a.ResumeAllServices(), a.ServicesResponse, OPERATORS),
    "StartupService": (
        lambda j: a.StartupService(service_type=PRINT, printer_name="annex"),
        a.ServiceResponse,
        ADMINS,
    ),
    "RestartAllServices": (lambda j: a.RestartAllServices(), a.ServicesResponse, ADMINS),
    "RestartService": (
        lambda j: a.RestartService(service_type=PRINT, printer_name="office"),
        a.ServiceResponse,
        OPERATORS,
    ),
    "RestartService (system)": (
        lambda j: a.RestartService(service_type=a.AnyServiceType.SYSTEM),
        a.ServiceResponse,
        ADMINS,
    ),
    "ApproveDevice": (lambda j: a.ApproveDevice(printer_name="office"), a.DeviceResponse, ADMINS),
    "ShutdownService": (
        lambda j: a.ShutdownService(service_type=PRINT, printer_name="annex"),
        a.ServiceResponse,
        OPERATORS,
    ),
    "ShutdownAllServices": (lambda j: a.ShutdownAllServices(), a.ServicesResponse, ADMINS),
    "StartupAllServices": (lambda j: a.StartupAllServices(), a.ServicesResponse, ADMINS),
    "DeleteService": (
        lambda j: a.DeleteService(service_type=PRINT, printer_name="annex"),
        a.DeleteServiceResponse,
        ADMINS,
    ),
    "PauseDevice": (lambda j: a.PauseDevice(printer_name="office"), a.DeviceResponse, OPERATORS),
    "ResumeDevice": (lambda j: a.ResumeDevice(printer_name="office"), a.DeviceResponse, OPERATORS),
    "AddDeviceToQueue": (
        lambda j: a.AddDeviceToQueue(printer_name="office", device_name="office"),
        a.DeviceResponse,
        ADMINS,
    ),
    "RemoveDeviceFromQueue": (
        lambda j: a.RemoveDeviceFromQueue(printer_name="office", device_name="office"),
        a.DeviceResponse,
        ADMINS,
    ),
    "ListGroups": (lambda j: a.ListGroups(), a.GroupsResponse, OPERATORS),
    "AddGroupMembers": (
        lambda j: a.AddGroupMembers(group_name="finance", members=["alice@localhost"]),
        a.GroupsResponse,
        ADMINS,
    ),
    "RemoveGroupMembers": (
        lambda j: a.RemoveGroupMembers(group_name="finance"),
        a.GroupsResponse,
        ADMINS,
    ),
    "IssueEnrollmentCode": (
        lambda j: a.IssueEnrollmentCode(printer_name="lobby"),
        a.IssueEnrollmentCodeResponse,
        ADMINS,
    ),
    "RemoveDevice": (lambda j: a.RemoveDevice(printer_name="office"), a.DeviceResponse, ADMINS),
}


async def snapshot(service: ServiceApp) -> list[Any]:
    rows: list[Any] = []
    for table in (
        "jobs",
        "queues",
        "devices",
        "service_states",
        "job_schedule",
        "alert_subscriptions",
        "system_elements",
        "queue_devices",
        "enrollment_codes",
        "user_groups",
    ):
        found = await service.service.db.fetchall(f"SELECT * FROM {table}")
        rows += sorted(tuple(r) for r in found)
    return rows


async def test_administration_is_refused_to_everyone_else_and_changes_nothing(
    service: ServiceApp, harness: Harness
) -> None:
    manager = await harness.manager(SimDriver())
    await manager.stop()  # nothing moves on its own
    sessions = {role: await raw_session(harness, account) for role, account in ACCOUNTS.items()}
    alice = await harness.client("alice")
    leaks: list[str] = []
    wrongly_refused: list[str] = []
    for name, (build, response, allowed) in CASES.items():
        for role in ("user", "device", "operator", "admin"):
            job_id = 1
            if name in NEED_A_JOB:
                job_id = (await alice.print_files("office", [SAMPLE])).job_id
            before = await snapshot(service)
            try:
                await sessions[role].request(build(job_id), response)
                outcome = "ok"
            except NotAuthorized:
                outcome = "refused"
            except CloudImagingError as exc:
                outcome = exc.status
            if role in allowed and outcome == "refused":
                wrongly_refused.append(f"{name} by {role}")
            if role not in allowed:
                if outcome != "refused":
                    leaks.append(f"{name} by {role}: {outcome}")
                elif await snapshot(service) != before:
                    leaks.append(f"{name} by {role}: refused but changed something")
    assert leaks == [], leaks
    assert wrongly_refused == [], wrongly_refused


def test_every_administrative_operation_is_in_the_matrix() -> None:
    requests = {
        name
        for name, cls in PAYLOADS.items()
        if cls.__module__ == a.__name__ and not name.endswith("Response")
    }
    assert requests == {name.split(" ")[0] for name in CASES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cases_build(name: str) -> None:
    build, response, _allowed = CASES[name]
    assert build(1).ELEMENT in PAYLOADS and response.ELEMENT in PAYLOADS
