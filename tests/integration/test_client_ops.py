"""Seed 001 Table 1: one test per MUST rule we can observe, through a real Prosody,
service, manager (sim device) and client. Tests are named after the rule."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from cirrus.client import CirrusClient
from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from server.context import ServiceContext
from server.jobs import housekeeping
from stanzas.errors import (
    AttributesNotSupported,
    DocumentFormatNotSupported,
    NotAcceptingJobs,
    NotAuthorized,
    NotFound,
    NotPossible,
    OperationNotSupported,
    UriSchemeNotSupported,
)
from stanzas.groups import JobTicket, QueueConfiguration
from stanzas.states import DocumentState, JobState
from tests.conftest import Harness
from tests.integration.test_print_flow import SAMPLE, WAIT, states_until


@dataclass
class Env:
    service: ServiceApp
    harness: Harness
    sim: SimDriver
    alice: CirrusClient

    async def configure(self, **settings: object) -> None:
        """Queue configuration (what SetServiceElements sets; written to the store here)."""
        svc = self.service.service
        queue = await svc.queues.get("office")
        assert queue is not None
        config = queue.configuration.model_copy(update=settings)
        await svc.queues.update(queue, configuration=QueueConfiguration.model_validate(config))

    async def client(self, user: str) -> CirrusClient:
        return await self.harness.client(user)


@pytest.fixture
async def env(service: ServiceApp, harness: Harness) -> AsyncIterator[Env]:
    sim = SimDriver()
    await harness.manager(sim)
    yield Env(service, harness, sim, await harness.client("alice"))


async def final(client: CirrusClient, job_id: int) -> JobState:
    return (await client.wait_for_final(job_id, timeout=WAIT)).job_state


# --- Create<Service>Job ---------------------------------------------------------------------


async def test_create_job_fails_when_the_queue_is_not_accepting_jobs(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver(accepting=False))
    alice = await harness.client("alice")
    with pytest.raises(NotAcceptingJobs):
        await alice.create_job("office")
    assert await service.service.jobs.list_active() == []


async def test_create_job_with_job_hold_until_is_pending_held(env: Env) -> None:
    job = await env.alice.create_job("office", ticket=JobTicket(job_hold_until="indefinite"))
    assert job.job_state == JobState.PENDING_HELD
    assert "job-hold-until-specified" in job.job_state_reasons
    await env.alice.send_document(job.job_id, SAMPLE)
    assert (await env.alice.get_job(job.job_id)).job_state == JobState.PENDING_HELD
    assert env.sim.jobs == {}  # a held job is never handed to the device


async def test_create_job_drops_unsupported_elements_and_names_them(env: Env) -> None:
    job = await env.alice.create_job(
        "office", ticket=JobTicket(media="na_foolscap_8.5x13in", copies=2)
    )
    assert job.unsupported_elements == ["media"]
    assert job.job_ticket is not None
    assert job.job_ticket.media is None and job.job_ticket.copies == 2


async def test_create_job_fails_when_an_unsupported_element_is_mandatory(env: Env) -> None:
    with pytest.raises(AttributesNotSupported, match="media"):
        await env.alice.create_job(
            "office", ticket=JobTicket(media="na_foolscap_8.5x13in"), mandatory=["media"]
        )
    await env.configure(job_mandatory_elements=["finishings"])  # a queue-wide rule
    with pytest.raises(AttributesNotSupported, match="finishings"):
        await env.alice.create_job("office", ticket=JobTicket(finishings=[4]))  # staple
    assert await env.service.service.jobs.list_active() == []


async def test_the_default_job_ticket_applies_under_the_jobs_own(env: Env) -> None:
    await env.configure(default_job_ticket=JobTicket(copies=3, print_color_mode="monochrome"))
    job = await env.alice.print_files("office", [SAMPLE], ticket=JobTicket(copies=2))
    assert await final(env.alice, job.job_id) == JobState.COMPLETED
    ticket = env.sim.jobs[1].ticket
    assert (ticket.copies, ticket.print_color_mode) == (2, "monochrome")


# --- Send<Service>Document / Close<Service>Job ---------------------------------------------


async def test_send_document_is_refused_once_inputs_are_closed(env: Env) -> None:
    job = await env.alice.print_files("office", [SAMPLE])
    with pytest.raises(NotPossible, match="closed"):
        await env.alice.send_document(job.job_id, SAMPLE)


async def test_an_empty_last_send_document_closes_the_job(env: Env) -> None:
    job = await env.alice.create_job("office")
    await env.alice.send_document(job.job_id, SAMPLE, last_document=False)
    assert "job-incoming" in (await env.alice.get_job(job.job_id)).job_state_reasons
    await env.alice.close_job(job.job_id)
    assert await final(env.alice, job.job_id) == JobState.COMPLETED


async def test_send_document_refuses_a_format_the_device_does_not_take(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver(document_formats=["application/pdf"]))
    alice = await harness.client("alice")
    job = await alice.create_job("office")
    with pytest.raises(DocumentFormatNotSupported):
        await alice.send_document(job.job_id, SAMPLE, document_format="image/heic")


async def test_a_multi_document_job_prints_every_document_in_order(
    env: Env, tmp_path: Path
) -> None:
    second = tmp_path / "second.pdf"
    second.write_bytes(SAMPLE.read_bytes() + b"%second\n")
    job = await env.alice.print_files("office", [SAMPLE, second])
    assert job.number_of_documents == 2
    assert await final(env.alice, job.job_id) == JobState.COMPLETED
    names = [d.name for d in env.sim.jobs[1].documents]
    assert names == [SAMPLE.name, "second.pdf"]


async def test_close_job_closes_an_open_job_and_is_accepted_again_when_closed(env: Env) -> None:
    job = await env.alice.create_job("office")
    await env.alice.send_document(job.job_id, SAMPLE, last_document=False)
    closed = await env.alice.close(job.job_id)
    assert "job-incoming" not in closed.job_state_reasons
    assert await final(env.alice, job.job_id) == JobState.COMPLETED
    again = await env.alice.close(job.job_id)  # any state, already closed: still accepted
    assert again.job_state == JobState.COMPLETED


async def test_close_job_is_for_the_owner_or_an_administrator(env: Env) -> None:
    job = await env.alice.create_job("office")
    with pytest.raises(NotAuthorized):
        await (await env.client("operator")).close(job.job_id)
    admin = await env.client("admin")
    await env.alice.send_document(job.job_id, SAMPLE, last_document=False)
    assert (await admin.close(job.job_id)).job_id == job.job_id


async def test_multiple_operation_time_out_processes_what_arrived(env: Env) -> None:
    await env.configure(multiple_operation_time_out=60)
    job = await env.alice.create_job("office")
    await env.alice.send_document(job.job_id, SAMPLE, last_document=False)
    svc = env.service.service
    await housekeeping.sweep(svc, now=svc.now() + 30)
    assert "job-incoming" in (await env.alice.get_job(job.job_id)).job_state_reasons
    await housekeeping.sweep(svc, now=svc.now() + 61)
    assert await final(env.alice, job.job_id) == JobState.COMPLETED


async def test_multiple_operation_time_out_can_abort_the_job(env: Env) -> None:
    await env.configure(
        multiple_operation_time_out=60, multiple_operation_time_out_action="abort-job"
    )
    job = await env.alice.create_job("office")
    svc = env.service.service
    await housekeeping.sweep(svc, now=svc.now() + 61)
    status = await env.alice.get_job(job.job_id)
    assert status.job_state == JobState.ABORTED
    assert (
        status.job_state_message is not None
        and "multiple-operation-time-out" in status.job_state_message
    )


# --- Send<Service>Uri ----------------------------------------------------------------------


@pytest.fixture
async def web_server() -> AsyncIterator[str]:
    async def sample(_request: web.Request) -> web.StreamResponse:
        return web.FileResponse(SAMPLE)

    app = web.Application()
    app.router.add_get("/sample.pdf", sample)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_send_uri_prints_a_document_the_service_fetched(env: Env, web_server: str) -> None:
    await env.configure(allow_private_document_uris=True)  # the test server is on loopback
    job = await env.alice.create_job("office", job_name="by reference")
    await env.alice.send_uri(
        job.job_id, f"{web_server}/sample.pdf", document_format="application/pdf"
    )
    assert await final(env.alice, job.job_id) == JobState.COMPLETED
    assert env.sim.jobs[1].byte_count == SAMPLE.stat().st_size
    documents = await env.alice.get_documents(job.job_id)
    assert documents.document[0].document_uri == f"{web_server}/sample.pdf"


async def test_send_uri_failures_abort_the_job_with_document_access_error(
    env: Env, web_server: str
) -> None:
    await env.configure(allow_private_document_uris=True)
    missing = await env.alice.create_job("office")
    await env.alice.send_uri(missing.job_id, f"{web_server}/nothing-here.pdf")
    gone = await env.alice.wait_for_final(missing.job_id, timeout=WAIT)
    assert gone.job_state == JobState.ABORTED
    assert "document-access-error" in gone.job_state_reasons
    assert gone.job_state_message is not None and "404" in gone.job_state_message


async def test_send_uri_refuses_internal_addresses_unless_the_queue_allows_them(
    env: Env, web_server: str
) -> None:
    job = await env.alice.create_job("office")
    await env.alice.send_uri(job.job_id, f"{web_server}/sample.pdf")
    refused = await env.alice.wait_for_final(job.job_id, timeout=WAIT)
    assert refused.job_state == JobState.ABORTED
    assert refused.job_state_message is not None and "loopback" in refused.job_state_message
    assert env.sim.jobs == {}


async def test_send_uri_refuses_unsupported_uri_schemes(env: Env) -> None:
    job = await env.alice.create_job("office")
    with pytest.raises(UriSchemeNotSupported):
        await env.alice.send_uri(job.job_id, "ftp://files.example/doc.pdf")
    with pytest.raises(UriSchemeNotSupported):
        await env.alice.send_uri(job.job_id, "file:///etc/passwd")


# --- Add<Service>HardcopyDocument ------------------------------------------------------------


async def test_add_hardcopy_document_is_not_supported_for_print(env: Env) -> None:
    from stanzas import client_ops as ops

    job = await env.alice.create_job("office")
    with pytest.raises(OperationNotSupported):
        await env.alice.session.request(
            ops.AddHardcopyDocument(job_id=job.job_id), ops.AddHardcopyDocumentResponse
        )


# --- Cancel… --------------------------------------------------------------------------------


async def test_cancel_current_job_without_job_id_cancels_the_processing_job(env: Env) -> None:
    env.sim.speed = 600.0
    job = await env.alice.print_files("office", [SAMPLE])
    await states_until(env.alice, job.job_id, lambda s: s.job_state == JobState.PROCESSING)
    canceled = await env.alice.cancel_current_job("office")
    assert [j.job_id for j in canceled] == [job.job_id]
    assert await final(env.alice, job.job_id) == JobState.CANCELED


async def test_cancel_current_job_with_a_job_id_not_processing_is_refused(env: Env) -> None:
    job = await env.alice.create_job("office")  # pending, not current
    with pytest.raises(NotPossible):
        await env.alice.cancel_current_job("office", job.job_id)


async def test_cancel_current_job_with_nothing_processing_is_refused(env: Env) -> None:
    with pytest.raises(NotPossible):
        await env.alice.cancel_current_job("office")


async def test_cancel_current_job_of_another_user_is_refused(env: Env) -> None:
    env.sim.speed = 600.0
    job = await env.alice.print_files("office", [SAMPLE])
    await states_until(env.alice, job.job_id, lambda s: s.job_state == JobState.PROCESSING)
    bob = await env.client("bob")
    with pytest.raises(NotPossible):
        await bob.cancel_current_job("office")
    with pytest.raises(NotAuthorized):
        await bob.cancel_current_job("office", job.job_id)
    operator = await env.client("operator")
    assert [j.job_id for j in await operator.cancel_current_job("office")] == [job.job_id]


async def test_cancel_my_jobs_is_all_or_nothing(env: Env) -> None:
    bob = await env.client("bob")
    mine = await env.alice.create_job("office")
    theirs = await bob.create_job("office")
    with pytest.raises(NotAuthorized) as refused:
        await env.alice.cancel_my_jobs(job_ids=[mine.job_id, theirs.job_id])
    assert refused.value.job_ids == [theirs.job_id]
    assert (await env.alice.get_job(mine.job_id)).job_state == JobState.PENDING
    assert (await bob.get_job(theirs.job_id)).job_state == JobState.PENDING


async def test_cancel_my_jobs_warns_about_jobs_already_ended(env: Env) -> None:
    done = await env.alice.print_files("office", [SAMPLE])
    await final(env.alice, done.job_id)
    live = await env.alice.create_job("office")
    result = await env.alice.cancel_my_jobs(job_ids=[done.job_id, live.job_id])
    assert result.job_ids == [live.job_id]
    assert result.already_terminated_job_ids == [done.job_id]
    assert (await env.alice.get_job(live.job_id)).job_state == JobState.CANCELED


async def test_cancel_my_jobs_without_ids_cancels_only_my_active_jobs(env: Env) -> None:
    bob = await env.client("bob")
    a = await env.alice.create_job("office")
    b = await env.alice.create_job("office")
    theirs = await bob.create_job("office")
    result = await env.alice.cancel_my_jobs("office")
    assert sorted(result.job_ids) == [a.job_id, b.job_id]
    assert (await bob.get_job(theirs.job_id)).job_state == JobState.PENDING


async def test_cancel_job_is_refused_while_a_cancel_is_on_its_way(env: Env) -> None:
    env.sim.speed = 600.0
    job = await env.alice.print_files("office", [SAMPLE])
    await states_until(env.alice, job.job_id, lambda s: s.job_state == JobState.PROCESSING)
    env.sim.unreachable = True  # the device cannot confirm: the cancel stays on its way
    await env.alice.cancel_job(job.job_id)
    with pytest.raises(NotPossible, match="being canceled"):
        await env.alice.cancel_job(job.job_id)
    with pytest.raises(NotPossible) as stuck:
        await env.alice.cancel_my_jobs(job_ids=[job.job_id])
    assert stuck.value.job_ids == [job.job_id]


async def test_cancel_document_leaves_the_other_documents_to_print(
    env: Env, tmp_path: Path
) -> None:
    other = tmp_path / "keep.pdf"
    other.write_bytes(SAMPLE.read_bytes())
    job = await env.alice.create_job("office", ticket=JobTicket(job_hold_until="indefinite"))
    await env.alice.send_document(job.job_id, SAMPLE, last_document=False)
    await env.alice.send_document(job.job_id, other, last_document=True)
    canceled = await env.alice.cancel_document(job.job_id, 1)
    assert canceled.document_state == DocumentState.CANCELED
    await env.alice.release_job(job.job_id)
    assert await final(env.alice, job.job_id) == JobState.COMPLETED
    assert [d.name for d in env.sim.jobs[1].documents] == ["keep.pdf"]


async def test_canceling_every_document_completes_the_job(env: Env) -> None:
    job = await env.alice.create_job("office", ticket=JobTicket(job_hold_until="indefinite"))
    await env.alice.send_document(job.job_id, SAMPLE)
    await env.alice.cancel_document(job.job_id, 1)
    assert (await env.alice.get_job(job.job_id)).job_state == JobState.COMPLETED
    with pytest.raises(NotPossible):
        await env.alice.cancel_document(job.job_id, 1)


# --- reading --------------------------------------------------------------------------------


async def test_get_job_elements_returns_the_requested_groups(env: Env) -> None:
    await env.configure(default_job_ticket=JobTicket(sides="one-sided"))
    job = await env.alice.create_job("office", ticket=JobTicket(copies=2))
    status_only = await env.alice.get_job_elements(job.job_id, ["job-status"])
    assert status_only.job.job_ticket is None and status_only.job_receipt is None
    everything = await env.alice.get_job_elements(job.job_id)
    assert everything.job.job_ticket is not None and everything.job.job_ticket.copies == 2
    assert everything.job_receipt is not None
    assert (everything.job_receipt.copies, everything.job_receipt.sides) == (2, "one-sided")


async def test_job_lists_trim_other_users_jobs_for_non_operators(env: Env) -> None:
    bob = await env.client("bob")
    theirs = await bob.create_job("office", job_name="bob's secret plan")
    mine = await env.alice.create_job("office", job_name="mine")
    jobs = {j.job_id: j for j in await env.alice.get_jobs("office", my_jobs=False)}
    assert jobs[mine.job_id].job_name == "mine"
    assert jobs[theirs.job_id].job_name is None
    assert jobs[theirs.job_id].job_originating_user_name is None
    operator = await env.client("operator")
    seen = {j.job_id: j for j in await operator.get_jobs("office", my_jobs=False)}
    assert seen[theirs.job_id].job_name == "bob's secret plan"
    assert [j.job_id for j in await env.alice.get_jobs("office")] == [mine.job_id]


async def test_job_history_lists_only_ended_jobs_newest_first(env: Env) -> None:
    first = await env.alice.print_files("office", [SAMPLE])
    await final(env.alice, first.job_id)
    second = await env.alice.create_job("office")
    await env.alice.cancel_job(second.job_id)
    active = await env.alice.create_job("office")
    history = await env.alice.get_jobs("office", which="completed")
    assert [j.job_id for j in history] == [second.job_id, first.job_id]
    assert active.job_id not in [j.job_id for j in history]
    assert len(await env.alice.get_jobs("office", which="completed", limit=1)) == 1


async def test_get_documents_and_document_elements(env: Env) -> None:
    job = await env.alice.print_files("office", [SAMPLE])
    listing = await env.alice.get_documents(job.job_id)
    assert [d.document_name for d in listing.document] == [SAMPLE.name]
    one = await env.alice.get_document(job.job_id, 1)
    assert one.document_size == SAMPLE.stat().st_size
    with pytest.raises(NotFound):
        await env.alice.get_document(job.job_id, 2)
    with pytest.raises(NotAuthorized):
        await (await env.client("bob")).get_documents(job.job_id)


async def test_get_service_elements_returns_the_requested_groups(env: Env) -> None:
    service = await env.alice.get_service_elements("office", ["capabilities", "status"])
    assert service.capabilities is not None and service.capabilities.media_supported
    assert service.status is not None and service.status.printer_state is not None
    assert service.description is None and service.configuration is None
    full = await env.alice.get_service_elements("office")
    assert full.description is not None and full.description.printer_name == "office"
    assert full.is_accepting_jobs is True
    queues = await env.alice.list_queues()
    assert [q.description.printer_name for q in queues if q.description] == ["office"]


# --- changing jobs and documents -------------------------------------------------------------


async def test_set_job_elements_is_atomic(env: Env) -> None:
    job = await env.alice.create_job(
        "office", ticket=JobTicket(copies=1, job_hold_until="indefinite")
    )
    with pytest.raises(AttributesNotSupported):
        await env.alice.set_job_elements(
            job.job_id, JobTicket(copies=5, media="na_foolscap_8.5x13in")
        )
    unchanged = await env.alice.get_job_elements(job.job_id)
    assert unchanged.job.job_ticket is not None and unchanged.job.job_ticket.copies == 1


async def test_set_job_elements_with_no_value_deletes_the_element(env: Env) -> None:
    job = await env.alice.create_job("office", ticket=JobTicket(copies=4, sides="one-sided"))
    changed = await env.alice.set_job_elements(job.job_id, JobTicket(copies=2), delete=["sides"])
    assert changed.job_ticket is not None
    assert (changed.job_ticket.copies, changed.job_ticket.sides) == (2, None)


async def test_hold_and_release_through_job_hold_until(env: Env) -> None:
    job = await env.alice.create_job("office")
    held = await env.alice.hold_job(job.job_id)
    assert held.job_state == JobState.PENDING_HELD
    await env.alice.send_document(job.job_id, SAMPLE)
    assert env.sim.jobs == {}
    released = await env.alice.release_job(job.job_id)
    assert released.job_state == JobState.PENDING
    assert await final(env.alice, job.job_id) == JobState.COMPLETED


async def test_a_job_on_its_device_can_no_longer_be_changed(env: Env) -> None:
    env.sim.speed = 600.0
    job = await env.alice.print_files("office", [SAMPLE])
    await states_until(env.alice, job.job_id, lambda s: s.job_state == JobState.PROCESSING)
    with pytest.raises(NotPossible):
        await env.alice.set_job_elements(job.job_id, JobTicket(copies=9))
    with pytest.raises(NotPossible):
        await env.alice.hold_job(job.job_id)


async def test_set_document_elements_is_atomic_and_deletes_elements(env: Env) -> None:
    job = await env.alice.create_job("office", ticket=JobTicket(job_hold_until="indefinite"))
    await env.alice.send_document(job.job_id, SAMPLE)
    changed = await env.alice.set_document_elements(
        job.job_id, 1, ticket=JobTicket(copies=2, sides="one-sided"), document_name="renamed.pdf"
    )
    assert changed.document_name == "renamed.pdf"
    with pytest.raises(AttributesNotSupported):
        await env.alice.set_document_elements(
            job.job_id, 1, ticket=JobTicket(copies=3, media="na_foolscap_8.5x13in")
        )
    kept = await env.alice.get_document(job.job_id, 1)
    assert kept.document_ticket is not None and kept.document_ticket.copies == 2
    gone = await env.alice.set_document_elements(job.job_id, 1, delete=["sides"])
    assert gone.document_ticket is not None and gone.document_ticket.sides is None


async def test_suspend_current_job_then_resume_it(env: Env) -> None:
    env.sim.speed = 1.0
    job = await env.alice.print_files("office", [SAMPLE])
    await states_until(env.alice, job.job_id, lambda s: s.job_state == JobState.PROCESSING)
    suspended = await env.alice.suspend_current_job("office")
    assert [j.job_id for j in suspended] == [job.job_id]
    assert suspended[0].job_state == JobState.PROCESSING_STOPPED
    assert "job-suspended" in suspended[0].job_state_reasons
    with pytest.raises(NotPossible):
        await env.alice.suspend_current_job("office", job.job_id)  # already suspended
    resumed = await env.alice.resume_job(job.job_id)
    assert "job-suspended" not in resumed.job_state_reasons
    assert await final(env.alice, job.job_id) == JobState.COMPLETED
    with pytest.raises(NotPossible):
        await env.alice.resume_job(job.job_id)  # not suspended


async def test_resubmit_needs_a_retained_job(env: Env) -> None:
    job = await env.alice.print_files("office", [SAMPLE])
    await final(env.alice, job.job_id)
    with pytest.raises(NotPossible, match="no longer retained"):  # default: discard after
        await env.alice.resubmit_job(job.job_id)
    live = await env.alice.create_job("office")
    with pytest.raises(NotPossible):
        await env.alice.resubmit_job(live.job_id)


async def test_resubmit_makes_a_new_job_with_overrides(env: Env, web_server: str) -> None:
    await env.configure(document_retention="keep", allow_private_document_uris=True)
    job = await env.alice.create_job("office", ticket=JobTicket(copies=1, sides="one-sided"))
    await env.alice.send_document(job.job_id, SAMPLE, last_document=False)
    await env.alice.send_uri(job.job_id, f"{web_server}/sample.pdf", last_document=True)
    assert await final(env.alice, job.job_id) == JobState.COMPLETED
    again = await env.alice.resubmit_job(job.job_id, JobTicket(copies=3))
    assert again.job_id != job.job_id
    assert await final(env.alice, again.job_id) == JobState.COMPLETED
    second = env.sim.jobs[2]
    assert (second.ticket.copies, second.ticket.sides) == (3, "one-sided")
    assert (
        second.byte_count == 2 * SAMPLE.stat().st_size
    )  # by value copied, by reference re-fetched
    assert (await env.alice.get_job(job.job_id)).job_state == JobState.COMPLETED


async def test_validate_job_ticket_names_unsupported_elements(env: Env) -> None:
    assert await env.alice.validate_job_ticket("office", JobTicket(copies=1)) == []
    bad = JobTicket(media="na_foolscap_8.5x13in", print_quality=5)
    assert "media" in await env.alice.validate_job_ticket("office", bad)
    with pytest.raises(AttributesNotSupported):
        await env.alice.validate_job_ticket("office", bad, mandatory=["media"])
    assert (
        await env.alice.validate_document_ticket("office", JobTicket(media="iso_a4_210x297mm"))
        == []
    )


# --- data retention --------------------------------------------------------------------------


async def test_document_data_is_discarded_right_after_processing_by_default(env: Env) -> None:
    job = await env.alice.print_files("office", [SAMPLE])
    await final(env.alice, job.job_id)
    svc = env.service.service
    await _quiet(svc)
    document = await svc.documents.get(job.job_id, 1)
    assert document is not None and document.spool_name is None
    assert [p for p in svc.spool.directory.iterdir() if p.name.startswith(f"{job.job_id}-")] == []


async def test_timed_retention_and_job_history_are_enforced(env: Env) -> None:
    await env.configure(
        document_retention="timed", document_retention_period=60, job_history_period=3600
    )
    job = await env.alice.print_files("office", [SAMPLE])
    await final(env.alice, job.job_id)
    svc = env.service.service
    await _quiet(svc)
    assert (await svc.documents.get(job.job_id, 1)).spool_name is not None  # type: ignore[union-attr]
    await housekeeping.sweep(svc, now=svc.now() + 61)
    assert (await svc.documents.get(job.job_id, 1)).spool_name is None  # type: ignore[union-attr]
    assert await svc.jobs.get(job.job_id) is not None
    await housekeeping.sweep(svc, now=svc.now() + 3601)
    assert await svc.jobs.get(job.job_id) is None
    with pytest.raises(NotFound):
        await env.alice.get_job(job.job_id)


async def _quiet(svc: ServiceContext) -> None:
    """Let the service's after-commit work (retention on job end) finish."""
    await asyncio.wait_for(svc.settled(), WAIT)


# --- Identify-Printer (relayed to the device) ------------------------------------------------


async def test_identify_printer_reaches_the_device(env: Env) -> None:
    assert await env.alice.identify_printer("office", actions=["flash", "sound"], message="here")
    for _ in range(100):  # bounded: each round waits for the sim to change
        if env.sim.identified:
            break
        await env.sim.wait_for_change(1.0)
    assert env.sim.identified == [(("flash", "sound"), "here")]


async def test_a_paused_queue_shows_stopped_with_the_reason_to_users(env: Env) -> None:
    from stanzas import admin_ops as admin

    admin_client = await env.client("admin")
    await admin_client.session.request(
        admin.PauseService(printer_name="office"), admin.ServiceResponse
    )
    status = (await env.alice.get_service_elements("office", ["status"])).status
    assert status is not None and status.printer_state == "stopped"
    assert status.printer_state_reasons is not None and "paused" in status.printer_state_reasons
