"""The service's own presence, so that roster-based clients show the admin bot online
(and offer "Execute command", which some offer only for contacts that are online).

RFC 6121 from the contact's side: the service is a component, so the XMPP server keeps
only the users' half of each subscription, and the service keeps the other half itself
(presence_subscribers). It approves the subscriptions of its operators and
administrators (`subscribed`, then its presence) and refuses anyone else's
(`unsubscribed`); it answers a probe (sent by a subscriber's server when they log in)
with its presence, and `unsubscribe` with `unavailable`. Its presence is available,
with a status line such as "3 queues, 2 jobs active", sent to every subscriber when
the component comes online, when the line changes (looked at a second after a job
starts or ends or a queue changes state, and every minute for the rest, such as a
queue deleted) and, as `unavailable`, when the service stops. Someone who is no longer
an operator or administrator is dropped (`unsubscribed`) when the service starts.

slixmpp's component roster answers probes on its own (from an in-memory roster that a
restart empties, so with `unsubscribed`) and half-handles subscriptions: while this is
registered, its handlers of those three presence types are replaced by these.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slixmpp import JID
from slixmpp.xmlstream import StanzaBase

from server.context import Caller, ServiceContext
from server.stores.jobs import Job
from server.stores.queue_states import QueueState
from server.transport.component import ServiceComponent
from stanzas.admin_ops import ServiceState

log = logging.getLogger(__name__)

SETTLE = 1.0  # seconds a change waits for others before the status line is looked at
REFRESH = 60.0  # seconds between looks regardless (changes no listener hears of)
# slixmpp's own handlers of the presence types this module answers.
_REPLACED = {
    "presence_subscribe": "_handle_subscribe",
    "presence_unsubscribe": "_handle_unsubscribe",
    "presence_probe": "_handle_probe",
}


async def status_line(ctx: ServiceContext) -> str:
    """'2 queues (1 stopped), 3 jobs active': what an operator wants to see at a glance."""
    queues = await ctx.queues.list_all()
    states = await ctx.queue_states.store.list_all()
    stopped = sum(
        1
        for q in queues
        if q.printer_name in states
        and states[q.printer_name].service_state in (ServiceState.STOPPED, ServiceState.DOWN)
    )
    active = await ctx.jobs.count_active()
    line = _count(len(queues), "queue")
    if stopped:
        line += f" ({stopped} stopped or down)"
    return f"{line}, {_count(active, 'job')} active"


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


class ServicePresence:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.subscribers: set[str] = set()  # as stored; read when the component comes online
        self.shown: str | None = None  # the status line the subscribers have
        self._xmpp: ServiceComponent | None = None
        self._settle: asyncio.TimerHandle | None = None
        self._handlers: list[tuple[str, Any]] = []
        self._regularly: asyncio.TimerHandle | None = None

    # --- registration (what register adds, unregister takes away) ------------------------
    def register(self, xmpp: ServiceComponent) -> None:
        self._xmpp = xmpp
        for event, name in _REPLACED.items():
            xmpp.del_event_handler(event, getattr(xmpp, name))
        self._handlers = [
            ("presence_subscribe", self._on_subscribe),
            ("presence_unsubscribe", self._on_unsubscribe),
            ("presence_probe", self._on_probe),
            ("session_start", self._on_online),
        ]
        for event, handler in self._handlers:
            xmpp.add_event_handler(event, handler)
        self.ctx.job_states.listeners.append(self._job_changed)
        self.ctx.queue_states.listeners.append(self._queue_changed)
        self._look_later()

    def unregister(self) -> None:
        xmpp = self._xmpp
        if xmpp is None:
            return
        self.ctx.queue_states.listeners.remove(self._queue_changed)
        self.ctx.job_states.listeners.remove(self._job_changed)
        for event, handler in self._handlers:
            xmpp.del_event_handler(event, handler)
        for event, name in _REPLACED.items():
            xmpp.add_event_handler(event, getattr(xmpp, name))
        for handle in (self._settle, self._regularly):
            if handle is not None:
                handle.cancel()
        self._settle = self._regularly = None
        self._xmpp = None

    def going_offline(self) -> None:
        """The service stops: its subscribers see it go (sent before the stream closes)."""
        for jid in sorted(self.subscribers):
            self._send(jid, "unavailable")
        self.shown = None

    # --- subscriptions and probes ----------------------------------------------------------
    def _addressed_to_us(self, presence: StanzaBase) -> str | None:
        """The sender's bare JID if the presence is for the service itself."""
        xmpp = self._xmpp
        if xmpp is None or xmpp.stopping or presence["to"].bare != xmpp.boundjid.bare:
            return None
        return str(presence["from"].bare) or None

    def _allowed(self, jid: str) -> bool:
        return self.ctx.is_operator(Caller(jid))

    def _on_subscribe(self, presence: StanzaBase) -> None:
        jid = self._addressed_to_us(presence)
        if jid is None:
            return
        if not self._allowed(jid):
            log.info("refused %.200s's subscription to the service's presence", jid)
            self._send(jid, "unsubscribed")
            return
        self.ctx.tasks.spawn(self._subscribed(jid))

    async def _subscribed(self, jid: str) -> None:
        await self.ctx.presence_subscribers.add(jid, self.ctx.now())
        self.subscribers.add(jid)
        self._send(jid, "subscribed")
        await self._send_status(jid)

    def _on_probe(self, presence: StanzaBase) -> None:
        jid = self._addressed_to_us(presence)
        if jid is None:
            return
        if not self._allowed(jid):
            self._send(jid, "unsubscribed")  # RFC 6121 §4.3.2: no subscription, no presence
            return
        # Their server says they are subscribed; a service whose store was reset may
        # not know it yet: they may be, so they are.
        if jid not in self.subscribers:
            self.ctx.tasks.spawn(self._subscribed_silently(jid))
        self.ctx.tasks.spawn(self._send_status(jid))

    async def _subscribed_silently(self, jid: str) -> None:
        await self.ctx.presence_subscribers.add(jid, self.ctx.now())
        self.subscribers.add(jid)

    def _on_unsubscribe(self, presence: StanzaBase) -> None:
        jid = self._addressed_to_us(presence)
        if jid is None:
            return
        self.subscribers.discard(jid)
        self.ctx.tasks.spawn(self.ctx.presence_subscribers.remove(jid))
        self._send(jid, "unavailable")  # RFC 6121 §3.3.3

    # --- the status line ----------------------------------------------------------------------
    def _on_online(self, _event: object) -> None:
        self.ctx.tasks.spawn(self._announce())

    async def _announce(self) -> None:
        """The component is (again) online: everyone subscribed sees it, with its line."""
        stored = await self.ctx.presence_subscribers.all()
        for jid in stored:
            if not self._allowed(jid):  # no longer an operator or administrator
                await self.ctx.presence_subscribers.remove(jid)
                self._send(jid, "unsubscribed")
        self.subscribers = {jid for jid in stored if self._allowed(jid)}
        self.shown = await status_line(self.ctx)
        for jid in sorted(self.subscribers):
            self._send(jid, None, self.shown)

    async def _send_status(self, jid: str) -> None:
        """One subscriber's presence, with the line as it is now (and everyone's, if it
        changed since they had it)."""
        line = await status_line(self.ctx)
        if line != self.shown:
            self.shown = line
            for other in sorted(self.subscribers - {jid}):
                self._send(other, None, line)
        self._send(jid, None, line)

    def _job_changed(self, before: Job | None, after: Job) -> None:
        if before is None or before.job_state.is_terminal != after.job_state.is_terminal:
            self._soon()

    def _queue_changed(self, before: QueueState, after: QueueState) -> None:
        if before.service_state != after.service_state:
            self._soon()

    def _soon(self) -> None:
        if self._settle is None and self.subscribers:
            loop = asyncio.get_running_loop()
            self._settle = loop.call_later(SETTLE, lambda: self.ctx.tasks.spawn(self.refresh()))

    async def refresh(self) -> None:
        """Tell the subscribers if the status line changed."""
        self._settle = None
        if not self.subscribers or self._xmpp is None:
            return
        line = await status_line(self.ctx)
        if line != self.shown:
            self.shown = line
            for jid in sorted(self.subscribers):
                self._send(jid, None, line)

    def _look_later(self) -> None:
        """A look every REFRESH seconds (a timer, not a task: nothing waits on it)."""

        def look() -> None:
            self.ctx.tasks.spawn(self.refresh())
            self._look_later()

        self._regularly = asyncio.get_running_loop().call_later(REFRESH, look)

    def _send(self, jid: str, kind: str | None, status: str | None = None) -> None:
        xmpp = self._xmpp
        if xmpp is None or xmpp.transport is None or not xmpp.online.is_set():
            return
        xmpp.send_presence(pto=JID(jid), pfrom=xmpp.boundjid.bare, ptype=kind, pstatus=status)  # type: ignore[arg-type]
