"""The first look at every stanza a stream receives, before slixmpp touches it.

slixmpp copies and serialises elements recursively: an IQ whose payload nests ~600
elements deep (in any namespace slixmpp handles itself: an unknown one, ad-hoc commands,
ping) raised RecursionError inside the stream's data_received, and asyncio then closed
the connection ("Fatal error on transport"). One small stanza from any user took the
service off the XMPP server, and it would do the same to a manager or a client.

So the service's component and every session (`_spawn_event`, called by the parser
with each whole stanza) ask `admit` first. A stanza over the limits never reaches
slixmpp: an IQ get/set is answered with a `bad-request` stanza error built as raw XML
(no copy of the request; not RFC 6120's `policy-violation`, which slixmpp 1.17 does not
know: its IqError raises ValueError on it and the asking slixmpp peer waits out its
time-out), anything else is dropped (RFC 6120 §8.2.3: an entity
does not answer an IQ result or error; errors for messages and presences are optional
and could be turned into loops), and each refusal is one log line of bounded length.
The connection is untouched.

It also answers the IQs slixmpp takes and never answers (RFC 6120 §8.2.3 wants an answer
to every get and set): its XEP-0030 handlers match a disco#info or disco#items query of
any type and answer only a get, so a set waited out its sender's time-out (found by
tests/fuzz_stanzas.py). Such a set gets `bad-request`.

The limits are far above real traffic and far below what breaks slixmpp:

- depth (the stanza element counts as 1): our deepest payload in docs/protocol.md is 6;
  XEP-0050 data forms are 5, pubsub items and XHTML-IM bodies rarely pass 10-15.
  32 leaves room for all of them; slixmpp's recursion breaks near 600.
- size (characters of names, attribute values and text): 1 MiB, above Prosody's own
  stanza limits (256 KiB c2s, 512 KiB for components) and ejabberd's usual ones, so
  under a normally configured server it never refuses what the server let through; it
  bounds the work one stanza can cause under a server configured without limits.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from slixmpp.xmlstream import XMLStream

from stanzas.errors import BadRequest
from stanzas.transport import send_xml, stanza_error_xml

log = logging.getLogger(__name__)

MAX_DEPTH = 32
MAX_SIZE = 1024 * 1024
# An answer carries the request's id: one longer than this (no real client makes more
# than a few dozen characters) is not echoed, so a refusal never outgrows its request.
MAX_ID = 256
_LOGGED = 120  # characters of the sender and id shown in the log line


def violation(xml: ET.Element) -> str | None:
    """Why the stanza is refused, or None. Walks the tree without recursion and stops
    at the first limit passed, so the cost is bounded by the limits, not the stanza."""
    size = 0
    stack = [(xml, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"it nests deeper than {MAX_DEPTH} elements"
        size += len(node.tag) if isinstance(node.tag, str) else 0
        size += len(node.text or "") + len(node.tail or "")
        for name, value in node.attrib.items():
            size += len(name) + len(value)
        if size > MAX_SIZE:
            return f"it is larger than {MAX_SIZE} characters"
        if len(node):
            stack.extend((child, depth + 1) for child in node)
    return None


_DISCO = ("{http://jabber.org/protocol/disco#info}", "{http://jabber.org/protocol/disco#items}")


def _left_unanswered(xml: ET.Element) -> str | None:
    """Why slixmpp would leave this IQ unanswered, or None."""
    if xml.get("type") != "set" or not isinstance(xml.tag, str) or not xml.tag.endswith("}iq"):
        return None
    for child in xml:
        if isinstance(child.tag, str) and child.tag.startswith(_DISCO):
            return "service discovery (XEP-0030) queries are IQ get"
    return None


def admit(stream: XMLStream, xml: ET.Element) -> bool:
    """True if the stanza may go on; otherwise it has been answered or dropped."""
    why = violation(xml) or _left_unanswered(xml)
    if why is None:
        return True
    kind = xml.tag.rsplit("}", 1)[-1] if isinstance(xml.tag, str) else "?"
    stanza_type = xml.get("type", "")
    key = xml.get("id", "")
    answered = kind == "iq" and stanza_type in ("get", "set") and len(key) <= MAX_ID
    log.warning(
        "%s a %s %s from %.*s (id %.*s): %s",
        "refused" if answered else "dropped",
        kind[:_LOGGED],
        stanza_type[:_LOGGED],
        _LOGGED,
        xml.get("from", "?"),
        _LOGGED,
        key,
        why,
    )
    if answered:
        reply = stanza_error_xml(
            xml,
            "bad-request",
            "modify",
            f"the stanza was refused: {why}",
            status=BadRequest.status,
            include_from=bool(getattr(stream, "is_component", False)),
        )
        send_xml(stream, reply)
    return False
