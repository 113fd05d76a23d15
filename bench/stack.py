"""A Cirrus for a benchmark: Prosody, the service and K real Device Managers.

Built from the same parts as `cirrus up` (cirrus.stack.xmpp, the config helpers of
cirrus.stack.local, ManagedProcess), but with as many managers and accounts as a
benchmark asks for. Everything lives in one short /tmp folder that `stop()` removes.
CIRRUS_BENCH_XMPP=ejabberd runs any benchmark on ejabberd instead of Prosody (its
figures still say "prosody" for the XMPP server's process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from bench.common import Child, remove, short_tmp
from cirrus.client import CirrusClient, ClientSettings
from cirrus.stack import toml
from cirrus.stack.local import (
    MANAGER_READY,
    SERVICE_JID,
    SERVICE_READY,
    device_entry,
    manager_config,
    service_config,
)
from cirrus.stack.process import ManagedProcess
from cirrus.stack.xmpp import XMPP_SERVERS, XmppKind, XmppServer, start_xmpp_server
from stanzas.admin_ops import IssueEnrollmentCode, IssueEnrollmentCodeResponse


def password() -> str:
    return secrets.token_urlsafe(12)


@dataclass
class BenchStack:
    state: Path
    prosody: XmppServer  # Prosody, or ejabberd (CIRRUS_BENCH_XMPP)
    passwords: dict[str, str]
    service: ManagedProcess | None = None
    managers: list[ManagedProcess] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    extra_dirs: list[Path] = field(default_factory=list)
    commits_file: Path | None = None
    db_meter_file: Path | None = None
    database: Path | None = None
    # Environment of the Cirrus processes (service, managers, clients): empty for this
    # checkout's code, or another checkout's (bench.checkout.code_env) for an A/B run.
    code_env: dict[str, str] = field(default_factory=dict)
    stanzas_counted: bool = False  # bench.stanza_count installed in Prosody

    @property
    def log_dir(self) -> Path:
        return self.state / "logs"

    def pids(self) -> dict[str, int | None]:
        pids: dict[str, int | None] = {"prosody": self.prosody.pid}
        if self.service is not None:
            pids["service"] = self.service.pid
        for i, manager in enumerate(self.managers):
            pids[f"manager{i}"] = manager.pid
        return pids

    def client(self, user: str) -> ClientSettings:
        return ClientSettings(
            jid=self.prosody.jid(user),
            password=self.passwords[user],
            service_jid=SERVICE_JID,
            host=self.prosody.host,
            port=self.prosody.c2s_port,
            ca_file=self.prosody.ca_file,
        )

    def xmpp(self) -> dict[str, Any]:
        """How a bench child reaches the XMPP server (see bench.load, bench.fleet)."""
        return {
            "host": self.prosody.host,
            "port": self.prosody.c2s_port,
            "ca_file": str(self.prosody.ca_file),
            "domain": self.prosody.domain,
            "service_jid": SERVICE_JID,
        }

    async def add_accounts(self, names: list[str]) -> None:
        new = {name: password() for name in names}
        await self.prosody.create_accounts(new)
        self.passwords.update(new)

    async def start_service(
        self,
        *,
        probe: bool = False,
        db_meter: bool = False,
        database: Path | None = None,
        **extra: Any,
    ) -> None:
        """The real service (`python -m server`), or bench.probe_service, which also
        records the moment each job is committed as fetchable (and, with db_meter, the
        database lock and statements)."""
        folder = self.state / "service"
        config = service_config(folder, self.prosody, admins=[self.prosody.jid("admin")], **extra)
        if database is not None:
            config["database"] = str(database)
        self.database = Path(config["database"])
        path = toml.write(folder / "service.toml", config)
        env = dict(self.code_env)
        module = "server"
        if probe or db_meter:
            module = "bench.probe_service"
            self.commits_file = self.state / "commits.txt"
            env["CIRRUS_BENCH_COMMITS"] = str(self.commits_file)
        if db_meter:
            self.db_meter_file = self.state / "db-meter.json"
            env["CIRRUS_BENCH_DB"] = str(self.db_meter_file)
        self.service = ManagedProcess(
            "service", module, ["--config", str(path)], self.log_dir / "service.log"
        )
        await self.service.start(SERVICE_READY, env=env)

    async def enrollment_codes(self, queues: list[str]) -> list[str]:
        """One-time enrolment codes for these queues, as an administrator issues them
        (cirrus admin enroll): the way every manager of a bench joins its queue."""
        async with CirrusClient(self.client("admin")) as admin:
            codes = []
            for queue in queues:
                response = await admin.session.request(
                    IssueEnrollmentCode(printer_name=queue), IssueEnrollmentCodeResponse
                )
                codes.append(response.enrollment_code)
        return codes

    async def start_managers(self, specs: list[tuple[str, str, str]]) -> None:
        """One real `python -m manager` per (account, queue, driver spec), in parallel,
        each enrolled with a code for its queue."""
        new = []
        codes = await self.enrollment_codes([queue for _user, queue, _driver in specs])
        for (user, queue, driver), code in zip(specs, codes, strict=True):
            index = len(self.managers) + len(new)
            folder = self.state / f"manager{index}"
            path = toml.write(
                folder / "manager.toml",
                manager_config(
                    folder,
                    self.prosody,
                    jid=self.prosody.jid(user),
                    password=self.passwords[user],
                    devices=[device_entry(queue, driver, enrollment_code=code)],
                ),
            )
            new.append(
                ManagedProcess(
                    f"manager{index}",
                    "manager",
                    ["--config", str(path)],
                    self.log_dir / f"manager{index}.log",
                )
            )
        self.managers.extend(new)
        await asyncio.gather(*(m.start(MANAGER_READY, timeout=120, env=self.code_env) for m in new))

    def commits(self) -> dict[int, float]:
        """job id → monotonic time of the commit that made it fetchable (probe only)."""
        out: dict[int, float] = {}
        if self.commits_file is None or not self.commits_file.exists():
            return out
        for line in self.commits_file.read_text().splitlines():
            job, _, stamp = line.partition(" ")
            if stamp:
                out[int(job)] = float(stamp)
        return out

    async def db_meter(self, timeout: float = 5.0) -> dict[str, Any]:
        """A snapshot of the service's database meter (bench.probe_service, SIGUSR1)."""
        assert self.db_meter_file is not None and self.service is not None
        assert self.service.pid is not None
        asked = time.monotonic()
        os.kill(self.service.pid, signal.SIGUSR1)
        deadline = asked + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                snap: dict[str, Any] = json.loads(self.db_meter_file.read_text())
                if snap["at"] >= asked:
                    return snap
            await asyncio.sleep(0.01)
        raise TimeoutError("the service did not write its database meter")

    async def stop(self) -> None:
        for child in reversed(self.children):
            await child.stop()
        await asyncio.gather(*(m.stop() for m in self.managers), return_exceptions=True)
        if self.service is not None:
            await self.service.stop()
        await self.prosody.stop()
        remove(self.state, *self.extra_dirs)


async def start_stack(
    tag: str,
    accounts: list[str],
    *,
    log_level: str = "warn",
    code_env: dict[str, str] | None = None,
) -> BenchStack:
    """Prosody (or ejabberd) with these accounts (plus "admin"); nothing else yet."""
    kind = os.environ.get("CIRRUS_BENCH_XMPP", "prosody")
    if kind not in XMPP_SERVERS:
        raise ValueError(f"CIRRUS_BENCH_XMPP={kind!r}: one of {', '.join(XMPP_SERVERS)}")
    state = short_tmp(tag)
    passwords = {name: password() for name in ["admin", *accounts]}
    try:
        prosody = await start_xmpp_server(
            cast(XmppKind, kind),
            state / "p",
            components=[SERVICE_JID],
            accounts=passwords,
            log_level=log_level,
        )
    except BaseException:
        remove(state)
        raise
    return BenchStack(
        state=state, prosody=prosody, passwords=passwords, code_env=dict(code_env or {})
    )


def file_driver(folder: Path) -> str:
    return f"file:{folder}"


__all__ = ["BenchStack", "device_entry", "file_driver", "start_stack"]
