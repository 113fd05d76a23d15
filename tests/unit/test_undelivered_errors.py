"""Errors the XMPP server answers for a request that never reached the service (no
ipp-status inside), as Prosody and ejabberd word them, and the service's own."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from stanzas.errors import NotAuthorized, ServiceUnavailable
from stanzas.transport import error_from_xml, error_xml, xmpp_bounce

SERVICE = "print.localhost"
STANZA_ERRORS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def server_error(condition: str, text: str) -> ET.Element:
    reply = ET.Element("{jabber:client}iq", {"type": "error", "id": "q", "from": SERVICE})
    error = ET.SubElement(reply, "{jabber:client}error", {"type": "cancel"})
    ET.SubElement(error, f"{{{STANZA_ERRORS}}}{condition}")
    ET.SubElement(error, f"{{{STANZA_ERRORS}}}text").text = text
    return reply


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        ("remote-server-timeout", "Component unavailable"),  # Prosody 0.12
        ("forbidden", "Access denied by service policy"),  # ejabberd 23.01: no route, no s2s
    ],
)
def test_a_request_the_server_could_not_deliver_is_a_bounce(condition: str, text: str) -> None:
    assert xmpp_bounce(server_error(condition, text)) == f"{condition}: {text}"


def test_ejabberds_bounce_is_service_unavailable_not_not_authorized() -> None:
    error = error_from_xml(server_error("forbidden", "Access denied by service policy"))
    assert isinstance(error, ServiceUnavailable)
    assert error.message == "Access denied by service policy"


def test_the_services_own_refusal_stays_not_authorized() -> None:
    request = ET.Element(
        "{jabber:component:accept}iq",
        {"id": "q", "type": "get", "from": "alice@localhost/c", "to": SERVICE},
    )
    reply = error_xml(request, NotAuthorized("not your job"))
    assert reply.find(f".//{{{STANZA_ERRORS}}}forbidden") is not None
    assert xmpp_bounce(reply) is None
    assert isinstance(error_from_xml(reply), NotAuthorized)
