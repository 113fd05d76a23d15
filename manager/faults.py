"""Crash points for the tests of the print-at-most-once rule.

CIRRUS_MANAGER_CRASH_AT=<point> makes the manager SIGKILL itself at that point, so a
test can kill it at an exact step of the job flow instead of racing it. At
"mid-send-document" the manager dies with half of a document handed to the device.
"""

from __future__ import annotations

import os
import signal

CRASH_POINTS = (
    "after-fetch-job",
    "after-acknowledge-job",
    "mid-send-document",
    "after-send-document",
    "mid-file-document",  # the file driver: a document recorded, not yet in place
)


def armed(name: str) -> bool:
    return os.environ.get("CIRRUS_MANAGER_CRASH_AT") == name


def crash_point(name: str) -> None:
    if armed(name):
        os.kill(os.getpid(), signal.SIGKILL)
