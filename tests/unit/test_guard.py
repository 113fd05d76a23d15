"""The guard every received stanza passes first (stanzas/guard.py): the limits, the
answer an IQ gets, and what is dropped instead. Over the wire: test_hostile_stanzas."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

import pytest

from stanzas import guard
from stanzas.errors import BadRequest
from stanzas.session import ComponentSession, ServiceSession
from stanzas.transport import error_from_xml

CLIENT = "{jabber:client}"


def chain(depth: int, root: str = CLIENT + "iq", **attributes: str) -> ET.Element:
    """A stanza element with depth - 1 elements nested under it."""
    top = node = ET.Element(root, attributes)
    for _ in range(depth - 1):
        node = ET.SubElement(node, "{urn:evil:1}a")
    return top


def sent_by(stream: ServiceSession | ComponentSession) -> list[ET.Element]:
    """What the stream sends, parsed as its peer would (in the stream's namespace)."""
    sent: list[ET.Element] = []

    def send(data: object) -> None:
        sent.append(ET.fromstring(f"<stream xmlns='{stream.default_ns}'>{data}</stream>")[0])

    stream.send = send  # type: ignore[method-assign]
    return sent


def test_the_limits_are_far_above_real_stanzas() -> None:
    assert guard.violation(chain(guard.MAX_DEPTH)) is None
    assert "deeper than 32" in (guard.violation(chain(guard.MAX_DEPTH + 1)) or "")
    big = ET.Element(CLIENT + "message")
    ET.SubElement(big, "{urn:evil:1}body").text = "x" * (guard.MAX_SIZE - 100)
    assert guard.violation(big) is None
    ET.SubElement(big, "{urn:evil:1}more", {"a": "y" * 200})
    assert "larger than" in (guard.violation(big) or "")


def test_a_huge_attribute_counts_toward_the_size() -> None:
    stanza = ET.Element(CLIENT + "presence", {"evil": "z" * (guard.MAX_SIZE + 1)})
    assert guard.violation(stanza) is not None


def test_a_deep_iq_get_is_answered_bad_request_without_its_payload() -> None:
    session = ServiceSession("alice@localhost/x", "pw", service_jid="print.localhost")
    sent = sent_by(session)
    stanza = chain(5000, type="get", id="q1", to="alice@localhost/x")
    stanza.set("from", "mallory@localhost/m")
    assert guard.admit(session, stanza) is False
    (reply,) = sent
    assert (reply.get("type"), reply.get("id"), reply.get("to")) == (
        "error",
        "q1",
        "mallory@localhost/m",
    )
    assert reply.get("from") is None  # a client's server stamps it
    assert len(list(reply.iter())) == 5  # iq, error, condition, text, ipp-status: no copy
    error = error_from_xml(reply)
    assert isinstance(error, BadRequest) and "deeper" in error.message


def test_a_component_names_itself_in_the_answer() -> None:
    component = ComponentSession(
        "manager.localhost", "s", service_jid="print.localhost", host="127.0.0.1", port=1
    )
    sent = sent_by(component)
    stanza = chain(100, "{jabber:component:accept}iq", type="set", id="q2")
    stanza.set("from", "mallory@localhost/m")
    stanza.set("to", "manager.localhost")
    assert guard.admit(component, stanza) is False
    assert sent[0].get("from") == "manager.localhost"


@pytest.mark.parametrize(
    ("root", "kind"),
    [
        ("iq", "result"),
        ("iq", "error"),
        ("message", "chat"),
        ("message", "error"),
        ("presence", ""),
        ("presence", "unavailable"),
    ],
)
def test_other_deep_stanzas_are_dropped_unanswered(root: str, kind: str) -> None:
    session = ServiceSession("alice@localhost/x", "pw", service_jid="print.localhost")
    sent = sent_by(session)
    stanza = chain(100, CLIENT + root, id="z", **({"type": kind} if kind else {}))
    assert guard.admit(session, stanza) is False
    assert sent == []


def test_an_answer_never_echoes_a_huge_id() -> None:
    session = ServiceSession("alice@localhost/x", "pw", service_jid="print.localhost")
    sent = sent_by(session)
    assert guard.admit(session, chain(100, type="get", id="i" * 10_000)) is False
    assert sent == []


def test_each_refusal_is_one_bounded_log_line(caplog: pytest.LogCaptureFixture) -> None:
    session = ServiceSession("alice@localhost/x", "pw", service_jid="print.localhost")
    sent_by(session)
    caplog.set_level(logging.WARNING, logger="stanzas.guard")
    stanza = chain(100, type="get", id="k" * 5000)
    stanza.set("from", "m" * 100_000)
    guard.admit(session, stanza)
    (record,) = caplog.records
    assert len(record.getMessage()) < 400 and record.exc_info is None


def test_stanzas_within_the_limits_pass_untouched() -> None:
    session = ServiceSession("alice@localhost/x", "pw", service_jid="print.localhost")
    sent = sent_by(session)
    assert guard.admit(session, chain(6, type="get", id="ok")) is True
    assert sent == []


def test_a_disco_query_set_which_slixmpp_would_leave_unanswered_is_refused() -> None:
    session = ServiceSession("alice@localhost/x", "pw", service_jid="print.localhost")
    sent = sent_by(session)
    query = ET.Element(CLIENT + "iq", {"type": "set", "id": "d1", "from": "m@localhost/m"})
    ET.SubElement(query, "{http://jabber.org/protocol/disco#info}query")
    assert guard.admit(session, query) is False
    assert error_from_xml(sent[0]).status == BadRequest.status
    query.set("type", "get")  # the real thing: slixmpp answers it
    assert guard.admit(session, query) is True
