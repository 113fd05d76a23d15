"""Sampling profiles of a running process with py-spy, and their hottest paths.

py-spy is not a project dependency: install it where you like (the README suggests
`python3 -m venv /tmp/venv && /tmp/venv/bin/pip install py-spy`); it is looked for on
PATH, in /tmp/venv/bin and in .venv/bin, or named by CIRRUS_BENCH_PYSPY. Without it the
profile step is skipped and says so.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import ROOT

PROJECT = ("server/", "stanzas/", "manager/", "cirrus/", "ipp/", "prosody-config/")
_LINE = re.compile(r":\d+\)$")
_NATIVE = re.compile(r"\.so(\.\d+)*\)$")  # a C frame: "epoll_pwait (libc.so.6)"
_WAITING = ("epoll_wait", "epoll_pwait", "epoll_pwait2")  # the loop with nothing to do


def find_pyspy() -> str | None:
    for candidate in (
        os.environ.get("CIRRUS_BENCH_PYSPY"),
        shutil.which("py-spy"),
        "/tmp/venv/bin/py-spy",
        str(ROOT / ".venv" / "bin" / "py-spy"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


async def record(
    pid: int, seconds: float, out: Path, rate: int = 200, *, native: bool = False
) -> asyncio.subprocess.Process:
    """Start sampling `pid` for `seconds` into `out` (collapsed stacks); await .wait().

    With `native`, the C frames too (py-spy then pauses the process for each sample):
    only then can a sample of the event loop waiting in epoll be told from one of
    uvloop working in C, since both show the runner as their only Python frame."""
    pyspy = find_pyspy()
    assert pyspy is not None
    how = ["--native"] if native else ["--nonblocking"]
    return await asyncio.create_subprocess_exec(
        pyspy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--rate",
        str(rate),
        "--format",
        "raw",
        *how,
        "--threads",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


def _frame(text: str) -> str:
    """'func (path/file.py:123)' → 'func (path/file.py)', with site-packages cut off."""
    text = _LINE.sub(")", text.strip())
    for marker in ("site-packages/", "lib/python3.11/", "lib/python3.12/"):
        if marker in text:
            head, _, tail = text.partition("(")
            text = f"{head}({tail.split(marker, 1)[1]}"
    return text


def _is_project(frame: str) -> bool:
    inside = frame.partition("(")[2]
    return inside.startswith(PROJECT) and not inside.startswith(("server/__main__.py",))


# Where a main-thread sample's time goes: the first rule whose markers appear on the
# stack names it (checked in order).
SERVICE_PATHS: list[tuple[str, tuple[str, ...]]] = [
    (
        "database: stores → server/stores/db.py → aiosqlite",
        ("server/stores/db.py", "aiosqlite/", "server/stores/"),
    ),
    (
        "document bytes: aiohttp, server/transport/http.py, spool",
        ("aiohttp/", "server/transport/http.py", "server/documents/spool.py", "aiofiles/"),
    ),
    ("XMPP: slixmpp parse/match/send, stanzas/ models", ("slixmpp/", "stanzas/", "xml/etree/")),
    ("handlers and job states (server/)", ("server/",)),
]
MANAGER_PATHS: list[tuple[str, tuple[str, ...]]] = [
    ("held-jobs file (manager/held_jobs.py: JSON + fsync)", ("manager/held_jobs.py",)),
    ("device driver (manager/drivers/)", ("manager/drivers/",)),
    ("document bytes: aiohttp GET, aiofiles", ("aiohttp/", "aiofiles/")),
    ("XMPP: slixmpp parse/match/send, stanzas/ models", ("slixmpp/", "stanzas/", "xml/etree/")),
    ("device worker logic (manager/)", ("manager/",)),
]


def analyse(
    raw: Path, top: int = 3, paths_by: list[tuple[str, tuple[str, ...]]] | None = None
) -> dict[str, Any]:
    """Hot paths from py-spy's collapsed stacks (recorded with --threads).

    The event loop runs on the main thread; the other threads are aiosqlite's
    (SQLite statements) and asyncio's default executor (aiofiles, to_thread). A
    *path* is the chain of the project's own frames on a main-thread stack, from the
    outermost in (asyncio/uvloop frames left out), followed by the leaf frame where the
    sample landed when that is library code; the hottest paths are those with the most
    samples. Samples whose only Python frame is the runner are uvloop's own C code (I/O,
    callbacks, TLS); recorded with --native, those waiting in epoll are idle and left
    out, and the C function where the others were is counted. Also: samples per
    thread, and the functions with the most samples anywhere on main-thread stacks
    (inclusive) and at the leaf (self).
    """
    idle = 0
    native_self: Counter[str] = Counter()
    paths: Counter[str] = Counter()
    project_inclusive: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    operations: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        parts = stack.split(";")
        thread = "MainThread"
        if parts[0].startswith("thread ("):
            head = parts.pop(0)
            thread = head.split(": ", 1)[1] if ": " in head else head
            if thread != "MainThread":
                thread = _thread_kind(parts)
        c_leaf = parts[-1].partition(" (")[0] if parts and _NATIVE.search(parts[-1]) else ""
        parts = [p for p in parts if p and not _NATIVE.search(p)]
        if thread == "MainThread" and c_leaf in _WAITING:
            idle += count  # waiting for work, not doing any: left out of every share
            continue
        total += count
        threads[thread] += count
        if thread != "MainThread":
            continue
        frames = [_frame(f) for f in parts if f]
        if not frames:
            frames = ["(no Python frame)"]
        for name in set(frames):
            inclusive[name] += count
        leaf[frames[-1]] += count
        beyond_runner = [f for f in frames if not _is_runner(f)]
        text = ";".join(beyond_runner)
        kind = next(
            (name for name, marks in (paths_by or SERVICE_PATHS) if any(m in text for m in marks)),
            "event loop itself: uvloop C code (I/O, callbacks, TLS), asyncio"
            if all(not _is_project(f) for f in beyond_runner) and "server/" not in text
            else "other",
        )
        if c_leaf and kind.startswith("event loop itself"):
            native_self[c_leaf] += count
        kinds[kind] += count
        own = [f for f in frames if _is_project(f)]
        for depth in range(1, len(own) + 1):
            project_inclusive[" → ".join(own[:depth][-3:])] += count
        tail = frames[-1] if not own or frames[-1] != own[-1] else ""
        if not own and tail.startswith(("Runner.run", "run (uvloop")):
            tail = "uvloop (C: I/O, callbacks, TLS)"
        paths[" → ".join([*own[-4:], *([tail] if tail else [])])] += count
        operations[" → ".join(own[1:3] if len(own) > 2 else own) or tail] += count

    def share(counter: Counter[str], n: int) -> list[dict[str, Any]]:
        return [
            {"path": name, "samples": c, "percent": round(100 * c / total, 1)}
            for name, c in counter.most_common(n)
        ]

    runner = ("_run_module_as_main", "_run_code", "<module>", "Runner.run", "main (", "run (")
    inclusive_named = Counter(
        {k: v for k, v in inclusive.items() if not k.startswith(runner) and "(uvloop" not in k}
    )
    main = threads["MainThread"] or 1
    return {
        "samples": total,
        # main-thread samples waiting in epoll (known only from a --native record)
        "idle_samples": idle,
        # where the C code of the "event loop itself" samples was (with --native)
        "event_loop_c_self": [
            {"function": k, "samples": c, "percent_of_main_thread": round(100 * c / main, 1)}
            for k, c in native_self.most_common(10)
        ],
        "threads": share(threads, 10),
        "main_thread_paths": [
            {"path": k, "samples": c, "percent_of_main_thread": round(100 * c / main, 1)}
            for k, c in kinds.most_common()
        ],
        "hottest_paths": share(paths, top),
        "top_paths": share(paths, 20),
        "by_operation": share(operations, 15),
        # chains of the project's frames (up to 3, outermost first), inclusive
        "top_inclusive_project": share(project_inclusive, 20),
        "top_inclusive": share(inclusive_named, 30),
        "top_self": share(leaf, 15),
    }


def _is_runner(frame: str) -> bool:
    """The frames every stack starts with: `python -m`, main(), the event loop's run."""
    inside = frame.partition("(")[2]
    return inside.startswith(
        (
            "<frozen runpy>",
            "server/__main__.py",
            "bench/probe_service.py",
            "manager/__main__.py",
            "asyncio/runners.py",
            "uvloop/__init__.py",
        )
    )


def _thread_kind(frames: list[str]) -> str:
    text = ";".join(frames)
    if "aiosqlite" in text:
        return "aiosqlite thread (SQLite)"
    if "concurrent/futures" in text:
        return "executor threads (aiofiles, to_thread)"
    return "other threads"
