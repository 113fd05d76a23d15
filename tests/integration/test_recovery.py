"""Crashes and restarts: the manager, the service and the XMPP server, each killed for real."""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

import pytest

from cirrus.stack import toml
from cirrus.stack.ippeveprinter import start_ippeveprinter
from cirrus.stack.local import MANAGER_READY, SERVICE_READY
from cirrus.stack.process import ManagedProcess
from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas.errors import ServiceUnavailable, Timeout
from stanzas.states import JobState
from tests.conftest import Harness, make_service_settings
from tests.integration.test_print_flow import SAMPLE, WAIT, states_until

pytestmark = [pytest.mark.slow, pytest.mark.every_xmpp_server]


async def manager_process(harness: Harness, output: Path | str) -> tuple[ManagedProcess, Path]:
    """A manager process printing into the folder `output` (or to the device `output`
    names, a driver spec), enrolled with a code for its queue."""
    driver = f"file:{output}" if isinstance(output, Path) else output
    settings = await harness.enrol(harness.manager_settings(driver=driver, state="crashy-manager"))
    config = settings.model_dump(mode="json")
    path = toml.write(harness.tmp / "crashy-manager.toml", config)
    process = ManagedProcess(
        "manager", "manager", ["--config", str(path)], harness.tmp / "manager.log"
    )
    return process, path


@pytest.mark.parametrize(
    "crash_at",
    [
        "after-fetch-job",
        "after-acknowledge-job",
        "mid-send-document",  # the document was being handed to the device: sent again
        "after-send-document",
        "mid-file-document",  # the file driver recorded it, and had not put it in place
    ],
)
async def test_manager_killed_mid_job_prints_exactly_once(
    service: ServiceApp, harness: Harness, crash_at: str
) -> None:
    output = harness.tmp / "printed"
    process, _ = await manager_process(harness, output)
    await process.start(MANAGER_READY, env={"CIRRUS_MANAGER_CRASH_AT": crash_at})
    try:
        alice = await harness.client("alice")
        job = await alice.print_files("office", [SAMPLE])
        assert await asyncio.wait_for(process.wait(), WAIT) == -signal.SIGKILL

        await process.start(MANAGER_READY)  # the same state file, no crash this time
        final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    finally:
        await process.stop()

    assert final.job_state == JobState.COMPLETED
    printed = sorted(p.name for p in output.iterdir() if not p.name.startswith("."))
    assert len(printed) == 1, printed
    assert printed[0].endswith(SAMPLE.name)
    assert (output / printed[0]).read_bytes() == SAMPLE.read_bytes()


@pytest.mark.skipif(
    shutil.which("ippeveprinter") is None or shutil.which("dbus-daemon") is None,
    reason="needs ippeveprinter (cups-ipp-utils) and dbus-daemon",
)
async def test_manager_killed_mid_send_to_ippeveprinter_prints_exactly_once(
    service: ServiceApp, harness: Harness
) -> None:
    """Issue 11, defect 5: ippeveprinter prints whatever part of a document came before
    the connection closed. The manager dies halfway through a Send-Document; after the
    restart the printer must hold one whole copy, not a truncated one reported completed."""
    printer = await start_ippeveprinter(harness.tmp / "printer", command="/bin/true")
    process, _ = await manager_process(harness, f"ipp:{printer.uri}")
    try:
        await process.start(MANAGER_READY, env={"CIRRUS_MANAGER_CRASH_AT": "mid-send-document"})
        alice = await harness.client("alice")
        job = await alice.print_files("office", [SAMPLE])
        assert await asyncio.wait_for(process.wait(), WAIT) == -signal.SIGKILL

        await process.start(MANAGER_READY)
        final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    finally:
        await process.stop()
        await printer.stop()

    assert final.job_state == JobState.COMPLETED
    printed = [p.read_bytes() for p in printer.output_files() if p.suffix != ".prn"]
    assert printed == [SAMPLE.read_bytes()]


async def test_service_killed_loses_nothing_and_reconciles(harness: Harness) -> None:
    state = harness.tmp / "killed-service"
    config = make_service_settings(state, harness.xmpp).model_dump(mode="json")
    path = toml.write(state / "service.toml", config)
    service = ManagedProcess("service", "server", ["--config", str(path)], harness.tmp / "svc.log")
    await service.start(SERVICE_READY)
    try:
        sim = SimDriver(speed=600.0)
        await harness.manager(sim)
        alice = await harness.client("alice")
        in_progress = await alice.print_files("office", [SAMPLE])
        await states_until(alice, in_progress.job_id, lambda s: s.job_state == JobState.PROCESSING)
        open_job = await alice.create_job("office", job_name="still open")

        service.kill()
        await service.wait()
        with pytest.raises((ServiceUnavailable, Timeout)):  # Prosody: "Component unavailable"
            await alice.get_job(open_job.job_id)

        await service.start(SERVICE_READY)
        # Nothing lost: both jobs are there, as they were.
        assert (await alice.get_job(in_progress.job_id)).job_state == JobState.PROCESSING
        reopened = await alice.get_job(open_job.job_id)
        assert reopened.job_state == JobState.PENDING
        assert reopened.job_state_reasons == ["job-incoming"]

        # The binding survived: a cancel reaches the device through the restarted service.
        await alice.cancel_job(in_progress.job_id)
        canceled = await alice.wait_for_final(in_progress.job_id, timeout=WAIT)
        assert canceled.job_state == JobState.CANCELED
        assert sim.jobs[1].state == "canceled"

        # And the open job can still be finished and printed.
        sim.speed = 0.0
        await alice.send_document(open_job.job_id, SAMPLE)
        done = await alice.wait_for_final(open_job.job_id, timeout=WAIT)
        assert done.job_state == JobState.COMPLETED
        assert [j.state for j in sim.jobs.values()] == ["canceled", "completed"]
    finally:
        await harness.close()
        await service.stop()


async def test_xmpp_server_restart_both_sides_reconnect(
    service: ServiceApp, harness: Harness
) -> None:
    sim = SimDriver()
    manager = await harness.manager(sim)
    alice = await harness.client("alice")
    first = await alice.print_files("office", [SAMPLE])
    assert (await alice.wait_for_final(first.job_id, timeout=WAIT)).job_state == JobState.COMPLETED

    await harness.xmpp.restart()

    assert service.component is not None
    for online in (service.component.online, manager.session.online, alice.session.online):
        await asyncio.wait_for(online.wait(), 60)
    await asyncio.wait_for(manager.synced.wait(), 60)
    second = await alice.print_files("office", [SAMPLE])
    final = await alice.wait_for_final(second.job_id, timeout=WAIT)
    assert final.job_state == JobState.COMPLETED
    assert len(sim.jobs) == 2
