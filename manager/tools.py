"""One run of an outside tool: a subprocess with a time limit, files in and out.

The converters (Ghostscript, texttopdf, img2pdf) parse documents that came from a user
and scanimage drives a scanner; running them as separate processes keeps a crash or a
runaway document out of the manager, and the time limit bounds what one job can cost.
The process is killed (its whole process group) on time-out and when the job is
canceled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

STDERR_TAIL = 2000  # characters of a failed tool's output kept for the job-state-message


class ToolFailed(Exception):
    """The tool failed, overran its time or could not be started."""


async def run_tool(
    argv: Sequence[str],
    *,
    timeout: float,
    stdout: Path | None = None,
    env: Mapping[str, str] | None = None,
    error: type[ToolFailed] = ToolFailed,
) -> None:
    """Run argv; its standard output goes to `stdout` (a file) when given. Raises
    `error` with the tail of its messages when it fails or overruns."""
    out = stdout.open("wb") if stdout is not None else None
    try:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out if out is not None else asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # its own process group, killed as one
            )
        except OSError as exc:
            raise error(f"{argv[0]} could not be started: {exc}") from exc
    finally:
        if out is not None:
            out.close()  # the child holds its own descriptor
    try:
        async with asyncio.timeout(timeout):
            err = await _tail(proc)
            await proc.wait()
    except TimeoutError:
        _kill(proc)
        await proc.wait()
        raise error(f"{Path(argv[0]).name} took longer than {timeout:g} s") from None
    except asyncio.CancelledError:
        _kill(proc)
        with contextlib.suppress(ProcessLookupError):
            await asyncio.shield(proc.wait())
        raise
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip()[-STDERR_TAIL:]
        raise error(f"{Path(argv[0]).name} failed (exit {proc.returncode}): {tail or 'no message'}")


async def _tail(proc: asyncio.subprocess.Process) -> bytes:
    """Its messages as they come, keeping only the last ones (a tool may say a lot)."""
    assert proc.stderr is not None
    kept = b""
    while chunk := await proc.stderr.read(65536):
        kept = (kept + chunk)[-4 * STDERR_TAIL :]
    return kept


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
