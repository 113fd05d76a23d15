"""Crash points for the tests of exactly-once submission (the clients' idempotency keys).

CIRRUS_SERVICE_CRASH_AT=<point> makes the service SIGKILL itself at that point, so a test
can kill it at an exact step instead of racing it (manager/faults.py is the manager's).
"""

from __future__ import annotations

import os
import signal

# after-create-commit: a CreateJob's or PrintJob's job is committed, its answer not sent.
CRASH_POINTS = ("after-create-commit",)


def crash_point(name: str) -> None:
    if os.environ.get("CIRRUS_SERVICE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
