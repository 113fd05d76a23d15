"""The Device Manager's settings (TOML)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from manager.drivers.smtp import SmtpSettings


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
    driver: str  # ipp:URI, file:DIR, sim:OPTIONS, sane:DEVICE or smtp:
    printer_info: str | None = None
    printer_location: str | None = None
    # The queue's service; by default the driver's: sane → scan, smtp → emailout,
    # others print. faxout: an ipp driver to an IPP FaxOut device (PWG 5100.15).
    service: Literal["print", "scan", "emailout", "faxout"] | None = None
    # Convert documents the device does not take (manager/transform/); the queue then
    # advertises every format the transforms reach.
    transform: bool = True


class ManagerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    xmpp: ManagerXmpp
    state_dir: Path
    devices: list[DeviceSettings] = Field(min_length=1)
    status_interval: float = 2.0  # how often to ask devices about themselves
    # How long an empty device job may wait for the service before it is given back
    # (docs/architecture.md, "The device is not held across a wait for the service").
    device_hold: float = 2.0
    smtp: SmtpSettings | None = None  # the server EmailOut (smtp:) devices send through
    transform_timeout: float = 300.0  # seconds one converter run may take
    metrics_port: int | None = None  # /metrics on 127.0.0.1:PORT (0: any free port)

    @field_validator("smtp", mode="before")
    @classmethod
    def _no_empty_smtp(cls, value: object) -> object:
        # `cirrus init` writes an [smtp] table with every setting commented out.
        return None if value == {} else value

    @classmethod
    def load(cls, path: Path) -> ManagerSettings:
        with path.open("rb") as f:
            settings = cls.model_validate(tomllib.load(f))
        settings.state_dir = path.parent / settings.state_dir
        if settings.xmpp.ca_file is not None:
            settings.xmpp.ca_file = path.parent / settings.xmpp.ca_file
        if settings.smtp is not None and settings.smtp.ca_file is not None:
            settings.smtp.ca_file = path.parent / settings.smtp.ca_file
        return settings
