"""Run the whole service: the context (store, state machines), the notifier above it, the
HTTPS byte path, the XMPP component and its administrators' front ends. All wiring
between the layers is here."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable

from aiohttp import web

from server import metrics, notifier
from server.admin.plugin import AdminPlugin
from server.config import Settings
from server.context import ServiceContext
from server.documents import by_reference
from server.jobs import housekeeping
from server.metrics import ServiceMetrics
from server.notifier import Notifier
from server.transport.component import ServiceComponent
from server.transport.http import start_http

log = logging.getLogger(__name__)


class ServiceApp:
    def __init__(self, settings: Settings, clock: Callable[[], float] | None = None) -> None:
        self.service = (
            ServiceContext(settings) if clock is None else ServiceContext(settings, clock)
        )
        self.metrics = ServiceMetrics(self.service)
        self.notifier = Notifier(self.service, pushed=self.metrics.pushed)
        self.admin = AdminPlugin(self.service)  # chat bot, ad-hoc commands, presence, alerts
        self.component: ServiceComponent | None = None
        self._http: web.AppRunner | None = None
        self._connected = False  # the component has been online once (then: reconnects)

    async def start(self, *, wait_online: float = 30.0) -> None:
        ctx = self.service
        await self.start_core()
        ctx.tasks.spawn(housekeeping.run(ctx), daemon=True)
        self._http = await start_http(
            ctx, functools.partial(metrics.add_routes, ctx=ctx, metrics=self.metrics)
        )
        self.component = self.connect_component()
        await asyncio.wait_for(self.component.online.wait(), wait_online)
        await by_reference.resume_fetches(ctx)
        log.info("service ready; documents at %s", ctx.public_url)

    async def start_core(self) -> None:
        """The store and the state machines, with the notifier listening: the service
        without its network sides (the handler tests plug in a component of their own)."""
        await self.service.start()
        await self.metrics.start()
        self.notifier.attach()

    def connect_component(self) -> ServiceComponent:
        """The XMPP side: the component is the context's Push port, the administrators'
        front ends are its plugin, and each (re)connect asks every device to resync."""
        component = self.plug_component(ServiceComponent(self.service))
        component.connect()
        return component

    def plug_component(self, component: ServiceComponent) -> ServiceComponent:
        self.service.push = component
        self.admin.register(component)
        component.add_event_handler("session_start", self._on_session_start)
        return component

    def _on_session_start(self, _event: object) -> None:
        if self._connected:
            self.service.traffic.reconnects += 1
        self._connected = True
        self.service.tasks.spawn(notifier.announce_restart(self.service))

    def unplug_component(self, component: ServiceComponent) -> None:
        component.del_event_handler("session_start", self._on_session_start)
        self.admin.unregister()
        self.service.push = None

    async def stop(self) -> None:
        if self.component is not None:
            self.admin.presence.going_offline()  # queued before the stream's end
            self.component.stopping = True
            self.component.disconnect(wait=1.0)
            self.unplug_component(self.component)
            self.component = None
        if self._http is not None:
            await self._http.cleanup()
            self._http = None
        if self.notifier.attached:
            self.notifier.detach()
        self.metrics.stop()
        await self.service.stop()
