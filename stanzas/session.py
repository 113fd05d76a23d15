"""An XMPP session to the Cloud Imaging Service, shared by managers and clients.

Two ways in: a user account over c2s with TLS required (STARTTLS, verified against
the given CA), or an external component (XEP-0114) for a manager on the XMPP
server's trusted network. slixmpp does not reconnect after a live stream drops,
so both do, with short jittered delays between attempts (stanzas/backoff.py).

A request ends with the service's answer or with an error that says whether it was
delivered (stanzas/errors.py): NotDelivered when it never left or the XMPP server
bounced it, OutcomeUnknown when the connection or the service went away after it was
sent, NoAnswer when its time-out ran out. The wait ends as soon as the answer cannot
come any more, not at the time-out:

- the XMPP server bounces a request because the service is not connected to it: that
  request was not delivered, and every request sent before it went to a service
  connection that no longer exists (its answers, had it sent them, would have arrived
  before the bounce: one stream, in order);
- the service asks for a resync (a work notification with resync): it has restarted,
  and what was sent to its old instance gets no answer;
- a request that waits longer than PROBE_AFTER has the session ping the service, so
  that a service that died with our request gets noticed by a bounce even when no
  other request follows.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import hashlib
import logging
import os
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from slixmpp import JID, ClientXMPP
from slixmpp.componentxmpp import ComponentXMPP
from slixmpp.jid import InvalidJID
from slixmpp.util import bytes as slixmpp_bytes
from slixmpp.util.sasl.mechanisms import SCRAM

from stanzas.backoff import Backoff, QuickReconnect
from stanzas.errors import CloudImagingError, NoAnswer, NotDelivered, OutcomeUnknown
from stanzas.guard import admit
from stanzas.model import Payload
from stanzas.namespace import qname
from stanzas.registry import register_stanzas
from stanzas.transport import (
    error_from_xml,
    iq_type_for,
    payload_child,
    read_xml,
    send_xml,
    stanza_xml,
    xmpp_bounce,
)

log = logging.getLogger(__name__)
P = TypeVar("P", bound=Payload)

REQUEST_TIMEOUT = 30.0  # seconds a request waits for its answer unless told otherwise
PROBE_AFTER = 1.0  # seconds a request waits before the session pings the service
_PING = "{urn:xmpp:ping}ping"
_PROBE = "probe-"  # the id prefix of the session's own pings
_RESYNC = qname("resync")
_WORK_NOTIFICATION = qname("WorkNotification")

# The end of the enclosing time_limit() block, on time.monotonic()'s clock.
_deadline: ContextVar[float | None] = ContextVar("cirrus_request_deadline", default=None)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Every request made inside the block (by this task, and by tasks it starts there)
    must be answered within `seconds` from now, all of them together: each request
    waits at most what is left, and one made when nothing is left is not sent. Nested
    blocks keep the earlier end."""
    end = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(end if outer is None else min(outer, end))
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left(timeout: float) -> float:
    """`timeout`, cut to what is left of the enclosing time_limit() block."""
    end = _deadline.get()
    return timeout if end is None else min(timeout, end - time.monotonic())


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


class _Session(QuickReconnect):
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
    # In the order they were sent (a dict keeps it): a bounce ends those before it.
    _answers: dict[str, asyncio.Future[ET.Element]]
    _sent_at: dict[str, float]  # loop time each waiting request was sent
    # Told of a request's answer the moment it is read (see request's `on_answer`).
    _on_answer: dict[str, Callable[[ET.Element], None]]
    _probe: asyncio.TimerHandle | None
    _iq_tag: str
    _message_tag: str
    # Told of the payload of each message from the service (pushes), in arrival order.
    service_messages: list[Callable[[ET.Element], None]]
    # Told True when the session is online (after each login), False when it goes
    # offline; in that order, once each.
    connection_listeners: list[Callable[[bool], None]]
    request_timeout: float
    _reconnect: asyncio.TimerHandle | None
    # Requests by element and outcome (IPP status, or the error class's status when the
    # answer could not come), and logins: what a manager's metrics export.
    outcomes: collections.Counter[tuple[str, str]]
    logins: int

    def _setup(self: Any, service_jid: str, host: str, port: int) -> None:
        self.service_jid = service_jid
        self._answers = {}
        self._sent_at = {}
        self._on_answer = {}
        self._probe = None
        self._reconnect = None
        self.outcomes = collections.Counter()
        self.logins = 0
        self.connection_listeners = []
        self.request_timeout = REQUEST_TIMEOUT
        self.backoff = Backoff()
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
            raise NotDelivered(f"could not reach the XMPP server at {host}:{port}")

    async def stop(self: Any) -> None:
        self.stopping = True
        for handle in (self._reconnect, self._probe):
            if handle is not None:
                handle.cancel()
        self.cancel_connection_attempt()
        if self.transport is not None:
            await self.disconnect(wait=1.0)

    async def request(
        self: Any,
        payload: Payload,
        response_type: type[P],
        timeout: float | None = None,
        *,
        on_answer: Callable[[P], None] | None = None,
    ) -> P:
        """Send `payload` to the service and return its typed answer. Raises the
        service's CloudImagingError, or NotDelivered / OutcomeUnknown / NoAnswer (see
        the module's docstring). `timeout` (default `request_timeout`) is cut to what
        is left of an enclosing time_limit().

        `on_answer` is called with the answer as soon as it is read, before the session
        handles the stanzas that came behind it in the same read (the caller's
        coroutine resumes only after those): a client registers there for the pushes of
        a job it just created, which may be the very next stanza."""
        timeout = time_left(self.request_timeout if timeout is None else timeout)
        if not self.online.is_set():
            raise NotDelivered("not connected to the XMPP server")
        if timeout <= 0:
            raise NoAnswer(
                f"the time-out ran out before {payload.ELEMENT} was sent", delivered=False
            )
        key = self.new_id()
        attributes = {"to": self.service_jid, "type": iq_type_for(payload), "id": key}
        if self.is_component:
            attributes["from"] = self.boundjid.full
        answer = self._expect(key, payload.ELEMENT, timeout)
        early: list[P] = []
        if on_answer is not None:
            self._on_answer[key] = functools.partial(
                _read_early, response_type, on_answer, early.append
            )
        if self._probe is None:
            self._probe = self.loop.call_later(PROBE_AFTER, self._probe_service)
        try:
            send_xml(self, stanza_xml(self._iq_tag, attributes, payload))
            xml = await answer
        except CloudImagingError as lost:
            self.outcomes[payload.ELEMENT, lost.status] += 1
            raise
        finally:
            self._forget(key)
        if xml.get("type") == "error":
            error = error_from_xml(xml)
            self.outcomes[payload.ELEMENT, error.status] += 1
            raise error
        self.outcomes[payload.ELEMENT, "successful-ok"] += 1
        return early[0] if early else read_xml(xml, response_type)

    def _expect(self: Any, key: str, request: str, timeout: float) -> asyncio.Future[ET.Element]:
        """Wait for the answer to request `key`, at most `timeout` seconds."""
        answer: asyncio.Future[ET.Element] = self.loop.create_future()
        self._answers[key] = answer
        self._sent_at[key] = self.loop.time()
        expiry = self.loop.call_later(timeout, _expire, answer, request, timeout)
        answer.add_done_callback(lambda _: expiry.cancel())
        return answer

    def _forget(self: Any, key: str) -> None:
        self._answers.pop(key, None)
        self._sent_at.pop(key, None)
        self._on_answer.pop(key, None)

    def _probe_service(self: Any) -> None:
        """Ping the service while a request has waited PROBE_AFTER: if the service has
        gone, the XMPP server bounces the ping, which ends the requests sent before.
        One ping at a time; none once nothing but pings waits."""
        self._probe = None
        waiting = [at for key, at in self._sent_at.items() if not key.startswith(_PROBE)]
        if not waiting or self.stopping:
            return
        probing = any(key.startswith(_PROBE) for key in self._answers)
        if self.online.is_set() and not probing and self.loop.time() - waiting[0] >= PROBE_AFTER:
            key = _PROBE + self.new_id()
            attributes = {"to": self.service_jid, "type": "get", "id": key}
            if self.is_component:
                attributes["from"] = self.boundjid.full
            ping = ET.Element(self._iq_tag, attributes)
            ET.SubElement(ping, _PING)
            # A ping lost with a dying service must not hold up the next one.
            answer = self._expect(key, "ping", PROBE_AFTER)
            answer.add_done_callback(lambda fut: None if fut.cancelled() else fut.exception())
            answer.add_done_callback(lambda _: self._forget(key))
            send_xml(self, ping)
        self._probe = self.loop.call_later(PROBE_AFTER, self._probe_service)

    def _spawn_event(self: Any, xml: ET.Element) -> None:
        """Stanzas over the guard's limits go no further (stanzas/guard.py). Answers to
        our requests go straight to their waiters and the service's pushes to
        `service_messages`; everything else takes slixmpp's way (stanza objects,
        handlers)."""
        if not admit(self, xml):
            return
        if xml.tag == self._iq_tag and xml.get("type") in ("result", "error"):
            key = xml.get("id", "")
            answer = self._answers.get(key)
            if answer is not None and self._from_service(xml.get("from")):
                self._answered(key, answer, xml)
                return
        elif xml.tag == self._message_tag and xml.get("type") != "error":
            element = payload_child(xml)
            if element is not None:
                self._service_message(xml.get("from"), element)
                return
        super()._spawn_event(xml)  # type: ignore[misc]  # the slixmpp stream mixed in

    def _answered(self: Any, key: str, answer: asyncio.Future[ET.Element], xml: ET.Element) -> None:
        if xml.get("type") == "error" and (why := xmpp_bounce(xml)):
            # Everything sent before this went to a service connection that is gone.
            self._fail_answers(
                OutcomeUnknown,
                f"the service went away before answering (the XMPP server: {why})",
                before=key,
            )
            self._forget(key)
            if not answer.done():
                answer.set_exception(NotDelivered(f"the XMPP server bounced it: {why}"))
            return
        hook = self._on_answer.get(key)
        self._forget(key)
        if not answer.done():
            if hook is not None and xml.get("type") == "result":
                hook(xml)
            answer.set_result(xml)

    def _service_message(self: Any, sender: str | None, element: ET.Element) -> None:
        if not self._from_service(sender, bare=True):
            log.warning("ignored a %.40s from %.200s", element.tag.rsplit("}", 1)[-1], sender)
            return
        if element.tag == _WORK_NOTIFICATION and _asks_resync(element):
            # The service has restarted: what its old instance got, it will not answer.
            self._fail_answers(OutcomeUnknown, "the service restarted before answering")
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

    def _fail_answers(
        self: Any, error: type[CloudImagingError], why: str, *, before: str | None = None
    ) -> None:
        """Fail the waiting requests (only those sent before request `before`, if given)."""
        for key in list(self._answers):
            if key == before:
                break
            answer = self._answers.pop(key)
            self._sent_at.pop(key, None)
            if not answer.done():
                answer.set_exception(error(why))

    async def _on_session_start(self: Any, _event: object) -> None:
        self.logins += 1
        self.reconnected()
        self.announce()
        self.online.set()
        self._tell_listeners(True)
        for callback in self.on_online:
            await callback()

    def _on_disconnected(self: Any, _event: object) -> None:
        was_online = self.online.is_set()
        self.online.clear()
        # Their answers, if any come, come on a stream that no longer exists.
        self._fail_answers(OutcomeUnknown, "the connection to the XMPP server was lost")
        if was_online:
            self._tell_listeners(False)
        if not self.stopping and self._reconnect is None:
            delay = self.backoff.next_delay()
            if was_online:
                log.warning("%s lost its XMPP connection; reconnecting", self.boundjid)
            self._reconnect = self.loop.call_later(delay, self._connect_again)

    def _connect_again(self: Any) -> None:
        self._reconnect = None
        if not self.stopping:
            self.connect(*self.server_address)

    def _tell_listeners(self: Any, online: bool) -> None:
        for listener in self.connection_listeners:
            try:
                listener(online)
            except Exception:
                log.exception("a connection listener failed")


def _asks_resync(element: ET.Element) -> bool:
    flag = element.find(_RESYNC)
    return flag is not None and (flag.text or "").strip() in ("true", "1")


def _read_early(
    response_type: type[P],
    on_answer: Callable[[P], None],
    keep: Callable[[P], None],
    xml: ET.Element,
) -> None:
    """An answer read as it arrives (request's `on_answer`): parsed once, kept for the
    request to return. A malformed one is left to the request, which raises for it."""
    try:
        response = read_xml(xml, response_type)
    except CloudImagingError:
        return
    keep(response)
    try:
        on_answer(response)
    except Exception:
        log.exception("an answer hook failed")


def _expire(answer: asyncio.Future[ET.Element], request: str, timeout: float) -> None:
    if not answer.done():
        answer.set_exception(NoAnswer(f"no answer to {request} within {timeout:g} s"))


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
