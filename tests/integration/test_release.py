"""Release at the device end to end (real Prosody, the service, real managers with sim
devices, the `cirrus` command as its own process): a queue that holds every job until
its owner releases it prints nothing until `cirrus release --mine --at lobby`, then
prints the owner's jobs at `lobby` and nowhere else; someone else's waiting job stays."""

from __future__ import annotations

import asyncio

from cirrus.admin_client import AdminClient
from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas.states import JobState
from stanzas.states import JobStateReason as R
from tests.conftest import Harness
from tests.integration.test_cli import cirrus
from tests.integration.test_fan_out import PDF, manager_of
from tests.integration.test_redirection import configure

WAIT = 60.0


async def test_jobs_wait_until_released_at_a_device_and_print_there(
    service: ServiceApp, harness: Harness
) -> None:
    lobby, annex = SimDriver(), SimDriver()
    await manager_of(harness, "mgr1", {"lobby": lobby})
    await manager_of(harness, "mgr2", {"annex": annex})
    admin = AdminClient(await harness.client("admin"))
    await configure(admin, job_release_action_default="owner-authorized")
    alice, bob = await harness.client("alice"), await harness.client("bob")
    mine = [
        await alice.print_document(
            "office", PDF, document_name="a.pdf", document_format="application/pdf"
        )
        for _ in range(2)
    ]
    bobs = await bob.print_document(
        "office", PDF, document_name="b.pdf", document_format="application/pdf"
    )
    for job in (*mine, bobs):
        assert job.job_state == JobState.PENDING_HELD
        assert R.JOB_RELEASE_WAIT in job.job_state_reasons

    code, out, err = await cirrus(harness, "release", "--mine", "--at", "lobby")
    assert code == 0, err
    assert out.strip() == f"released at lobby: job {mine[0].job_id}, {mine[1].job_id}"
    finals = await asyncio.gather(*(alice.wait_for_final(j.job_id, timeout=WAIT) for j in mine))
    assert [(f.job_state, f.output_device_assigned) for f in finals] == [
        (JobState.COMPLETED, "lobby")
    ] * 2
    assert len(lobby.printed()) == 2 and annex.printed() == []
    status = await bob.get_job(bobs.job_id)
    assert status.job_state == JobState.PENDING_HELD  # Bob's is still his to release
    code, out, _ = await cirrus(harness, "release", "--mine", "--at", "lobby")
    assert code == 0 and out.strip() == "nothing of yours waits to be released at lobby"
