"""A job's life through a real Prosody, service, manager and client (sim device)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from manager.drivers.sim import SimDriver
from stanzas.errors import NotPossible
from stanzas.states import JobState
from tests.conftest import Harness

pytestmark = pytest.mark.every_xmpp_server

SAMPLE = Path(__file__).parents[2] / "cirrus" / "samples" / "sample.pdf"
WAIT = 30.0


async def states_until(client, job_id, predicate):  # type: ignore[no-untyped-def]
    """Collect the job's states as pushed until predicate(status) holds."""
    seen = []
    async for status in client.job_updates(job_id, timeout=WAIT):
        seen.append(status)
        if predicate(status):
            return seen
    return seen


async def test_happy_path_states_are_pushed_in_order(
    service, harness: Harness, schema_checked_wire: list[Any]
) -> None:
    sim = SimDriver()
    await harness.manager(sim)
    alice = await harness.client("alice")

    job = await alice.create_job("office", job_name="report")
    assert job.job_state == JobState.PENDING
    assert job.job_state_reasons == ["job-incoming"]
    uploaded = await alice.send_document(job.job_id, SAMPLE)
    assert uploaded.size == SAMPLE.stat().st_size
    seen = await states_until(alice, job.job_id, lambda s: s.job_state.is_terminal)

    final = seen[-1]
    assert final.job_state == JobState.COMPLETED
    assert final.job_state_reasons == ["job-completed-successfully"]
    assert final.time_at_completed is not None
    assert [j.name for j in sim.jobs.values()] == ["report"]
    assert sim.jobs[1].byte_count == SAMPLE.stat().st_size
    assert final.output_device_job_id == sim.jobs[1].job_id
    # Every payload that crossed the wire was checked against the XML Schema.
    emitted = {element.tag.rsplit("}", 1)[-1] for element in schema_checked_wire}
    assert {
        "RegisterDevice",
        "UpdateFetchableJobs",
        "WorkNotification",
        "FetchJob",
        "FetchJobResponse",
        "AcknowledgeJob",
        "FetchDocument",
        "FetchDocumentResponse",
        "AcknowledgeDocument",
        "UpdateJobState",
        "JobEvent",
        "CreateJob",
        "SendDocument",
    } <= emitted


async def test_rejected_job_ends_aborted_with_the_reason(service, harness: Harness) -> None:
    sim = SimDriver()
    sim.reject_next("client-error-document-format-not-supported", "PDF is not accepted here")
    await harness.manager(sim)
    alice = await harness.client("alice")

    job = await alice.print_files("office", [SAMPLE])
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)

    assert final.job_state == JobState.ABORTED
    assert "aborted-by-system" in final.job_state_reasons
    assert final.job_state_message is not None
    assert "PDF is not accepted here" in final.job_state_message
    assert all(j.state != "completed" for j in sim.jobs.values())


async def test_cancel_while_pending_never_reaches_the_device(service, harness: Harness) -> None:
    alice = await harness.client("alice")
    # The queue exists once its device registers; take the device offline afterwards.
    sim = SimDriver()
    manager = await harness.manager(sim, queue="later")
    await manager.stop()

    job = await alice.print_files("later", [SAMPLE])
    assert job.job_state == JobState.PENDING and "job-fetchable" in job.job_state_reasons
    canceled = await alice.cancel_job(job.job_id)
    assert canceled.job_state == JobState.CANCELED
    assert "job-canceled-by-user" in canceled.job_state_reasons

    sim_after = SimDriver()
    back = await harness.manager(sim_after, settings=manager.settings)
    assert back.synced.is_set()
    assert sim_after.jobs == {} and sim.jobs == {}
    with pytest.raises(NotPossible):
        await alice.cancel_job(job.job_id)


async def test_cancel_while_processing_is_confirmed_by_the_device(
    service, harness: Harness
) -> None:
    sim = SimDriver(speed=600.0)  # prints for ten minutes unless canceled
    await harness.manager(sim)
    alice = await harness.client("alice")

    job = await alice.print_files("office", [SAMPLE])
    await states_until(alice, job.job_id, lambda s: s.job_state == JobState.PROCESSING)
    requested = await alice.cancel_job(job.job_id)
    assert requested.job_state == JobState.PROCESSING
    assert "processing-to-stop-point" in requested.job_state_reasons
    with pytest.raises(NotPossible):  # already being canceled
        await alice.cancel_job(job.job_id)

    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.CANCELED
    assert "job-canceled-by-user" in final.job_state_reasons
    assert sim.jobs[1].state == "canceled"


async def test_device_stop_shows_the_reason_and_resume_completes(service, harness: Harness) -> None:
    sim = SimDriver(speed=3.0)
    await harness.manager(sim)
    alice = await harness.client("alice")

    job = await alice.print_files("office", [SAMPLE])
    await states_until(alice, job.job_id, lambda s: s.job_state == JobState.PROCESSING)
    sim.stop("media-empty", "Tray 1 is empty")  # paper out in the middle of the job
    seen = await states_until(
        alice, job.job_id, lambda s: s.job_state == JobState.PROCESSING_STOPPED
    )
    stopped = seen[-1]
    assert "printer-stopped" in stopped.job_state_reasons
    assert stopped.job_state_message is not None and "media-empty" in stopped.job_state_message

    sim.resume()
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.COMPLETED
    assert "printer-stopped" not in final.job_state_reasons


async def test_a_job_waits_for_an_unreachable_device_and_then_prints(
    service, harness: Harness
) -> None:
    tried = asyncio.Event()

    class Unplugged(SimDriver):
        async def create_job(self, ticket):  # type: ignore[no-untyped-def]
            if self.unreachable:
                tried.set()
            return await super().create_job(ticket)

    sim = Unplugged()
    await harness.manager(sim)
    alice = await harness.client("alice")
    sim.unreachable = True  # switched off, unplugged …

    job = await alice.print_files("office", [SAMPLE])
    await asyncio.wait_for(tried.wait(), WAIT)
    assert (await alice.get_job(job.job_id)).job_state == JobState.PENDING
    sim.unreachable = False  # … and back: the manager's retry takes the job, no resync needed
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.COMPLETED
    assert [j.state for j in sim.jobs.values()] == ["completed"]
