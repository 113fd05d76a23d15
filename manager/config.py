"""The Device Manager's settings (TOML)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ManagerXmpp(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_jid: str = "print.localhost"
    host: str = "127.0.0.1"
    port: int = 5222
    # The CA that signs the XMPP server's and the service's HTTPS certificates
    # (None: the system's); used in both modes, documents are always fetched over HTTPS.
    ca_file: Path | None = None
    # Client mode (the usual one, behind NAT): a user account and TLS.
    jid: str | None = None
    password: str | None = None
    # Component mode (on the XMPP server's trusted network): a component and its secret.
    component_jid: str | None = None
    secret: str | None = None


class DeviceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    output_device_uuid: str
    printer_name: str
    driver: str  # ipp:URI, file:DIR or sim:OPTIONS
    printer_info: str | None = None
    printer_location: str | None = None


class ManagerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    xmpp: ManagerXmpp
    state_dir: Path
    devices: list[DeviceSettings] = Field(min_length=1)
    status_interval: float = 2.0  # how often to ask devices about themselves
    metrics_port: int | None = None  # /metrics on 127.0.0.1:PORT (0: any free port)

    @classmethod
    def load(cls, path: Path) -> ManagerSettings:
        with path.open("rb") as f:
            settings = cls.model_validate(tomllib.load(f))
        settings.state_dir = path.parent / settings.state_dir
        if settings.xmpp.ca_file is not None:
            settings.xmpp.ca_file = path.parent / settings.xmpp.ca_file
        return settings
