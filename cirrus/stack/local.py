"""A whole Cirrus on this machine: an XMPP server (Prosody, or ejabberd), the service,
a printer and its manager.

Used by `cirrus up`, `cirrus demo`, the end-to-end tests and the benchmarks. Every
file it writes (configs with passwords and secrets, certificates, databases, spools,
logs) goes under the state directory it is given, never into the repository.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cirrus.client import CirrusClient, ClientSettings
from cirrus.stack import toml
from cirrus.stack.process import ManagedProcess
from cirrus.stack.xmpp import XmppKind, XmppServer, start_xmpp_server
from stanzas.admin_ops import IssueEnrollmentCode, IssueEnrollmentCodeResponse

SERVICE_READY = "cirrus service ready"
MANAGER_READY = "cirrus manager online"
DOMAIN = "localhost"
SERVICE_JID = f"print.{DOMAIN}"
XMPP_SERVER_NAMES: dict[XmppKind, str] = {"prosody": "Prosody", "ejabberd": "ejabberd"}


def service_config(
    state_dir: Path, xmpp: XmppServer, *, admins: list[str], **extra: Any
) -> dict[str, Any]:
    return {
        "database": str(state_dir / "service.db"),
        "spool_dir": str(state_dir / "spool"),
        "admins": admins,
        "auto_approve_devices": True,
        # The XMPP server's file share: chat clients' uploads there may be printed.
        "chat_print": {
            "upload_hosts": [xmpp.upload_origin] if xmpp.upload_origin else [],
            "ca_file": str(xmpp.ca_file),
            "owner_in_url": xmpp.upload_owner_in_url,
        },
        **extra,
        "xmpp": {
            "component_jid": SERVICE_JID,
            "secret": xmpp.components[SERVICE_JID],
            "host": xmpp.host,
            "port": xmpp.component_ports[SERVICE_JID],
            "domain": xmpp.domain,
        },
        "http": {
            "host": "127.0.0.1",
            "port": 0,
            "cert_file": str(xmpp.cert_file),
            "key_file": str(xmpp.key_file),
        },
    }


def manager_config(
    state_dir: Path,
    xmpp: XmppServer,
    *,
    jid: str,
    password: str,
    devices: list[dict[str, Any]],
    status_interval: float = 2.0,
) -> dict[str, Any]:
    return {
        "state_dir": str(state_dir),
        "status_interval": status_interval,
        "xmpp": {
            "service_jid": SERVICE_JID,
            "host": xmpp.host,
            "port": xmpp.c2s_port,
            "jid": jid,
            "password": password,
            "ca_file": str(xmpp.ca_file),
        },
        "devices": devices,
    }


def device_entry(
    printer_name: str, driver: str, info: str = "", *, enrollment_code: str | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "output_device_uuid": uuid.uuid4().urn,
        "printer_name": printer_name,
        "driver": driver,
        "printer_info": info or f"Cirrus queue {printer_name}",
    }
    if enrollment_code is not None:
        entry["enrollment_code"] = enrollment_code
    return entry


async def issue_enrollment_code(admin: ClientSettings, queue: str) -> str:
    """A one-time enrolment code for the queue, asked of the service by an administrator."""
    async with CirrusClient(admin) as client:
        response = await client.session.request(
            IssueEnrollmentCode(printer_name=queue), IssueEnrollmentCodeResponse
        )
    return response.enrollment_code


def _client_settings(xmpp: XmppServer, name: str, passwords: dict[str, str]) -> ClientSettings:
    return ClientSettings(
        jid=xmpp.jid(name),
        password=passwords[name],
        service_jid=SERVICE_JID,
        host=xmpp.host,
        port=xmpp.c2s_port,
        ca_file=xmpp.ca_file,
    )


@dataclass
class LocalStack:
    state_dir: Path
    xmpp: XmppServer
    queue: str
    user: ClientSettings
    admin: ClientSettings
    service: ManagedProcess
    manager: ManagedProcess
    printer: Any = None  # an IppEvePrinter when the device is ippeveprinter
    output_dir: Path | None = None  # where the device puts what it prints
    extra: list[Any] = field(default_factory=list)

    async def stop(self) -> None:
        for process in (self.manager, self.service):
            await process.stop()
        if self.printer is not None:
            await self.printer.stop()
        await self.xmpp.stop()

    def client_config(self) -> Path:
        """The ordinary user's config file for `cirrus --config FILE` (or CIRRUS_CONFIG)."""
        return write_client_config(self.state_dir / "client.toml", self.user)

    def admin_config(self) -> Path:
        """The administrator's config file, for `cirrus --config FILE admin …`."""
        return write_client_config(self.state_dir / "admin.toml", self.admin)

    def welcome(self) -> str:
        """What `cirrus up` prints once everything runs: both configs (written to the
        state folder) and a line to try each front end, the user's and the
        administrator's (cirrus admin, chat, XEP-0050 ad-hoc commands)."""
        user, admin = self.client_config(), self.admin_config()
        service, server = self.admin.service_jid, f"{self.admin.host}:{self.admin.port}"
        lines = [
            f"Cirrus is up (state in {self.state_dir}).",
            "",
            f"As a user ({self.user.jid}), in another shell:",
            f"  export CIRRUS_CONFIG={user}",
            f"  cirrus print FILE.pdf --queue {self.queue}",
            "  cirrus jobs   |   cirrus job ID   |   cirrus cancel ID",
            "",
            f"As an administrator ({self.admin.jid}):",
            f"  cirrus --config {admin} admin queues      (all commands: cirrus admin --help)",
            f"  chat: in any XMPP client, log in to {server} as {self.admin.jid}",
            f"        (password {self.admin.password}; the server's CA is {self.admin.ca_file})",
            f"        and send `help` to {service}",
            f"  XEP-0050: in that client, the ad-hoc commands of {service} ('Execute command')",
        ]
        if self.output_dir:
            lines += ["", f"Printed output lands in {self.output_dir}"]
        lines.append("Ctrl-C stops everything.")
        return "\n".join(lines)


def write_client_config(path: Path, settings: ClientSettings, **changes: object) -> Path:
    """A `cirrus --config` file for these settings (values in `changes` win)."""
    values: dict[str, object] = {
        "jid": settings.jid,
        "password": settings.password,
        "service_jid": settings.service_jid,
        "host": settings.host,
        "port": settings.port,
        "ca_file": str(settings.ca_file),
    }
    return toml.write(path, values | changes)


async def start_local_stack(
    state_dir: Path,
    *,
    queue: str = "office",
    device: str = "ippeveprinter",
    xmpp_server: XmppKind = "prosody",
    say: Callable[[str], None] = lambda _m: None,
) -> LocalStack:
    """Start everything; `device` is "ippeveprinter", "file" or "sim", `xmpp_server`
    "prosody" or "ejabberd"."""
    state_dir.mkdir(parents=True, exist_ok=True)
    passwords = {name: secrets.token_urlsafe(16) for name in ("alice", "admin", "manager")}
    say(f"starting {XMPP_SERVER_NAMES[xmpp_server]} on loopback …")
    xmpp = await start_xmpp_server(
        xmpp_server, state_dir / xmpp_server, components=[SERVICE_JID], accounts=passwords
    )
    started: list[Any] = [xmpp]
    try:
        say(
            f"  XMPP c2s 127.0.0.1:{xmpp.c2s_port} (TLS required), "
            f"component port {xmpp.component_ports[SERVICE_JID]}"
        )
        admin_jid = xmpp.jid("admin")
        service = ManagedProcess(
            "service",
            "server",
            ["--config", str(state_dir / "service" / "service.toml")],
            state_dir / "logs" / "service.log",
        )
        toml.write(
            state_dir / "service" / "service.toml",
            service_config(state_dir / "service", xmpp, admins=[admin_jid]),
        )
        say("starting the Cloud Imaging Service …")
        await service.start(SERVICE_READY)
        started.append(service)
        # The manager is enrolled the way an administrator enrols any: a one-time code
        # for the queue (cirrus admin enroll QUEUE), carried in the manager's config.
        code = await issue_enrollment_code(_client_settings(xmpp, "admin", passwords), queue)

        printer = None
        output_dir: Path | None = None
        if device == "ippeveprinter":
            from cirrus.stack.ippeveprinter import start_ippeveprinter

            say("starting an IPP printer (ippeveprinter) …")
            printer = await start_ippeveprinter(state_dir / "printer", name="Cirrus Demo Printer")
            started.append(printer)
            driver = f"ipp:{printer.uri}"
            output_dir = printer.spool_dir
            say(f"  printer at {printer.uri}")
        elif device == "file":
            output_dir = state_dir / "output"
            driver = f"file:{output_dir}"
        else:
            driver = "sim:"
        manager = ManagedProcess(
            "manager",
            "manager",
            ["--config", str(state_dir / "manager" / "manager.toml")],
            state_dir / "logs" / "manager.log",
        )
        toml.write(
            state_dir / "manager" / "manager.toml",
            manager_config(
                state_dir / "manager",
                xmpp,
                jid=xmpp.jid("manager"),
                password=passwords["manager"],
                devices=[device_entry(queue, driver, enrollment_code=code)],
            ),
        )
        say("starting the Device Manager (outbound connections only) …")
        await manager.start(MANAGER_READY)
        started.append(manager)
        say(f"  device registered as queue {queue!r}")
    except BaseException:
        for part in reversed(started):
            await part.stop()
        raise

    def client(name: str) -> ClientSettings:
        return _client_settings(xmpp, name, passwords)

    return LocalStack(
        state_dir=state_dir,
        xmpp=xmpp,
        queue=queue,
        user=client("alice"),
        admin=client("admin"),
        service=service,
        manager=manager,
        printer=printer,
        output_dir=output_dir,
    )
