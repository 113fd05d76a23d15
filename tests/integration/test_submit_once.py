"""A job submitted once, whatever dies: the service SIGKILLs itself right after a
CreateJob's or PrintJob's job is committed and before its answer leaves
(CIRRUS_SERVICE_CRASH_AT=after-create-commit, server/faults.py). The client sees the
outcome unknown (its probe is bounced), sends the request again with the same
idempotency key until the restarted service answers, and gets the one job: one job in
the service, printed once. Likewise when the XMPP server dies at that point."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from cirrus.stack import toml
from cirrus.stack.local import SERVICE_READY
from cirrus.stack.process import ManagedProcess
from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from server.handlers import job_ops
from stanzas.states import JobState
from tests.conftest import Harness, make_service_settings
from tests.integration.test_print_flow import SAMPLE, WAIT

pytestmark = pytest.mark.slow


@pytest.mark.every_xmpp_server
@pytest.mark.parametrize("operation", ["PrintJob", "CreateJob"])
async def test_a_job_committed_before_the_service_died_is_created_and_printed_once(
    harness: Harness, operation: str
) -> None:
    state = harness.tmp / "dying-service"
    config = make_service_settings(state, harness.xmpp).model_dump(mode="json")
    path = toml.write(state / "service.toml", config)
    service = ManagedProcess("service", "server", ["--config", str(path)], harness.tmp / "svc.log")
    await service.start(SERVICE_READY, env={"CIRRUS_SERVICE_CRASH_AT": "after-create-commit"})
    try:
        sim = SimDriver(speed=0.0)
        await harness.manager(sim)
        alice = await harness.client("alice")
        if operation == "PrintJob":
            submitting = asyncio.create_task(alice.print_files("office", [SAMPLE]))
        else:
            submitting = asyncio.create_task(alice.create_job("office", job_name="big one"))

        # The service dies with the job committed and the answer unsent ...
        assert await asyncio.wait_for(service.wait(), WAIT) == -signal.SIGKILL
        assert not submitting.done()  # ... and the client keeps asking, with the same key
        await service.start(SERVICE_READY)  # the same database, no crash this time

        job = await asyncio.wait_for(submitting, WAIT)
        if operation == "CreateJob":
            await alice.send_document(job.job_id, SAMPLE)
        final = await alice.wait_for_final(job.job_id, timeout=WAIT)
        everything = await alice.get_jobs(which="all")
    finally:
        await harness.close()
        await service.stop()

    assert final.job_state == JobState.COMPLETED
    assert [j.job_id for j in everything] == [job.job_id]  # one job, not two
    assert [d.state for d in sim.jobs.values()] == ["completed"]  # printed once


async def test_a_job_committed_before_prosody_died_is_created_and_printed_once(
    service: ServiceApp,
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Prosody dies instead (SIGKILL, at the same point: committed, not answered; it is
    started per test, so the test may kill it); every connection drops, and the client
    sends the request again once it is back."""
    killed = asyncio.Event()

    def kill_prosody(point: str) -> None:
        if point == "after-create-commit" and not killed.is_set():
            assert harness.xmpp.pid is not None
            os.kill(harness.xmpp.pid, signal.SIGKILL)
            killed.set()

    monkeypatch.setattr(job_ops, "crash_point", kill_prosody)
    sim = SimDriver(speed=0.0)
    await harness.manager(sim)
    alice = await harness.client("alice")
    with alice.time_limit(WAIT):
        submitting = asyncio.create_task(alice.print_files("office", [SAMPLE]))
        await asyncio.wait_for(killed.wait(), WAIT)
        await harness.xmpp.restart()
        job = await asyncio.wait_for(submitting, WAIT)
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.COMPLETED
    assert [j.job_id for j in await alice.get_jobs(which="all")] == [job.job_id]
    assert [d.state for d in sim.jobs.values()] == ["completed"]
