"""Every payload by element name, and the thin slixmpp stanza class of each."""

from __future__ import annotations

from slixmpp import Iq, Message
from slixmpp.xmlstream import ElementBase, register_stanza_plugin

from stanzas import admin_ops, client_ops, device_ops, operating_ops
from stanzas.model import Payload
from stanzas.namespace import NS


def _payloads() -> dict[str, type[Payload]]:
    found: dict[str, type[Payload]] = {}
    for module in (device_ops, client_ops, admin_ops, operating_ops):
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, Payload) and "ELEMENT" in vars(obj):
                found[obj.ELEMENT] = obj
    return found


PAYLOADS: dict[str, type[Payload]] = _payloads()

# Payloads that travel in <message> (pushes); all others travel in <iq>.
MESSAGE_PAYLOADS = frozenset({"WorkNotification", "JobEvent"})


def _stanza_class(element: str) -> type[ElementBase]:
    """A declarative slixmpp stanza: name, namespace and plugin_attrib, nothing else.
    The pydantic model next to it does all reading and writing of the content."""
    return type(
        f"{element}Stanza",
        (ElementBase,),
        {"name": element, "namespace": NS, "plugin_attrib": element, "interfaces": set()},
    )


STANZAS: dict[str, type[ElementBase]] = {name: _stanza_class(name) for name in PAYLOADS}


def register_stanzas() -> None:
    """Teach slixmpp our elements (idempotent), so stanzas[...] and matchers see them."""
    for name, cls in STANZAS.items():
        register_stanza_plugin(Message if name in MESSAGE_PAYLOADS else Iq, cls)
