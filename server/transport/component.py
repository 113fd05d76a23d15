"""The service's XMPP side: an external component (XEP-0114) behind Prosody.

Requests come in as IQs; the dispatch below is the one place that turns them into
handler calls and domain errors into stanza errors. Pushes go out as messages: the
component is the context's `Push` port. Plugins (the administrators' front ends,
server/admin/plugin.py) register on it and are wired in server/app.py.
"""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from collections.abc import Callable

from slixmpp import JID
from slixmpp.componentxmpp import ComponentXMPP
from slixmpp.jid import InvalidJID
from slixmpp.stanza.rootstanza import RootStanza
from slixmpp.xmlstream import StanzaBase

from server.context import Caller, ServiceContext
from server.handlers import OPERATIONS
from server.stores.devices import Device
from server.stores.jobs import Job
from stanzas.backoff import QuickReconnect
from stanzas.client_ops import JobEvent
from stanzas.device_ops import WorkNotification
from stanzas.errors import BadRequest, CloudImagingError, InternalError, OperationNotSupported
from stanzas.guard import admit
from stanzas.model import Payload
from stanzas.registry import register_stanzas
from stanzas.transport import answer_xml, error_xml, request_payload, send_xml, stanza_xml

log = logging.getLogger(__name__)


class ServiceComponent(QuickReconnect, ComponentXMPP):
    def __init__(self, ctx: ServiceContext) -> None:
        xmpp = ctx.settings.xmpp
        super().__init__(xmpp.component_jid, xmpp.secret, xmpp.host, xmpp.port)
        self.ctx = ctx
        self.stopping = False
        self.online = asyncio.Event()
        register_stanzas()
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.plugin["xep_0030"].add_feature("urn:cirrus:cloud-imaging:1")
        self._iq_tag = f"{{{self.default_ns}}}iq"
        self._message_tag = f"{{{self.default_ns}}}message"
        # Told of every request before it is answered (who is active: admin front ends).
        self.request_observers: list[Callable[[JID, str], None]] = []
        self._answering: set[asyncio.Task[None]] = set()
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_filter("out", self._addressed)

    def _on_session_start(self, _event: object) -> None:
        self.reconnected()
        self.online.set()
        log.info("component %s online", self.boundjid)

    def _on_disconnected(self, _event: object) -> None:
        self.online.clear()
        if not self.stopping:
            log.warning("lost the XMPP server; reconnecting")
            # slixmpp does not reconnect after a live stream drops; connect() retries with
            # QuickReconnect's back-off (stanzas/backoff.py).
            self.connect()

    def _addressed(self, stanza: StanzaBase) -> StanzaBase:
        """Every stanza leaves with `from`: ejabberd closes a component's stream at the
        first one without (Prosody fills it in). The raw XML we build (answers, errors,
        pushes) is addressed where it is built; this covers slixmpp's stanza objects
        (chat replies, alerts, ad-hoc commands, disco, its own errors)."""
        if isinstance(stanza, RootStanza) and not stanza.xml.get("from"):
            stanza["from"] = self.boundjid
        return stanza

    def _spawn_event(self, xml: ET.Element) -> None:
        """A request in our namespace goes straight to its operation; everything else
        (disco, ping, ad-hoc commands, chat, presence) takes slixmpp's way. Making no
        stanza objects and trying none of slixmpp's handlers took the service from
        2.9-3.2 to 2.3-2.5 ms of CPU per job (bench.throughput, side by side). Stanzas
        over the guard's limits go nowhere (stanzas/guard.py)."""
        if not admit(self, xml):
            return
        element = request_payload(xml, self._iq_tag)
        if element is None:
            super()._spawn_event(xml)
            return
        task = self.loop.create_task(self.dispatch(xml, element))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def dispatch(self, request: ET.Element, element: ET.Element) -> None:
        name = element.tag.rsplit("}", 1)[-1]
        sender = request.get("from", "")
        try:
            try:
                jid = JID(sender)
            except InvalidJID:
                raise BadRequest("the request's sender is not a JID") from None
            caller = Caller(jid.full)
            if not caller.bare:
                raise BadRequest("the request has no sender")
            for observer in self.request_observers:
                observer(jid, name)
            operation = OPERATIONS.get(name)
            if operation is None:
                raise OperationNotSupported(f"no operation {name}")
            payload = operation.request.from_xml(element)
            response = await operation(self.ctx, caller, payload)  # its role checks who asks
        except CloudImagingError as error:
            log.info("%.80s from %.200s: %s %.300s", name, sender, error.status, error.message)
            send_xml(self, error_xml(request, error))
            return
        except Exception:
            log.exception("%.80s from %.200s failed", name, sender)
            send_xml(self, error_xml(request, InternalError(f"{name} failed inside the service")))
            return
        send_xml(self, answer_xml(request, response))

    def _push(self, to: str, payload: Payload) -> None:
        attributes = {"to": to, "from": self.boundjid.full, "type": "headline"}
        send_xml(self, stanza_xml(self._message_tag, attributes, payload))

    # --- Push ------------------------------------------------------------------------
    def job_event(self, job: Job) -> None:
        if not job.notify_jid or not self.online.is_set():
            return
        event = "job-completed" if job.job_state.is_terminal else "job-state-changed"
        self._push(job.notify_jid, JobEvent(notify_subscribed_event=event, job=job.to_status()))

    def identify(self, device: Device, actions: list[str], message: str | None) -> None:
        if not self.online.is_set():
            return
        payload = WorkNotification(
            output_device_uuid=device.output_device_uuid,
            identify_actions=actions,
            identify_message=message,
        )
        self._push(device.jid, payload)

    def work(
        self,
        device: Device,
        fetchable: list[int],
        cancel: list[int],
        *,
        resync: bool = False,
        suspend: list[int] | None = None,
        resume: list[int] | None = None,
    ) -> None:
        if not self.online.is_set():
            return  # the manager resyncs when either side comes back
        payload = WorkNotification(
            output_device_uuid=device.output_device_uuid,
            fetchable_job_ids=fetchable,
            cancel_job_ids=cancel,
            suspend_job_ids=suspend or [],
            resume_job_ids=resume or [],
            resync=resync,
        )
        self._push(device.jid, payload)
