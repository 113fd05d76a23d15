"""The service's settings, read from a TOML file (see docs/architecture.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

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


class ChatPrintSettings(BaseModel):
    """Printing from chat clients (docs/client.md): users share a file with the service
    the way chat clients share files, an XEP-0363 upload to their XMPP server's file
    share and a message with its link; the service fetches the upload and prints it."""

    model_config = ConfigDict(extra="forbid")
    # The file share's origins (Prosody's mod_http_file_share, ejabberd's
    # mod_http_upload) for the users of xmpp.domain: "upload.example.com" (https, port
    # 443), "upload.example.com:5281", or "https://upload.example.com:5281". Their links
    # are fetched even though the host is on a private network; no other host is.
    upload_hosts: list[str] = Field(default_factory=list)
    ca_file: Path | None = None  # trusted for the file share, besides the system's CAs
    # Whether the file share's links name their uploader, so that a user prints only
    # their own uploads: "sha1" for ejabberd's mod_http_upload (its default jid_in_url:
    # .../SHA1-OF-BARE-JID/RANDOM/NAME); "none" for Prosody's mod_http_file_share, whose
    # links do not say.
    owner_in_url: Literal["none", "sha1"] = "none"
    # The largest shared file fetched (besides http.max_document_size): Prosody's and
    # ejabberd's file shares here take 100 MiB.
    max_size: int = Field(default=100 * 1024 * 1024, gt=0)

    @field_validator("upload_hosts")
    @classmethod
    def _origins(cls, hosts: list[str]) -> list[str]:
        return [upload_origin(host) for host in hosts]


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def upload_origin(entry: str) -> str:
    """An upload_hosts entry as an origin, scheme://host:port (ValueError if it is not
    one: a path, a query or credentials have no place in it)."""
    text = entry.strip()
    url = urlsplit(text if "://" in text else f"https://{text}")
    try:
        port = url.port
    except ValueError:
        raise ValueError(f"{entry!r}: not a valid port") from None
    if url.scheme not in ("https", "http") or not url.hostname:
        raise ValueError(f"{entry!r}: not a host name, host:port or https://host:port")
    if url.path not in ("", "/") or url.query or url.fragment or url.username or url.password:
        raise ValueError(f"{entry!r}: only the scheme, host and port (no path or credentials)")
    host = url.hostname.rstrip(".").lower()
    if url.scheme == "http" and host not in LOOPBACK_NAMES:
        # The link is a capability and the file a user's document: in clear only where
        # it cannot leave the machine.
        raise ValueError(f"{entry!r}: plain http only on loopback; use https")
    default = 443 if url.scheme == "https" else 80
    return f"{url.scheme}://{host}:{port or default}"


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
    chat_print: ChatPrintSettings = Field(default_factory=ChatPrintSettings)
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
        if settings.chat_print.ca_file is not None:
            settings.chat_print.ca_file = base / settings.chat_print.ca_file
        if settings.backup_dir is not None:
            settings.backup_dir = base / settings.backup_dir
        if settings.job_log.file is not None:
            settings.job_log.file = base / settings.job_log.file
        return settings
