"""`cirrus admin …`, run as a real process against a real Prosody and service."""

from __future__ import annotations

import json

import pytest

from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas import admin_ops as a
from tests.conftest import Harness
from tests.integration.test_cli import cirrus

pytestmark = pytest.mark.every_xmpp_server


async def test_admin_commands_from_the_command_line(service: ServiceApp, harness: Harness) -> None:
    await harness.manager(SimDriver())
    code, out, err = await cirrus(harness, "admin", "queues", user="operator")
    assert code == 0, err
    header, rule, row = out.splitlines()
    assert header.split()[:3] == ["QUEUE", "TYPE", "STATE"] and set(rule) <= {"-", " "}
    assert row.split()[:3] == ["office", "print", "idle"]

    code, out, err = await cirrus(harness, "admin", "pause", "office", user="operator")
    assert code == 0, err
    assert out.startswith("office: stopped (paused)")
    state = await service.service.queue_states.get("office")
    assert state.service_state == a.ServiceState.STOPPED

    code, out, err = await cirrus(harness, "--json", "admin", "devices", user="operator")
    assert code == 0, err
    (device,) = json.loads(out)["device"]
    assert device["printer-name"] == "office" and device["online"] is True

    code, out, err = await cirrus(
        harness, "admin", "set", "office", "printer-location=Room 2.14", user="admin"
    )
    assert code == 0, err
    assert "location: Room 2.14" in out


async def test_the_service_refuses_what_the_account_may_not_do(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    code, _out, err = await cirrus(harness, "admin", "pause", "office", user="alice")
    assert code == 2
    assert "client-error-not-authorized" in err
    code, _out, err = await cirrus(harness, "admin", "shutdown-all", user="operator")
    assert code == 2 and "client-error-not-authorized" in err
    code, _out, err = await cirrus(harness, "admin", "promote", "x", user="operator")
    assert code != 0 and "not a job id" in err
    state = await service.service.queue_states.get("office")
    assert state.service_state == a.ServiceState.IDLE
