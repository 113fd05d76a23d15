"""The stack's process runner (cirrus/stack/process.py) with real child processes: output
that would break a line reader, children that ignore SIGTERM or leave grandchildren
behind, a runner killed with SIGKILL, and a real `cirrus up` closed by SIGHUP or SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cirrus.stack.process import MAX_LINE, ManagedProcess
from tests.integration.stack_child import READY

ROOT = str(Path(__file__).resolve().parents[2])
ENV = {"PYTHONPATH": ROOT}
CHILD = "tests.integration.stack_child"


async def exited(pid: int, timeout: float) -> bool:
    """Whether process ``pid`` (not necessarily our child) ends within ``timeout`` s: a
    pidfd becomes readable when it does."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    loop = asyncio.get_running_loop()
    gone = loop.create_future()
    loop.add_reader(fd, lambda: gone.done() or gone.set_result(None))
    try:
        await asyncio.wait_for(gone, timeout)
        return True
    except TimeoutError:
        return False
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _log_lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


async def test_lines_over_the_line_limit_neither_stop_the_pump_nor_block_the_child(
    tmp_path: Path,
) -> None:
    """70 KB and 1 MB lines, then ~8 MB more: a line reader would die on the first one,
    the pipe would fill and the child would never get to its ready line or its end."""
    log = tmp_path / "noisy.log"
    child = ManagedProcess("noisy", CHILD, ["long-lines"], log)
    await child.start(READY, timeout=30, env=ENV)
    assert await asyncio.wait_for(child.wait(), 30) == 0  # it wrote everything
    await asyncio.wait_for(child.stop(), 10)
    lines = _log_lines(log)
    assert b"short line" in lines and b"drained" in lines
    assert max(len(line) for line in lines) <= MAX_LINE + 64
    cut = [line for line in lines if line.endswith(b"bytes of this line left out]")]
    assert len(cut) == 42  # 70 KB, 1 MB and forty 200 KB lines, each cut and said so
    assert child.log_errors == 0


async def test_stop_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    child = ManagedProcess("stubborn", CHILD, ["stubborn"], tmp_path / "stubborn.log")
    await child.start(READY, timeout=30, env=ENV)
    await asyncio.wait_for(child.stop(timeout=1.0), 10)
    assert child.proc is not None and child.proc.returncode == -signal.SIGKILL


async def test_stop_takes_the_childs_own_children_along(tmp_path: Path) -> None:
    log = tmp_path / "parent.log"
    child = ManagedProcess("parent", CHILD, ["grandchild"], log)
    await child.start(READY, timeout=30, env=ENV)
    line = next(x for x in _log_lines(log) if x.startswith(b"grandchild pid "))
    grandchild = int(line.split()[-1])
    await asyncio.wait_for(child.stop(), 15)
    assert await exited(grandchild, 5)


async def test_a_sigkilled_runner_takes_its_children_along(tmp_path: Path) -> None:
    """No cleanup code runs in a SIGKILLed runner: the parent-death signal does it."""
    runner = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        CHILD,
        "runner",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, **ENV},
    )
    try:
        assert runner.stdout is not None
        line = await asyncio.wait_for(runner.stdout.readline(), 30)
        assert line.startswith(b"sleeper pid "), line
        sleeper = int(line.split()[-1])
        runner.kill()
        await runner.wait()
        assert await exited(sleeper, 10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            runner.kill()
        await runner.wait()


# ------------------------------------------------------------------ a real `cirrus up`


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


@pytest.fixture
async def cirrus_up() -> AsyncIterator[tuple[asyncio.subprocess.Process, set[int]]]:
    """`cirrus up` with ippeveprinter, as a user runs it; yields it once it is up, with
    the processes it started (Prosody, the service, dbus-daemon, ippeveprinter, the
    manager)."""
    state = Path(tempfile.mkdtemp(prefix="cx-up-", dir="/tmp"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cirrus.cli",
        "up",
        "--state-dir",
        str(state),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    children: set[int] = set()
    try:
        assert proc.stdout is not None
        output = b""
        async with asyncio.timeout(120):
            while b"Ctrl-C stops everything" not in output:
                line = await proc.stdout.readline()
                assert line, output.decode(errors="replace")
                output += line
        children = _descendants(proc.pid)
        commands = " | ".join(_command(pid) for pid in children)
        for part in ("prosody", "-m server", "dbus-daemon", "ippeveprinter", "-m manager"):
            assert part in commands, commands
        yield proc, children
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        for pid in children | _descendants(proc.pid):
            if not await exited(pid, 10):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(state, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
async def test_cirrus_up_stops_everything_on_sighup_and_sigterm(
    cirrus_up: tuple[asyncio.subprocess.Process, set[int]], sig: signal.Signals
) -> None:
    """Closing the terminal (SIGHUP) or `kill` (SIGTERM) stops everything, as Ctrl-C."""
    proc, children = cirrus_up
    proc.send_signal(sig)
    assert await asyncio.wait_for(proc.wait(), 60) == 0
    left = [pid for pid in children if not await exited(pid, 5)]
    assert not left, [_command(pid) for pid in left]


@pytest.mark.slow
async def test_a_sigkilled_cirrus_up_takes_every_process_it_started_along(
    cirrus_up: tuple[asyncio.subprocess.Process, set[int]],
) -> None:
    proc, children = cirrus_up
    proc.kill()
    await proc.wait()
    left = [pid for pid in children if not await exited(pid, 15)]
    assert not left, [_command(pid) for pid in left]
