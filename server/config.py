"""The service's settings, read from a TOML file (see docs/architecture.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.joblog.record import FACILITIES


class XmppSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    component_jid: str = "print.localhost"  # the service's address
    secret: str  # XEP-0114 shared secret (keep the component port on loopback)
    host: str = "127.0.0.1"
    port: int = 5347
    domain: str = "localhost"  # whose users may submit jobs


class HttpSettings(BaseModel):
    """The HTTPS endpoint for document bytes (uploads from clients, downloads by devices)."""

    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port
    public_url: str | None = None  # how others reach it; default https://host:port
    cert_file: Path | None = None  # TLS is on whenever a certificate is given
    key_file: Path | None = None
    slot_ttl: float = 600.0
    max_document_size: int = 2 * 1024**3


Destination = Literal["file", "syslog"]


def _file_only() -> list[Destination]:
    return ["file"]


class JobLogSettings(BaseModel):
    """The job log (seed 000 "Logging", PWG 5110.3 records as RFC 5424 syslog lines)."""

    model_config = ConfigDict(extra="forbid")
    # "file" and/or "syslog"; [] keeps no job log (the seed says the service MUST).
    destinations: list[Destination] = Field(default_factory=_file_only)
    file: Path | None = None  # default: job-log/jobs.log beside the database
    syslog_socket: Path = Path("/dev/log")  # the local syslog daemon (datagram socket)
    facility: str = "lpr"  # RFC 5424 facility: lpr, daemon, user, local0 … local7
    hostname: str | None = None  # HOSTNAME of the records; default: this host's name
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=0)  # rotate at this size (0: no)
    rotate_after: float = Field(default=86400.0, gt=0)  # seconds: rotate at this age
    retention_days: float = Field(default=366.0, gt=0)  # delete rotated files this old

    @field_validator("facility")
    @classmethod
    def _known_facility(cls, value: str) -> str:
        if value not in FACILITIES:
            raise ValueError(f"facility is one of {', '.join(FACILITIES)}")
        return value


class MetricsSettings(BaseModel):
    """GET /metrics on the HTTPS endpoint (Prometheus); GET /healthz is always open."""

    model_config = ConfigDict(extra="forbid")
    # Scrapers send `Authorization: Bearer TOKEN`. Without a token, /metrics answers
    # only requests from loopback that came through no proxy.
    token: str | None = None


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    xmpp: XmppSettings
    http: HttpSettings = Field(default_factory=HttpSettings)
    database: Path
    spool_dir: Path
    admins: list[str] = Field(default_factory=list)  # bare JIDs
    operators: list[str] = Field(default_factory=list)
    # Managers running as XMPP components on the server's trusted network.
    manager_components: list[str] = Field(default_factory=list)
    auto_approve_devices: bool = False  # otherwise an administrator approves each device
    uri_ca_file: Path | None = None  # extra trust for Send<Service>Uri over https
    housekeeping_interval: float = 5.0  # seconds between retention / time-out sweeps
    sqlite_synchronous: str = "FULL"
    job_log: JobLogSettings = Field(default_factory=JobLogSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    backup_dir: Path | None = None  # where Backup writes; default: backups/ beside the database

    def backup_folder(self) -> Path:
        return self.backup_dir or self.database.parent / "backups"

    def job_log_file(self) -> Path:
        return self.job_log.file or self.database.parent / "job-log" / "jobs.log"

    @classmethod
    def load(cls, path: Path) -> Settings:
        with path.open("rb") as f:
            data = tomllib.load(f)
        base = path.parent
        settings = cls.model_validate(data)
        # Relative paths in the file are relative to the file.
        settings.database = base / settings.database
        settings.spool_dir = base / settings.spool_dir
        if settings.http.cert_file is not None:
            settings.http.cert_file = base / settings.http.cert_file
        if settings.http.key_file is not None:
            settings.http.key_file = base / settings.http.key_file
        if settings.backup_dir is not None:
            settings.backup_dir = base / settings.backup_dir
        if settings.job_log.file is not None:
            settings.job_log.file = base / settings.job_log.file
        return settings
