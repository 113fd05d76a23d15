"""Run the whole service: store, HTTPS byte path and XMPP component."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from server import housekeeping, intake
from server.component import ServiceComponent
from server.config import Settings
from server.http import start_http
from server.service import CloudImagingService

log = logging.getLogger(__name__)


class ServiceApp:
    def __init__(self, settings: Settings) -> None:
        self.service = CloudImagingService(settings)
        self.component: ServiceComponent | None = None
        self._http: web.AppRunner | None = None

    async def start(self, *, wait_online: float = 30.0) -> None:
        await self.service.start()
        self.service.spawn(housekeeping.run(self.service), daemon=True)
        self._http = await start_http(self.service)
        self.component = ServiceComponent(self.service)
        self.component.connect()
        await asyncio.wait_for(self.component.online.wait(), wait_online)
        await intake.resume_fetches(self.service)
        log.info("service ready; documents at %s", self.service.public_url)

    async def stop(self) -> None:
        if self.component is not None:
            self.component.stopping = True
            self.component.disconnect(wait=1.0)
            self.component = None
        if self._http is not None:
            await self._http.cleanup()
            self._http = None
        await self.service.stop()
