"""Devices: approval of new registrations (seed 000), presence, capabilities, removal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cirrus.admin_client import AdminClient
from manager.drivers.sim import SimDriver
from prosody_config.launcher import ProsodyInstance
from server.app import ServiceApp
from stanzas import admin_ops as a
from stanzas.errors import NotAuthorized
from stanzas.states import JobState, RegistrationState
from tests.conftest import Harness, make_service_settings
from tests.integration.admin_support import WAIT, ChatInbox, admin_client
from tests.integration.test_print_flow import SAMPLE


@pytest.fixture
async def strict_service(short_tmp: Path, prosody: ProsodyInstance) -> AsyncIterator[ServiceApp]:
    """A service whose administrators approve every new device themselves."""
    settings = make_service_settings(short_tmp / "service", prosody, auto_approve_devices=False)
    app = ServiceApp(settings)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def test_a_new_device_is_not_served_until_an_administrator_approves_it(
    strict_service: ServiceApp, harness: Harness
) -> None:
    sim = SimDriver()
    await harness.manager(sim)
    operator = await admin_client(harness)
    admin = await admin_client(harness, "admin")
    alice = await harness.client("alice")
    job = await alice.print_files("office", [SAMPLE])

    (device,) = await operator.devices()
    assert device.registration_state == RegistrationState.PENDING
    assert device.online is True and device.registered_by == "mgr1@localhost"
    assert (await alice.get_job(job.job_id)).job_state == JobState.PENDING
    assert sim.jobs == {}
    with pytest.raises(NotAuthorized):  # approving is for administrators
        await operator.call(a.ApproveDevice(printer_name="office"), a.DeviceResponse)

    approved = await admin.call(a.ApproveDevice(printer_name="office"), a.DeviceResponse)
    assert approved.device.registration_state == RegistrationState.APPROVED
    # The manager is told to resynchronise at once, and the waiting job prints.
    assert (await alice.wait_for_final(job.job_id, timeout=WAIT)).job_state == JobState.COMPLETED


async def test_a_queue_can_auto_approve_its_devices(
    strict_service: ServiceApp, harness: Harness
) -> None:
    admin = await admin_client(harness, "admin")
    await admin.call(
        a.StartupService(service_type=a.AnyServiceType.PRINT, printer_name="lab"),
        a.ServiceResponse,
    )
    await admin.call(
        a.SetServiceElements(
            printer_name="lab", device_policy=a.DevicePolicy(auto_approve_devices=True)
        ),
        a.ServiceResponse,
    )
    await harness.manager(SimDriver(), queue="lab")
    await harness.manager(SimDriver(), account="mgr2", queue="office")
    states = {d.printer_name: d.registration_state for d in await admin.devices()}
    assert states == {"lab": RegistrationState.APPROVED, "office": RegistrationState.PENDING}


async def test_devices_show_presence_capabilities_and_an_offline_alert(
    service: ServiceApp, harness: Harness
) -> None:
    manager = await harness.manager(SimDriver(make_and_model="Example LaserJet 400"))
    admin_account = await harness.client("admin")
    admin = AdminClient(admin_account)
    inbox = ChatInbox(admin_account)
    await admin.call(
        a.SetAlertSubscription(alert_events=[a.AlertEvent.DEVICE_OFFLINE]),
        a.AlertSubscriptionResponse,
    )
    shown = await admin.call(a.GetDevice(printer_name="office"), a.DeviceResponse)
    assert shown.device.online is True
    assert shown.device.capabilities is not None
    assert shown.device.capabilities.printer_make_and_model == "Example LaserJet 400"
    seen = shown.device.time_last_seen

    await manager.stop()
    alert = await inbox.until(lambda text: "went offline" in text)
    assert shown.device.output_device_uuid in alert and "office" in alert
    (device,) = await admin.devices()
    assert device.online is False
    assert device.time_last_seen >= seen


async def test_remove_device_deregisters_and_its_jobs_go_back_to_the_queue(
    service: ServiceApp, harness: Harness
) -> None:
    sim = SimDriver()
    sim.stop("media-empty", "Tray 1 is empty")  # the job reaches the device, then waits
    await harness.manager(sim)
    admin = await admin_client(harness, "admin")
    alice = await harness.client("alice")
    job = await alice.print_files("office", [SAMPLE])
    async for status in alice.job_updates(job.job_id, timeout=WAIT):
        if status.output_device_uuid is not None:
            break
    removed = await admin.call(a.RemoveDevice(printer_name="office"), a.DeviceResponse)
    assert removed.device.printer_name == "office"
    assert await admin.devices() == []
    back = await alice.get_job(job.job_id)
    assert back.job_state == JobState.PENDING and back.output_device_uuid is None
    assert (await admin.service("office")).output_device_uuid is None
