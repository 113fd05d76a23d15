"""A hostile XMPP peer for tests: a real c2s session that sends stanzas as raw text and
awaits the answers by id, from whoever sends them (the service, a manager, a client).

Raw text, because building a deep stanza with slixmpp's objects would hit the same
recursion on the sending side that the guard protects the receivers from.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

from stanzas.session import ServiceSession


class RawPeer:
    def __init__(self, session: ServiceSession) -> None:
        self.session = session
        self._waiting: dict[str, asyncio.Future[ET.Element]] = {}
        self._counter = 0
        self.reconnects = 0  # times the session came back after losing its stream
        session.add_event_handler("session_start", self._on_session_start)
        inner = session._spawn_event

        def spy(xml: ET.Element) -> None:  # sees every stanza before the session does
            waiter = self._waiting.pop(xml.get("id", ""), None)
            if waiter is not None and xml.get("type") in ("result", "error"):
                if not waiter.done():
                    waiter.set_result(xml)
                return
            inner(xml)

        session._spawn_event = spy  # type: ignore[method-assign]

    def _on_session_start(self, _event: object) -> None:
        self.reconnects += 1  # the first login happened before this peer was made

    @property
    def jid(self) -> str:
        return str(self.session.boundjid.full)

    def new_id(self) -> str:
        self._counter += 1
        return f"raw-{self._counter}"

    def send(self, text: str) -> None:
        self.session.send_raw(text)

    def expect(self, key: str) -> asyncio.Future[ET.Element]:
        waiter: asyncio.Future[ET.Element] = asyncio.get_running_loop().create_future()
        self._waiting[key] = waiter
        return waiter

    async def iq(self, to: str, payload: str, *, kind: str = "get", timeout: float = 10) -> Any:
        """Send an IQ whose payload is `payload` (raw XML) and return the answer."""
        key = self.new_id()
        waiter = self.expect(key)
        self.send(f"<iq type='{kind}' id='{key}' to='{to}'>{payload}</iq>")
        try:
            return await asyncio.wait_for(waiter, timeout)
        finally:
            self._waiting.pop(key, None)


def nested(depth: int, ns: str, name: str = "a", leaf: str = "") -> str:
    """`depth` elements, each inside the one before."""
    return f"<{name} xmlns='{ns}'>" * depth + leaf + f"</{name}>" * depth


def condition(answer: ET.Element) -> str | None:
    """The RFC 6120 condition of an error answer (None for a result)."""
    for error in answer:
        if isinstance(error.tag, str) and error.tag.endswith("}error"):
            for child in error:
                if child.tag.startswith("{urn:ietf:params:xml:ns:xmpp-stanzas}"):
                    local = child.tag.rsplit("}", 1)[-1]
                    if local != "text":
                        return local
    return None
