"""A manager on the XMPP server's trusted network may run as an external component."""

from __future__ import annotations

import uuid

import pytest

from manager.app import ManagerApp
from manager.config import ManagerSettings
from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas.states import JobState
from tests.conftest import MANAGER_COMPONENT, Harness
from tests.integration.test_print_flow import SAMPLE, WAIT

pytestmark = pytest.mark.every_xmpp_server


def component_settings(harness: Harness) -> ManagerSettings:
    xmpp = harness.xmpp
    return ManagerSettings.model_validate(
        {
            "state_dir": str(harness.tmp / "component-manager"),
            "xmpp": {
                "service_jid": "print.localhost",
                "host": xmpp.host,
                "port": xmpp.component_ports[MANAGER_COMPONENT],
                "component_jid": MANAGER_COMPONENT,
                "secret": xmpp.components[MANAGER_COMPONENT],
                "ca_file": str(xmpp.ca_file),  # for the HTTPS document fetches
            },
            "devices": [
                {
                    "output_device_uuid": uuid.uuid4().urn,
                    "printer_name": "trusted",
                    "driver": "sim:",
                }
            ],
        }
    )


async def test_a_component_manager_prints(service: ServiceApp, harness: Harness) -> None:
    settings = component_settings(harness)
    sim = SimDriver()
    manager = ManagerApp(settings, drivers={settings.devices[0].output_device_uuid: sim})
    await manager.start()
    try:
        await manager.synced.wait()
        device = await service.service.devices.get(settings.devices[0].output_device_uuid)
        assert device is not None and device.jid == MANAGER_COMPONENT
        alice = await harness.client("alice")
        job = await alice.print_files("trusted", [SAMPLE])
        final = await alice.wait_for_final(job.job_id, timeout=WAIT)
        assert final.job_state == JobState.COMPLETED, final.job_state_message
        assert [j.name for j in sim.jobs.values()] == [SAMPLE.name]
    finally:
        await manager.stop()


async def test_an_unlisted_component_cannot_register(harness: Harness, short_tmp) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_service_settings

    settings = make_service_settings(short_tmp / "strict", harness.xmpp)
    settings.manager_components = []
    service = ServiceApp(settings)
    await service.start()
    try:
        manager = ManagerApp(component_settings(harness), drivers={})
        manager.workers.clear()  # registration is attempted by hand below
        await manager.start()
        try:
            from stanzas import device_ops as ops
            from stanzas.errors import NotAuthorized

            with pytest.raises(NotAuthorized):
                await manager.session.request(
                    ops.RegisterDevice(output_device_uuid=uuid.uuid4().urn, printer_name="x"),
                    ops.RegisterDeviceResponse,
                )
        finally:
            await manager.stop()
    finally:
        await service.stop()
