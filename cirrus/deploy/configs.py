"""What `cirrus init` writes for each part: the sections of service.toml, manager.toml and
gateway.toml for one organisation's domain, every setting the loader knows explained.

The values follow docs/deploy.md: the XMPP server at `xmpp.DOMAIN` (c2s 5222, STARTTLS,
its component port on its own loopback), the service as the component `print.DOMAIN`
on the XMPP server's host, its byte endpoint on loopback behind a reverse proxy that
serves `https://print.DOMAIN`. The tests check that every field of each settings model
appears here and that the file loads with the real loader, examples uncommented too.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from cirrus.deploy.configfile import Section, Setting

KINDS = ("service", "manager", "gateway")
SERVICE_HTTP_PORT = 8480  # the byte endpoint on loopback, behind the reverse proxy


@dataclass(frozen=True)
class Names:
    """Every name a deployment derives from the organisation's domain."""

    domain: str
    xmpp_host: str  # where c2s and the component port are
    component_jid: str  # the service's address
    public_url: str  # the byte endpoint as managers and clients reach it

    @classmethod
    def for_domain(
        cls, domain: str, *, xmpp_host: str | None = None, public_url: str | None = None
    ) -> Names:
        component = f"print.{domain}"
        return cls(
            domain=domain,
            xmpp_host=xmpp_host or f"xmpp.{domain}",
            component_jid=component,
            public_url=public_url or f"https://{component}",
        )


def new_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits; URL-safe characters quote in TOML and Lua


def state_dir(kind: str) -> Path:
    return Path(f"/var/lib/cirrus-{kind}")  # systemd's StateDirectory=cirrus-KIND


def config_path(kind: str, config_dir: Path = Path("/etc/cirrus")) -> Path:
    return config_dir / f"{kind}.toml"


TITLE = (
    "Cirrus {kind} for {domain}, written by `cirrus init {kind}`. Holds secrets: keep it "
    "mode 0600. Relative paths are relative to this file (under the systemd unit: to "
    "its credentials directory, see LoadCredential=). docs/deploy.md explains the "
    "whole deployment; `cirrus doctor --config THIS-FILE` checks it."
)


def service_sections(names: Names, *, secret: str, state: Path) -> list[Section]:
    top = Section(
        None,
        "Where the service keeps its state, and who may administer it.",
        [
            Setting(
                "database",
                "The SQLite database (WAL, synchronous=FULL: a job is on disk before "
                "it is acknowledged). An absolute path on a local disk.",
                str(state / "service.db"),
            ),
            Setting(
                "spool_dir",
                "Document data until the device has it (then it is discarded).",
                str(state / "spool"),
            ),
            Setting(
                "admins",
                "Bare JIDs of administrators: accounts of the XMPP server (its own or its "
                "LDAP directory's). Cirrus has no accounts of its own.",
                [f"admin@{names.domain}"],
            ),
            Setting("operators", "Bare JIDs who may see and manage everyone's jobs.", example=[]),
            Setting(
                "manager_components",
                "Managers that connect as XMPP components on the XMPP server's trusted "
                "network (component mode), by component JID.",
                example=[],
            ),
            Setting(
                "auto_approve_devices",
                "Accept new printers without an administrator's approval (`approve QUEUE` "
                "in the chat bot or `cirrus admin`). Keep false outside a test bed.",
                example=False,
            ),
            Setting(
                "uri_ca_file",
                "Extra CAs to trust when the service fetches a document by URI "
                "(Send-URI over https); the system's CAs are always trusted.",
                example="/etc/ssl/certs/intranet-ca.pem",
            ),
            Setting(
                "housekeeping_interval",
                "Seconds between sweeps for retention and multiple-operation time-outs.",
                example=5.0,
            ),
            Setting(
                "sqlite_synchronous",
                "SQLite's synchronous pragma. FULL keeps every acknowledged job across a "
                "power cut; do not lower it in production.",
                example="FULL",
            ),
            Setting(
                "backup_dir",
                "Where `cirrus admin backup FILE` writes its archive, on this host (a file "
                "name, never over an existing one). Default: backups/ beside the database.",
                example=str(state / "backups"),
            ),
        ],
    )
    job_log = Section(
        "job_log",
        "The job log (seed 000, PWG 5110.3 Common Log Format): one RFC 5424 record per job "
        "transaction and per device request, after its COMMIT. docs/deploy.md lists the "
        "records and fields, and the rsyslog and logrotate settings that go with them.",
        [
            Setting(
                "destinations",
                '"file" and/or "syslog" (the local syslog socket); [] keeps no job log.',
                ["file"],
            ),
            Setting(
                "file",
                "The log file (rotated and deleted by the settings below). Default: "
                "job-log/jobs.log beside the database.",
                example="/var/log/cirrus/jobs.log",
            ),
            Setting(
                "syslog_socket", "The local syslog daemon's datagram socket.", example="/dev/log"
            ),
            Setting(
                "facility",
                "Syslog facility: lpr (printing), daemon, user, local0 … local7.",
                example="lpr",
            ),
            Setting(
                "hostname",
                "HOSTNAME of the records (default: this host's name).",
                example=names.component_jid,
            ),
            Setting(
                "max_bytes",
                "Start a new file at this size (0: never by size).",
                example=64 * 1024 * 1024,
            ),
            Setting("rotate_after", "Start a new file at this age, seconds.", example=86400.0),
            Setting(
                "retention_days",
                "Delete rotated files older than this: the retention policy the seed asks "
                "the service's owner to set.",
                example=366.0,
            ),
        ],
    )
    metrics = Section(
        "metrics",
        "GET /metrics (Prometheus) on the byte endpoint; GET /healthz (database, XMPP) is "
        "always open, for load balancers.",
        [
            Setting(
                "token",
                "Scrapers send `Authorization: Bearer TOKEN`. Without a token /metrics "
                "answers only requests from this host that came through no proxy.",
                example="a-long-random-string",
            ),
        ],
    )
    xmpp = Section(
        "xmpp",
        "The service is an external component (XEP-0114) of the XMPP server. XEP-0114 has "
        "no TLS: the component port must listen on the XMPP server's loopback (or a "
        "private link) only, and the service runs on that host.",
        [
            Setting(
                "component_jid",
                "The service's address, as in the XMPP server's "
                "Component block (Prosody) or ejabberd_service listener.",
                names.component_jid,
            ),
            Setting(
                "secret",
                "The component's shared secret (generated; the same string "
                "goes into the XMPP server's config).",
                secret,
            ),
            Setting("host", "The XMPP server's component listener.", "127.0.0.1"),
            Setting("port", "Prosody's default component port; ejabberd: your listener.", 5347),
            Setting(
                "domain", "The users' domain: accounts of this domain may print.", names.domain
            ),
        ],
    )
    http = Section(
        "http",
        "The byte endpoint (PUT /uploads/TOKEN, GET /documents/TOKEN). Here plain HTTP on "
        "loopback behind a reverse proxy that terminates TLS (docs/deploy.md has the "
        "nginx server block); give cert_file and key_file instead to serve HTTPS itself.",
        [
            Setting("host", "Listen address: loopback, the proxy is on this host.", "127.0.0.1"),
            Setting("port", "Listen port (0 = any free port, only for tests).", SERVICE_HTTP_PORT),
            Setting(
                "public_url",
                "How managers and clients reach the endpoint: the "
                "proxy's https URL. Upload and download URLs start with it.",
                names.public_url,
            ),
            Setting(
                "cert_file",
                "Serve HTTPS directly with this certificate chain (PEM) instead of a proxy.",
                example=f"/etc/letsencrypt/live/{names.component_jid}/fullchain.pem",
            ),
            Setting(
                "key_file",
                "The certificate's private key (PEM).",
                example=f"/etc/letsencrypt/live/{names.component_jid}/privkey.pem",
            ),
            Setting("slot_ttl", "Seconds an upload or download URL stays valid.", example=600.0),
            Setting(
                "max_document_size",
                "Largest document in octets (2 GiB); the "
                "proxy's client_max_body_size must be at least this.",
                example=2 * 1024**3,
            ),
        ],
    )
    chat_print = Section(
        "chat_print",
        "Printing from any chat client (docs/client.md): users share a file with the "
        "service (an XEP-0363 upload to the XMPP server's file share, then its link); the "
        "service fetches it from the file share, and from nowhere else.",
        [
            Setting(
                "upload_hosts",
                "The file share's origins: host (https, 443), host:port or "
                "https://host:port; plain http only on loopback. Empty: no chat printing.",
                example=[f"upload.{names.domain}:5281"],
            ),
            Setting(
                "ca_file",
                "Extra CAs to trust for the file share (its own CA); the system's are "
                "always trusted.",
                example="/etc/ssl/certs/upload-ca.pem",
            ),
            Setting(
                "owner_in_url",
                "sha1 for ejabberd's mod_http_upload (jid_in_url: sha1): only the sender's "
                "own uploads print; none for Prosody, whose links do not say.",
                example="sha1",
            ),
            Setting(
                "max_size", "Largest shared file fetched, octets (100 MiB).", example=104857600
            ),
        ],
    )
    return [top, xmpp, http, job_log, metrics, chat_print]


def manager_sections(
    names: Names,
    *,
    account: str,
    password: str,
    state: Path,
    queue: str,
    driver: str,
    device_uuid: str | None = None,
) -> list[Section]:
    top = Section(
        None,
        "A Device Manager next to its printers. It only makes outbound connections (XMPP "
        "c2s with TLS, HTTPS for document bytes): it runs behind NAT with no port open.",
        [
            Setting(
                "state_dir",
                "The manager's journal of the jobs it holds (print at "
                "most once across restarts) and its document spool.",
                str(state),
            ),
            Setting(
                "status_interval",
                "Seconds between questions to the devices about their state.",
                example=2.0,
            ),
            Setting(
                "device_hold",
                "Seconds a device job that holds no document yet may wait for the service's "
                "answer before it is canceled, so that the printer serves other jobs.",
                example=2.0,
            ),
            Setting(
                "transform_timeout",
                "Seconds one conversion (Ghostscript, texttopdf, img2pdf) of a document "
                "the printer does not take may run before the job is aborted.",
                example=300.0,
            ),
            Setting(
                "metrics_port",
                "Serve Prometheus metrics on 127.0.0.1:PORT (GET /metrics); off when left out.",
                example=9464,
            ),
        ],
    )
    xmpp = Section(
        "xmpp",
        "Client mode: an ordinary account of the XMPP server (in its own database or its "
        "LDAP directory). Create it with exactly this password, or put the directory's "
        "password here.",
        [
            Setting("service_jid", "The service's component address.", names.component_jid),
            Setting("host", "The XMPP server (c2s, STARTTLS required).", names.xmpp_host),
            Setting("port", "Its c2s port.", 5222),
            Setting("jid", "The manager's account.", f"{account}@{names.domain}"),
            Setting("password", "Its password (generated).", password),
            Setting(
                "ca_file",
                "CA bundle (PEM) that signed the XMPP server's and the byte "
                "endpoint's certificates. Leave out for the system's CAs (Let's "
                "Encrypt certificates need nothing here).",
                example="ca.pem",
            ),
            Setting(
                "component_jid",
                "Component mode instead (only on the XMPP server's "
                "trusted network, XEP-0114 has no TLS): the manager's component "
                "name, listed in the service's manager_components; drop jid and "
                "password then.",
                example=f"printers.{names.domain}",
            ),
            Setting(
                "secret", "Component mode: the component's secret.", example="component-secret"
            ),
        ],
    )
    device = Section(
        "devices",
        "One [[devices]] table per printer; each becomes the service queue printer_name.",
        [
            Setting(
                "output_device_uuid",
                "The device's identity for the service "
                "(generated; keep it when the printer is replaced by the same queue).",
                device_uuid or uuid.uuid4().urn,
            ),
            Setting("printer_name", "The queue it registers for.", queue),
            Setting(
                "device_name",
                "The device's own name, asked for at its first registration (users "
                "release held jobs at it: cirrus release ID --at NAME); default: the "
                "queue's name.",
                example="lobby",
            ),
            Setting(
                "enrollment_code",
                "The one-time code an administrator issued for the queue "
                "(cirrus admin enroll QUEUE): the device joins the queue with it at its "
                "first registration. Without one, the registration waits for an "
                "administrator's approve.",
                example="ABCD-EFGH-IJKL-MNOP-QRST-UVWX",
            ),
            Setting(
                "driver",
                "ipp:URI (any IPP printer), file:DIR (writes each document "
                "into DIR) or sim: (a simulated printer).",
                driver,
            ),
            Setting(
                "printer_info", "A description shown to users.", example="Office printer, 2nd floor"
            ),
            Setting("printer_location", "Where it is.", example="Building A, room 214"),
            Setting(
                "service",
                "The queue's service: print, scan, emailout or faxout. By default the "
                "driver's (sane: scan, smtp: emailout, the others print); faxout takes an "
                "ipp: driver to an IPP FaxOut device.",
                example="print",
            ),
            Setting(
                "transform",
                "Convert documents the printer does not take (PDF to PWG Raster, text "
                "laid out …); the queue then lists every format that reaches it.",
                example=True,
            ),
        ],
        array=True,
    )
    smtp = Section(
        "smtp",
        'For an EmailOut device (driver = "smtp:"): the SMTP server it sends through. '
        "Leave every setting out when no device sends email.",
        [
            Setting("host", "The SMTP server.", example=f"smtp.{names.domain}"),
            Setting("port", "587 for STARTTLS, 465 for TLS.", example=587),
            Setting(
                "security", "starttls, tls or none (a relay on this host).", example="starttls"
            ),
            Setting(
                "username", "The login (leave out for none).", example=f"scanner@{names.domain}"
            ),
            Setting("password", "Its password.", example="smtp-password"),
            Setting("from_address", "The sender of the emails.", example=f"scanner@{names.domain}"),
            Setting("ca_file", "CA bundle (PEM) of the server's certificate.", example="ca.pem"),
            Setting("timeout", "Seconds for each exchange with the server.", example=60.0),
            Setting(
                "max_message_size",
                "The largest total of documents one email carries, in bytes.",
                example=26214400,
            ),
        ],
    )
    return [top, xmpp, device, smtp]


def gateway_sections(names: Names, *, account: str, password: str) -> list[Section]:
    top = Section(
        None,
        "The IPP gateway next to the users: every queue as an IPP Everywhere printer. Users "
        "authenticate with their XMPP account (HTTP Basic over ipps://); the gateway logs "
        "in as them (docs/gateway.md).",
        [
            Setting(
                "account",
                "The gateway's own unprivileged account: public printer "
                "reads and anonymous printing on anonymous_queues.",
                f"{account}@{names.domain}",
            ),
            Setting("password", "Its password (generated; create the account with it).", password),
            Setting(
                "anonymous_queues",
                "Queues that accept jobs without a login (requesting-user-name only).",
                example=[],
            ),
            Setting(
                "operators", "Bare JIDs who see everyone's jobs through the gateway.", example=[]
            ),
            Setting("queues", "Queues to advertise with DNS-SD.", example=["office"]),
            Setting("dnssd", "Advertise the queues through the local Avahi daemon.", example=False),
            Setting("idle_timeout", "Seconds an idle user's XMPP session is kept.", example=900.0),
            Setting("notify_wait_max", "Longest wait of Get-Notifications, seconds.", example=30.0),
            Setting(
                "login_rate",
                "Logins to the XMPP server per second one client address may cause"
                " (beyond them: HTTP 429).",
                example=1.0,
            ),
            Setting("login_burst", "Logins one client address may cause at once.", example=10.0),
            Setting(
                "queue_poll",
                "Seconds between reads of the queues printer subscriptions watch.",
                example=5.0,
            ),
        ],
    )
    listen = Section(
        "listen",
        "Where print clients connect. 631 is IPP's port; the systemd unit grants "
        "CAP_NET_BIND_SERVICE for it.",
        [
            Setting("host", "Listen address.", "0.0.0.0"),
            Setting(
                "port",
                "Clear-text ipp:// (8631 when left out; TOML cannot switch it off). Basic "
                "credentials in clear are refused from anywhere but loopback.",
                example=8631,
            ),
            Setting("tls_port", "ipps://.", 631),
            Setting(
                "cert_file",
                "Certificate chain (PEM) for ipps; under systemd the "
                "credential gateway.crt (LoadCredential=).",
                "gateway.crt",
            ),
            Setting("key_file", "Its private key; the credential gateway.key.", "gateway.key"),
        ],
    )
    xmpp = Section(
        "xmpp",
        "The XMPP server the users' accounts are on.",
        [
            Setting("host", "c2s host (STARTTLS required).", names.xmpp_host),
            Setting("port", "c2s port.", 5222),
            Setting("domain", "The users' domain (alice → alice@DOMAIN).", names.domain),
            Setting("service_jid", "The service's component address.", names.component_jid),
            Setting(
                "ca_file",
                "CA bundle (PEM) for the XMPP server and the byte endpoint; "
                "leave out for the system's CAs.",
                example="ca.pem",
            ),
        ],
    )
    return [top, listen, xmpp]
