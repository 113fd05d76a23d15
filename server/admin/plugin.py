"""The administrators' front ends as one plugin of the service's XMPP component: the chat
bot, the ad-hoc commands, alerts, device presence (online / offline, last seen), and the
service's own presence to its operators and administrators (presence.py).
What `register` adds to the component, `unregister` removes (slixmpp's rule for plugins).

Devices' managers send directed presence to the service when they connect
(stanzas/session.py `announce`); Prosody sends 'unavailable' when their session ends.
After a restart of the service nobody re-sends presence, so a device operation from an
account also counts as being online.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from slixmpp import JID
from slixmpp.plugins import PluginManager
from slixmpp.stanza import Presence
from slixmpp.xmlstream import StanzaBase

from server.admin.adhoc import AdHocCommands
from server.admin.alerts import Alerts
from server.admin.chat import ChatBot
from server.admin.presence import ServicePresence
from server.chatprint.shares import ENCRYPTED, OOB_NS
from server.chatprint.users import ChatPrint
from server.context import Caller, ServiceContext
from server.transport.component import ServiceComponent
from stanzas import device_ops
from stanzas.registry import PAYLOADS

log = logging.getLogger(__name__)

# Requests only a device's manager sends.
DEVICE_REQUESTS = frozenset(
    name
    for name, cls in PAYLOADS.items()
    if cls.__module__ == device_ops.__name__ and issubclass(cls, device_ops.DeviceRequest)
)
AVAILABLE = frozenset({"available", *Presence.showtypes})


class AdminPlugin:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.chat = ChatBot(ctx)
        self.alerts = Alerts(ctx, self.send_chat)
        self.presence = ServicePresence(ctx)
        self.chatprint = ChatPrint(ctx, self.send_from)
        self.resources: dict[str, set[str]] = {}  # bare JID -> resources present
        self._xmpp: ServiceComponent | None = None
        self._adhoc: AdHocCommands | None = None

    @property
    def xmpp(self) -> ServiceComponent:
        if self._xmpp is None:
            raise RuntimeError("the administrators' front ends are not registered")
        return self._xmpp

    @property
    def adhoc(self) -> AdHocCommands:
        if self._adhoc is None:
            raise RuntimeError("the administrators' front ends are not registered")
        return self._adhoc

    def register(self, xmpp: ServiceComponent) -> None:
        self._xmpp = xmpp
        xmpp.register_plugin("xep_0004")
        xmpp.register_plugin("xep_0050")
        self._adhoc = AdHocCommands(xmpp, self.ctx)
        self.alerts.attach()
        self.chatprint.attach()
        self.presence.register(xmpp)
        xmpp.add_event_handler("message", self._on_message)
        xmpp.add_event_handler("presence", self._on_presence)
        xmpp.request_observers.append(self._on_request)

    def unregister(self) -> None:
        xmpp, adhoc = self._xmpp, self._adhoc
        if xmpp is None or adhoc is None:
            return
        xmpp.request_observers.remove(self._on_request)
        xmpp.del_event_handler("presence", self._on_presence)
        xmpp.del_event_handler("message", self._on_message)
        self.presence.unregister()
        self.chatprint.detach()
        self.alerts.detach()
        adhoc.close()
        plugins = cast(PluginManager, xmpp.plugin)  # slixmpp types it as a plain dict
        plugins.disable("xep_0050")
        plugins.disable("xep_0004")
        self._xmpp = self._adhoc = None

    def send_chat(self, jid: str, text: str) -> None:
        xmpp = self._xmpp
        if xmpp is not None and xmpp.transport is not None:
            xmpp.send_message(mto=JID(jid), mbody=text, mtype="chat")

    def send_from(self, jid: str, address: str, text: str) -> None:
        """A chat message from one of the service's addresses (a chat job's notice)."""
        xmpp = self._xmpp
        if xmpp is not None and xmpp.transport is not None:
            xmpp.send_message(mto=JID(jid), mfrom=JID(address), mbody=text, mtype="chat")

    # --- chat ---------------------------------------------------------------------------
    def _on_message(self, message: StanzaBase) -> None:
        if message["type"] not in ("chat", "normal") or not message["body"]:
            return
        if message["to"].bare != self.xmpp.boundjid.bare or self.xmpp.stopping:
            return
        # A chat client's file share: XEP-0066 out-of-band data beside the body's link.
        oob = [
            (url.text or "").strip()
            for url in message.xml.iterfind(f"{{{OOB_NS}}}x/{{{OOB_NS}}}url")
        ]
        encrypted = any(message.xml.find(f"{{{ns}}}{name}") is not None for ns, name in ENCRYPTED)
        self.ctx.tasks.spawn(self._answer(message["from"], message["body"], oob, encrypted))

    async def _answer(self, sender: Any, body: str, oob: list[str], encrypted: bool) -> None:
        """Operators' commands go to the chat bot; shares, users' commands and everyone
        else's messages to the chat print front end (server/chatprint/)."""
        operator = self.ctx.is_operator(Caller(sender.full))
        reply: str | None
        if operator and not self.chatprint.handles(body, oob, encrypted=encrypted):
            reply = await self.chat.answer(sender.full, body)
        else:
            address = self.xmpp.boundjid.bare
            reply = await self.chatprint.answer(
                sender.full, address, body, [url for url in oob if url], encrypted=encrypted
            )
        if reply is not None:
            self.xmpp.send_message(mto=sender, mbody=reply, mtype="chat")

    # --- presence -----------------------------------------------------------------------
    def _on_presence(self, presence: StanzaBase) -> None:
        sender = presence["from"]
        if presence["to"].bare != self.xmpp.boundjid.bare or not sender.bare:
            return
        if self.xmpp.stopping:
            return  # the service is going away: its store may already be closed
        present = self.resources.setdefault(sender.bare, set())
        if presence["type"] in AVAILABLE:
            present.add(sender.resource)
            self.ctx.tasks.spawn(self._seen(sender.bare, online=True))
        elif presence["type"] == "unavailable":
            present.discard(sender.resource)
            if not present:
                self.ctx.tasks.spawn(self._seen(sender.bare, online=False))

    def _on_request(self, sender: JID, operation: str) -> None:
        if operation in DEVICE_REQUESTS:
            self.resources.setdefault(sender.bare, set()).add(sender.resource)
            self.ctx.online.add(sender.bare)

    async def _seen(self, account: str, *, online: bool) -> None:
        was_online = account in self.ctx.online
        devices = await self.ctx.devices.list_by_jid(account)
        if online:
            self.ctx.online.add(account)
        else:
            self.ctx.online.discard(account)
        now = self.ctx.now()
        for device in devices:
            if online:
                await self.ctx.devices.touch(device.output_device_uuid, now)
                if not was_online:
                    self.ctx.device_available(device)
                continue
            await self.ctx.devices.update(device, time_last_seen=now, time_offline=now)
            if was_online:
                log.info("device %s (%s) went offline", device.output_device_uuid, account)
                self.alerts.device_offline(device)
