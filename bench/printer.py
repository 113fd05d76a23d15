"""2. Through a real printer: Cirrus, CUPS, ipptool alone and the INFRA reference, each
feeding an `ippeveprinter -c /bin/true`.

Cirrus: client → service → manager (`ipp` driver) → `ippeveprinter -c /bin/true`.
CUPS: ipptool → cupsd → ipp backend (`?waitjob=false&waitprinter=false`) → its own
`ippeveprinter -c /bin/true`.
ipptool alone: Print-Job after Print-Job over one connection straight into its own
printer, each repeated 1 ms after a server-error-busy until it is taken: what the device
itself allows (a shorter repeat delay got fewer jobs/s, not more: 0.1 ms 231, 0.2 ms
238, 0.5 ms 284, 1 ms 345, 5 ms 159 jobs/s in one sweep on this machine).
INFRA reference (bench.infra, when it is built): ipptool → ippserver → ippproxy → its own
printer, fewer jobs (it manages about one a second).

All printers print instantly but take one job at a time (the others get
server-error-busy and are retried by the manager / the backend / ipptool). jobs/s
counts until the printer has completed every job: Cirrus reports a job completed only
once the device job is; for the others the clock stops when the printer's own Get-Jobs
lists all N as completed.

    python -m bench.printer [--jobs 200] [--infra-jobs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import shutil
import time
from pathlib import Path
from typing import Any

import uvloop

from bench import cups as cups_anchor
from bench import infra
from bench.common import (
    SAMPLE,
    ChildFailed,
    Meter,
    log,
    machine_info,
    missed_pushes,
    ratio,
    remove,
    run_tool,
    short_tmp,
    summary_ms,
    write_results,
)
from bench.report import Row, fmt, table
from bench.stack import start_stack
from bench.throughput import job_rate, load_run, start_load
from cirrus.stack.ippeveprinter import start_ippeveprinter

SECTION = "2 printer"
TARGET_VS_CUPS = 1.0  # issue 19: at least as fast as CUPS feeds the same printer
TARGET_VS_IPPTOOL = 0.9  # and at least 0.9x of what the device itself takes

# Print-Job, repeated 1 ms after each server-error-busy until the printer takes it.
BUSY_RETRY_TEST = cups_anchor.PRINT_JOB_TEST.replace(
    "  STATUS successful-ok\n",
    '  DELAY "0,0.001"\n  STATUS successful-ok\n  STATUS server-error-busy REPEAT-MATCH\n'
    "  REPEAT-LIMIT 100000\n",
)


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
            "client_missed_final_push": missed_pushes(records),
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


async def ipptool_run(jobs: int) -> dict[str, Any]:
    """ipptool alone: `jobs` Print-Jobs over one connection into ippeveprinter, each
    repeated after server-error-busy; jobs/s until the printer completed them all."""
    if shutil.which("ipptool") is None:
        return {"skipped": "ipptool not installed (cups-ipp-utils)"}
    folder = short_tmp("ipptool")
    printer = None
    try:
        printer = await start_ippeveprinter(folder / "eve", command="/bin/true", keep_files=False)
        warm, test = 10, folder / "print.test"
        test.write_text(BUSY_RETRY_TEST * warm)
        await _ipptool(printer.uri, test, 60)
        await _until_printed(printer.uri, warm, 60)
        test.write_text(BUSY_RETRY_TEST * jobs)
        log(f"printer: {jobs} jobs from ipptool alone to ippeveprinter")
        meter = Meter({"ippeveprinter": printer.pid}, children=frozenset({"ippeveprinter"}))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        meter.start()
        t0 = time.monotonic()
        out = await _ipptool(printer.uri, test, 60 + jobs)
        t1 = await _until_printed(printer.uri, warm + jobs, 60 + jobs)
        cpu = meter.stop()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        ipptool = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return {
            "jobs": jobs,
            "seconds": round(t1 - t0, 3),
            "jobs_per_second": round(jobs / (t1 - t0), 2),
            # ipptool prints "[000N]" for each repeat of a test (busy, asked again)
            "busy_retries": len(re.findall(r"\[\d{4}\]", out)),
            "cpu_ms_per_job": {
                "ippeveprinter": round(1000 * cpu["ippeveprinter"] / jobs, 3),
                "ipptool": round(1000 * ipptool / jobs, 3),
            },
        }
    finally:
        if printer is not None:
            await printer.stop()
        remove(folder)


async def _ipptool(uri: str, test: Path, timeout: float) -> str:
    status, out = await run_tool(
        ["ipptool", "-t", "-T", "30", "-f", str(SAMPLE), uri, str(test)], timeout
    )
    if status != 0:
        raise ChildFailed(f"ipptool failed ({status}): {out[-1000:]}")
    return out


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
    alone, ref = result.get("ipptool", {}), result.get("infra", {})
    jps = c["jobs_per_second"]
    retries = (
        f"Cirrus manager retries {c.get('manager_retries_logged', 0)}, "
        f"CUPS backend busy retries {u.get('busy_retries_logged', '—')}, "
        f"ipptool alone {alone.get('busy_retries', '—')}"
    )
    vs_cups = ratio(jps, u.get("jobs_per_second"))
    vs_alone = ratio(jps, alone.get("jobs_per_second"))
    figure = f"jobs/s into ippeveprinter -c /bin/true, {c['jobs']} jobs"
    out = [
        Row(
            SECTION,
            figure,
            fmt(jps),
            "CUPS → ipp backend (waitjob=false) → ippeveprinter"
            if "jobs_per_second" in u
            else u.get("skipped", ""),
            fmt(u.get("jobs_per_second")),
            vs_cups,
            f"≥ {TARGET_VS_CUPS:.1f}x CUPS",
            None if vs_cups is None else vs_cups >= TARGET_VS_CUPS,
        ),
        Row(
            SECTION,
            figure,
            fmt(jps),
            "ipptool alone, one connection, busy repeated after 1 ms"
            if "jobs_per_second" in alone
            else alone.get("skipped", ""),
            fmt(alone.get("jobs_per_second")),
            vs_alone,
            f"≥ {TARGET_VS_IPPTOOL:.1f}x ipptool alone",
            None if vs_alone is None else vs_alone >= TARGET_VS_IPPTOOL,
        ),
    ]
    if ref:
        tp = ref.get("throughput", {})
        lost = tp.get("jobs", 0) - tp.get("printed", 0)
        out.append(
            Row(
                SECTION,
                figure,
                fmt(jps),
                f"INFRA reference: ipptool → ippserver → ippproxy, {tp['jobs']} jobs"
                + (f" ({lost} never printed)" if lost else "")
                if tp
                else ref.get("skipped", ""),
                fmt(tp.get("jobs_per_second"), 2),
                ratio(jps, tp.get("jobs_per_second")),
            )
        )
    out.append(
        Row(
            SECTION,
            "job latency p50 / p99 (submit → completed); retries after a busy printer",
            f"{fmt(c['job_latency']['p50_ms'])} / {fmt(c['job_latency']['p99_ms'])} ms; "
            + retries
            + (
                f"; the client missed the final push of {c['client_missed_final_push']}"
                if c.get("client_missed_final_push")
                else ""
            ),
        )
    )
    return out


async def run(
    *, jobs: int = 200, in_flight: int = 10, cups: bool = True, infra_jobs: int = 20
) -> dict[str, Any]:
    result: dict[str, Any] = {"cirrus": await cirrus_run(jobs, in_flight)}
    if cups:
        result["cups"] = await cups_run(jobs)
    result["ipptool"] = await ipptool_run(jobs)
    if infra_jobs:
        result["infra"] = await infra.measure(throughput_jobs=infra_jobs)
    result["rows"] = [r.as_dict() for r in rows(result)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=10)
    parser.add_argument("--no-cups", action="store_true")
    parser.add_argument(
        "--infra-jobs", type=int, default=20, help="jobs into the INFRA reference (0: none)"
    )
    args = parser.parse_args()
    result = uvloop.run(
        run(
            jobs=args.jobs,
            in_flight=args.in_flight,
            cups=not args.no_cups,
            infra_jobs=args.infra_jobs,
        )
    )
    print(table([Row(**r) for r in result["rows"]]))
    log(f"results in {write_results({'machine': machine_info(), 'printer': result}, 'printer')}")


if __name__ == "__main__":
    main()
