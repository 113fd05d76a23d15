"""Seed 001 Table 3 (system administration) and its numbered notes, against a real
Prosody, service and managers."""

from __future__ import annotations

import asyncio

import pytest

from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas import admin_ops as a
from stanzas.errors import AttributesNotSupported, NotAuthorized, NotFound, NotPossible
from stanzas.states import JobState
from tests.conftest import Harness
from tests.integration.admin_support import WAIT, admin_client, reasons
from tests.integration.test_print_flow import SAMPLE

SYSTEM = a.AnyServiceType.SYSTEM
PRINT = a.AnyServiceType.PRINT


def by_name(response: a.ServicesResponse) -> dict[str | None, a.ServiceSummary]:
    return {s.printer_name: s for s in response.service}


async def two_queues(harness: Harness) -> None:
    await harness.manager(SimDriver(), account="mgr1", queue="office")
    await harness.manager(SimDriver(), account="mgr2", queue="lobby")


async def test_list_all_services_includes_the_system_control_service(
    service: ServiceApp, harness: Harness
) -> None:
    await two_queues(harness)
    operator = await admin_client(harness)
    services = await operator.call(a.ListAllServices(), a.ServicesResponse)
    assert [(s.service_type, s.printer_name) for s in services.service] == [
        (SYSTEM, None),
        (PRINT, "lobby"),
        (PRINT, "office"),
    ]
    office = by_name(services)["office"]
    # "a ServiceSummary for each Service that includes Id, ServiceName, ServiceState,
    # ServiceStateReasons"
    assert office.service_state == a.ServiceState.IDLE
    assert office.service_state_reasons == ["none"]
    assert office.device_online is True and office.output_device_uuid is not None


async def test_all_services_operations_apply_to_every_job_service_not_the_system(
    service: ServiceApp, harness: Harness
) -> None:
    await two_queues(harness)
    operator = await admin_client(harness)
    admin = await admin_client(harness, "admin")

    disabled = by_name(await operator.call(a.DisableAllServices(), a.ServicesResponse))
    assert disabled["office"].is_accepting_jobs is False
    assert disabled["lobby"].is_accepting_jobs is False
    assert disabled[None].is_accepting_jobs is None  # note 1: not the SystemControlService
    enabled = by_name(await operator.call(a.EnableAllServices(), a.ServicesResponse))
    assert enabled["office"].is_accepting_jobs and enabled["lobby"].is_accepting_jobs

    for operation in (a.PauseAllServices(), a.PauseAllServicesAfterCurrentJob()):
        paused = by_name(await operator.call(operation, a.ServicesResponse))
        assert {paused[q].service_state for q in ("office", "lobby")} == {a.ServiceState.STOPPED}
        assert paused[None].service_state == a.ServiceState.IDLE  # note 2: job services only
        resumed = by_name(await operator.call(a.ResumeAllServices(), a.ServicesResponse))
        assert {resumed[q].service_state for q in ("office", "lobby")} == {a.ServiceState.IDLE}

    down = by_name(await admin.call(a.ShutdownAllServices(), a.ServicesResponse))
    assert {down[q].service_state for q in ("office", "lobby")} == {a.ServiceState.DOWN}
    assert down[None].service_state == a.ServiceState.IDLE
    # StartupAllServices: "through the 'Down' state to 'Idle'"; with StartSystemPaused, Stopped.
    up = by_name(
        await admin.call(a.StartupAllServices(start_system_paused=True), a.ServicesResponse)
    )
    assert {up[q].service_state for q in ("office", "lobby")} == {a.ServiceState.STOPPED}
    restarted = by_name(
        await admin.call(a.RestartAllServices(is_accepting_jobs=False), a.ServicesResponse)
    )
    # RestartAllServices: Idle, reasons cleared; IsAcceptingJobs false as asked (note 7).
    assert {restarted[q].service_state for q in ("office", "lobby")} == {a.ServiceState.IDLE}
    assert {frozenset(reasons(restarted[q])) for q in ("office", "lobby")} == {frozenset()}
    assert restarted["office"].is_accepting_jobs is False


async def test_system_control_service_restarts_but_cannot_be_shut_down_started_or_deleted(
    service: ServiceApp, harness: Harness
) -> None:
    await two_queues(harness)
    admin = await admin_client(harness, "admin")
    # Note 3-4: a soft restart of the SystemControlService.
    restarted = await admin.call(a.RestartService(service_type=SYSTEM), a.ServiceResponse)
    assert restarted.service.service_type == SYSTEM
    assert restarted.service.service_state == a.ServiceState.IDLE
    # Note 8 and the operations' text: "It is an error to specify the SystemControlService".
    for request in (
        a.ShutdownService(service_type=SYSTEM),
        a.StartupService(service_type=SYSTEM),
        a.DeleteService(service_type=SYSTEM),
    ):
        with pytest.raises(NotPossible):
            await admin.call(request, a.ServiceResponse)
    # The queues were not touched.
    services = by_name(await admin.call(a.ListAllServices(), a.ServicesResponse))
    assert services["office"].service_state == a.ServiceState.IDLE


async def test_startup_service_creates_a_queue_a_device_can_serve_later(
    service: ServiceApp, harness: Harness
) -> None:
    admin = await admin_client(harness, "admin")
    alice = await harness.client("alice")
    started = await admin.call(
        a.StartupService(service_type=PRINT, printer_name="annex"), a.ServiceResponse
    )
    # Note 5: "When the Service startup is complete the Service state is 'Idle'".
    assert started.service.service_state == a.ServiceState.IDLE
    assert started.service.output_device_uuid is None
    with pytest.raises(NotPossible):  # it is up already
        await admin.call(
            a.StartupService(service_type=PRINT, printer_name="annex"), a.ServiceResponse
        )
    job = await alice.print_files("annex", [SAMPLE])  # waits for a device
    assert job.job_state == JobState.PENDING
    sim = SimDriver()
    await harness.manager(sim, queue="annex")
    assert (await alice.wait_for_final(job.job_id, timeout=WAIT)).job_state == JobState.COMPLETED


async def test_delete_service_needs_a_shut_down_service_and_removes_its_data(
    service: ServiceApp, harness: Harness
) -> None:
    manager = await harness.manager(SimDriver(), queue="office")
    await manager.stop()
    admin = await admin_client(harness, "admin")
    alice = await harness.client("alice")
    job = await alice.print_files("office", [SAMPLE])
    document = (await service.service.documents.list(job.job_id))[0]
    assert (
        document.spool_name is not None and service.service.spool.path(document.spool_name).exists()
    )

    with pytest.raises(NotPossible):  # "an error to specify a Service that is not shutdown"
        await admin.call(
            a.DeleteService(service_type=PRINT, printer_name="office"), a.ServiceResponse
        )
    await admin.call(
        a.ShutdownService(service_type=PRINT, printer_name="office"), a.ServiceResponse
    )
    deleted = await admin.call(
        a.DeleteService(service_type=PRINT, printer_name="office"), a.DeleteServiceResponse
    )
    assert deleted.deleted_job_count == 1
    # "all data associated with the identified Service is deleted and that Service can no
    # longer be restarted"
    assert await service.service.jobs.get(job.job_id) is None
    # The files go after the commit, in a worker thread (server/jobs/retention.py discard_data).
    await asyncio.wait_for(service.service.settled(), WAIT)
    assert not service.service.spool.path(document.spool_name).exists()
    assert await service.service.devices.get_by_printer("office") is None
    assert "office" not in by_name(await admin.call(a.ListAllServices(), a.ServicesResponse))
    with pytest.raises(NotFound):
        await admin.call(
            a.RestartService(service_type=PRINT, printer_name="office"), a.ServiceResponse
        )


async def test_get_and_set_system_elements(service: ServiceApp, harness: Harness) -> None:
    await two_queues(harness)
    operator = await admin_client(harness)
    admin = await admin_client(harness, "admin")
    elements = await operator.call(a.GetSystemElements(), a.SystemElementsResponse)
    assert elements.system_status is not None
    assert elements.system_status.service_count == 2
    assert elements.system_status.devices_online == 2
    assert elements.system_configuration is not None
    assert elements.system_configuration.admins == ["admin@localhost"]
    assert elements.system_description is not None
    uuid = elements.system_description.system_uuid
    only = await operator.call(
        a.GetSystemElements(requested_elements=["system-status"]), a.SystemElementsResponse
    )
    assert only.system_description is None and only.system_status is not None
    with pytest.raises(NotPossible):
        await operator.call(
            a.GetSystemElements(requested_elements=["print-service"]), a.SystemElementsResponse
        )

    # Atomic: a status element (never settable) and a read-only one make it all fail.
    with pytest.raises(AttributesNotSupported) as refused:
        await admin.call(
            a.SetSystemElements(
                system_description=a.SystemDescription(
                    system_location="Building 2", system_uuid=uuid
                ),
                system_status=a.SystemStatus(service_count=9),
            ),
            a.SystemElementsResponse,
        )
    assert "system-status.service-count" in refused.value.message
    assert "system-description.system-uuid" in refused.value.message
    unchanged = await operator.call(a.GetSystemElements(), a.SystemElementsResponse)
    assert unchanged.system_description is not None
    assert unchanged.system_description.system_location is None

    done = await admin.call(
        a.SetSystemElements(
            system_description=a.SystemDescription(system_location="Building 2"),
            system_configuration=a.SystemConfiguration(auto_approve_devices=False),
        ),
        a.SystemElementsResponse,
    )
    assert done.system_description is not None and done.system_configuration is not None
    assert done.system_description.system_location == "Building 2"
    assert done.system_configuration.auto_approve_devices is False
    assert done.system_description.system_uuid == uuid
    with pytest.raises(NotAuthorized):  # administrators only
        await operator.call(
            a.SetSystemElements(system_description=a.SystemDescription(system_name="x")),
            a.SystemElementsResponse,
        )
