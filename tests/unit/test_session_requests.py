"""When a session's request ends without the service's answer, and what the error says:
a bounce by the XMPP server, a resync, the probe, the time-out and time_limit(), the
reconnect back-off. Over a real Prosody: tests/integration/test_request_fate.py."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET

import pytest

from stanzas import device_ops as ops
from stanzas import session as session_module
from stanzas.backoff import Backoff
from stanzas.errors import (
    NoAnswer,
    NotDelivered,
    NotFound,
    OutcomeUnknown,
    ServiceUnavailable,
    Timeout,
)
from stanzas.session import ServiceSession, time_limit
from stanzas.transport import error_xml, xmpp_bounce

SERVICE = "print.localhost"
CLIENT = "{jabber:client}"
STANZAS = "{urn:ietf:params:xml:ns:xmpp-stanzas}"
DEVICE = "urn:uuid:00000000-0000-4000-8000-0000000000d1"


class Wire(list[ET.Element]):
    """What the session sent, parsed; `more` is set at each stanza."""

    def __init__(self) -> None:
        super().__init__()
        self.more = asyncio.Event()

    def send(self, data: object) -> None:
        self.append(ET.fromstring(f"<s xmlns='jabber:client'>{data}</s>")[0])
        self.more.set()

    async def until(self, n: int) -> None:
        while len(self) < n:
            self.more.clear()
            await self.more.wait()


def _session() -> tuple[ServiceSession, Wire]:
    session = ServiceSession("m0@localhost/dev", "secret", service_jid=SERVICE)
    session.online.set()  # as after session_start; nothing is connected
    sent = Wire()
    session.send = sent.send  # type: ignore[method-assign]
    return session, sent


def _prosody_bounce(request: ET.Element) -> ET.Element:
    """What Prosody 0.12 answers for a component that is not connected."""
    reply = ET.Element(
        CLIENT + "iq", {"type": "error", "id": request.get("id", ""), "from": SERVICE}
    )
    error = ET.SubElement(reply, CLIENT + "error", {"type": "wait", "by": SERVICE})
    ET.SubElement(error, STANZAS + "remote-server-timeout")
    ET.SubElement(error, STANZAS + "text").text = "Component unavailable"
    ET.SubElement(error, "{xmpp:prosody.im/protocol/component}not-connected")
    return reply


def _fetch(job_id: int) -> ops.FetchJob:
    return ops.FetchJob(output_device_uuid=DEVICE, job_id=job_id)


async def _started(
    session: ServiceSession, sent: Wire, n: int
) -> list[asyncio.Task[ops.FetchJobResponse]]:
    """n requests, each sent (and waiting)."""
    tasks = [
        asyncio.create_task(session.request(_fetch(i), ops.FetchJobResponse))
        for i in range(1, n + 1)
    ]
    await sent.until(n)
    return tasks


def test_a_bounce_is_told_from_the_services_own_refusal() -> None:
    request = ET.Element(CLIENT + "iq", {"id": "q", "type": "get", "to": SERVICE})
    assert xmpp_bounce(_prosody_bounce(request)) == "remote-server-timeout: Component unavailable"
    own = error_xml(request, ServiceUnavailable("queue office is down"))
    assert xmpp_bounce(own) is None  # it carries an ipp-status: the service answered


async def test_a_bounced_request_was_not_delivered_and_ends_those_sent_before_it() -> None:
    session, sent = _session()
    first, second, third = await _started(session, sent, 3)
    session._spawn_event(_prosody_bounce(sent[1]))
    with pytest.raises(NotDelivered) as bounced:
        await second
    assert bounced.value.delivered is False and "Component unavailable" in bounced.value.message
    with pytest.raises(OutcomeUnknown) as lost:
        await first
    assert lost.value.delivered is None
    assert isinstance(lost.value, ServiceUnavailable)  # the IPP status is kept
    assert not third.done()  # sent after the bounce: a new service may still answer it
    third.cancel()


async def test_a_resync_ends_every_request_to_the_old_instance() -> None:
    session, sent = _session()
    waiting = await _started(session, sent, 2)
    seen: list[str] = []
    session.service_messages.append(lambda element: seen.append(element.tag))
    message = ET.Element(CLIENT + "message", {"from": SERVICE, "type": "headline"})
    message.append(ops.WorkNotification(output_device_uuid=DEVICE, resync=True).to_xml())
    session._spawn_event(message)
    for task in waiting:
        with pytest.raises(OutcomeUnknown, match="restarted"):
            await task
    assert len(seen) == 1  # and the manager still hears of it, to resync
    assert session._answers == {}


async def test_a_plain_work_notification_ends_nothing() -> None:
    session, sent = _session()
    (waiting,) = await _started(session, sent, 1)
    message = ET.Element(CLIENT + "message", {"from": SERVICE, "type": "headline"})
    message.append(ops.WorkNotification(output_device_uuid=DEVICE, fetchable_job_ids=[1]).to_xml())
    session._spawn_event(message)
    await asyncio.sleep(0)
    assert not waiting.done()
    waiting.cancel()


async def test_the_services_own_error_is_delivered() -> None:
    session, sent = _session()
    (waiting,) = await _started(session, sent, 1)
    session._spawn_event(error_xml(sent[0], NotFound("no job 0")))  # from the service
    with pytest.raises(NotFound) as refused:
        await waiting
    assert refused.value.delivered is True


async def test_a_request_waiting_too_long_has_the_session_ping_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "PROBE_AFTER", 0.01)
    session, sent = _session()
    (waiting,) = await _started(session, sent, 1)
    await sent.until(2)
    ping = sent[1]
    assert ping.find("{urn:xmpp:ping}ping") is not None and ping.get("to") == SERVICE
    await sent.until(4)  # an unanswered ping is replaced, one after the other
    pings = [s for s in sent if s.find("{urn:xmpp:ping}ping") is not None]
    assert len(pings) == 3 and len({p.get("id") for p in pings}) == 3
    # Woken by the third ping's send, before any timer can expire it: it is the one.
    assert [k for k in session._answers if k.startswith("probe-")] == [pings[-1].get("id")]
    session._spawn_event(_prosody_bounce(pings[-1]))  # the service is gone
    with pytest.raises(OutcomeUnknown):
        await waiting
    assert session._answers == {}
    quiet = len(sent)
    await asyncio.sleep(0.05)
    assert len(sent) == quiet  # nothing waits: no more pings
    await session.stop()


async def test_no_answer_in_time_is_an_unknown_outcome_and_a_timeout() -> None:
    session, _ = _session()
    with pytest.raises(NoAnswer) as late:
        await session.request(_fetch(1), ops.FetchJobResponse, timeout=0.01)
    assert late.value.delivered is None
    assert isinstance(late.value, Timeout) and isinstance(late.value, TimeoutError)


async def test_time_limit_bounds_every_request_of_the_block_together() -> None:
    session, sent = _session()
    started = time.monotonic()
    with time_limit(0.05):
        with pytest.raises(NoAnswer):
            await session.request(_fetch(1), ops.FetchJobResponse)  # default 30 s: cut
        with pytest.raises(NoAnswer) as unsent:
            await session.request(_fetch(2), ops.FetchJobResponse)
    assert time.monotonic() - started < 5
    assert unsent.value.delivered is False  # nothing was left for it: never sent
    assert len(sent) == 1


async def test_offline_is_not_delivered() -> None:
    session, _ = _session()
    session.online.clear()
    with pytest.raises(NotDelivered):
        await session.request(_fetch(1), ops.FetchJobResponse)


async def test_listeners_hear_offline_once_and_requests_end_unknown() -> None:
    session, sent = _session()
    session.stopping = True  # no reconnect from the test
    heard: list[bool] = []
    session.connection_listeners.append(heard.append)
    (waiting,) = await _started(session, sent, 1)
    session._on_disconnected(None)
    session._on_disconnected(None)  # a failed attempt after the loss: nothing new
    with pytest.raises(OutcomeUnknown):
        await waiting
    assert heard == [False]


def test_the_back_off_is_short_jittered_and_capped() -> None:
    backoff = Backoff(first=0.1, cap=2.0)
    delays = [backoff.next_delay() for _ in range(40)]
    assert 0.05 <= delays[0] <= 0.1
    assert all(0 < d <= 2.0 for d in delays)
    assert sum(delays[:6]) < 5  # the first few attempts come quickly
    assert all(1.0 <= d <= 2.0 for d in delays[10:])  # capped, never slixmpp's minutes
    assert len(set(delays[10:])) > 20  # jittered
    backoff.reset()
    assert backoff.next_delay() <= 0.1
