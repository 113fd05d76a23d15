"""6. Store: a million jobs, and how fast the queries behind the client operations are.

The database is made by the service's own migrations (server.stores.db.Database), then filled
directly with stdlib sqlite3 (indexes dropped during the load and rebuilt, as a bulk
load would): 1,000,000 jobs over 100 queues and 1,000 owners, 0.1 % of them active
(pending or processing), the rest ended over the last ~100 days.

Measured through the real store (`server.stores.jobs.JobStore` on the real
`Database`, aiosqlite, the service's pragmas): a job by id (`get`), the active jobs
(`list_active`, all queues and one queue), an owner's jobs (`list_by_owner`), and
`list_jobs` as GetActiveJobs / GetJobHistory call it, with a limit of 100; each with
SQLite's query plan. Then the round trip of the client operations (GetJobElements,
GetActiveJobs, GetJobHistory through `CirrusClient`) against a service running on
this database.

    python -m bench.store [--jobs 1000000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

from bench.common import log, machine_info, remove, short_tmp, summary_ms, write_results
from bench.report import Row, fmt, table
from bench.stack import start_stack
from cirrus.client import CirrusClient
from server.stores.db import Database
from server.stores.jobs import JobStore

SECTION = "6 store"
QUEUES = 100
OWNERS = 1000
ACTIVE_SHARE = 0.001
DOMAIN = "localhost"
ENDED = ("completed", "completed", "completed", "completed", "canceled", "aborted")
# The partial indexes of active jobs (server/migrations/004_active_job_indexes.sql),
# measured against the same queries without them in the same run: only the active jobs
# are indexed, so the query reads O(active) rows instead of the history.
PROPOSED_INDEXES = (
    "CREATE INDEX jobs_active_by_queue ON jobs (printer_name, job_id)"
    " WHERE job_state NOT IN ('canceled', 'aborted', 'completed')",
    "CREATE INDEX jobs_active ON jobs (job_id)"
    " WHERE job_state NOT IN ('canceled', 'aborted', 'completed')",
)
PROPOSED_NAMES = {sql.split()[2] for sql in PROPOSED_INDEXES}
REASONS = {
    "pending": "job-fetchable",
    "processing": "job-printing",
    "completed": "job-completed-successfully",
    "canceled": "job-canceled-by-user",
    "aborted": "aborted-by-system",
}


async def make_database(path: Path, jobs: int) -> dict[str, Any]:
    """Migrate with the service's code, then bulk-load `jobs` rows."""
    db = Database(path)
    await db.open()
    await db.close()
    t0 = time.monotonic()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        now = int(time.time())
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT OR IGNORE INTO queues (printer_name, service_type, time_created)"
            " VALUES (?, 'print', ?)",
            [(f"q{i}", now) for i in range(QUEUES)],
        )
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs'"
            " AND sql IS NOT NULL"
        ).fetchall()
        for name, _sql in indexes:
            conn.execute(f"DROP INDEX {name}")
        rng = random.Random(6)
        active_every = round(1 / ACTIVE_SHARE)
        start = now - 100 * 86400
        step = (100 * 86400) / jobs

        def rows() -> Any:
            for i in range(jobs):
                created = int(start + i * step)
                active = i % active_every == active_every - 1
                state = rng.choice(("pending", "processing")) if active else rng.choice(ENDED)
                owner = f"u{rng.randrange(OWNERS)}@{DOMAIN}"
                yield (
                    uuid.UUID(int=rng.getrandbits(128), version=4).urn,
                    f"q{rng.randrange(QUEUES)}",
                    owner,
                    f"{owner}/cirrus",
                    f"document-{i}.pdf",
                    state,
                    REASONS[state],
                    created,
                    None if state == "pending" else created + 2,
                    None if active else created + 5,
                    created,
                )

        conn.executemany(
            "INSERT INTO jobs (job_uuid, printer_name, service_type, owner, notify_jid,"
            " job_name, job_state, job_state_reasons, is_closed, number_of_documents,"
            " job_impressions_completed, time_at_creation, time_at_processing,"
            " time_at_completed, time_last_activity)"
            " VALUES (?, ?, 'print', ?, ?, ?, ?, ?, 1, 1, 1, ?, ?, ?, ?)",
            rows(),
        )
        loaded = time.monotonic()
        for name, sql in indexes:
            if name not in PROPOSED_NAMES:  # the first pass is the anchor, without them
                conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        active = conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE job_state NOT IN ('canceled','aborted','completed')"
        ).fetchone()[0]
    finally:
        conn.close()
    return {
        "jobs": jobs,
        "active": active,
        "queues": QUEUES,
        "owners": OWNERS,
        "insert_seconds": round(loaded - t0, 2),
        "index_seconds": round(time.monotonic() - loaded, 2),
        "file_mib": round(path.stat().st_size / 2**20, 1),
    }


async def timed(call: Callable[[], Awaitable[Any]], times: int) -> tuple[dict[str, float], int]:
    durations = []
    size = 0
    for _ in range(times):
        t0 = time.perf_counter()
        got = await call()
        durations.append(time.perf_counter() - t0)
        size = len(got) if isinstance(got, list) else 1
    return summary_ms(durations), size


def plans(path: Path) -> dict[str, list[str]]:
    """SQLite's plan for the SQL behind each measured query."""
    queries = {
        "get": ("SELECT * FROM jobs WHERE job_id = ?", (1,)),
        "list_active (all)": (
            "SELECT * FROM jobs WHERE job_state NOT IN ('canceled', 'aborted', 'completed')"
            " ORDER BY job_id",
            (),
        ),
        "list_active (queue)": (
            "SELECT * FROM jobs WHERE job_state NOT IN ('canceled', 'aborted', 'completed')"
            " AND printer_name = ? ORDER BY job_id",
            ("q1",),
        ),
        "list_by_owner": (
            "SELECT * FROM jobs WHERE owner = ? ORDER BY job_id DESC LIMIT ?",
            ("u1@localhost", 100),
        ),
        "history (all owners)": (
            "SELECT * FROM jobs WHERE service_type = ? AND job_state IN"
            " ('canceled', 'aborted', 'completed')"
            " ORDER BY time_at_completed DESC, job_id DESC LIMIT ?",
            ("print", 100),
        ),
        "history (my jobs)": (
            "SELECT * FROM jobs WHERE service_type = ? AND job_state IN"
            " ('canceled', 'aborted', 'completed') AND owner = ?"
            " ORDER BY time_at_completed DESC, job_id DESC LIMIT ?",
            ("print", "u1@localhost", 100),
        ),
        "active (my jobs)": (
            "SELECT * FROM jobs WHERE service_type = ? AND job_state NOT IN"
            " ('canceled', 'aborted', 'completed') AND owner = ? ORDER BY job_id LIMIT ?",
            ("print", "u1@localhost", 100),
        ),
    }
    conn = sqlite3.connect(path)
    try:
        return {
            name: [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
            for name, (sql, params) in queries.items()
        }
    finally:
        conn.close()


async def store_queries(path: Path, jobs: int, only: str = "") -> dict[str, Any]:
    db = Database(path)
    await db.open()
    store = JobStore(db)
    rng = random.Random(7)
    owner = f"u{rng.randrange(OWNERS)}@{DOMAIN}"
    out: dict[str, Any] = {}
    try:
        cases: list[tuple[str, Callable[[], Awaitable[Any]], int]] = [
            ("get (job by id)", lambda: store.get(rng.randrange(1, jobs + 1)), 500),
            ("list_active (all queues)", lambda: store.list_active(), 10),
            ("list_active (one queue)", lambda: store.list_active(f"q{rng.randrange(QUEUES)}"), 50),
            ("list_by_owner (limit 100)", lambda: store.list_by_owner(owner, 100), 50),
        ]
        if hasattr(store, "list_jobs"):
            list_jobs = store.list_jobs
            cases += [
                (
                    "list_jobs: GetActiveJobs, my jobs, limit 100",
                    lambda: list_jobs(active=True, service_type="print", owner=owner, limit=100),
                    50,
                ),
                (
                    "list_jobs: GetJobHistory, all, limit 100",
                    lambda: list_jobs(active=False, service_type="print", limit=100),
                    20,
                ),
                (
                    "list_jobs: GetJobHistory, my jobs, limit 100",
                    lambda: list_jobs(active=False, service_type="print", owner=owner, limit=100),
                    20,
                ),
            ]
        for name, call, times in cases:
            if only and not name.startswith(only):
                continue
            await call()  # warm the page cache
            stats, rows = await timed(call, times)
            out[name] = {"rows": rows, **stats}
    finally:
        await db.close()
    return out


async def round_trips(path: Path, jobs: int) -> dict[str, Any]:
    """The client operations through Prosody and a service running on this database."""
    stack = await start_stack("st", ["u0"])
    out: dict[str, Any] = {}
    try:
        await stack.start_service(database=path)
        client = CirrusClient(stack.client("u0"))
        await client.start()
        try:
            conn = sqlite3.connect(path)
            mine = [
                r[0]
                for r in conn.execute(
                    "SELECT job_id FROM jobs WHERE owner = ? LIMIT 200", (f"u0@{DOMAIN}",)
                )
            ]
            conn.close()
            rng = random.Random(8)
            cases: list[tuple[str, Callable[[], Awaitable[Any]], int]] = [
                ("GetJobElements (own job)", lambda: client.get_job(rng.choice(mine)), 100),
            ]
            if hasattr(client, "get_jobs"):
                get_jobs = client.get_jobs
                cases += [
                    (
                        "GetActiveJobs (my jobs, limit 100)",
                        lambda: get_jobs(which="not-completed", my_jobs=True, limit=100),
                        30,
                    ),
                    (
                        "GetJobHistory (my jobs, limit 100)",
                        lambda: get_jobs(which="completed", my_jobs=True, limit=100),
                        30,
                    ),
                    (
                        "GetJobHistory (all users, limit 100)",
                        lambda: get_jobs(which="completed", my_jobs=False, limit=100),
                        10,
                    ),
                ]
            for name, call, times in cases:
                await call()
                stats, rows = await timed(call, times)
                out[name] = {"rows": rows, **stats}
        finally:
            await client.stop()
    finally:
        await stack.stop()
    return out


async def run(*, jobs: int = 1_000_000, round_trip: bool = True) -> dict[str, Any]:
    folder = short_tmp("store")
    path = folder / "service.db"
    result: dict[str, Any] = {}
    try:
        log(f"store: generating {jobs:,} jobs")
        result["database"] = await make_database(path, jobs)
        log("store: store queries")
        result["plans"] = plans(path)
        result["queries"] = await store_queries(path, jobs)
        log("store: the same with the partial indexes (migration 004) of active jobs")
        result["proposed_indexes"] = PROPOSED_INDEXES
        conn = sqlite3.connect(path)
        for sql in PROPOSED_INDEXES:
            conn.execute(sql)
        conn.close()
        result["plans_with_proposed_index"] = plans(path)
        result["queries_with_proposed_index"] = {
            k: v for k, v in (await store_queries(path, jobs, only="list_active")).items()
        }
        if round_trip:
            log("store: client round trips against a service on this database")
            result["round_trips"] = await round_trips(path, jobs)
    finally:
        remove(folder)
    result["rows"] = [r.as_dict() for r in rows(result)]
    return result


def rows(result: dict[str, Any]) -> list[Row]:
    db = result["database"]
    out = [
        Row(
            SECTION,
            f"{db['jobs']:,} jobs ({db['active']:,} active) generated: insert + index s",
            f"{db['insert_seconds']:.1f} + {db['index_seconds']:.1f} s, {db['file_mib']:.0f} MiB",
        )
    ]
    for name, stats in result.get("queries", {}).items():
        out.append(
            Row(
                SECTION,
                f"store {name}: p50/p99 ms ({stats['rows']} rows)",
                f"{fmt(stats['p50_ms'], 2)} / {fmt(stats['p99_ms'], 2)}",
            )
        )
    for name, stats in result.get("queries_with_proposed_index", {}).items():
        before = result["queries"][name]
        out.append(
            Row(
                SECTION,
                f"store {name}, with partial indexes of active jobs: p50/p99 ms",
                f"{fmt(stats['p50_ms'], 2)} / {fmt(stats['p99_ms'], 2)}",
                "without the partial indexes",
                f"{fmt(before['p50_ms'], 2)} / {fmt(before['p99_ms'], 2)}",
                round(stats["p50_ms"] / before["p50_ms"], 3) if before["p50_ms"] else None,
            )
        )
    for name, stats in result.get("round_trips", {}).items():
        out.append(
            Row(
                SECTION,
                f"round trip {name}: p50/p99 ms ({stats['rows']} jobs)",
                f"{fmt(stats['p50_ms'], 2)} / {fmt(stats['p99_ms'], 2)}",
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--no-round-trip", action="store_true")
    args = parser.parse_args()
    result = uvloop.run(run(jobs=args.jobs, round_trip=not args.no_round_trip))
    print(table([Row(**r) for r in result["rows"]]))
    log(f"results in {write_results({'machine': machine_info(), 'store': result}, 'store')}")


if __name__ == "__main__":
    main()
