"""Payloads in and out of slixmpp stanzas, and errors in and out of <error/>.

This is the one boundary where domain errors become XMPP stanza errors (with the
IPP status as an application-specific condition) and back.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TypeVar

from slixmpp import Iq
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import StanzaBase
from slixmpp.xmlstream.matcher.base import MatcherBase

from stanzas.errors import (
    STATUS_BY_CONDITION,
    BadRequest,
    CloudImagingError,
    ServiceUnavailable,
    Timeout,
    error_for,
    xmpp_condition,
)
from stanzas.model import Payload
from stanzas.namespace import NS, qname

P = TypeVar("P", bound=Payload)
IPP_STATUS = "ipp-status"
JOB_IDS = "job-ids"  # in an error: the jobs an all-or-nothing operation refused


def payload_element(stanza: StanzaBase) -> ET.Element | None:
    """The first child element in our namespace, if any."""
    for child in stanza.xml:
        if isinstance(child.tag, str) and child.tag.startswith("{" + NS + "}"):
            return child
    return None


class InNamespace(MatcherBase):
    """Matches stanzas of one kind (iq, message) that carry one of our payloads."""

    def match(self, xml: StanzaBase) -> bool:
        return bool(xml.name == self._criteria and payload_element(xml) is not None)


# Called with every payload element this process puts on the wire (the test suite
# validates each against docs/cirrus-cloud-imaging.xsd).
EMIT_OBSERVERS: list[Callable[[ET.Element], None]] = []


def attach(stanza: StanzaBase, payload: Payload) -> StanzaBase:
    element = payload.to_xml()
    for observer in EMIT_OBSERVERS:
        observer(element)
    stanza.xml.append(element)
    return stanza


def read(stanza: StanzaBase, payload_type: type[P]) -> P:
    element = payload_element(stanza)
    if element is None:
        raise BadRequest(f"no <{payload_type.ELEMENT} xmlns='{NS}'> in the stanza")
    return payload_type.from_xml(element)


def error_reply(iq: StanzaBase, error: CloudImagingError) -> StanzaBase:
    """An error reply carrying both the XMPP condition and the IPP status."""
    condition, error_type = xmpp_condition(error.status)
    reply = iq.reply(clear=True)
    reply["type"] = "error"
    reply["error"]["condition"] = condition
    reply["error"]["type"] = error_type
    reply["error"]["text"] = error.message[:1000]
    status = ET.SubElement(reply["error"].xml, qname(IPP_STATUS))
    status.text = error.status
    if error.job_ids:
        ET.SubElement(reply["error"].xml, qname(JOB_IDS)).text = " ".join(map(str, error.job_ids))
    return reply


def error_from_iq(iq: Iq) -> CloudImagingError:
    """The domain error an error reply stands for."""
    error = iq["error"]
    status_el = error.xml.find(qname(IPP_STATUS))
    condition = error["condition"] or "undefined-condition"
    text = error["text"] or condition
    ids_el = error.xml.find(qname(JOB_IDS))
    job_ids = (
        [int(v) for v in (ids_el.text or "").split() if v.isdigit()] if ids_el is not None else []
    )
    if status_el is not None and status_el.text:
        return error_for(status_el.text.strip(), text, job_ids)
    return error_for(STATUS_BY_CONDITION.get(condition, "server-error-internal-error"), text)


async def call(iq: Iq, request: Payload, response_type: type[P], timeout: float = 30.0) -> P:
    """Send a request in `iq` (already addressed) and return the typed response.
    Raises the peer's CloudImagingError, Timeout, or ServiceUnavailable when the
    connection is gone."""
    attach(iq, request)
    try:
        result = await iq.send(timeout=timeout)
    except IqError as exc:
        raise error_from_iq(exc.iq) from None
    except IqTimeout:
        raise Timeout(f"no answer to {request.ELEMENT} within {timeout:g} s") from None
    except (ConnectionError, asyncio.CancelledError) as exc:
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise ServiceUnavailable(str(exc)) from None
    return read(result, response_type)


def iq_type_for(request: Payload) -> str:
    """Reads (Get…, Fetch…, List…) are IQ get; everything that changes state is IQ set."""
    return "get" if request.ELEMENT.startswith(("Get", "Fetch", "List")) else "set"
