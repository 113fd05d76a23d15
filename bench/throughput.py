"""1. Throughput: N one-page print jobs, M clients → K device managers, against CUPS.

Cirrus: Prosody, the service (SQLite WAL, synchronous=FULL) and K real managers
(`python -m manager`, one device each, the `file` driver writing into a tmpfs folder:
the null sink) run as separate processes; M real clients in one more process
(bench.load) keep `in_flight` jobs each going until N are done, each job as
`cirrus print --wait` does it. jobs/s counts from the first submit to the last
completion the clients heard; CPU per job is each process's utime+stime over the run.
A short warm-up run comes first.

CUPS: its own cupsd, a raw queue to file:/dev/null, the same N jobs as Print-Job over
one ipptool connection; jobs/s from the start of ipptool until cupsd has no job left
that is not completed. CPU per job: cupsd with its backends, and ipptool.

With --profile (and py-spy installed) a second Cirrus run is sampled with py-spy on the
service and the three hottest paths are reported.

    python -m bench.throughput [--jobs 2000 --clients 10 --managers 10 --in-flight 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from pathlib import Path
from typing import Any

import uvloop

from bench import cups as cups_anchor
from bench import profile as pyspy
from bench.common import (
    SAMPLE,
    Child,
    Meter,
    log,
    machine_info,
    null_sink_dir,
    ratio,
    remove,
    short_tmp,
    summary_ms,
    write_results,
)
from bench.report import Row, fmt, table
from bench.stack import BenchStack, start_stack

SECTION = "1 throughput"
TARGET_JPS = 200.0


def job_rate(records: list[list[Any]]) -> tuple[float, float, int]:
    """(jobs/s, seconds, completed) from load records."""
    first = min(r[2] for r in records)
    last = max(r[5] for r in records)
    completed = sum(1 for r in records if r[6] == "completed")
    return len(records) / (last - first), last - first, completed


async def start_load(stack: BenchStack, users: list[str]) -> Child:
    config = stack.state / "load.json"
    config.write_text(
        json.dumps({"xmpp": stack.xmpp(), "clients": [[u, stack.passwords[u]] for u in users]})
    )
    load = Child("clients", "bench.load", ["--config", str(config)], stack.log_dir / "load.log")
    stack.children.append(load)
    await load.start()
    await load.expect("ready", 120)
    return load


async def load_run(load: Child, timeout: float, **run: Any) -> dict[str, Any]:
    load.send({"command": "run", **run})
    return await load.expect("done", timeout)


async def start_cirrus(
    clients: int, managers: int, *, db_meter: bool = False, synchronous: str = ""
) -> tuple[BenchStack, Child, list[str]]:
    """Prosody, the service, K managers (file driver into tmpfs) and M clients."""
    users = [f"u{i}" for i in range(clients)]
    accounts = [f"m{i}" for i in range(managers)]
    stack = await start_stack("tp", users + accounts)
    try:
        extra = {"sqlite_synchronous": synchronous} if synchronous else {}
        await stack.start_service(db_meter=db_meter, **extra)
        specs = []
        for i, account in enumerate(accounts):
            sink = null_sink_dir(f"sink{i}")
            stack.extra_dirs.append(sink)
            specs.append((account, f"q{i}", f"file:{sink}"))
        await stack.start_managers(specs)
        load = await start_load(stack, users)
    except BaseException:
        await stack.stop()
        raise
    return stack, load, [f"q{i}" for i in range(managers)]


async def cirrus_run(
    jobs: int, clients: int, managers: int, in_flight: int, synchronous: str = ""
) -> dict[str, Any]:
    log(f"throughput: service and {managers} managers")
    stack, load, queues = await start_cirrus(clients, managers, synchronous=synchronous)
    try:
        common = {"queues": queues, "document": str(SAMPLE), "in_flight": in_flight}
        timeout = 120 + jobs / 5
        await load_run(load, timeout, jobs=max(50, 2 * managers), **common)  # warm-up
        log(f"throughput: {jobs} jobs, {clients} clients, {managers} managers")
        pids = {**stack.pids(), "clients": load.pid}
        meter = Meter(pids, loops=frozenset({"service", "manager0", "clients"}))
        meter.start()
        done = await load_run(load, timeout, jobs=jobs, **common)
        cpu = meter.stop()
        records = done["records"]
        jps, seconds, completed = job_rate(records)
        return {
            "jobs": jobs,
            "sqlite_synchronous": synchronous or "FULL (as configured by default)",
            "clients": clients,
            "managers": managers,
            "in_flight_per_client": in_flight,
            "completed": completed,
            "seconds": round(seconds, 3),
            "jobs_per_second": round(jps, 1),
            "job_latency": summary_ms(r[5] - r[2] for r in records),
            "cpu_seconds": {k: round(v, 3) for k, v in cpu.items()},
            "cpu_ms_per_job": _per_job(cpu, jobs),
            # share of the wall time each process's event-loop thread was on a CPU
            "main_thread_busy": {
                k.split(".")[0]: round(v / meter.wall, 3)
                for k, v in cpu.items()
                if k.endswith(".main_thread")
            },
            "wall_seconds_metered": round(meter.wall, 3),
        }
    finally:
        await stack.stop()


def _per_job(cpu: dict[str, float], jobs: int) -> dict[str, float]:
    managers = sum(v for k, v in cpu.items() if k.startswith("manager") and "." not in k)
    out = {
        "prosody": cpu.get("prosody", 0.0),
        "service": cpu.get("service", 0.0),
        "managers": managers,
        "clients": cpu.get("clients", 0.0),
    }
    out["total"] = sum(out.values())
    return {k: round(1000 * v / jobs, 3) for k, v in out.items()}


async def profile_run(jobs: int, clients: int, managers: int, in_flight: int) -> dict[str, Any]:
    """The same load on a fresh stack whose service is bench.probe_service (database
    meter on), sampled by py-spy: where the service's time goes."""
    if pyspy.find_pyspy() is None:
        log("throughput: py-spy not found, no profile (see bench/README.md)")
        return {"skipped": "py-spy not found (see bench/README.md)"}
    log("throughput: profile run (py-spy on the service, database meter)")
    stack, load, queues = await start_cirrus(clients, managers, db_meter=True)
    try:
        assert stack.service is not None and stack.service.pid is not None
        common = {"queues": queues, "document": str(SAMPLE), "in_flight": in_flight}
        timeout = 120 + jobs / 5
        warm = await load_run(load, timeout, jobs=max(100, jobs // 5), **common)
        warm_jps, _, _ = job_rate(warm["records"])
        out = stack.state / "service-profile.txt"
        out_manager = stack.state / "manager-profile.txt"
        before = await stack.db_meter()
        load.send({"command": "run", "jobs": jobs, **common})
        duration = max(2.0, 0.9 * jobs / warm_jps)
        spies = [await pyspy.record(stack.service.pid, duration, out, native=True)]
        if stack.managers and stack.managers[0].pid:
            manager_pid = stack.managers[0].pid
            spies.append(await pyspy.record(manager_pid, duration, out_manager, native=True))
        done = await load.expect("done", timeout)
        after = await stack.db_meter()
        await asyncio.wait_for(asyncio.gather(*(s.wait() for s in spies)), 60)
        jps, _, _ = job_rate(done["records"])
        result: dict[str, Any] = {"jobs_per_second_while_sampled": round(jps, 1)}
        wall = after["at"] - before["at"]
        result["database"] = {
            "lock_busy_share": round((after["lock_held_s"] - before["lock_held_s"]) / wall, 3),
            "per_job": {
                "lock_acquisitions": round(
                    (after["acquisitions"] - before["acquisitions"]) / jobs, 2
                ),
                "statements": round((after["statements"] - before["statements"]) / jobs, 2),
                "thread_hops": round((after["hops"] - before["hops"]) / jobs, 2),
                "lock_held_ms": round(
                    1000 * (after["lock_held_s"] - before["lock_held_s"]) / jobs, 3
                ),
                "lock_wait_ms": round(
                    1000 * (after["lock_wait_s"] - before["lock_wait_s"]) / jobs, 3
                ),
            },
            "mean_hop_ms": round(
                1000 * (after["hop_s"] - before["hop_s"]) / max(1, after["hops"] - before["hops"]),
                3,
            ),
            "statement_kinds_per_job": {
                k: round((v - before["kinds"].get(k, 0)) / jobs, 2)
                for k, v in after["kinds"].items()
                if v > before["kinds"].get(k, 0)
            },
            "statements_per_job": dict(
                sorted(
                    (
                        (k, round((v - before["by_sql"].get(k, 0)) / jobs, 2))
                        for k, v in after["by_sql"].items()
                        if v > before["by_sql"].get(k, 0)
                    ),
                    key=lambda kv: -kv[1],
                )
            ),
        }
        result["gc"] = {
            "share_of_wall": round(
                (sum(after["gc_s"].values()) - sum(before["gc_s"].values())) / wall, 4
            ),
            "ms_per_job": round(
                1000 * (sum(after["gc_s"].values()) - sum(before["gc_s"].values())) / jobs, 3
            ),
            "collections_per_job": {
                g: round((n - before["gc_count"].get(g, 0)) / jobs, 3)
                for g, n in after["gc_count"].items()
            },
            "ms_by_generation_per_job": {
                g: round(1000 * (t - before["gc_s"].get(g, 0.0)) / jobs, 3)
                for g, t in after["gc_s"].items()
            },
        }
        if not out.exists():
            result["skipped"] = "py-spy wrote no profile (is ptrace allowed?)"
            return result
        keep = Path(__file__).parent / "results" / "service-profile.txt"
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_text(out.read_text())
        result.update(pyspy.analyse(out))
        result["raw_stacks"] = str(keep)
        if out_manager.exists():
            keep = keep.with_name("manager-profile.txt")
            keep.write_text(out_manager.read_text())
            result["manager0"] = pyspy.analyse(out_manager, paths_by=pyspy.MANAGER_PATHS)
            result["manager0"]["raw_stacks"] = str(keep)
        return result
    finally:
        await stack.stop()


async def cups_run(jobs: int) -> dict[str, Any]:
    missing = cups_anchor.available()
    if missing:
        return {"skipped": missing}
    folder = short_tmp("cups")
    cupsd = cups_anchor.Cupsd(folder, {"null": "file:/dev/null"})
    try:
        await cupsd.start()
        await cupsd.print_jobs("null", 20, SAMPLE, 60)  # warm-up
        await cupsd.wait_idle("null", 60)
        log(f"throughput: {jobs} jobs through CUPS")
        meter = Meter({"cupsd": cupsd.pid}, children=frozenset({"cupsd"}))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        meter.start()
        t0 = time.monotonic()
        await cupsd.print_jobs("null", jobs, SAMPLE, 60 + jobs / 20)
        submitted = time.monotonic()
        t1 = await cupsd.wait_idle("null", 60 + jobs / 20)
        cpu = meter.stop()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        ipptool = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return {
            "jobs": jobs,
            "seconds": round(t1 - t0, 3),
            "submit_seconds": round(submitted - t0, 3),
            "jobs_per_second": round(jobs / (t1 - t0), 1),
            "cpu_ms_per_job": {
                "cupsd": round(1000 * cpu["cupsd"] / jobs, 3),
                "ipptool": round(1000 * ipptool / jobs, 3),
                "total": round(1000 * (cpu["cupsd"] + ipptool) / jobs, 3),
            },
        }
    finally:
        await cupsd.stop()
        remove(folder)


def rows(result: dict[str, Any]) -> list[Row]:
    c, u = result["cirrus"], result.get("cups", {})
    cups_jps = u.get("jobs_per_second")
    anchor = "CUPS raw queue → file:/dev/null, ipptool" if cups_jps else u.get("skipped", "")
    conditions = (
        f"jobs/s, {c['jobs']} jobs, {c['clients']} clients → {c['managers']} managers "
        "(file → tmpfs)"
    )
    out = [
        Row(
            SECTION,
            conditions,
            fmt(c["jobs_per_second"]),
            anchor,
            fmt(cups_jps),
            ratio(c["jobs_per_second"], cups_jps),
            f"≥ {TARGET_JPS:.0f} with 10 managers",
            c["jobs_per_second"] >= TARGET_JPS if c["managers"] >= 10 else None,
        )
    ]
    per = c["cpu_ms_per_job"]
    cups_cpu = u.get("cpu_ms_per_job", {})
    out.append(
        Row(
            SECTION,
            "CPU ms per job: Prosody / service / managers / clients",
            " / ".join(fmt(per[k], 2) for k in ("prosody", "service", "managers", "clients")),
            "cupsd (+ backends) / ipptool" if cups_cpu else "",
            " / ".join(fmt(cups_cpu.get(k), 2) for k in ("cupsd", "ipptool")) if cups_cpu else "",
        )
    )
    out.append(
        Row(
            SECTION,
            "CPU ms per job: all processes",
            fmt(per["total"], 2),
            "cupsd + ipptool" if cups_cpu else "",
            fmt(cups_cpu.get("total"), 2) if cups_cpu else "",
            ratio(per["total"], cups_cpu.get("total")),
        )
    )
    busy = c.get("main_thread_busy", {})
    out.append(
        Row(
            SECTION,
            "event-loop thread busy: service / one manager / clients",
            " / ".join(f"{100 * busy.get(k, 0):.0f}%" for k in ("service", "manager0", "clients")),
        )
    )
    out.append(
        Row(
            SECTION,
            "job latency p50 / p99 (submit → completed)",
            f"{fmt(c['job_latency']['p50_ms'])} / {fmt(c['job_latency']['p99_ms'])} ms",
        )
    )
    prof = result.get("profile") or {}
    if "database" in prof:
        db = prof["database"]["per_job"]
        out.append(
            Row(
                SECTION,
                "profile: service DB lock busy; per job lock takes / statements / thread hops",
                f"{100 * prof['database']['lock_busy_share']:.0f}%; "
                f"{db['lock_acquisitions']:.0f} / {db['statements']:.0f} / {db['thread_hops']:.0f}",
            )
        )
    if "gc" in prof:
        out.append(
            Row(
                SECTION,
                "profile: service cyclic GC, ms per job (share of wall time)",
                f"{prof['gc']['ms_per_job']:.2f} ({100 * prof['gc']['share_of_wall']:.1f}%)",
            )
        )
    for who, data in (("service", prof), ("manager", prof.get("manager0", {}))):
        for i, path in enumerate(data.get("main_thread_paths", [])[:3], 1):
            out.append(
                Row(
                    SECTION,
                    f"profile: {who} event-loop samples (idle left out), hot path {i}",
                    f"{path['percent_of_main_thread']:.0f}% {path['path']}",
                )
            )
    if "skipped" in prof:
        out.append(Row(SECTION, "profile", prof["skipped"]))
    return out


async def run(
    *,
    jobs: int = 2000,
    clients: int = 10,
    managers: int = 10,
    in_flight: int = 10,
    profile: bool = True,
    cups: bool = True,
    synchronous: str = "",
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "cirrus": await cirrus_run(jobs, clients, managers, in_flight, synchronous)
    }
    if cups:
        result["cups"] = await cups_run(jobs)
    if profile:
        result["profile"] = await profile_run(jobs, clients, managers, in_flight)
    result["rows"] = [r.as_dict() for r in rows(result)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--managers", type=int, default=10)
    parser.add_argument("--in-flight", type=int, default=10, help="jobs each client keeps going")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-cups", action="store_true")
    parser.add_argument(
        "--synchronous",
        default="",
        help="the service's sqlite_synchronous setting (default: as shipped, FULL)",
    )
    args = parser.parse_args()
    result = uvloop.run(
        run(
            jobs=args.jobs,
            clients=args.clients,
            managers=args.managers,
            in_flight=args.in_flight,
            profile=not args.no_profile,
            cups=not args.no_cups,
            synchronous=args.synchronous,
        )
    )
    print(table([Row(**r) for r in result["rows"]]))
    path = write_results({"machine": machine_info(), "throughput": result}, "throughput")
    log(f"results in {path}")


if __name__ == "__main__":
    main()
