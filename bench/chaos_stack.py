"""The processes bench.chaos and bench.soak run, killed and restarted as `cirrus up`
would start them: Prosody (prosody_config.launcher), `python -m server`,
`python -m manager` (one device each, the `file` driver or the `ipp` driver against
its own ippeveprinter), and the clients (bench.chaos_client) — nothing imported from
server/ or manager/, so that their insides can change freely.

Every process started here is stopped by `stop()`, which the callers run in a
`finally`; all of them also die with the harness should it be killed itself (the
parent-death signal: ManagedProcess and the launchers set it, `_orphan_proof` for the
clients' process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import printed
from bench.common import Child, log
from bench.stack import BenchStack, password
from cirrus.stack import toml
from cirrus.stack.ippeveprinter import IppEvePrinter, start_ippeveprinter
from cirrus.stack.local import (
    MANAGER_READY,
    SERVICE_READY,
    device_entry,
    manager_config,
    service_config,
)
from cirrus.stack.process import ManagedProcess, die_with_parent
from ipp.client import IppClient
from prosody_config.launcher import start_prosody

READY_TIMEOUT = 90.0  # seconds a (re)started process has to say it is ready
_DEVICE_JOB_ATTRIBUTES = ["job-id", "job-name", "job-state", "job-state-reasons"]
_JOB_STATES = {3: "pending", 4: "pending-held", 5: "processing", 6: "processing-stopped"}


class RestartFailed(RuntimeError):
    pass


@dataclass
class Device:
    """One manager, its queue, and where its prints land."""

    index: int
    queue: str
    driver: str  # "file" or "ipp"
    output: Path  # the file driver's folder, or the recorder's folder
    process: ManagedProcess
    printer: IppEvePrinter | None = None


@dataclass
class Kill:
    target: str
    at: float  # seconds from the start of the run
    down: float  # seconds the process stayed dead before its restart began
    restart: float = 0.0  # seconds until it was ready again
    progress: int = 0  # jobs accepted when it was killed


def _orphan_proof(process: Child) -> None:
    """Have the kernel kill the child when the harness goes (setpriv execs in place,
    so the pid stays the child's own)."""
    process.argv = die_with_parent(process.argv, "KILL")


@dataclass
class ChaosStack:
    state: Path
    base: BenchStack
    users: list[str]
    devices: list[Device] = field(default_factory=list)
    service: ManagedProcess | None = None
    clients: Child | None = None
    kills: list[Kill] = field(default_factory=list)
    output_root: Path | None = None  # where the file driver's folders go (default: state)
    # Jobs the printers still held open once every manager had stopped (stop()).
    open_device_jobs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def database(self) -> Path:
        return self.state / "service" / "service.db"

    def pids(self) -> dict[str, int | None]:
        pids: dict[str, int | None] = {"prosody": self.base.prosody.pid}
        pids["service"] = self.service.pid if self.service else None
        for device in self.devices:
            pids[f"manager{device.index}"] = device.process.pid
        pids["clients"] = self.clients.pid if self.clients else None
        return pids

    # --- start ------------------------------------------------------------------------
    @classmethod
    async def start(
        cls,
        state: Path,
        *,
        clients: int,
        drivers: list[str],
        queue_prefix: str = "chaos",
        output_root: Path | None = None,
    ) -> ChaosStack:
        users = [f"user{i}" for i in range(clients)]
        managers = [f"dev{i}" for i in range(len(drivers))]
        passwords = {name: password() for name in ["admin", *users, *managers]}
        prosody = await start_prosody(
            state / "p", accounts=passwords, log_level="warn", components=["print.localhost"]
        )
        base = BenchStack(state=state, prosody=prosody, passwords=passwords)
        stack = cls(state, base, users, output_root=output_root)
        try:
            await stack._start_service()
            for index, driver in enumerate(drivers):
                await stack._add_device(index, driver, f"{queue_prefix}{index}")
            await asyncio.gather(
                *(d.process.start(MANAGER_READY, timeout=READY_TIMEOUT) for d in stack.devices)
            )
            await stack._start_clients()
        except BaseException:
            await stack.stop()
            raise
        return stack

    async def _start_service(self) -> None:
        folder = self.state / "service"
        prosody = self.base.prosody
        config = service_config(folder, prosody, admins=[prosody.jid("admin")])
        path = toml.write(folder / "service.toml", config)
        self.service = ManagedProcess(
            "service", "server", ["--config", str(path)], self.logs / "service.log"
        )
        await self.service.start(SERVICE_READY, timeout=READY_TIMEOUT)

    async def _add_device(self, index: int, driver: str, queue: str) -> None:
        printer = None
        if driver == "ipp":
            output = self.state / f"printed{index}"
            recorder = printed.write_recorder(self.state / f"recorder{index}.sh", output)
            printer = await start_ippeveprinter(
                self.state / f"printer{index}",
                name=f"Chaos Printer {index}",
                command=str(recorder),
                keep_files=False,
            )
            spec = f"ipp:{printer.uri}"
        else:
            output = (self.output_root or self.state) / f"out{index}"
            spec = f"file:{output}"
        folder = self.state / f"manager{index}"
        user = f"dev{index}"
        # Enrolled as any manager is: a one-time code for its queue, from the admin.
        (code,) = await self.base.enrollment_codes([queue])
        path = toml.write(
            folder / "manager.toml",
            manager_config(
                folder,
                self.base.prosody,
                jid=self.base.prosody.jid(user),
                password=self.base.passwords[user],
                devices=[device_entry(queue, spec, enrollment_code=code)],
            ),
        )
        process = ManagedProcess(
            f"manager{index}", "manager", ["--config", str(path)], self.logs / f"manager{index}.log"
        )
        self.devices.append(Device(index, queue, driver, output, process, printer))

    async def _start_clients(self) -> None:
        config = self.state / "clients.json"
        config.write_text(
            json.dumps(
                {
                    "xmpp": self.base.xmpp(),
                    "clients": [[u, self.base.passwords[u]] for u in self.users],
                }
            )
        )
        self.clients = Child(
            "clients", "bench.chaos_client", ["--config", str(config)], self.logs / "clients.log"
        )
        _orphan_proof(self.clients)
        await self.clients.start()
        await self.clients.expect("ready", READY_TIMEOUT)

    # --- kill and restart -------------------------------------------------------------
    def targets(self) -> list[str]:
        return ["service", "prosody", *(f"manager{d.index}" for d in self.devices)]

    async def kill(self, target: str, down: float, *, at: float, progress: int) -> Kill:
        """SIGKILL one process, leave it dead for `down` seconds, start it again and wait
        until it says it is ready (as after a crash: same config, same state)."""
        kill = Kill(target, round(at, 3), down, progress=progress)
        self.kills.append(kill)
        if target == "prosody":
            prosody = self.base.prosody
            if prosody.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(prosody.pid, signal.SIGKILL)
            await asyncio.sleep(down)
            started = time.monotonic()
            await self._again(target, prosody.restart)
        else:
            process = self._process(target)
            process.kill()
            if process.proc is not None:
                await process.proc.wait()
            await asyncio.sleep(down)
            started = time.monotonic()
            ready = MANAGER_READY if target.startswith("manager") else SERVICE_READY
            await self._again(target, lambda: process.start(ready, timeout=READY_TIMEOUT))
        kill.restart = round(time.monotonic() - started, 3)
        return kill

    def _process(self, target: str) -> ManagedProcess:
        if target == "service":
            assert self.service is not None
            return self.service
        return self.devices[int(target.removeprefix("manager"))].process

    async def _again(self, target: str, start: Any) -> None:
        for attempt in range(2):
            try:
                await start()
                return
            except Exception as exc:
                log(f"restart of {target} failed (attempt {attempt + 1}): {exc}")
        raise RestartFailed(f"{target} did not come back after its SIGKILL")

    # --- stop -------------------------------------------------------------------------
    async def stop(self) -> None:
        """Stop everything this stack started (each step runs even if another fails).
        In between, once no manager runs, note the jobs still open on the printers."""
        steps: list[Any] = [d.process.stop() for d in self.devices]
        if self.clients is not None:
            steps.append(self.clients.stop())
        await asyncio.gather(*steps, return_exceptions=True)
        with contextlib.suppress(Exception):
            self.open_device_jobs = await asyncio.wait_for(self._open_device_jobs(), 30)
        if self.service is not None:
            with contextlib.suppress(Exception):
                await self.service.stop()
        await asyncio.gather(
            *(d.printer.stop() for d in self.devices if d.printer is not None),
            return_exceptions=True,
        )
        with contextlib.suppress(Exception):
            await self.base.prosody.stop()

    async def _open_device_jobs(self) -> list[dict[str, Any]]:
        """Every job not completed on each printer (IPP Get-Jobs): with no manager
        running, one left open is a job nobody will finish; ippeveprinter, which prints
        one job at a time, refuses every other job while it waits for its documents."""
        found: list[dict[str, Any]] = []
        for device in self.devices:
            if device.printer is None or not device.printer.running:
                continue
            async with IppClient(device.printer.uri, timeout=5.0) as ipp:
                jobs = await ipp.get_jobs("not-completed", _DEVICE_JOB_ATTRIBUTES)
            for job in jobs:
                state = job.first("job-state")
                found.append(
                    {
                        "manager": device.index,
                        "queue": device.queue,
                        "device_job_id": job.first("job-id"),
                        "job_name": str(job.first("job-name", "")),
                        "state": _JOB_STATES.get(state, str(state)),
                        "reasons": [str(r) for r in job.values("job-state-reasons")],
                    }
                )
        return found

    def integrity(self) -> str:
        """PRAGMA integrity_check of the service's database (run once it is stopped)."""
        if not self.database.exists():
            return "no database"
        try:
            with contextlib.closing(sqlite3.connect(self.database)) as db:
                rows = db.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.Error as exc:
            return f"error: {exc}"
        return "; ".join(str(r[0]) for r in rows)[:2000]

    def log_files(self) -> dict[str, Path]:
        files = {p.stem: p for p in sorted(self.logs.glob("*.log"))}
        files["prosody"] = self.base.prosody.log_file
        for device in self.devices:
            if device.printer is not None:
                files[f"ippeveprinter{device.index}"] = device.printer.log_path
        return files
