"""The chat bot, through a real XMPP client connection: accounts send plain chat messages
to print.localhost through Prosody and read the answers."""

from __future__ import annotations

import pytest

from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas import admin_ops as a
from tests.conftest import Harness
from tests.integration.admin_support import ChatInbox
from tests.integration.test_print_flow import SAMPLE

pytestmark = pytest.mark.every_xmpp_server


async def chat(harness: Harness, user: str) -> ChatInbox:
    return ChatInbox(await harness.client(user))


async def test_help_and_the_queue_commands_read_well(service: ServiceApp, harness: Harness) -> None:
    await harness.manager(SimDriver())
    admin = await chat(harness, "admin")
    alice = await harness.client("alice")

    listing = await admin.ask("help")
    assert "```" in listing and "pause QUEUE" in listing and "delete QUEUE" in listing
    assert "promote JOB [after AFTER]" in await admin.ask("help promote")
    queues = await admin.ask("queues")
    table = queues.split("```")[1].strip().splitlines()
    assert table[0].split() == ["QUEUE", "TYPE", "STATE", "ACCEPTING", "JOBS", "DEVICE", "PRINTER"]
    assert set(table[1]) == {"-", " "}  # the rule under the header
    assert table[2].split()[:3] == ["office", "print", "idle"]
    # Columns are aligned: every cell of a column starts where its header does.
    assert table[2].index("print") == table[0].index("TYPE")

    assert (await admin.ask("pause office")).startswith("office: stopped (paused)")
    state = await service.service.queue_states.get("office")
    assert state.service_state == a.ServiceState.STOPPED
    job = await alice.print_files("office", [SAMPLE])
    jobs = await admin.ask("jobs office")
    row = jobs.split("```")[1].strip().splitlines()[2]
    assert row.split()[0] == str(job.job_id) and "printer-stopped" in row
    detail = await admin.ask(f"job {job.job_id}")
    assert detail.startswith(f"job {job.job_id}: pending") and "alice@localhost" in detail
    assert (await admin.ask("resume office")).startswith("office: ")
    assert "system-state" in await admin.ask("status")


async def test_mistakes_get_a_suggestion_a_usage_or_a_clear_error(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    operator = await chat(harness, "operator")
    assert "Did you mean 'pause'?" in await operator.ask("pasue office")
    assert (await operator.ask("pause")).startswith("usage: missing queue: pause QUEUE")
    assert "is not a job id" in await operator.ask("promote first")
    assert "client-error-not-found" in await operator.ask("pause nowhere")
    refused = await operator.ask("cancel-jobs office 999")
    assert "client-error-not-found" in refused and "jobs: 999" in refused
    assert "a quote is not closed" in await operator.ask('set office printer-info="x')


async def test_anyone_but_operators_is_refused_politely_and_nothing_happens(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    before = await service.service.queue_states.get("office")
    for account in ("alice", "mgr1"):
        inbox = await chat(harness, account)
        answer = await inbox.ask("pause office")
        assert answer.startswith("Sorry") and "nothing was done" in answer
    operator = await chat(harness, "operator")
    answer = await operator.ask("shutdown-all")
    assert answer == "Sorry, 'shutdown-all' is for administrators; nothing was done."
    assert await service.service.queue_states.get("office") == before
    # An operator's help lists only what an operator may run.
    listing = await operator.ask("help")
    assert "pause QUEUE" in listing and "shutdown-all" not in listing


async def test_alerts_come_as_chat_messages(service: ServiceApp, harness: Harness) -> None:
    sim = SimDriver()
    await harness.manager(sim)
    admin = await chat(harness, "admin")
    alice = await harness.client("alice")
    assert await admin.ask("alerts on") == "alerts on: device-offline, job-aborted, queue-stopped"

    sim.reject_next("client-error-document-format-not-supported", "no PDF today")
    job = await alice.print_files("office", [SAMPLE])
    aborted = await admin.until(lambda text: "aborted" in text)
    assert f"job {job.job_id}" in aborted and "no PDF today" in aborted

    admin.say("pause office")
    # The answer and the alert, in either order.
    both = {await admin.next(), await admin.next()}
    assert "⚠ queue office is stopped (paused)" in both
    assert any(text.startswith("office: stopped (paused)") for text in both)
    assert await admin.ask("alerts off") == "alerts off"
