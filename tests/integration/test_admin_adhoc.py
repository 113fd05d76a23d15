"""The XEP-0050 ad-hoc commands, through a real XMPP client connection: discovery
(XEP-0030), XEP-0004 forms, the multi-step queue path, refusals and session expiry."""

from __future__ import annotations

from typing import Any

import pytest
from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0004 import Form

from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas import admin_ops as a
from stanzas.states import JobState
from tests.conftest import Harness
from tests.integration.test_print_flow import SAMPLE

pytestmark = pytest.mark.every_xmpp_server

SERVICE = "print.localhost"
COMMANDS = "http://jabber.org/protocol/commands"


class AdHocUser:
    """An ordinary XMPP client session with the ad-hoc plugins (as Gajim would have)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        session.register_plugin("xep_0004")
        session.register_plugin("xep_0050")

    async def nodes(self) -> list[str]:
        items = await self.session.plugin["xep_0030"].get_items(jid=SERVICE, node=COMMANDS)
        return [node for _jid, node, _name in items["disco_items"]["items"]]

    async def execute(
        self, node: str, step: str = "execute", sessionid: str | None = None, **values: Any
    ) -> Any:
        payload = None
        if values:
            payload = Form()
            payload["type"] = "submit"
            for var, value in values.items():
                payload.add_field(var=var, value=value)
        return await self.session.plugin["xep_0050"].send_command(
            SERVICE, node, action=step, payload=payload, sessionid=sessionid
        )


async def user(harness: Harness, account: str) -> AdHocUser:
    return AdHocUser((await harness.client(account)).session)


async def test_discovery_lists_the_commands_an_operator_may_run_and_nothing_to_others(
    service: ServiceApp, harness: Harness
) -> None:
    admin = await user(harness, "admin")
    operator = await user(harness, "operator")
    alice = await user(harness, "alice")
    admin_nodes = await admin.nodes()
    assert {"queue", "queues", "pause", "delete", "approve"} <= set(admin_nodes)
    operator_nodes = await operator.nodes()
    assert "pause" in operator_nodes and "delete" not in operator_nodes
    assert await alice.nodes() == []
    with pytest.raises(IqError) as refused:
        await alice.execute("queues")
    assert refused.value.iq["error"]["condition"] == "forbidden"
    with pytest.raises(IqError) as refused:
        await operator.execute("delete")
    assert refused.value.iq["error"]["condition"] == "forbidden"


async def test_a_command_without_arguments_answers_with_a_table(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    admin = await user(harness, "admin")
    result = await admin.execute("queues")
    assert result["command"]["status"] == "completed"
    form = result["command"]["form"]
    assert form["type"] == "result"
    assert list(form["reported"]) == [
        "queue",
        "type",
        "state",
        "accepting",
        "jobs",
        "device",
        "printer",
    ]
    (row,) = form["items"]
    assert row["queue"] == "office" and row["state"] == "idle"


async def test_a_command_with_arguments_asks_with_a_form_then_runs(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    operator = await user(harness, "operator")
    asked = await operator.execute("pause")
    assert asked["command"]["status"] == "executing"
    form = asked["command"]["form"]
    queue = form.get_fields()["queue"]
    assert queue["type"] == "list-single" and queue["required"]
    assert [o["value"] for o in queue["options"]] == ["office"]

    done = await operator.execute(
        "pause", step="complete", sessionid=asked["command"]["sessionid"], queue="office"
    )
    assert done["command"]["status"] == "completed"
    lines = [f["value"] for f in done["command"]["form"]["fields"]]
    assert lines[0] == "office: stopped (paused)"
    state = await service.service.queue_states.get("office")
    assert state.service_state == a.ServiceState.STOPPED

    # A failure is a completed command with an error note, not a broken session.
    asked = await operator.execute("promote")
    failed = await operator.execute(
        "promote", step="complete", sessionid=asked["command"]["sessionid"], job="77"
    )
    ((kind, note),) = failed["command"]["notes"]
    assert kind == "error" and "client-error-not-found" in note


async def test_the_queue_path_picks_a_queue_then_an_action_then_its_arguments(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    operator = await user(harness, "operator")
    alice = await harness.client("alice")
    step1 = await operator.execute("queue")
    sessionid = step1["command"]["sessionid"]
    assert "next" in step1["command"]["actions"]
    step2 = await operator.execute("queue", step="next", sessionid=sessionid, queue="office")
    actions = [o["value"] for o in step2["command"]["form"].get_fields()["action"]["options"]]
    assert "hold-new" in actions and "jobs" in actions
    assert "delete" not in actions  # an administrator's action
    wrong = await operator.execute(
        "queue", step="next", sessionid=sessionid, **{"action": "delete"}
    )
    assert wrong["command"]["notes"] == [("error", "pick one of the actions")]
    # Start again and go all the way: queue → hold-new → its 'until' form → done.
    sessionid = (await operator.execute("queue"))["command"]["sessionid"]
    await operator.execute("queue", step="next", sessionid=sessionid, queue="office")
    step3 = await operator.execute(
        "queue", step="next", sessionid=sessionid, **{"action": "hold-new"}
    )
    assert "until" in step3["command"]["form"].get_fields()
    done = await operator.execute("queue", step="complete", sessionid=sessionid, until="")
    assert done["command"]["status"] == "completed"
    assert done["command"]["notes"] == [], done
    job = await alice.print_files("office", [SAMPLE])
    assert job.job_state == JobState.PENDING_HELD


async def test_sessions_time_out(service: ServiceApp, harness: Harness) -> None:
    await harness.manager(SimDriver())
    operator = await user(harness, "operator")
    assert service.component is not None
    sessions = service.admin.adhoc.sessions
    now = [1000.0]
    sessions.clock = lambda: now[0]
    asked = await operator.execute("pause")
    assert len(sessions) == 1
    now[0] += sessions.timeout + 1
    with pytest.raises(IqError) as expired:
        await operator.execute(
            "pause", step="complete", sessionid=asked["command"]["sessionid"], queue="office"
        )
    error = expired.value.iq["error"]
    assert error["condition"] == "bad-request"
    assert error.xml.find(f"{{{COMMANDS}}}session-expired") is not None
    assert len(sessions) == 0
    state = await service.service.queue_states.get("office")
    assert state.service_state == a.ServiceState.IDLE  # nothing happened


async def test_usage_and_quotas_through_the_ad_hoc_commands(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    alice = await harness.client("alice")
    job = await alice.print_files("office", [SAMPLE])
    final = await alice.wait_for_final(job.job_id, timeout=30.0)
    assert final.job_state == JobState.COMPLETED
    operator = await user(harness, "operator")
    asked = await operator.execute("usage")
    assert asked["command"]["status"] == "executing"
    by = asked["command"]["form"].get_fields()["by"]
    assert [o["value"] for o in by["options"]] == ["user", "queue", "group"]
    done = await operator.execute(
        "usage", step="complete", sessionid=asked["command"]["sessionid"], by="queue"
    )
    assert done["command"]["status"] == "completed"
    form = done["command"]["form"]
    assert list(form["reported"]) == [
        "queue",
        "jobs",
        "documents",
        "impressions",
        "sheets",
        "octets",
    ]
    (row,) = form["items"]
    assert (row["queue"], row["jobs"], row["documents"]) == ("office", "1", "1")
    assert row["octets"] == str(SAMPLE.stat().st_size)

    # A quota is an administrator's: an operator cannot even start the command.
    alice_jid = harness.xmpp.jid("alice")
    with pytest.raises(IqError) as refused:
        await operator.execute("quota")
    assert refused.value.iq["error"]["condition"] == "forbidden"
    admin = await user(harness, "admin")
    asked = await admin.execute("quota")
    done = await admin.execute(
        "quota",
        step="complete",
        sessionid=asked["command"]["sessionid"],
        subject=alice_jid,
        period="monthly",
        jobs="1",
    )
    assert done["command"]["status"] == "completed", done
    (row,) = done["command"]["form"]["items"]
    assert (row["subject"], row["period"], row["jobs"]) == (alice_jid, "monthly", "1 of 1")
    # Alice has used her month's one job: the next is held, with the reason saying why.
    held = await alice.print_files("office", [SAMPLE])
    assert held.job_state == JobState.PENDING_HELD
    assert "account-limit-reached" in held.job_state_reasons
