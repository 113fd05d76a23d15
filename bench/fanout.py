"""Fan-out: one queue served by 1, 2 and 4 devices (issue 13).

Each device is a real manager (`python -m manager`) with the `sim` driver at a fixed
speed (seconds per job, one job at a time, as a printer does); every device is enrolled
in the one queue `shared` with its own code. M clients in one more process (bench.load)
keep `in_flight` jobs each going until N are done; jobs/s counts from the first submit
to the last completion the clients heard. On a fresh stack per device count. The target
(issue 13): four devices at least 3.5 times one.

Also reported: how the jobs spread over the devices (output-device-assigned, read from
the service's database afterwards) and how many acknowledgements lost a race
(client-error-not-fetchable in the managers' logs).

    python -m bench.fanout [--devices 1 2 4] [--jobs 100] [--speed 0.2]
"""

from __future__ import annotations

import argparse
import collections
import sqlite3
from typing import Any

import uvloop

from bench.common import SAMPLE, log, machine_info, summary_ms, write_results
from bench.report import Row, fmt, table
from bench.stack import BenchStack, start_stack
from bench.throughput import job_rate, load_run, start_load

SECTION = "fan-out"
TARGET_RATIO = 3.5  # four devices against one
QUEUE = "shared"


async def one_run(
    devices: int, jobs: int, speed: float, clients: int, in_flight: int
) -> dict[str, Any]:
    users = [f"u{i}" for i in range(clients)]
    accounts = [f"m{i}" for i in range(devices)]
    stack: BenchStack = await start_stack("fo", users + accounts)
    try:
        await stack.start_service()
        await stack.start_managers([(a, QUEUE, f"sim:speed={speed}") for a in accounts])
        load = await start_load(stack, users)
        common = {"queues": [QUEUE], "document": str(SAMPLE), "in_flight": in_flight}
        timeout = 120 + jobs * speed * 2
        log(f"fan-out: warm-up, {devices} device(s)")
        await load_run(load, timeout, jobs=2 * devices, **common)
        log(f"fan-out: {jobs} jobs, {devices} device(s) at {speed} s per job")
        done = await load_run(load, timeout, jobs=jobs, **common)
        records = done["records"]
        jps, seconds, completed = job_rate(records)
        spread = _spread(stack)
        lost = _lost_races(stack)
        return {
            "devices": devices,
            "jobs": jobs,
            "speed_s_per_job": speed,
            "completed": completed,
            "seconds": round(seconds, 3),
            "jobs_per_second": round(jps, 2),
            "ideal_jobs_per_second": round(devices / speed, 2),
            "job_latency": summary_ms(r[5] - r[2] for r in records),
            "jobs_by_device": spread,
            "acknowledgements_that_lost_a_race": lost,
        }
    finally:
        await stack.stop()


def _spread(stack: BenchStack) -> dict[str, int]:
    assert stack.database is not None
    with sqlite3.connect(stack.database) as db:
        rows = db.execute(
            "SELECT output_device_assigned, COUNT(*) FROM jobs WHERE job_state = 'completed'"
            " GROUP BY output_device_assigned"
        ).fetchall()
    return {str(name): int(n) for name, n in rows}


def _lost_races(stack: BenchStack) -> int:
    count = collections.Counter[str]()
    for path in stack.log_dir.glob("manager*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if "taken by another device" in line or "no longer fetchable" in line:
                count["lost"] += 1
    return count["lost"]


async def run(
    *, devices: list[int], jobs: int = 100, speed: float = 0.2, clients: int = 4, in_flight: int = 8
) -> dict[str, Any]:
    runs = [await one_run(n, jobs, speed, clients, in_flight) for n in devices]
    by_count = {r["devices"]: r for r in runs}
    ratios = {
        f"{n}_vs_1": round(by_count[n]["jobs_per_second"] / by_count[1]["jobs_per_second"], 2)
        for n in by_count
        if n != 1 and 1 in by_count
    }
    return {"runs": runs, "ratios": ratios, "target_4_vs_1": TARGET_RATIO}


def rows(result: dict[str, Any]) -> list[Row]:
    out = []
    for r in result["runs"]:
        out.append(
            Row(
                SECTION,
                f"jobs/s, {r['devices']} sim device(s) at {r['speed_s_per_job']} s/job",
                fmt(r["jobs_per_second"], 2),
                "ideal (devices / speed)",
                fmt(r["ideal_jobs_per_second"], 2),
                ratio=r["jobs_per_second"] / r["ideal_jobs_per_second"],
            )
        )
    ratio = result["ratios"].get("4_vs_1")
    if ratio is not None:
        out.append(
            Row(
                SECTION,
                "jobs/s, 4 devices against 1",
                fmt(ratio, 2),
                target=f"≥ {TARGET_RATIO}",
                met=ratio >= TARGET_RATIO,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--speed", type=float, default=0.2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--in-flight", type=int, default=8)
    args = parser.parse_args()
    result = uvloop.run(
        run(
            devices=args.devices,
            jobs=args.jobs,
            speed=args.speed,
            clients=args.clients,
            in_flight=args.in_flight,
        )
    )
    path = write_results({"machine": machine_info(), "fanout": result}, "fanout")
    print(table(rows(result)))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
