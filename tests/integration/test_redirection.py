"""Remedial redirection end to end (real Prosody, the service, real managers): a device
that aborts a job for a reason its queue lists (a paper jam) loses it to the queue's
other device, which prints it; a manager killed after acknowledging a job, before it
fetched the job's data, loses it once it has been offline for the queue's redirect-time;
the submitter hears each redirection; nothing prints twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cirrus.admin_client import AdminClient
from cirrus.stack.local import MANAGER_READY
from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas import admin_ops as a
from stanzas.groups import QueueConfiguration
from stanzas.states import JobState
from tests.conftest import Harness, XmppServer, make_service_settings
from tests.integration.test_fan_out import PDF, manager_of
from tests.integration.test_recovery import manager_process

WAIT = 60.0


@pytest.fixture
async def quick_service(short_tmp: Path, xmpp: XmppServer) -> AsyncIterator[ServiceApp]:
    """A service whose housekeeping (offline redirection among it) runs every 0.2 s."""
    settings = make_service_settings(short_tmp / "service", xmpp, housekeeping_interval=0.2)
    app = ServiceApp(settings)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


async def configure(admin: AdminClient, **config: object) -> None:
    await admin.call(
        a.SetServiceElements(printer_name="office", configuration=QueueConfiguration(**config)),  # type: ignore[arg-type]
        a.ServiceResponse,
    )


async def test_a_jammed_device_loses_the_job_to_the_other_which_prints_it(
    quick_service: ServiceApp, harness: Harness
) -> None:
    jammed, spare = SimDriver(speed=0.05), SimDriver()
    await manager_of(harness, "mgr1", {"left": jammed})
    await manager_of(harness, "mgr2", {"right": spare})
    admin = AdminClient(await harness.client("admin"))
    await configure(admin, redirect_reasons=["media-jam"])
    await admin.call(a.PauseDevice(printer_name="right"), a.DeviceResponse)  # left takes it
    jammed.abort_next("Paper jam in tray 2", reason="media-jam")
    alice = await harness.client("alice")
    job = await alice.print_document(
        "office", PDF, document_name="a.pdf", document_format="application/pdf", job_name="jam"
    )
    seen = []
    async for status in alice.job_updates(job.job_id, timeout=WAIT):
        seen.append(status)
        if status.output_device_assigned == "left":
            await admin.call(a.ResumeDevice(printer_name="right"), a.DeviceResponse)
    final = seen[-1]
    assert final.job_state == JobState.COMPLETED and final.output_device_assigned == "right"
    assert "job-redirected" in final.job_state_reasons
    # The user was told, on the way: a pending job, redirected from left for the jam.
    told = [
        s
        for s in seen
        if s.job_state == JobState.PENDING and "job-redirected" in s.job_state_reasons
    ]
    assert told and "left aborted it (media-jam" in (told[0].job_state_message or "")
    assert [j.name for j in spare.printed()] == ["jam"] and jammed.printed() == []
    assert [j.state for j in jammed.jobs.values()] == ["aborted"]


async def test_a_device_gone_offline_before_it_had_the_data_loses_the_job(
    quick_service: ServiceApp, harness: Harness
) -> None:
    admin = AdminClient(await harness.client("admin"))
    output = harness.tmp / "printed-by-the-crashed-one"
    crashy, _ = await manager_process(harness, output)  # device "office", account mgr1
    spare = SimDriver()
    await manager_of(harness, "mgr2", {"spare": spare})
    await configure(admin, redirect_time=1)
    await admin.call(a.PauseDevice(printer_name="spare"), a.DeviceResponse)
    await crashy.start(MANAGER_READY, env={"CIRRUS_MANAGER_CRASH_AT": "after-acknowledge-job"})
    try:
        alice = await harness.client("alice")
        job = await alice.print_document(
            "office", PDF, document_name="a.pdf", document_format="application/pdf"
        )
        await asyncio.wait_for(crashy.wait(), WAIT)  # it took the job and died
        await admin.call(a.ResumeDevice(printer_name="spare"), a.DeviceResponse)
        final = await alice.wait_for_final(job.job_id, timeout=WAIT)
        assert final.job_state == JobState.COMPLETED and final.output_device_assigned == "spare"
        assert "job-redirected" in final.job_state_reasons
        # The crashed manager comes back: it does not print the job too.
        await crashy.start(MANAGER_READY)
        (device,) = [d for d in await admin.devices() if d.device_name == "office"]
        assert device.online and not device.job_ids
    finally:
        await crashy.stop()
    assert [j.state for j in spare.jobs.values()] == ["completed"]
    assert not output.exists() or not [p for p in output.iterdir() if not p.name.startswith(".")]
