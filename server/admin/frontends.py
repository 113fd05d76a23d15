"""Wires administration to the service's XMPP component: the chat bot, the ad-hoc
commands, alerts, and device presence (online / offline, last seen).

Devices' managers send directed presence to the service when they connect
(stanzas/session.py `announce`); Prosody sends 'unavailable' when their session ends.
After a restart of the service nobody re-sends presence, so a device operation from an
account also counts as being online.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slixmpp import JID
from slixmpp.stanza import Presence
from slixmpp.xmlstream import StanzaBase

from server.admin.adhoc import AdHocCommands
from server.admin.alerts import Alerts
from server.admin.chat import ChatBot
from server.service import CloudImagingService
from stanzas import device_ops
from stanzas.registry import PAYLOADS

if TYPE_CHECKING:
    from server.component import ServiceComponent

log = logging.getLogger(__name__)

# Requests only a device's manager sends.
DEVICE_REQUESTS = frozenset(
    name
    for name, cls in PAYLOADS.items()
    if cls.__module__ == device_ops.__name__ and issubclass(cls, device_ops.DeviceRequest)
)
AVAILABLE = frozenset({"available", *Presence.showtypes})


class AdminFrontEnds:
    """Registered on the component at construction; removed when it stops for good."""

    def __init__(self, xmpp: ServiceComponent, svc: CloudImagingService) -> None:
        self.xmpp = xmpp
        self.svc = svc
        xmpp.register_plugin("xep_0004")
        xmpp.register_plugin("xep_0050")
        self.chat = ChatBot(svc)
        self.alerts = Alerts(svc, self.send_chat)
        self.alerts.attach()
        self.adhoc = AdHocCommands(xmpp, svc)
        self.resources: dict[str, set[str]] = {}  # bare JID -> resources present
        xmpp.add_event_handler("message", self._on_message)
        xmpp.add_event_handler("presence", self._on_presence)
        xmpp.add_event_handler("session_start", self._on_session_start)
        xmpp.add_event_handler("disconnected", self._on_disconnected)
        xmpp.request_observers.append(self._on_request)

    def close(self) -> None:
        self.xmpp.del_event_handler("message", self._on_message)
        self.xmpp.del_event_handler("presence", self._on_presence)
        self.xmpp.del_event_handler("session_start", self._on_session_start)
        self.xmpp.del_event_handler("disconnected", self._on_disconnected)
        self.xmpp.request_observers.remove(self._on_request)
        self.alerts.detach()
        self.adhoc.close()
        self.svc.service_states.stop()

    def send_chat(self, jid: str, text: str) -> None:
        if self.xmpp.transport is not None:
            self.xmpp.send_message(mto=JID(jid), mbody=text, mtype="chat")

    # --- chat ---------------------------------------------------------------------------
    def _on_message(self, message: StanzaBase) -> None:
        if message["type"] not in ("chat", "normal") or not message["body"]:
            return
        if message["to"].bare != self.xmpp.boundjid.bare or getattr(self.xmpp, "stopping", False):
            return
        self.svc.spawn(self._answer(message["from"], message["body"]))

    async def _answer(self, sender: Any, body: str) -> None:
        reply = await self.chat.answer(sender.full, body)
        self.xmpp.send_message(mto=sender, mbody=reply, mtype="chat")

    # --- presence -----------------------------------------------------------------------
    def _on_presence(self, presence: StanzaBase) -> None:
        sender = presence["from"]
        if presence["to"].bare != self.xmpp.boundjid.bare or not sender.bare:
            return
        if getattr(self.xmpp, "stopping", False):
            return  # the service is going away: its store may already be closed
        present = self.resources.setdefault(sender.bare, set())
        if presence["type"] in AVAILABLE:
            present.add(sender.resource)
            self.svc.spawn(self._seen(sender.bare, online=True))
        elif presence["type"] == "unavailable":
            present.discard(sender.resource)
            if not present:
                self.svc.spawn(self._seen(sender.bare, online=False))

    def _on_request(self, sender: JID, operation: str) -> None:
        if operation in DEVICE_REQUESTS:
            self.resources.setdefault(sender.bare, set()).add(sender.resource)
            self.svc.service_states.online.add(sender.bare)

    async def _seen(self, account: str, *, online: bool) -> None:
        was_online = account in self.svc.service_states.online
        devices = await self.svc.devices.list_by_jid(account)
        if online:
            self.svc.service_states.online.add(account)
        else:
            self.svc.service_states.online.discard(account)
        for device in devices:
            await self.svc.devices.touch(device.output_device_uuid, self.svc.now())
            if was_online and not online:
                log.info("device %s (%s) went offline", device.output_device_uuid, account)
                self.alerts.device_offline(device)

    # --- lifecycle ----------------------------------------------------------------------
    async def _on_session_start(self, _event: Any) -> None:
        await self.svc.service_states.start()

    def _on_disconnected(self, _event: Any) -> None:
        if getattr(self.xmpp, "stopping", False):
            self.close()
