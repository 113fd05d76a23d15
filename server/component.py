"""The service's XMPP side: an external component (XEP-0114) behind Prosody.

Requests come in as IQs; the dispatch below is the one place that turns them into
handler calls and domain errors into stanza errors. Pushes go out as messages.
"""

from __future__ import annotations

import asyncio
import logging

from slixmpp.componentxmpp import ComponentXMPP
from slixmpp.xmlstream import StanzaBase
from slixmpp.xmlstream.handler import CoroutineCallback

from server.admin.frontends import AdminFrontEnds
from server.handlers import OPERATIONS
from server.service import Caller, CloudImagingService
from server.stores.devices import Device
from server.stores.jobs import Job
from stanzas.client_ops import JobEvent
from stanzas.device_ops import WorkNotification
from stanzas.errors import BadRequest, CloudImagingError, InternalError, OperationNotSupported
from stanzas.registry import register_stanzas
from stanzas.transport import InNamespace, attach, error_reply, payload_element

log = logging.getLogger(__name__)


class ServiceComponent(ComponentXMPP):
    def __init__(self, svc: CloudImagingService) -> None:
        xmpp = svc.settings.xmpp
        super().__init__(xmpp.component_jid, xmpp.secret, xmpp.host, xmpp.port)
        self.svc = svc
        self.stopping = False
        self.online = asyncio.Event()
        register_stanzas()
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0199")
        self.plugin["xep_0030"].add_feature("urn:cirrus:cloud-imaging:1")
        self.register_handler(
            CoroutineCallback("cloud-imaging operations", InNamespace("iq"), self.dispatch)
        )
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.admin = AdminFrontEnds(self, svc)  # chat bot, ad-hoc commands, presence, alerts
        svc.push = self

    async def _on_session_start(self, _event: object) -> None:
        self.online.set()
        log.info("component %s online", self.boundjid)
        await self.svc.announce_restart()

    def _on_disconnected(self, _event: object) -> None:
        self.online.clear()
        if not self.stopping:
            log.warning("lost the XMPP server; reconnecting")
            # slixmpp does not reconnect after a live stream drops; connect() retries with backoff.
            self.connect()

    async def dispatch(self, iq: StanzaBase) -> None:
        if iq["type"] not in ("get", "set"):
            return  # results and errors answer our own requests; nothing to do
        element = payload_element(iq)
        assert element is not None
        name = element.tag.rsplit("}", 1)[-1]
        try:
            operation = OPERATIONS.get(name)
            if operation is None:
                raise OperationNotSupported(f"no operation {name}")
            request = operation.request.from_xml(element)
            caller = Caller(iq["from"].full)
            if not caller.bare:
                raise BadRequest("the request has no sender")
            response = await operation.handler(self.svc, caller, request)
        except CloudImagingError as error:
            log.info("%s from %s: %s %s", name, iq["from"], error.status, error.message)
            error_reply(iq, error).send()
            return
        except Exception:
            log.exception("%s from %s failed", name, iq["from"])
            error_reply(iq, InternalError(f"{name} failed inside the service")).send()
            return
        reply = iq.reply(clear=True)
        attach(reply, response).send()

    # --- Push ------------------------------------------------------------------------
    def job_event(self, job: Job) -> None:
        if not job.notify_jid or not self.online.is_set():
            return
        event = "job-completed" if job.job_state.is_terminal else "job-state-changed"
        message = self.make_message(mto=job.notify_jid, mtype="headline")
        attach(message, JobEvent(notify_subscribed_event=event, job=job.to_status())).send()

    def identify(self, device: Device, actions: list[str], message: str | None) -> None:
        if not self.online.is_set():
            return
        message_stanza = self.make_message(mto=device.jid, mtype="headline")
        payload = WorkNotification(
            output_device_uuid=device.output_device_uuid,
            identify_actions=actions,
            identify_message=message,
        )
        attach(message_stanza, payload).send()

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
        message = self.make_message(mto=device.jid, mtype="headline")
        payload = WorkNotification(
            output_device_uuid=device.output_device_uuid,
            fetchable_job_ids=fetchable,
            cancel_job_ids=cancel,
            suspend_job_ids=suspend or [],
            resume_job_ids=resume or [],
            resync=resync,
        )
        attach(message, payload).send()
