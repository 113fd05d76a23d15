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

Stanzas per job (bench.stanza_count): counted in Prosody on every client's and manager's
c2s session over the measured run, by process (clients, service, managers) and kind;
the service's pushes are the messages it sent.

With --profile (and py-spy installed) a second Cirrus run is sampled with py-spy on the
service and the three hottest paths are reported.

A/B (--ab OTHER_CHECKOUT, or CIRRUS_BENCH_AB for `python -m bench`): the same measured
run against another checkout's service, managers and client library (bench.checkout),
in pairs on fresh stacks, the order alternating (A B, B A, …); the ratios are taken pair
by pair and their median reported.

    python -m bench.throughput [--jobs 2000 --clients 10 --managers 10 --in-flight 10]
    python -m bench.throughput --ab ../cirrus-main [--rounds 3] [--jobs 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import uvloop

from bench import checkout, stanza_count
from bench import cups as cups_anchor
from bench import profile as pyspy
from bench.common import (
    ROOT,
    SAMPLE,
    Child,
    Meter,
    log,
    machine_info,
    missed_pushes,
    null_sink_dir,
    ratio,
    remove,
    short_tmp,
    summary_ms,
    write_results,
)
from bench.report import Row, fmt, table
from bench.stack import BenchStack, start_stack
from cirrus.stack.local import SERVICE_JID

SECTION = "1 throughput"
TARGET_JPS = 200.0
TARGET_AB_JPS = 2.0  # issue 19: at least twice today's jobs/s …
TARGET_AB_CPU = 0.5  # … and at most half today's CPU per job, A/B in one run
AB_ENV = "CIRRUS_BENCH_AB"


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
    load = Child(
        "clients",
        "bench.load",
        ["--config", str(config)],
        stack.log_dir / "load.log",
        env=stack.code_env,
    )
    stack.children.append(load)
    await load.start()
    await load.expect("ready", 120)
    return load


async def load_run(load: Child, timeout: float, **run: Any) -> dict[str, Any]:
    load.send({"command": "run", **run})
    return await load.expect("done", timeout)


async def start_cirrus(
    clients: int,
    managers: int,
    *,
    db_meter: bool = False,
    synchronous: str = "",
    code_env: dict[str, str] | None = None,
) -> tuple[BenchStack, Child, list[str]]:
    """Prosody (counting stanzas), the service, K managers (file driver into tmpfs) and
    M clients."""
    users = [f"u{i}" for i in range(clients)]
    accounts = [f"m{i}" for i in range(managers)]
    stack = await start_stack("tp", users + accounts, code_env=code_env)
    try:
        stack.stanzas_counted = await stanza_count.install(stack.prosody, SERVICE_JID)
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


def _roles(clients: int, managers: int) -> dict[str, str]:
    roles = {f"u{i}": "client" for i in range(clients)}
    roles.update({f"m{i}": "manager" for i in range(managers)})
    return roles


async def cirrus_run(
    jobs: int,
    clients: int,
    managers: int,
    in_flight: int,
    synchronous: str = "",
    code_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    log(f"throughput: service and {managers} managers")
    stack, load, queues = await start_cirrus(
        clients, managers, synchronous=synchronous, code_env=code_env
    )
    try:
        common = {"queues": queues, "document": str(SAMPLE), "in_flight": in_flight}
        timeout = 120 + jobs / 5
        await load_run(load, timeout, jobs=max(50, 2 * managers), **common)  # warm-up
        log(f"throughput: {jobs} jobs, {clients} clients, {managers} managers")
        pids = {**stack.pids(), "clients": load.pid}
        counted = stack.stanzas_counted
        stanzas_before = await stanza_count.snapshot(stack.prosody) if counted else {}
        meter = Meter(pids, loops=frozenset({"service", "manager0", "clients"}))
        meter.start()
        done = await load_run(load, timeout, jobs=jobs, **common)
        cpu = meter.stop()
        stanzas_after = await stanza_count.snapshot(stack.prosody) if counted else {}
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
            "client_missed_final_push": missed_pushes(records),
            "cpu_seconds": {k: round(v, 3) for k, v in cpu.items()},
            "cpu_ms_per_job": _per_job(cpu, jobs),
            # share of the wall time each process's event-loop thread was on a CPU
            "main_thread_busy": {
                k.split(".")[0]: round(v / meter.wall, 3)
                for k, v in cpu.items()
                if k.endswith(".main_thread")
            },
            "wall_seconds_metered": round(meter.wall, 3),
            "stanzas_per_job": stanza_count.per_job(
                stanzas_before, stanzas_after, jobs, _roles(clients, managers)
            )
            if counted
            else {"skipped": stanza_count.NOT_COUNTED},
        }
    finally:
        await stack.stop()


async def ab_run(
    other: Path, *, rounds: int, jobs: int, clients: int, managers: int, in_flight: int
) -> dict[str, Any]:
    """The measured run on this checkout's code (A) and the other's (B), in `rounds`
    pairs on fresh stacks, A B then B A …; ratios A/B pair by pair."""
    folder = checkout.overlay(other)
    try:
        env = checkout.code_env(folder)
        checkout.check(env, other)
        pairs = []
        for i in range(rounds):
            sides: dict[str, dict[str, Any]] = {}
            for side in ("A", "B") if i % 2 == 0 else ("B", "A"):
                log(f"throughput A/B: round {i + 1} of {rounds}, {side}")
                sides[side] = await cirrus_run(
                    jobs, clients, managers, in_flight, code_env=env if side == "B" else None
                )
            pairs.append(sides)
    finally:
        remove(folder)

    def med(side: str, get: Any) -> float:
        return round(statistics.median(get(p[side]) for p in pairs), 3)

    def pair_ratio(get: Any) -> float:
        return round(statistics.median(get(p["A"]) / get(p["B"]) for p in pairs), 3)

    def jps(r: dict[str, Any]) -> float:
        return float(r["jobs_per_second"])

    def cpu(r: dict[str, Any]) -> float:
        return float(r["cpu_ms_per_job"]["total"])

    def stanzas(r: dict[str, Any]) -> float:
        return float(r["stanzas_per_job"].get("with_the_service", "nan"))

    return {
        "other": str(other),
        "other_commit": checkout.describe(other),
        "this_commit": checkout.describe(ROOT),
        "rounds": rounds,
        "jobs": jobs,
        "pairs": pairs,
        "median": {
            side: {"jobs_per_second": med(side, jps), "cpu_ms_per_job": med(side, cpu)}
            | {"stanzas_per_job": med(side, stanzas)}
            for side in ("A", "B")
        },
        "ratio_A_over_B": {
            "jobs_per_second": pair_ratio(jps),
            "cpu_ms_per_job": pair_ratio(cpu),
            "stanzas_per_job": pair_ratio(stanzas),
        },
    }


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
            f"{fmt(c['job_latency']['p50_ms'])} / {fmt(c['job_latency']['p99_ms'])} ms"
            + _missed_text(c),
        )
    )
    st = c.get("stanzas_per_job")
    if st and "skipped" in st:
        out.append(Row(SECTION, "stanzas per job with the service", st["skipped"]))
    elif st:
        cl, sv, mg = st["client"], st["service"], st["manager"]
        out.append(
            Row(
                SECTION,
                "stanzas per job with the service (sent + received, counted in Prosody)",
                fmt(st["with_the_service"], 1),
            )
        )
        out.append(
            Row(
                SECTION,
                "stanzas per job sent / received: clients; service (pushes sent); managers",
                f"{fmt(cl['sent'], 2)} / {fmt(cl['received'], 2)}; "
                f"{fmt(sv['sent'], 2)} / {fmt(sv['received'], 2)} ({fmt(sv['pushes_sent'], 2)}); "
                f"{fmt(mg['sent'], 2)} / {fmt(mg['received'], 2)}",
            )
        )
    out += _ab_rows(result)
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


def _missed_text(run: dict[str, Any]) -> str:
    missed = run.get("client_missed_final_push", 0)
    return f"; the client missed the final push of {missed} (see bench.load)" if missed else ""


def _ab_rows(result: dict[str, Any]) -> list[Row]:
    c, ab = result["cirrus"], result.get("ab")
    figure = f"A/B jobs/s, {c['clients']} clients → {c['managers']} managers"
    target_jps = f"≥ {TARGET_AB_JPS:g}x today's"
    target_cpu = f"≤ {TARGET_AB_CPU:g}x today's"
    if ab is None:
        hint = f"not run: --ab OTHER_CHECKOUT (or {AB_ENV} for make bench)"
        return [
            Row(SECTION, figure, fmt(c["jobs_per_second"]), hint, target=target_jps),
            Row(
                SECTION,
                "A/B CPU ms per job, all processes",
                fmt(c["cpu_ms_per_job"]["total"], 2),
                hint,
                target=target_cpu,
            ),
        ]
    med, r = ab["median"], ab["ratio_A_over_B"]
    anchor = f"{ab['other_commit']} ({ab['rounds']} pairs, medians; ratio pair by pair)"
    return [
        Row(
            SECTION,
            f"{figure}, {ab['jobs']} jobs ({ab['this_commit']})",
            fmt(med["A"]["jobs_per_second"]),
            anchor,
            fmt(med["B"]["jobs_per_second"]),
            r["jobs_per_second"],
            target_jps,
            r["jobs_per_second"] >= TARGET_AB_JPS,
        ),
        Row(
            SECTION,
            "A/B CPU ms per job, all processes",
            fmt(med["A"]["cpu_ms_per_job"], 2),
            anchor,
            fmt(med["B"]["cpu_ms_per_job"], 2),
            r["cpu_ms_per_job"],
            target_cpu,
            r["cpu_ms_per_job"] <= TARGET_AB_CPU,
        ),
        Row(
            SECTION,
            "A/B stanzas per job with the service",
            fmt(med["A"]["stanzas_per_job"], 1),
            anchor,
            fmt(med["B"]["stanzas_per_job"], 1),
            r["stanzas_per_job"],
        ),
    ]


async def run(
    *,
    jobs: int = 2000,
    clients: int = 10,
    managers: int = 10,
    in_flight: int = 10,
    profile: bool = True,
    cups: bool = True,
    synchronous: str = "",
    ab: Path | None = None,
    ab_rounds: int = 2,
) -> dict[str, Any]:
    """ab: another checkout to measure beside this one (None: CIRRUS_BENCH_AB, if set)."""
    if ab is None and os.environ.get(AB_ENV):
        ab = Path(os.environ[AB_ENV])
    result: dict[str, Any] = {
        "cirrus": await cirrus_run(jobs, clients, managers, in_flight, synchronous)
    }
    if cups:
        result["cups"] = await cups_run(jobs)
    if profile:
        result["profile"] = await profile_run(jobs, clients, managers, in_flight)
    if ab is not None:
        result["ab"] = await ab_run(
            ab,
            rounds=ab_rounds,
            jobs=jobs,
            clients=clients,
            managers=managers,
            in_flight=in_flight,
        )
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
    parser.add_argument(
        "--ab",
        type=Path,
        metavar="OTHER_CHECKOUT",
        help=f"also measure another checkout's code, in pairs (default: ${AB_ENV})",
    )
    parser.add_argument("--rounds", type=int, default=3, help="A/B pairs")
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
            ab=args.ab,
            ab_rounds=args.rounds,
        )
    )
    print(table([Row(**r) for r in result["rows"]]))
    path = write_results({"machine": machine_info(), "throughput": result}, "throughput")
    log(f"results in {path}")


if __name__ == "__main__":
    main()
