"""The Cloud Imaging Service with meters attached: `python -m bench.probe_service`.

Runs the unchanged service (`server.__main__.main`) after wrapping a few methods, each
recording a time and calling the original:

* CIRRUS_BENCH_COMMITS=FILE: `Notifier.job_changed`, which JobStates calls right after
  the COMMIT that made a change (or a job's creation) durable. Each time a job *becomes
  fetchable* (where the push latency clock starts) one line "JOB_ID MONOTONIC" is
  appended to FILE: one small write per job.
* CIRRUS_BENCH_DB=FILE: the database's connection lock (`Database._lock`: every
  statement and transaction takes it) and every call handed to the aiosqlite thread
  (`aiosqlite.Connection._execute`: statements, fetches, cursor closes). On SIGUSR1 the
  running totals are written to FILE as JSON: acquisitions, time waited for and time
  holding the lock, statements by kind and by text, hops and their time as the event
  loop sees it (the wait for the thread and for the loop to resume included), and the
  time the cyclic garbage collector ran, by generation (gc.callbacks), and by statement
  kind the time SQLite itself took in the aiosqlite thread (`exec_s`: COMMIT there is
  the fsync of synchronous=FULL) and the hop as the event loop saw it (`hop_s_by_kind`).
  The throughput benchmark uses it to show where a job's time goes.
  CIRRUS_BENCH_DB_KEEP=FILE: a copy of each dump, kept after the run's folder is gone.

    python -m bench.probe_service --config service.toml
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import IO, Any

from server.notifier import Notifier
from server.stores.jobs import Job


def record_commits(path: str) -> IO[str]:
    out = open(path, "a", buffering=1)  # line-buffered: one write(2) per job
    original = Notifier.job_changed

    def job_changed(self: Notifier, before: Job | None, after: Job) -> None:
        # before is None for a new job (Print-Job: born fetchable)
        if after.is_fetchable and not (before is not None and before.is_fetchable):
            out.write(f"{after.job_id} {time.monotonic():.6f}\n")
        original(self, before, after)

    Notifier.job_changed = job_changed  # type: ignore[method-assign]
    return out


class DbMeter:
    def __init__(self) -> None:
        self.acquisitions = 0
        self.lock_wait = 0.0
        self.lock_held = 0.0
        self.statements = 0
        self.hops = 0  # every call run in the aiosqlite thread (statements, fetches, closes)
        self.hop_time = 0.0
        self.kinds: Counter[str] = Counter()
        # By kind: SQLite's own time in its thread, and the whole hop as the loop sees it.
        self.exec_time: defaultdict[str, float] = defaultdict(float)
        self.hop_time_by_kind: defaultdict[str, float] = defaultdict(float)
        self.by_sql: Counter[str] = Counter()
        self.gc_time: Counter[str] = Counter()  # by generation: collections of the cyclic GC
        self.gc_count: Counter[str] = Counter()
        self.started = time.monotonic()

    def snapshot(self) -> dict[str, Any]:
        return {
            "at": time.monotonic(),
            "acquisitions": self.acquisitions,
            "lock_wait_s": round(self.lock_wait, 6),
            "lock_held_s": round(self.lock_held, 6),
            "statements": self.statements,
            "hops": self.hops,
            "hop_s": round(self.hop_time, 6),
            "kinds": dict(self.kinds),
            "exec_s": {k: round(v, 6) for k, v in self.exec_time.items()},
            "hop_s_by_kind": {k: round(v, 6) for k, v in self.hop_time_by_kind.items()},
            "by_sql": dict(self.by_sql),
            "gc_s": {k: round(v, 6) for k, v in self.gc_time.items()},
            "gc_count": dict(self.gc_count),
        }


def meter_database(path: str) -> DbMeter:
    import aiosqlite

    from server.stores import db as db_module

    meter = DbMeter()

    class TimedLock(asyncio.Lock):
        _since = 0.0

        async def acquire(self) -> bool:
            t0 = time.monotonic()
            await super().acquire()
            self._since = time.monotonic()
            meter.lock_wait += self._since - t0
            meter.acquisitions += 1
            return True

        def release(self) -> None:
            meter.lock_held += time.monotonic() - self._since
            super().release()

    original_init = db_module.Database.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._lock = TimedLock()

    db_module.Database.__init__ = init  # type: ignore[method-assign]

    original_hop = aiosqlite.Connection._execute

    async def hop(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        is_statement = bool(args) and isinstance(args[0], str)
        kind = "(call)"
        if is_statement:
            kind = args[0].split(None, 1)[0].upper() if args[0].strip() else "?"

        def timed(*inner: Any, **inner_kw: Any) -> Any:
            t = time.perf_counter()  # in the aiosqlite thread; only it writes exec_time
            try:
                return fn(*inner, **inner_kw)
            finally:
                meter.exec_time[kind] += time.perf_counter() - t

        t0 = time.monotonic()
        try:
            return await original_hop(self, timed, *args, **kwargs)
        finally:
            elapsed = time.monotonic() - t0
            meter.hop_time += elapsed
            meter.hop_time_by_kind[kind] += elapsed
            meter.hops += 1
            if is_statement:
                meter.statements += 1
                meter.kinds[kind] += 1
                meter.by_sql[" ".join(args[0].split())[:90]] += 1

    aiosqlite.Connection._execute = hop  # type: ignore[method-assign]

    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0] = time.monotonic()
        else:
            generation = str(info.get("generation"))
            meter.gc_time[generation] += time.monotonic() - gc_started[0]
            meter.gc_count[generation] += 1

    gc.callbacks.append(on_gc)

    keep = os.environ.get("CIRRUS_BENCH_DB_KEEP")

    def dump(_signum: int, _frame: Any) -> None:
        text = json.dumps(meter.snapshot())
        for target in (path, keep):
            if target:
                tmp = Path(target + ".tmp")
                tmp.write_text(text)
                os.replace(tmp, target)

    signal.signal(signal.SIGUSR1, dump)
    return meter


def main() -> None:
    if path := os.environ.get("CIRRUS_BENCH_COMMITS"):
        record_commits(path)
    if path := os.environ.get("CIRRUS_BENCH_DB"):
        meter_database(path)
    from server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
