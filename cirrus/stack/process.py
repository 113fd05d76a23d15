"""Child processes of the stack: started, awaited until they say they are ready, stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path


class ProcessFailed(RuntimeError):
    pass


class ManagedProcess:
    """A Python module run as `python -m MODULE ARGS`, its output going to a log file."""

    def __init__(self, name: str, module: str, args: list[str], log_file: Path) -> None:
        self.name = name
        self.argv = [sys.executable, "-m", module, *args]
        self.log_file = log_file
        self.proc: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(
        self, ready_line: str, *, timeout: float = 60.0, env: dict[str, str] | None = None
    ) -> None:
        """Start and wait for a line of stdout that contains ready_line."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        ready = asyncio.get_running_loop().create_future()
        self._pump = asyncio.create_task(self._copy_output(ready_line, ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), timeout)
        except (TimeoutError, ProcessFailed):
            await self.stop()
            tail = self.log_file.read_text(errors="replace")[-3000:]
            raise ProcessFailed(f"{self.name} did not start:\n{tail}") from None

    async def _copy_output(self, ready_line: str, ready: asyncio.Future[None]) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with self.log_file.open("ab") as log:
            async for line in self.proc.stdout:
                log.write(line)
                log.flush()
                if not ready.done() and ready_line in line.decode(errors="replace"):
                    ready.set_result(None)
        if not ready.done():
            ready.set_exception(ProcessFailed(f"{self.name} exited"))

    async def wait(self) -> int:
        assert self.proc is not None
        return await self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        if self._pump is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pump, 5)
            self._pump = None
