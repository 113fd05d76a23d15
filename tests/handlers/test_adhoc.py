"""The administrators' plugin on the component: an ad-hoc command (XEP-0050) refused to
someone who may not run it is an answer, logged once at INFO, not an error; and what the
plugin registers on the component, it takes away again."""

from __future__ import annotations

import logging

import pytest

from server.admin.plugin import AdminPlugin
from tests.handlers.stream import ACCEPT, ALICE, OPERATOR, SERVICE, Stream

COMMANDS = "http://jabber.org/protocol/commands"
STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def command(sender: str, node: str) -> str:
    return (
        f"<iq type='set' id='c1' from='{sender}' to='{SERVICE}'>"
        f"<command xmlns='{COMMANDS}' node='{node}' action='execute'/></iq>"
    )


@pytest.mark.parametrize(
    ("sender", "node", "why"),
    [
        (ALICE, "pause", "Sorry, these commands are for the print service's operators"),
        (OPERATOR, "delete", "Sorry, 'delete' is for administrators"),
    ],
)
async def test_a_refused_command_is_answered_and_logged_once_at_info(
    stream: Stream, caplog: pytest.LogCaptureFixture, sender: str, node: str, why: str
) -> None:
    caplog.set_level(logging.DEBUG)
    out = await stream.feed(command(sender, node))
    assert [(s.tag, s.get("type"), s.get("id"), s.get("to")) for s in out] == [
        (f"{{{ACCEPT}}}iq", "error", "c1", sender)
    ]
    assert out[0].find(f".//{{{STANZAS}}}forbidden") is not None
    assert [r.levelname for r in caplog.records if r.levelno >= logging.WARNING] == []
    refusals = [r for r in caplog.records if r.name == "server.admin.adhoc"]
    assert [(r.levelno, r.getMessage(), r.exc_info) for r in refusals] == [
        (logging.INFO, f"ad-hoc {node} from {sender} refused: {why} (forbidden)", None)
    ]


async def test_the_plugin_takes_away_what_it_registered(stream: Stream) -> None:
    component, ctx = stream.component, stream.ctx
    plugin: AdminPlugin = stream.app.admin
    listeners = list(ctx.job_states.listeners), list(ctx.queue_states.listeners)
    plugin.unregister()
    assert component.request_observers == []
    assert plugin.alerts.job_changed not in ctx.job_states.listeners
    assert plugin.alerts.queue_changed not in ctx.queue_states.listeners
    out = await stream.feed(command(OPERATOR, "pause"))  # no ad-hoc commands any more
    assert out[0].get("type") == "error" and out[0].find(f".//{{{STANZAS}}}forbidden") is None
    plugin.register(component)
    assert (list(ctx.job_states.listeners), list(ctx.queue_states.listeners)) == listeners
    assert len(component.request_observers) == 1
    out = await stream.feed(command(ALICE, "pause"))
    assert out[0].find(f".//{{{STANZAS}}}forbidden") is not None  # served again
