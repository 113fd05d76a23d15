"""What every benchmark shares: process meters, percentiles, child processes, results.

Meters read /proc: CPU time is utime+stime (fields 14-15 of /proc/PID/stat, all threads),
plus cutime+cstime (16-17) for processes whose children do the work (cupsd's backends,
ippeveprinter's print command); memory is VmRSS and VmHWM from /proc/PID/status, and
writing "5" to /proc/PID/clear_refs resets VmHWM so a peak can be measured per step.
Clocks: time.monotonic() is CLOCK_MONOTONIC, one clock for every process on the machine,
so timestamps taken in different processes can be subtracted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "cirrus" / "samples" / "sample.pdf"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the table."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- /proc meters -------------------------------------------------------------------------


def cpu_seconds(pid: int | None, *, children: bool = False) -> float:
    """CPU seconds used so far by a process (and its waited-for children)."""
    if pid is None:
        return 0.0
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime is field 14 → index 11.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def main_thread_seconds(pid: int | None) -> float:
    """CPU seconds of a process's main thread (the event loop of our services)."""
    if pid is None:
        return 0.0
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_kb(pid: int | None) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB."""
    out = {"rss_kb": 0, "hwm_kb": 0}
    if pid is None:
        return out
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_kb"] = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                out["hwm_kb"] = int(line.split()[1])
    except OSError:
        pass
    return out


def reset_peak(pid: int | None) -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False if not allowed."""
    if pid is None:
        return False
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class Meter:
    """CPU seconds of named processes between start() and stop()."""

    pids: dict[str, int | None]
    children: frozenset[str] = frozenset()
    loops: frozenset[str] = frozenset()  # also meter these processes' main thread

    def _read(self) -> dict[str, float]:
        out = {
            name: cpu_seconds(pid, children=name in self.children)
            for name, pid in self.pids.items()
        }
        for name, pid in self.pids.items():
            if name in self.loops:
                out[f"{name}.main_thread"] = main_thread_seconds(pid)
        return out

    def start(self) -> None:
        self._before = self._read()
        self._t0 = time.monotonic()

    def stop(self) -> dict[str, float]:
        after = self._read()
        self.wall = time.monotonic() - self._t0
        return {name: after[name] - self._before.get(name, 0.0) for name in after}


# --- statistics ---------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summary_ms(seconds: Iterable[float]) -> dict[str, float]:
    """count, mean, p50, p90, p99 and max of durations given in seconds, in ms."""
    values = sorted(seconds)
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean_ms": round(1000 * sum(values) / len(values), 3),
        "p50_ms": round(1000 * percentile(values, 50), 3),
        "p90_ms": round(1000 * percentile(values, 90), 3),
        "p99_ms": round(1000 * percentile(values, 99), 3),
        "max_ms": round(1000 * values[-1], 3),
    }


# --- temporary folders and loopback tools -------------------------------------------------


def short_tmp(tag: str) -> Path:
    """A short /tmp folder (Prosody's admin socket path must stay under 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix=f"cb-{tag}-", dir="/tmp"))


def null_sink_dir(tag: str) -> Path:
    """A folder on tmpfs (or /tmp) for a `file` driver that should cost no disk I/O."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else "/tmp"
    return Path(tempfile.mkdtemp(prefix=f"cb-{tag}-", dir=base))


def remove(*paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)


def tool_version(argv: list[str], pattern: str = "") -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    text = (out.stdout + out.stderr).strip().splitlines()
    for line in text:
        if pattern in line:
            return line.strip()
    return text[0].strip() if text else "unknown"


def machine_info() -> dict[str, Any]:
    """What the run ran on: the figures only compare within a run, but say where."""
    import importlib.metadata as md

    def pkg(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "not installed"

    meminfo = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except StopIteration:
        model = platform.processor()
    return {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(int(meminfo) / 1024**2, 1),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "versions": {
            "cirrus": pkg("cirrus-print"),
            "slixmpp": pkg("slixmpp"),
            "aiohttp": pkg("aiohttp"),
            "aiosqlite": pkg("aiosqlite"),
            "pydantic": pkg("pydantic"),
            "uvloop": pkg("uvloop"),
            "sqlite": __import__("sqlite3").sqlite_version,
            "prosody": tool_version(["prosodyctl", "about"], "Prosody"),
            "cupsd": tool_version(["dpkg-query", "-W", "cups-daemon"]),
            "ippeveprinter": tool_version(["dpkg-query", "-W", "cups-ipp-utils"]),
            "curl": tool_version(["curl", "--version"]),
            "openssl": tool_version(["openssl", "version"]),
            "nginx": tool_version(["nginx", "-v"]),
            "ippsample": _ippsample_version(),
        },
    }


def _ippsample_version() -> str:
    """The commit of the INFRA reference's build tree (bench.infra), if there is one."""
    top = os.environ.get("CIRRUS_BENCH_IPPSAMPLE")
    if not top:
        return "not built"
    return tool_version(["git", "-C", top, "describe", "--always", "--dirty"])


# --- child processes that report over stdout ----------------------------------------------


class ChildFailed(RuntimeError):
    pass


class Child:
    """A bench helper process (`python -m bench.MODULE`) driven over stdin/stdout.

    It prints one JSON object per line, each with an "event" key; the parent answers
    with command lines. Its stderr goes to a log file.
    """

    def __init__(
        self,
        name: str,
        module: str,
        args: list[str],
        log_file: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = [sys.executable, "-m", module, *args]
        self.log_file = log_file
        self.env = env or {}
        self.proc: asyncio.subprocess.Process | None = None
        self._log: Any = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT,
            env={**os.environ, **self.env},
            start_new_session=True,
            limit=64 * 1024 * 1024,
        )

    async def expect(self, event: str, timeout: float) -> dict[str, Any]:
        """The next message with this event (earlier ones are skipped)."""
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChildFailed(f"{self.name}: no {event!r} within {timeout:.0f} s{self.tail()}")
            try:
                line = await asyncio.wait_for(self.proc.stdout.readline(), left)
            except TimeoutError:
                continue
            if not line:
                await self.proc.wait()
                raise ChildFailed(
                    f"{self.name} exited ({self.proc.returncode}) before {event!r}{self.tail()}"
                )
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("event") == "error":
                raise ChildFailed(f"{self.name}: {message.get('error')}{self.tail()}")
            if message.get("event") == event:
                return dict(message)

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())

    def tail(self, chars: int = 2500) -> str:
        try:
            text = self.log_file.read_text(errors="replace")[-chars:]
        except OSError:
            return ""
        return f"\n--- {self.log_file} ---\n{text}" if text else ""

    async def stop(self, timeout: float = 20.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(Exception):
                self.send({"command": "exit"})
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


async def stop_group(
    proc: asyncio.subprocess.Process | None, sig: int = signal.SIGTERM, grace: float = 10.0
) -> None:
    """Signal a process started with start_new_session (its whole group), and kill the
    group if it has not exited within `grace` seconds."""
    if proc is None or proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


async def run_tool(argv: list[str], timeout: float) -> tuple[int, str]:
    """Run a command to the end (killed at the timeout); returns (status, output)."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ChildFailed(f"{argv[0]} did not finish within {timeout:.0f} s") from None
    return proc.returncode or 0, out.decode(errors="replace")


# --- child side ---------------------------------------------------------------------------


def emit(event: str, **fields: Any) -> None:
    """Child → parent: one JSON line on stdout."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


async def commands() -> asyncio.Queue[dict[str, Any]]:
    """Parent → child: JSON command lines from stdin, as a queue ("exit" on EOF)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def pump() -> None:
        while True:
            line = await reader.readline()
            if not line:
                await queue.put({"command": "exit"})
                return
            with contextlib.suppress(ValueError):
                await queue.put(json.loads(line))

    task = loop.create_task(pump())
    _background.add(task)
    return queue


_background: set[asyncio.Task[None]] = set()


def fast_scram() -> None:
    """slixmpp computes SCRAM's PBKDF2 in pure Python (~49 ms a login, FIELD-NOTES);
    the harnesses that log in thousands of accounts use hashlib's C version instead.
    The real manager and client are not patched: their one login a start is measured
    as it is."""
    import hashlib

    from slixmpp.util.sasl.mechanisms import SCRAM

    def hi(self: Any, text: Any, salt: bytes, iterations: int) -> bytes:
        return hashlib.pbkdf2_hmac(self.hash().name, bytes(text), salt, iterations)

    SCRAM.Hi = hi


def no_throwaway_ssl_contexts() -> None:
    """slixmpp's XMLStream.__init__ builds a default SSL context (loading the system CA
    bundle, ~40 ms of CPU) that ServiceSession replaces at once with its own; in a
    process that opens thousands of sessions, skip building the one thrown away."""
    import ssl

    import slixmpp.xmlstream.xmlstream as xmlstream

    class Placeholder:
        check_hostname = True
        verify_mode = ssl.CERT_REQUIRED

        def set_default_verify_paths(self) -> None:
            pass

    class SslModule:
        def __getattr__(self, name: str) -> Any:
            return getattr(ssl, name)

        @staticmethod
        def create_default_context(*_args: Any, **_kwargs: Any) -> Any:
            return Placeholder()

    xmlstream.ssl = SslModule()  # type: ignore[assignment]


# --- results ------------------------------------------------------------------------------


def write_results(results: dict[str, Any], name: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    latest = RESULTS_DIR / f"{name}-latest.json"
    latest.write_text(path.read_text())
    return path


def missed_pushes(records: list[list[Any]]) -> int:
    """Jobs of a bench.load run whose final push the client never got (it asked)."""
    return sum(1 for r in records if len(r) > 7 and r[7])


def ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 3)
