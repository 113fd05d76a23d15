"""Child processes of the stack: started, awaited until they say they are ready, stopped.

Three rules keep a child from outliving or freezing the runner:

- Its output is drained as bytes, never as asyncio lines: a child that writes one
  line longer than asyncio's 64 KiB ``readline`` limit would kill a line reader, its
  pipe would fill and the child would block inside its own logging. Lines are cut at
  ``MAX_LINE`` bytes in the log file, and a failing log file never stops the draining.
- It dies with the runner: every child gets the parent-death signal
  (``PR_SET_PDEATHSIG``, Linux, through ``setpriv``), so even a runner killed with
  SIGKILL takes it along. The signal follows the *thread* that started the child:
  start children from the thread that runs the event loop (as asyncio does).
- It is stopped as a process group: a child is the leader of its own session (the
  terminal's Ctrl-C and SIGHUP reach the runner, which then stops everything in order),
  and SIGTERM, then SIGKILL, goes to the whole group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

#: Longest line kept in a child's log file; the rest of the line is replaced by a note.
MAX_LINE = 16 * 1024
READ_SIZE = 64 * 1024


class ProcessFailed(RuntimeError):
    pass


def die_with_parent(argv: list[str], sig: str = "TERM") -> list[str]:
    """``argv`` run so that the child receives SIGTERM when its parent dies (Linux's
    parent-death signal, set by util-linux ``setpriv`` before it execs the program; a
    ``preexec_fn`` would do the same but is unsafe in a process with threads)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return argv
    return [setpriv, f"--pdeathsig={sig}", "--", *argv]


class LineCutter:
    """Splits a byte stream into lines of at most ``limit`` bytes (plus a note saying how
    much of a longer line was left out) and hands each on."""

    def __init__(self, emit: Callable[[bytes], None], limit: int = MAX_LINE) -> None:
        self._emit = emit
        self._limit = limit
        self._line = bytearray()
        self._dropped = 0

    def feed(self, data: bytes) -> None:
        start = 0
        while start < len(data):
            end = data.find(b"\n", start)
            piece = data[start:] if end < 0 else data[start:end]
            room = self._limit - len(self._line)
            self._line += piece[: max(room, 0)]
            self._dropped += max(len(piece) - max(room, 0), 0)
            if end < 0:
                return
            self._flush()
            start = end + 1

    def close(self) -> None:
        if self._line or self._dropped:
            self._flush()

    def _flush(self) -> None:
        if self._dropped:
            self._line += b" ... [%d bytes of this line left out]" % self._dropped
        self._emit(bytes(self._line) + b"\n")
        self._line.clear()
        self._dropped = 0


class ManagedProcess:
    """A Python module run as `python -m MODULE ARGS`, its output going to a log file."""

    def __init__(self, name: str, module: str, args: list[str], log_file: Path) -> None:
        self.name = name
        self.argv = [sys.executable, "-m", module, *args]
        self.log_file = log_file
        self.proc: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None
        self.log_errors = 0  # writes to the log file that failed (the output was dropped)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(
        self, ready_line: str, *, timeout: float = 60.0, env: dict[str, str] | None = None
    ) -> None:
        """Start and wait for a line of stdout that contains ready_line."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            *die_with_parent(self.argv),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        ready = asyncio.get_running_loop().create_future()
        self._pump = asyncio.create_task(self._copy_output(ready_line.encode(), ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), timeout)
        except (TimeoutError, ProcessFailed):
            await self.stop()
            tail = self.log_file.read_text(errors="replace")[-3000:]
            raise ProcessFailed(f"{self.name} did not start:\n{tail}") from None

    async def _copy_output(self, ready_line: bytes, ready: asyncio.Future[None]) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stdout = self.proc.stdout
        with self.log_file.open("ab") as log:

            def write(line: bytes) -> None:
                if not ready.done() and ready_line in line:
                    ready.set_result(None)
                try:
                    log.write(line)
                    log.flush()
                except OSError:  # a full disk must not stop the draining
                    self.log_errors += 1

            cutter = LineCutter(write)
            while chunk := await stdout.read(READ_SIZE):
                cutter.feed(chunk)
            cutter.close()
        if not ready.done():
            ready.set_exception(ProcessFailed(f"{self.name} exited"))

    async def wait(self) -> int:
        assert self.proc is not None
        return await self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: int) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)  # the child leads its own session and group
        except ProcessLookupError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)

    async def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self._signal_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self._signal_group(signal.SIGKILL)
                await self.proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # what the child left behind in its group
        if self._pump is not None:
            pump, self._pump = self._pump, None
            try:
                await asyncio.wait_for(pump, 5)
            except TimeoutError:
                pass  # a grandchild still holds the pipe: wait_for cancelled the pump
            except Exception:
                pass  # a broken pipe ends the copy; the process is stopped either way
