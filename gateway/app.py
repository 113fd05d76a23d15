"""The gateway process: settings, per-user XMPP sessions, listeners, DNS-SD.

Settings (TOML, see docs/gateway.md)::

    [listen]          host, port (ipp://, None = off), tls_port (ipps://), cert_file, key_file
    [xmpp]            host, port (c2s), domain, service_jid, ca_file
    account, password the gateway's own (unprivileged) account: public printer reads and
                      anonymous printing on anonymous_queues
    anonymous_queues, operators, queues (to advertise), dnssd, idle_timeout
    login_rate, login_burst  logins (XMPP server round trips) per second and at once that
                      one client address may cause; beyond them requests get HTTP 429
"""

from __future__ import annotations

import logging
import secrets
import ssl
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cirrus.client import CirrusClient, ClientSettings
from stanzas.client_ops import JobEvent
from stanzas.errors import CloudImagingError

from .cloud import CloudClient, Directory, service_elements_directory
from .core import Gateway, GatewaySettings
from .dnssd import Advertiser, txt_record
from .http import IppHttp, Listener
from .ratelimit import RateLimiter
from .sessions import Sessions

log = logging.getLogger(__name__)


class ListenSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int | None = 8631  # ipp:// (None: no clear-text listener)
    tls_port: int | None = None  # ipps://
    cert_file: Path | None = None
    key_file: Path | None = None


class XmppSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = 5222
    domain: str = "localhost"
    service_jid: str = "print.localhost"
    ca_file: Path | None = None


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listen: ListenSettings = Field(default_factory=ListenSettings)
    xmpp: XmppSettings = Field(default_factory=XmppSettings)
    account: str | None = None
    password: str | None = None
    anonymous_queues: list[str] = Field(default_factory=list)
    operators: list[str] = Field(default_factory=list)
    queues: list[str] = Field(default_factory=list)  # advertised with DNS-SD
    dnssd: bool = False
    idle_timeout: float = 900.0
    notify_wait_max: float = 30.0
    queue_poll: float = Field(default=5.0, gt=0)  # reads of queues printer subscriptions watch
    login_rate: float = Field(default=1.0, gt=0)
    login_burst: float = Field(default=10.0, ge=1)

    @classmethod
    def load(cls, path: Path) -> GatewayConfig:
        with path.open("rb") as f:
            config = cls.model_validate(tomllib.load(f))
        base = path.parent
        for holder, name in (
            (config.listen, "cert_file"),
            (config.listen, "key_file"),
            (config.xmpp, "ca_file"),
        ):
            value = getattr(holder, name)
            if value is not None:
                setattr(holder, name, base / value)
        return config


class GatewayApp:
    def __init__(self, config: GatewayConfig, *, directory: Directory | None = None) -> None:
        self.config = config
        self.resource = f"cirrus-gateway-{secrets.token_hex(4)}"
        self.sessions = Sessions(
            self._login,
            idle_timeout=config.idle_timeout,
            limiter=RateLimiter(rate=config.login_rate, burst=config.login_burst),
        )
        account = None
        if config.account and config.password is not None:
            account = (config.account, config.password)
        self.gateway = Gateway(
            GatewaySettings(
                domain=config.xmpp.domain,
                anonymous_queues=frozenset(config.anonymous_queues),
                operators=frozenset(config.operators),
                notify_wait_max=config.notify_wait_max,
                queue_poll=config.queue_poll,
            ),
            self.sessions,
            directory or service_elements_directory,
            service_account=account,
        )
        self.http = IppHttp(self.gateway)
        self.advertiser: Advertiser | None = None
        self.bound: list[tuple[str, int, bool]] = []

    async def _login(self, jid: str, password: str) -> CloudClient:
        xmpp = self.config.xmpp
        client = CirrusClient(
            ClientSettings(
                jid=f"{jid}/{self.resource}",
                password=password,
                service_jid=xmpp.service_jid,
                host=xmpp.host,
                port=xmpp.port,
                ca_file=xmpp.ca_file,
            )
        )
        await client.start()  # PermissionError when Prosody refuses the credentials
        owner = jid.split("/", 1)[0]

        def on_event(element: ET.Element) -> None:
            try:
                event = JobEvent.from_xml(element)
            except CloudImagingError:
                return
            self.gateway.subscriptions.publish_job(
                event.notify_subscribed_event, owner, event.job, event.job.job_state_message or ""
            )
            self.gateway.watch.hint(event.job.printer_name)  # its queue's state may follow

        client.session.service_messages.append(on_event)
        return client

    async def start(self) -> list[tuple[str, int, bool]]:
        listen = self.config.listen
        listeners = []
        if listen.port is not None:
            listeners.append(Listener(listen.host, listen.port))
        if listen.tls_port is not None:
            if listen.cert_file is None or listen.key_file is None:
                raise ValueError("ipps (tls_port) needs cert_file and key_file")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(listen.cert_file, listen.key_file)
            listeners.append(Listener(listen.host, listen.tls_port, context))
        self.bound = await self.http.start(listeners)
        self.gateway.start()
        settings = self.gateway.settings
        for _host, port, tls in self.bound:
            if tls:
                settings.tls_port = port
            else:
                settings.plain_port = port
        if self.config.dnssd and self.config.queues:
            self.advertiser = Advertiser()
            await self.advertiser.start(
                self.config.queues,
                plain_port=settings.plain_port,
                tls_port=settings.tls_port,
                txt=lambda queue: txt_record(queue, tls=settings.tls_port is not None),
            )
        return self.bound

    def uri(self, queue: str, *, tls: bool = False) -> str:
        port = self.gateway.settings.tls_port if tls else self.gateway.settings.plain_port
        return f"{'ipps' if tls else 'ipp'}://127.0.0.1:{port}/ipp/print/{queue}"

    async def stop(self) -> None:
        if self.advertiser is not None:
            await self.advertiser.stop()
            self.advertiser = None
        await self.http.stop()
        await self.gateway.stop()
        await self.sessions.close()


def describe(bound: list[tuple[str, int, bool]]) -> dict[str, Any]:
    return {("ipps" if tls else "ipp"): f"{host}:{port}" for host, port, tls in bound}
