"""A child for the process-runner tests (`python -m tests.integration.stack_child MODE`).

long-lines: writes lines far over asyncio's 64 KiB line limit, then the ready line, then
            a few MB more, then `drained`, and exits.
stubborn:   ignores SIGTERM after saying ready.
grandchild: starts a grandchild in its own process group (prints its pid), says ready.
runner:     is itself a runner: starts `sleeper` with ManagedProcess, prints its pid.
sleeper:    says ready and sleeps.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

READY = "stack-child ready"


def _long_lines() -> None:
    out = sys.stdout.buffer
    out.write(b"Z" * 70_000 + b"\n")
    out.write(b"short line\n")
    out.write(b"Y" * 1_000_000 + b"\n")
    out.write(f"{READY}\n".encode())
    out.flush()
    for _ in range(40):  # ~8 MB: far beyond what a pipe holds while nobody reads
        out.write(b"X" * 200_000 + b"\n")
    out.write(b"drained\n")
    out.flush()


async def _runner(log_dir: str) -> None:
    from cirrus.stack.process import ManagedProcess

    child = ManagedProcess(
        "sleeper", "tests.integration.stack_child", ["sleeper"], Path(log_dir) / "sleeper.log"
    )
    await child.start(READY)
    print(f"sleeper pid {child.pid}", flush=True)
    await asyncio.sleep(120)


def main() -> None:
    mode = sys.argv[1]
    if mode == "long-lines":
        _long_lines()
    elif mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print(READY, flush=True)
        time.sleep(120)
    elif mode == "grandchild":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        print(f"grandchild pid {child.pid}", flush=True)
        print(READY, flush=True)
        time.sleep(120)
    elif mode == "runner":
        asyncio.run(_runner(sys.argv[2]))
    elif mode == "sleeper":
        print(READY, flush=True)
        time.sleep(120)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
