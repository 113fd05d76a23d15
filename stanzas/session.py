"""An XMPP session to the Cloud Imaging Service, shared by managers and clients.

Two ways in: a user account over c2s with TLS required (STARTTLS, verified against
the given CA), or an external component (XEP-0114) for a manager on the XMPP
server's trusted network. slixmpp does not reconnect after a live stream drops,
so both do, with slixmpp's growing delays between attempts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import ssl
import threading
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from slixmpp import JID, ClientXMPP
from slixmpp.componentxmpp import ComponentXMPP
from slixmpp.jid import InvalidJID
from slixmpp.util import bytes as slixmpp_bytes
from slixmpp.util.sasl.mechanisms import SCRAM

from stanzas.errors import ServiceUnavailable, Timeout
from stanzas.guard import admit
from stanzas.model import Payload
from stanzas.registry import register_stanzas
from stanzas.transport import (
    error_from_xml,
    iq_type_for,
    payload_child,
    read_xml,
    send_xml,
    stanza_xml,
)

log = logging.getLogger(__name__)
P = TypeVar("P", bound=Payload)


def _scram_hi(self: SCRAM, text: str | bytes | None, salt: bytes, iterations: int) -> bytes:
    """SCRAM's Hi() (RFC 5802 §2.2) is PBKDF2 with one block of the hash's size."""
    password = slixmpp_bytes(text)  # UTF-8, as slixmpp's own Hi() encodes it
    new_hash = self.hash
    assert new_hash is not None  # SCRAM.setup() gives up on a hash hashlib lacks
    return hashlib.pbkdf2_hmac(new_hash().name, password, salt, iterations)


# slixmpp computes Hi() in Python, one HMAC object per iteration: ~18 ms of CPU for a
# login with Prosody's default 10,000 iterations of SHA-1 on an idle machine, ~40 ms on
# a busy one. It has no hook to swap it, so replace it with hashlib's PBKDF2 in C, the
# same function (~2 ms). Every ServiceSession is built in this module, so patching at
# import covers clients and managers.
SCRAM.Hi = _scram_hi  # type: ignore[method-assign]

_contexts: dict[tuple[str | None, int, int, int], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verify the server's certificate against ca_file (or the system's CAs).

    One context per CA file (as it is on disk now), shared: building one parses the CA
    bundle (~50-70 ms of CPU for the system's), and a process may open many sessions
    and HTTPS connections. Nobody may change the returned context.
    """
    key: tuple[str | None, int, int, int] = (None, 0, 0, 0)
    if ca_file:
        st = os.stat(ca_file)  # a rewritten CA file gets a new context
        key = (str(ca_file), st.st_ino, st.st_size, st.st_mtime_ns)
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            context = ssl.create_default_context(cafile=key[0])
            context.check_hostname = True
            context.verify_mode = ssl.CERT_REQUIRED
            _contexts[key] = context
    return context


class _Session:
    """What both session kinds share; mixed into a slixmpp stream class."""

    service_jid: str
    server_address: tuple[str, int]
    stopping: bool
    online: asyncio.Event
    auth_failed: asyncio.Event
    on_online: list[Callable[[], Awaitable[None]]]
    # Our requests waiting for their answer, by IQ id. Answers are matched here, not by
    # one slixmpp handler per request: slixmpp makes stanza objects and tries every
    # registered handler on every incoming stanza. A manager went from 4.4 to 3.9 ms
    # of CPU per job (bench.throughput).
    _answers: dict[str, asyncio.Future[ET.Element]]
    _iq_tag: str
    _message_tag: str
    # Told of the payload of each message from the service (pushes), in arrival order.
    service_messages: list[Callable[[ET.Element], None]]

    def _setup(self: Any, service_jid: str, host: str, port: int) -> None:
        self.service_jid = service_jid
        self._answers = {}
        self._iq_tag = f"{{{self.default_ns}}}iq"
        self._message_tag = f"{{{self.default_ns}}}message"
        self.service_messages = []
        self.server_address = (host, port)
        self.stopping = False
        self.online = asyncio.Event()
        self.auth_failed = asyncio.Event()
        self.on_online = []
        register_stanzas()
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("disconnected", self._on_disconnected)

    async def start(self: Any, timeout: float = 30.0) -> None:
        self.connect(*self.server_address)
        online = asyncio.ensure_future(self.online.wait())
        failed = asyncio.ensure_future(self.auth_failed.wait())
        done, pending = await asyncio.wait(
            {online, failed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if failed in done:
            await self.stop()
            raise PermissionError(f"the XMPP server refused the credentials of {self.boundjid}")
        if online not in done:
            await self.stop()
            host, port = self.server_address
            raise ServiceUnavailable(f"could not reach the XMPP server at {host}:{port}")

    async def stop(self: Any) -> None:
        self.stopping = True
        self.cancel_connection_attempt()
        if self.transport is not None:
            await self.disconnect(wait=1.0)

    async def request(
        self: Any, payload: Payload, response_type: type[P], timeout: float = 30.0
    ) -> P:
        """Send `payload` to the service and return its typed answer. Raises the
        service's CloudImagingError, Timeout, or ServiceUnavailable when the stream is
        down (at once, or when it drops while the answer is awaited)."""
        if not self.online.is_set():
            raise ServiceUnavailable("not connected to the XMPP server")
        key = self.new_id()
        attributes = {"to": self.service_jid, "type": iq_type_for(payload), "id": key}
        if self.is_component:
            attributes["from"] = self.boundjid.full
        answer: asyncio.Future[ET.Element] = self.loop.create_future()
        self._answers[key] = answer
        expiry = self.loop.call_later(timeout, _expire, answer, payload.ELEMENT, timeout)
        try:
            send_xml(self, stanza_xml(self._iq_tag, attributes, payload))
            xml = await answer
        finally:
            expiry.cancel()
            self._answers.pop(key, None)
        if xml.get("type") == "error":
            raise error_from_xml(xml)
        return read_xml(xml, response_type)

    def _spawn_event(self: Any, xml: ET.Element) -> None:
        """Stanzas over the guard's limits go no further (stanzas/guard.py). Answers to
        our requests go straight to their waiters and the service's pushes to
        `service_messages`; everything else takes slixmpp's way (stanza objects,
        handlers)."""
        if not admit(self, xml):
            return
        if xml.tag == self._iq_tag and xml.get("type") in ("result", "error"):
            answer = self._answers.get(xml.get("id", ""))
            if answer is not None and self._from_service(xml.get("from")):
                del self._answers[xml.get("id", "")]
                if not answer.done():
                    answer.set_result(xml)
                return
        elif xml.tag == self._message_tag and xml.get("type") != "error":
            element = payload_child(xml)
            if element is not None:
                self._service_message(xml.get("from"), element)
                return
        super()._spawn_event(xml)  # type: ignore[misc]  # the slixmpp stream mixed in

    def _service_message(self: Any, sender: str | None, element: ET.Element) -> None:
        if not self._from_service(sender, bare=True):
            log.warning("ignored a %s from %s", element.tag.rsplit("}", 1)[-1], sender)
            return
        for handler in self.service_messages:
            try:
                handler(element)
            except Exception:
                log.exception("a handler of the service's messages failed")

    def _from_service(self: Any, sender: str | None, *, bare: bool = False) -> bool:
        # Only the service may answer or push: anything else with our id or payload from
        # anyone else is not one.
        if sender == self.service_jid:
            return True
        try:
            jid = JID(sender)
            return sender is not None and (jid.bare if bare else jid.full) == self.service_jid
        except InvalidJID:
            return False

    def _fail_answers(self: Any, why: str) -> None:
        answers, self._answers = self._answers, {}
        for answer in answers.values():
            if not answer.done():
                answer.set_exception(ServiceUnavailable(why))

    async def _on_session_start(self: Any, _event: object) -> None:
        self.announce()
        self.online.set()
        for callback in self.on_online:
            await callback()

    def _on_disconnected(self: Any, _event: object) -> None:
        self.online.clear()
        # Their answers, if any come, come on a stream that no longer exists.
        self._fail_answers("the connection to the XMPP server was lost")
        if not self.stopping:
            log.warning("%s lost its XMPP connection; reconnecting", self.boundjid)
            self.connect(*self.server_address)


def _expire(answer: asyncio.Future[ET.Element], request: str, timeout: float) -> None:
    if not answer.done():
        answer.set_exception(Timeout(f"no answer to {request} within {timeout:g} s"))


class ServiceSession(_Session, ClientXMPP):
    """A user account's session (clients, and managers behind NAT)."""

    def __init__(
        self,
        jid: str,
        password: str,
        *,
        service_jid: str,
        host: str = "127.0.0.1",
        port: int = 5222,
        ca_file: Path | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        # Passed down to XMLStream, which otherwise builds a default context (loading the
        # system's CA bundle, ~70 ms of CPU) only for it to be replaced.
        ClientXMPP.__init__(self, jid, password, ssl_context=ssl_context or tls_context(ca_file))
        self.enable_direct_tls = False
        self.enable_starttls = True
        self.enable_plaintext = False  # TLS is required on every c2s connection
        self._setup(service_jid, host, port)
        self.add_event_handler("failed_all_auth", self._on_auth_failed)

    def announce(self) -> None:
        self.send_presence()  # available: pushes to our bare JID reach this resource
        self.send_presence(pto=self.service_jid)  # directed: the service sees us come and go

    def _on_auth_failed(self, _event: object) -> None:
        self.stopping = True
        self.auth_failed.set()


class ComponentSession(_Session, ComponentXMPP):
    """A manager running as an external component next to the XMPP server."""

    def __init__(
        self, component_jid: str, secret: str, *, service_jid: str, host: str, port: int
    ) -> None:
        ComponentXMPP.__init__(self, component_jid, secret, host, port)
        self._setup(service_jid, host, port)

    def announce(self) -> None:
        self.send_presence(pto=self.service_jid, pfrom=self.boundjid.bare)
