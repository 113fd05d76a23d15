"""3. Push latency and 5. scale: many managers connected, how fast work reaches them.

One Prosody, the service as bench.probe_service (the unchanged service plus a clock on
the commit that makes a job fetchable), one client process (bench.load) and one
process holding all the managers (bench.fleet: real sessions, one account each, each
registering its device with RegisterDevice). The fleet grows in phases (e.g. 1 → 100 →
1,000 → 10,000 managers); in each phase the client submits jobs at a light, fixed rate
spread over the connected managers' queues, and for every job:

* notified: commit as fetchable (service) → the manager holds the parsed
  WorkNotification;
* document: the same commit → the manager has the whole document (FetchJob,
  AcknowledgeJob, FetchDocument, HTTPS GET, size and digest checked).

Timestamps come from CLOCK_MONOTONIC in each process. Each phase also records the time
the new managers took to connect (login, RegisterDevice, UpdateFetchableJobs) and the
resident memory of Prosody and the service, per connected device.

Polling designs, on the same path: a manager polling GetFetchableJobs every 5 s (PAPPL's
proxy) waits T/2 on average (uniform on [0, T]): computed, and measured for a few jobs.

The INFRA reference (bench.infra: ippsample's ippserver → ippproxy → ippeveprinter, run
for real when it is built) in the same run, at the same light rates as Cirrus's one
manager, each on its own schedule at the same time: jobs 3 s apart (ippproxy is back in
its held Get-Notifications before each: its best case), and jobs at Poisson times with
a 2 s mean gap (some then arrive while ippproxy sleeps 1 s after an empty answer).
Cirrus: commit → the manager has the document; the reference: commit → ippproxy has
streamed the document into the device's Send-Document.

    python -m bench.push [--sizes 1 100 1000] [--jobs 200 --rate 20] [--no-poll] [--no-infra]
    python -m bench.scale  (the same with --sizes 1000 10000 --no-poll)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from typing import Any

import uvloop

from bench import infra
from bench.common import (
    SAMPLE,
    Child,
    log,
    machine_info,
    memory_kb,
    missed_pushes,
    summary_ms,
    write_results,
)
from bench.report import Row, fmt, table
from bench.stack import BenchStack, start_stack
from bench.throughput import start_load

POLL_INTERVAL = 5.0  # PAPPL's proxy
TARGET_P99_MS = 10.0
TARGET_P99_AT_10K_MS = 5.0  # issue 19: notified, with 10,000 managers connected
TARGET_DOCUMENT_VS_INFRA = 0.5  # issue 19: commit → document, p50, ≤ 0.5x the reference
INFRA_PARKED_GAP = 3.0  # s: ippproxy is back in its held request ~2 s after a job
INFRA_POISSON_MEAN_GAP = 2.0


def expected_poll(interval: float = POLL_INTERVAL) -> dict[str, float]:
    """Wait of a fixed-interval poller for jobs arriving at random times (uniform)."""
    return {
        "mean_ms": 500 * interval,
        "p50_ms": 500 * interval,
        "p90_ms": 900 * interval,
        "p99_ms": 990 * interval,
        "max_ms": 1000 * interval,
    }


async def start_fleet(stack: BenchStack) -> Child:
    config = stack.state / "fleet.json"
    config.write_text(json.dumps({"xmpp": stack.xmpp(), "login_concurrency": 64}))
    fleet = Child("fleet", "bench.fleet", ["--config", str(config)], stack.log_dir / "fleet.log")
    stack.children.append(fleet)
    await fleet.start()
    await fleet.expect("ready", 60)
    return fleet


def memory(stack: BenchStack, fleet: Child) -> dict[str, int]:
    pids = {"prosody": stack.prosody.pid, "service": stack.service.pid if stack.service else None}
    out = {name: memory_kb(pid)["rss_kb"] for name, pid in pids.items()}
    out["fleet"] = memory_kb(fleet.pid)["rss_kb"]
    return out


async def latencies(stack: BenchStack, fleet: Child, load_done: dict[str, Any]) -> dict[str, Any]:
    fleet.send({"command": "records"})
    got = await fleet.expect("records", 60)
    commits = stack.commits()
    by_mode: dict[str, dict[str, list[float]]] = {}
    missing = 0
    for job_id, _queue, mode, seen, document, _done in got["jobs"]:
        committed = commits.get(job_id)
        if committed is None:
            missing += 1
            continue
        lists = by_mode.setdefault(mode, {"notified": [], "document": []})
        lists["notified"].append(seen - committed)
        if document:
            lists["document"].append(document - committed)
    records = load_done["records"]
    return {
        "jobs": len(records),
        "completed": sum(1 for r in records if r[6] == "completed"),
        "client_missed_final_push": missed_pushes(records),
        "manager_failures": got["failures"],
        "not_matched": missing,
        "by_mode": {
            mode: {name: summary_ms(values) for name, values in lists.items()}
            for mode, lists in by_mode.items()
        },
        "end_to_end": summary_ms(r[5] - r[2] for r in records),
    }


async def connect(fleet: Child, stack: BenchStack, specs: list[list[Any]]) -> dict[str, Any]:
    """Each manager is enrolled with a code for its queue (the spec's last element)."""
    codes = await stack.enrollment_codes([spec[2] for spec in specs])
    specs = [[*spec, code] for spec, code in zip(specs, codes, strict=True)]
    fleet.send({"command": "connect", "managers": specs})
    return await fleet.expect("connected", 120 + 0.05 * len(specs))


async def run(
    *,
    sizes: list[int],
    jobs: int = 200,
    rate: float = 20.0,
    poll: bool = True,
    poll_jobs: int = 12,
    infra_jobs: tuple[int, int] | None = (8, 20),
) -> dict[str, Any]:
    """infra_jobs: (jobs 3 s apart, jobs at Poisson times) for the phase beside the INFRA
    reference, run with one manager connected; None: no such phase."""
    sizes = sorted(set(sizes))
    names = [f"m{i}" for i in range(max(sizes))]
    stack = await start_stack("ps", ["u0", "poll0"])
    result: dict[str, Any] = {"sizes": sizes, "rate": rate, "jobs_per_phase": jobs}
    try:
        log(f"push: creating {len(names)} manager accounts")
        t = time.monotonic()
        await stack.add_accounts(names)
        result["account_creation_seconds"] = round(time.monotonic() - t, 2)
        await stack.start_service(probe=True)
        load = await start_load(stack, ["u0"])
        fleet = await start_fleet(stack)
        base = memory(stack, fleet)
        result["memory_before_kb"] = base
        phases: list[dict[str, Any]] = []
        connected = 0
        connect_total = 0.0
        rng = random.Random(6)
        for size in sizes:
            specs = [
                [names[i], stack.passwords[names[i]], f"q{i}", uuid.uuid4().urn, "push", 0]
                for i in range(connected, size)
            ]
            log(f"push: connecting managers {connected + 1}…{size}")
            got = await connect(fleet, stack, specs)
            if got["failed"]:
                log(f"push: {got['failed']} managers failed to connect: {got['failures']}")
            connected = size
            connect_total += got["seconds"]
            mem = memory(stack, fleet)
            queues = [f"q{i}" for i in rng.sample(range(size), min(size, jobs))]
            log(f"push: {jobs} jobs at {rate:g}/s over {size} managers")
            load.send(
                {
                    "command": "run",
                    "mode": "paced",
                    "jobs": jobs,
                    "rate": rate,
                    "queues": queues,
                    "document": str(SAMPLE),
                }
            )
            done = await load.expect("done", 120 + 2 * jobs / rate)
            phase = {
                "managers": size,
                "connect": got,
                "connect_seconds_cumulative": round(connect_total, 3),
                "memory_kb": mem,
                "per_device_kb": {
                    k: round((mem[k] - base[k]) / size, 1) for k in ("prosody", "service", "fleet")
                },
                **await latencies(stack, fleet, done),
            }
            phases.append(phase)
            if size == sizes[0]:
                if poll:
                    result["polling"] = await poll_phase(stack, fleet, load, poll_jobs)
                if infra_jobs is not None:
                    result["infra"] = await infra_phase(stack, fleet, load, *infra_jobs)
        result["phases"] = phases
    finally:
        await stack.stop()
    result["computed"] = {"poll_5s": expected_poll()}
    result["rows"] = [r.as_dict() for r in rows(result)]
    return result


async def poll_phase(stack: BenchStack, fleet: Child, load: Child, jobs: int) -> dict[str, Any]:
    """One poller (GetFetchableJobs every 5 s), given jobs at Poisson times."""
    specs = [["poll0", stack.passwords["poll0"], "qpoll", uuid.uuid4().urn, "poll", POLL_INTERVAL]]
    await connect(fleet, stack, specs)
    rate = 0.5  # one job every 2 s on average
    log(f"push: {jobs} jobs at Poisson times to a polling manager (~{jobs / rate:.0f} s)")
    load.send(
        {
            "command": "run",
            "mode": "paced",
            "poisson": True,
            "jobs": jobs,
            "rate": rate,
            "queues": ["qpoll"],
            "document": str(SAMPLE),
        }
    )
    done = await load.expect("done", 120 + jobs / rate)
    measured = await latencies(stack, fleet, done)
    return {"interval_s": POLL_INTERVAL, **measured}


async def infra_phase(
    stack: BenchStack, fleet: Child, load: Child, parked_jobs: int, poisson_jobs: int
) -> dict[str, Any]:
    """The INFRA reference and Cirrus's first manager (q0), each given jobs at the same
    light rate at the same time, on schedules of their own: first 3 s apart, then at
    Poisson times. Cirrus's jobs 3 s apart start half a gap after the reference's, so
    that the two never work at the same moment."""
    found = infra.binaries()
    if isinstance(found, str):
        return {"skipped": found}
    ref = infra.InfraReference(*found)
    out: dict[str, Any] = {}
    try:
        await ref.start()
        regimes = [
            (
                "parked",
                [INFRA_PARKED_GAP] * parked_jobs,
                {"rate": 1 / INFRA_PARKED_GAP},
                INFRA_PARKED_GAP / 2,
            ),
            (
                "poisson",
                infra.poisson_gaps(poisson_jobs, INFRA_POISSON_MEAN_GAP),
                {"rate": 1 / INFRA_POISSON_MEAN_GAP, "poisson": True, "seed": 7},
                0.0,
            ),
        ]
        for name, gaps, pace, offset in regimes:
            if not gaps:
                continue
            log(
                f"push: beside the INFRA reference, {len(gaps)} jobs each "
                f"({name}, ~{sum(gaps):.0f} s)"
            )

            async def cirrus(count: int, pace: dict[str, Any], offset: float) -> dict[str, Any]:
                await asyncio.sleep(offset)
                load.send(
                    {
                        "command": "run",
                        "mode": "paced",
                        "jobs": count,
                        "queues": ["q0"],
                        "document": str(SAMPLE),
                        **pace,
                    }
                )
                return await load.expect("done", 120 + 3 * count * INFRA_PARKED_GAP)

            reference, done = await asyncio.gather(
                infra.latency(ref, gaps), cirrus(len(gaps), pace, offset)
            )
            measured = await latencies(stack, fleet, done)
            out[name] = {
                "infra": reference,
                "cirrus": measured["by_mode"].get("push", {}),
                "cirrus_jobs": measured["jobs"],
                "client_missed_final_push": measured["client_missed_final_push"],
            }
    finally:
        await ref.stop()
    return out


def _quad(summary: dict[str, Any], digits: int = 2) -> str:
    return "/".join(fmt(summary.get(k), digits) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms"))


def rows(result: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    poll_expected = result["computed"]["poll_5s"]
    sizes = result.get("sizes", [])
    for phase in result.get("phases", []):
        size = phase["managers"]
        push = phase["by_mode"].get("push", {})
        notified, document = push.get("notified", {}), push.get("document", {})
        light = size <= 1000
        if light:
            section = "3 push"
            out.append(
                Row(
                    section,
                    f"commit → manager notified, p50/p90/p99/max ms, {size} managers, "
                    f"{result['rate']:g} jobs/s",
                    _quad(notified),
                    "poll every 5 s (PAPPL proxy), computed",
                    "/".join(
                        fmt(poll_expected[k]) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")
                    ),
                    _ratio(notified.get("p50_ms"), poll_expected["p50_ms"]),
                    f"p99 ≤ {TARGET_P99_MS:g} ms (100 managers)" if size == 100 else "",
                    (notified.get("p99_ms", 1e9) <= TARGET_P99_MS) if size == 100 else None,
                )
            )
            out.append(
                Row(
                    section,
                    f"commit → manager has the document, p50/p90/p99/max ms, {size} managers, "
                    f"{result['rate']:g} jobs/s",
                    _quad(document),
                )
            )
        if size >= 1000:
            section = "5 scale"
            per = phase["per_device_kb"]
            out.append(
                Row(
                    section,
                    f"{size} managers: time to connect all (login, RegisterDevice, resync)",
                    _connect_text(phase),
                    target="1,000 served by one service process" if size == 1000 else "",
                    met=(phase["connect"]["failed"] == 0 and phase["completed"] == phase["jobs"])
                    if size == 1000
                    else None,
                )
            )
            out.append(
                Row(
                    section,
                    f"{size} managers: resident memory per device, service / Prosody",
                    f"{per['service']:.1f} / {per['prosody']:.1f} KiB",
                )
            )
            at_10k = size >= 10000
            out.append(
                Row(
                    section,
                    f"{size} managers: commit → notified p50/p99, → document p50/p99 (ms)",
                    f"{fmt(notified.get('p50_ms'), 2)}/{fmt(notified.get('p99_ms'), 2)}, "
                    f"{fmt(document.get('p50_ms'), 2)}/{fmt(document.get('p99_ms'), 2)}",
                    target=f"notified p99 ≤ {TARGET_P99_AT_10K_MS:g} ms" if at_10k else "",
                    met=(notified.get("p99_ms", 1e9) <= TARGET_P99_AT_10K_MS) if at_10k else None,
                )
            )
    if sizes and 1000 <= max(sizes) < 10000:
        out.append(
            Row(
                "5 scale",
                "10000 managers: commit → notified p99",
                f"not measured (largest phase {max(sizes):,} managers)",
                target=f"notified p99 ≤ {TARGET_P99_AT_10K_MS:g} ms",
            )
        )
    out += _infra_rows(result.get("infra"))
    missed = {
        f"{p['managers']} managers": p.get("client_missed_final_push", 0)
        for p in result.get("phases", [])
    }
    for name, regime in (result.get("infra") or {}).items():
        if isinstance(regime, dict):
            missed[f"beside INFRA, {name}"] = regime.get("client_missed_final_push", 0)
    if any(missed.values()):
        out.append(
            Row(
                "3 push",
                "jobs whose final push the client missed (it asked after 10 s; see bench.load)",
                ", ".join(f"{k}: {v}" for k, v in missed.items() if v),
            )
        )
    polling = result.get("polling")
    if polling:
        got = polling["by_mode"].get("poll", {}).get("notified")
        if got:
            out.append(
                Row(
                    "3 push",
                    f"measured: poll every 5 s, commit → job seen, mean/p50/max ms "
                    f"({got['count']} jobs)",
                    "/".join(fmt(got.get(k)) for k in ("mean_ms", "p50_ms", "max_ms")),
                    "computed mean",
                    fmt(poll_expected["mean_ms"]),
                )
            )
    return out


def _infra_rows(got: dict[str, Any] | None) -> list[Row]:
    section = "3 push"
    if got is None:
        return []
    anchor = "INFRA reference (ippserver → ippproxy), measured"
    if "skipped" in got:
        return [
            Row(
                section,
                "commit → manager has a small document, p50, jobs 3 s apart",
                "—",
                anchor,
                got["skipped"],
                target=f"≤ {TARGET_DOCUMENT_VS_INFRA:g}x the reference",
            )
        ]
    out = []
    for name, label in (
        ("parked", f"jobs {INFRA_PARKED_GAP:g} s apart"),
        ("poisson", f"Poisson jobs, mean gap {INFRA_POISSON_MEAN_GAP:g} s"),
    ):
        regime = got.get(name)
        if regime is None:
            continue
        ref, cirrus = regime["infra"], regime["cirrus"]
        lost = len(ref["lost"])
        note = f" ({ref['jobs'] - lost} of {ref['jobs']} reached the device)" if lost else ""
        document = cirrus.get("document", {})
        ratio = _ratio(document.get("p50_ms"), ref["document"].get("p50_ms"))
        target = name == "parked"
        out.append(
            Row(
                section,
                f"commit → manager has a small document, p50/p90/p99/max ms, {label}, 1 manager",
                _quad(document),
                anchor + ": → document at the device" + note,
                _quad(ref["document"]),
                ratio,
                f"p50 ≤ {TARGET_DOCUMENT_VS_INFRA:g}x the reference" if target else "",
                (ratio is not None and ratio <= TARGET_DOCUMENT_VS_INFRA) if target else None,
            )
        )
        notified = cirrus.get("notified", {})
        out.append(
            Row(
                section,
                f"commit → manager notified, p50/p90/p99/max ms, {label}, 1 manager",
                _quad(notified),
                anchor + ": → ippproxy knows of the job",
                _quad(ref["notified"]),
                _ratio(notified.get("p50_ms"), ref["notified"].get("p50_ms")),
            )
        )
        pauses = ", ".join(f"{k}: {v}" for k, v in sorted(ref["proxy_pauses"].items()))
        out.append(
            Row(
                section,
                f"INFRA reference, {label}: jobs committed while ippproxy slept; "
                "its pauses between polls; jobs lost",
                "",
                "ippproxy's own log",
                f"{ref['committed_while_proxy_slept']} of {ref['jobs'] - lost}; {pauses}; "
                f"lost {lost}",
            )
        )
    return out


def _connect_text(phase: dict[str, Any]) -> str:
    got = phase["connect"]
    text = (
        f"{phase['connect_seconds_cumulative']:.1f} s (the last {got['count']:,}: "
        f"{got['seconds']:.1f} s, {got['count'] / max(got['seconds'], 1e-3):.0f}/s)"
    )
    return text + (f", {got['failed']} failed" if got["failed"] else "")


def _ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 6)


def main(default_sizes: tuple[int, ...] = (1, 100, 1000), poll_default: bool = True) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(default_sizes))
    parser.add_argument("--jobs", type=int, default=200, help="jobs per phase")
    parser.add_argument("--rate", type=float, default=20.0, help="jobs per second (light load)")
    parser.add_argument("--no-poll", action="store_true", help="skip the measured 5 s poller")
    parser.add_argument(
        "--no-infra", action="store_true", help="skip the phase beside the INFRA reference"
    )
    args = parser.parse_args()
    result = uvloop.run(
        run(
            sizes=args.sizes,
            jobs=args.jobs,
            rate=args.rate,
            poll=poll_default and not args.no_poll,
            infra_jobs=None if args.no_infra or not poll_default else (8, 20),
        )
    )
    print(table([Row(**r) for r in result["rows"]]))
    log(f"results in {write_results({'machine': machine_info(), 'push': result}, 'push')}")


if __name__ == "__main__":
    main()
