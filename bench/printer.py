"""2. Through a real printer: Cirrus and CUPS each feeding an ippeveprinter.

Cirrus: client → service → manager (`ipp` driver) → `ippeveprinter -c /bin/true`.
CUPS: ipptool → cupsd → ipp backend (`?waitjob=false&waitprinter=false`) → its own
`ippeveprinter -c /bin/true`. Both printers print instantly but take one job at a time
(the others get server-error-busy and are retried by the manager / the backend). jobs/s
counts until the printer has completed every job: Cirrus reports a job completed only
once the device job is, CUPS once its backend handed the job over, so for CUPS the
clock stops when the printer's own Get-Jobs lists all N as completed.

    python -m bench.printer [--jobs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import uvloop

from bench import cups as cups_anchor
from bench.common import (
    SAMPLE,
    Meter,
    log,
    machine_info,
    ratio,
    remove,
    short_tmp,
    summary_ms,
    write_results,
)
from bench.report import Row, fmt, table
from bench.stack import start_stack
from bench.throughput import job_rate, load_run, start_load
from cirrus.stack.ippeveprinter import start_ippeveprinter

SECTION = "2 printer"


async def cirrus_run(jobs: int, in_flight: int) -> dict[str, Any]:
    stack = await start_stack("pr", ["u0", "m0"])
    printer = None
    try:
        printer = await start_ippeveprinter(
            stack.state / "eve", command="/bin/true", keep_files=False
        )
        await stack.start_service()
        await stack.start_managers([("m0", "q0", f"ipp:{printer.uri}")])
        load = await start_load(stack, ["u0"])
        common = {"queues": ["q0"], "document": str(SAMPLE), "in_flight": in_flight}
        timeout = 120 + jobs
        await load_run(load, timeout, jobs=10, **common)  # warm-up
        log(f"printer: {jobs} jobs through Cirrus to ippeveprinter")
        meter = Meter(
            {**stack.pids(), "clients": load.pid, "ippeveprinter": printer.pid},
            children=frozenset({"ippeveprinter"}),
        )
        meter.start()
        done = await load_run(load, timeout, jobs=jobs, **common)
        cpu = meter.stop()
        records = done["records"]
        jps, seconds, completed = job_rate(records)
        manager_log = (stack.log_dir / "manager0.log").read_text(errors="replace")
        return {
            "jobs": jobs,
            "completed": completed,
            # the manager's retries (device busy or unreachable), with their back-off
            "manager_retries_logged": manager_log.count(" paused ("),
            "seconds": round(seconds, 3),
            "jobs_per_second": round(jps, 2),
            "job_latency": summary_ms(r[5] - r[2] for r in records),
            "cpu_ms_per_job": {k: round(1000 * v / jobs, 3) for k, v in cpu.items()},
        }
    finally:
        if printer is not None:
            await printer.stop()
        await stack.stop()


async def cups_run(jobs: int) -> dict[str, Any]:
    missing = cups_anchor.available()
    if missing:
        return {"skipped": missing}
    folder = short_tmp("cupspr")
    printer = None
    cupsd = None
    try:
        printer = await start_ippeveprinter(folder / "eve", command="/bin/true", keep_files=False)
        forward = f"{printer.uri}?waitjob=false&waitprinter=false"
        cupsd = cups_anchor.Cupsd(folder / "cups", {"fwd": forward}, log_level="info")
        await cupsd.start()
        warm = 10
        await cupsd.print_jobs("fwd", warm, SAMPLE, 60)
        await _until_printed(printer.uri, warm, 60)
        log(f"printer: {jobs} jobs through CUPS to ippeveprinter")
        meter = Meter(
            {"cupsd": cupsd.pid, "ippeveprinter": printer.pid},
            children=frozenset({"cupsd", "ippeveprinter"}),
        )
        meter.start()
        t0 = time.monotonic()
        await cupsd.print_jobs("fwd", jobs, SAMPLE, 60 + jobs)
        t1 = await _until_printed(printer.uri, warm + jobs, 60 + jobs)
        cpu = meter.stop()
        return {
            "jobs": jobs,
            "seconds": round(t1 - t0, 3),
            "jobs_per_second": round(jobs / (t1 - t0), 2),
            # the ipp backend sleeps ≥ 1 s each time the printer answers busy
            "busy_retries_logged": cupsd.count_in_log("The printer is in use"),
            "cpu_ms_per_job": {k: round(1000 * v / jobs, 3) for k, v in cpu.items()},
        }
    finally:
        if cupsd is not None:
            await cupsd.stop()
        if printer is not None:
            await printer.stop()
        remove(folder)


async def _until_printed(printer_uri: str, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while True:
        done = await cups_anchor.count_completed(printer_uri)
        now = time.monotonic()
        if done >= count:
            return now
        if now > deadline:
            raise TimeoutError(f"the printer completed {done} of {count} jobs")
        await asyncio.sleep(0.01)


def rows(result: dict[str, Any]) -> list[Row]:
    c, u = result["cirrus"], result.get("cups", {})
    retries = (
        f"Cirrus manager retries {c.get('manager_retries_logged', 0)}, "
        f"CUPS backend busy retries {u.get('busy_retries_logged', '—')}"
    )
    return [
        Row(
            SECTION,
            f"jobs/s into ippeveprinter -c /bin/true, {c['jobs']} jobs",
            fmt(c["jobs_per_second"]),
            "CUPS → ipp backend (waitjob=false) → ippeveprinter"
            if "jobs_per_second" in u
            else u.get("skipped", ""),
            fmt(u.get("jobs_per_second")),
            ratio(c["jobs_per_second"], u.get("jobs_per_second")),
        ),
        Row(
            SECTION,
            "job latency p50 / p99 (submit → completed); retries after a busy printer",
            f"{fmt(c['job_latency']['p50_ms'])} / {fmt(c['job_latency']['p99_ms'])} ms; " + retries,
        ),
    ]


async def run(*, jobs: int = 200, in_flight: int = 10, cups: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {"cirrus": await cirrus_run(jobs, in_flight)}
    if cups:
        result["cups"] = await cups_run(jobs)
    result["rows"] = [r.as_dict() for r in rows(result)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=10)
    parser.add_argument("--no-cups", action="store_true")
    args = parser.parse_args()
    result = uvloop.run(run(jobs=args.jobs, in_flight=args.in_flight, cups=not args.no_cups))
    print(table([Row(**r) for r in result["rows"]]))
    log(f"results in {write_results({'machine': machine_info(), 'printer': result}, 'printer')}")


if __name__ == "__main__":
    main()
