"""Payloads in and out of stanzas (as raw XML), and errors in and out of <error/>.

This is the one boundary where domain errors become XMPP stanza errors (with the
IPP status as an application-specific condition) and back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TypeVar

from slixmpp.xmlstream import XMLStream
from slixmpp.xmlstream.tostring import tostring

from stanzas.errors import (
    STATUS_BY_CONDITION,
    BadRequest,
    CloudImagingError,
    error_for,
    xmpp_condition,
)
from stanzas.model import Payload
from stanzas.namespace import NS, qname

P = TypeVar("P", bound=Payload)
IPP_STATUS = "ipp-status"
JOB_IDS = "job-ids"  # in an error: the jobs an all-or-nothing operation refused


_OURS = "{" + NS + "}"
_STANZA_ERRORS = "{urn:ietf:params:xml:ns:xmpp-stanzas}"


def request_payload(xml: ET.Element, iq_tag: str) -> ET.Element | None:
    """The payload of an IQ get/set (`iq_tag`: iq in the stream's namespace) in our
    namespace: a request for the service; None for anything else."""
    if xml.tag != iq_tag or xml.get("type") not in ("get", "set"):
        return None
    return payload_child(xml)


def payload_child(xml: ET.Element) -> ET.Element | None:
    """The first child element of a stanza's XML in our namespace, if any."""
    for child in xml:
        if isinstance(child.tag, str) and child.tag.startswith(_OURS):
            return child
    return None


# Called with every payload element this process puts on the wire (the test suite
# validates each against docs/cirrus-cloud-imaging.xsd).
EMIT_OBSERVERS: list[Callable[[ET.Element], None]] = []


def payload_xml(payload: Payload) -> ET.Element:
    """The payload as it goes on the wire."""
    element = payload.to_xml()
    for observer in EMIT_OBSERVERS:
        observer(element)
    return element


def stanza_xml(tag: str, attributes: dict[str, str], payload: Payload) -> ET.Element:
    """A stanza as raw XML (`tag` in the stream's namespace) carrying one payload:
    what the service sends most, built without slixmpp's stanza objects."""
    stanza = ET.Element(tag, attributes)
    stanza.append(payload_xml(payload))
    return stanza


def send_xml(stream: XMLStream, xml: ET.Element) -> None:
    """Send a stanza built as raw XML through slixmpp's send queue, in order with
    everything else the stream sends."""
    stream.send(tostring(xml, xmlns=stream.default_ns, stream=stream, top_level=True))


def answer_xml(request: ET.Element, payload: Payload) -> ET.Element:
    """The result IQ answering `request` (raw XML) with `payload`."""
    return stanza_xml(request.tag, _answer_attributes(request, "result"), payload)


def read_xml(xml: ET.Element, payload_type: type[P]) -> P:
    element = payload_child(xml)
    if element is None:
        raise BadRequest(f"no <{payload_type.ELEMENT} xmlns='{NS}'> in the stanza")
    return payload_type.from_xml(element)


def error_xml(request: ET.Element, error: CloudImagingError) -> ET.Element:
    """The error IQ answering `request` (raw XML): the XMPP condition and, beside it,
    the IPP status (and the refused job ids) the client turns back into `error`."""
    condition, error_type = xmpp_condition(error.status)
    return stanza_error_xml(
        request, condition, error_type, error.message, status=error.status, job_ids=error.job_ids
    )


def stanza_error_xml(
    request: ET.Element,
    condition: str,
    error_type: str,
    text: str,
    *,
    status: str | None = None,
    job_ids: list[int] | None = None,
    include_from: bool = True,
) -> ET.Element:
    """The error IQ answering `request` (raw XML) with an RFC 6120 §8.3 condition, a text
    of at most 1000 characters and, if given, the IPP status. The request's payload is not
    copied (§8.3.1 lets an error leave it out). `include_from`: a component names itself;
    a client's server stamps it."""
    attributes = _answer_attributes(request, "error")
    if not include_from:
        attributes.pop("from", None)
    reply = ET.Element(request.tag, attributes)
    ns = request.tag[: request.tag.index("}") + 1] if request.tag.startswith("{") else ""
    details = ET.SubElement(reply, ns + "error", {"type": error_type})
    ET.SubElement(details, _STANZA_ERRORS + condition)
    ET.SubElement(details, _STANZA_ERRORS + "text").text = text[:1000]
    if status is not None:
        ET.SubElement(details, qname(IPP_STATUS)).text = status
    if job_ids:
        ET.SubElement(details, qname(JOB_IDS)).text = " ".join(map(str, job_ids))
    return reply


def _answer_attributes(request: ET.Element, kind: str) -> dict[str, str]:
    attributes = {"type": kind, "id": request.get("id", "")}
    if (sender := request.get("from")) is not None:
        attributes["to"] = sender
    if (receiver := request.get("to")) is not None:
        attributes["from"] = receiver
    return attributes


def error_from_xml(xml: ET.Element) -> CloudImagingError:
    """The domain error an error reply (its raw XML) stands for."""
    error = next((c for c in xml if isinstance(c.tag, str) and c.tag.endswith("}error")), None)
    condition, text, status, job_ids = "undefined-condition", "", "", []
    for child in error if error is not None else ():
        if child.tag == _STANZA_ERRORS + "text":
            text = child.text or ""
        elif isinstance(child.tag, str) and child.tag.startswith(_STANZA_ERRORS):
            condition = child.tag[len(_STANZA_ERRORS) :]
        elif child.tag == qname(IPP_STATUS):
            status = (child.text or "").strip()
        elif child.tag == qname(JOB_IDS):
            job_ids = [int(v) for v in (child.text or "").split() if v.isdigit()]
    text = text or condition
    if status:
        return error_for(status, text, job_ids)
    return error_for(STATUS_BY_CONDITION.get(condition, "server-error-internal-error"), text)


# The conditions an XMPP server answers with when it cannot deliver to the addressee:
# Prosody 0.12 bounces an IQ to a component that is not connected with
# remote-server-timeout ("Component unavailable", from the component's JID, with
# <not-connected xmlns='xmpp:prosody.im/protocol/component'/>); ejabberd 23.01 with
# forbidden ("Access denied by service policy": no route, so s2s, which is off); other
# servers and federation use the others.
_UNDELIVERABLE = frozenset(
    {
        "forbidden",
        "service-unavailable",
        "recipient-unavailable",
        "remote-server-not-found",
        "remote-server-timeout",
    }
)


def xmpp_bounce(xml: ET.Element) -> str | None:
    """If an error answer to one of our requests is the XMPP server's (it could not
    deliver the request), its condition and text; None if it is the service's own. The
    service answers every request in our namespace with an ipp-status, and servers never
    add one."""
    error = next((c for c in xml if isinstance(c.tag, str) and c.tag.endswith("}error")), None)
    if error is None or error.find(qname(IPP_STATUS)) is not None:
        return None
    condition, text = "", ""
    for child in error:
        if child.tag == _STANZA_ERRORS + "text":
            text = (child.text or "")[:200]
        elif isinstance(child.tag, str) and child.tag.startswith(_STANZA_ERRORS):
            condition = child.tag[len(_STANZA_ERRORS) :]
    if condition not in _UNDELIVERABLE:
        return None
    return f"{condition}: {text}" if text else condition


def iq_type_for(request: Payload) -> str:
    """Reads (Get…, Fetch…, List…) are IQ get; everything that changes state is IQ set."""
    return "get" if request.ELEMENT.startswith(("Get", "Fetch", "List")) else "set"
