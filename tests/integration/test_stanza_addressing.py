"""Every stanza the service sends carries `from` (RFC 6120 §8.1.2.1 and XEP-0114: a
component must address its stanzas). ejabberd closes the component's stream with
<improper-addressing/> on the first one without; Prosody fills `from` in silently, so
this looks at what the service itself writes, on both servers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from slixmpp.exceptions import IqError

from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from server.transport.component import ServiceComponent
from stanzas.errors import NotFound
from stanzas.states import JobState
from tests.conftest import SERVICE_JID, Harness
from tests.integration.admin_support import ChatInbox
from tests.integration.test_admin_adhoc import AdHocUser
from tests.integration.test_print_flow import SAMPLE, WAIT

pytestmark = pytest.mark.every_xmpp_server

STANZAS = ("iq", "message", "presence")


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ET.Element]]:
    """Every stanza a ServiceComponent writes to its stream, as it goes on the wire
    (raw XML and slixmpp's stanza objects alike end in send_raw)."""
    stanzas: list[ET.Element] = []
    send_raw = ServiceComponent.send_raw

    def record(self: ServiceComponent, data: str | bytes) -> None:
        text = data.decode() if isinstance(data, bytes) else data
        if not text.startswith(("<?xml", "<stream:", "</stream:")):
            element = ET.fromstring(text)
            if element.tag.rsplit("}", 1)[-1] in STANZAS:
                stanzas.append(element)
        send_raw(self, data)

    monkeypatch.setattr(ServiceComponent, "send_raw", record)
    yield stanzas


def kind(stanza: ET.Element) -> tuple[str, str]:
    return stanza.tag.rsplit("}", 1)[-1], stanza.get("type", "")


async def test_every_stanza_the_service_sends_has_from(
    service: ServiceApp, harness: Harness, written: list[ET.Element]
) -> None:
    assert service.component is not None
    drops: list[object] = []
    service.component.add_event_handler("disconnected", drops.append)

    sim = SimDriver()
    await harness.manager(sim)  # pushes: work notifications (resync) to the manager
    admin_client = await harness.client("admin")
    admin = ChatInbox(admin_client)
    alice = await harness.client("alice")

    # Chat: a reply, then alerts.
    assert await admin.ask("alerts on") == "alerts on: device-offline, job-aborted, queue-stopped"
    # Pushes (job events, work notifications) and answers; an alert when it aborts.
    sim.reject_next("client-error-document-format-not-supported", "no PDF today")
    job = await alice.print_files("office", [SAMPLE])
    assert (await alice.wait_for_final(job.job_id, timeout=WAIT)).job_state == JobState.ABORTED
    assert f"job {job.job_id}" in await admin.until(lambda text: "aborted" in text)
    # An error answer from our operations.
    with pytest.raises(NotFound):
        await alice.get_job(9999)
    # XEP-0050: discovery and a command; an error from slixmpp's side of the component.
    adhoc = AdHocUser(admin_client.session)
    assert "queues" in await adhoc.nodes()
    result = await adhoc.execute("queues")
    assert result["command"]["status"] == "completed"
    with pytest.raises(IqError):
        await adhoc.execute("no-such-command")
    # Presence: a subscription request and a probe, answered as the component likes.
    session = alice.session
    session.send_presence(pto=SERVICE_JID, ptype="subscribe")
    session.send_presence(pto=SERVICE_JID, ptype="probe")
    # A ping after them: once answered, whatever the presences caused was written.
    await session.plugin["xep_0199"].send_ping(SERVICE_JID, timeout=WAIT)
    admin.say("pause office")  # a reply and an alert
    await admin.next()
    await admin.next()

    kinds = {kind(stanza) for stanza in written}
    assert {
        ("message", "chat"),
        ("message", "headline"),
        ("iq", "result"),
        ("iq", "error"),
    } <= kinds, kinds
    assert "presence" in {tag for tag, _ in kinds}, kinds  # slixmpp answers the subscription
    unaddressed = [ET.tostring(s, encoding="unicode") for s in written if not s.get("from")]
    assert unaddressed == []
    assert {s.get("from", "").split("/")[0] for s in written} == {SERVICE_JID}
    assert drops == []  # the XMPP server never closed the component's stream
