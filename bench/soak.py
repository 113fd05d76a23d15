"""`python -m bench.soak` (`make soak`): does any process keep something per job?

A long run of one-page jobs (marked documents of a few KB, one PrintJob each) from C
clients (bench.chaos_client, one process) through one manager (`file` driver into a
tmpfs folder), nothing killed. Every `--interval` seconds the resident memory (VmRSS,
/proc/PID/status) of Prosody, the service, the manager and the clients' process is
sampled with the number of jobs finished so far. After `--warmup` jobs (caches filling,
the allocator finding its size), a least-squares line through (jobs, RSS) gives each
process's growth per 10,000 jobs: flat is the target; a process that keeps something
per job grows in a straight line.

    python -m bench.soak [--jobs 30000 --warmup 5000 --clients 2 --in-flight 4]

The table goes to stdout, the samples with the figures to
bench/results/soak-<time>.json. Exit status 1 if not every job completed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench.chaos_stack import ChaosStack
from bench.common import (
    log,
    machine_info,
    memory_kb,
    null_sink_dir,
    remove,
    short_tmp,
    write_results,
)

PER = 10_000  # growth is reported per this many jobs


@dataclass
class Options:
    jobs: int = 30_000
    warmup: int = 5_000
    clients: int = 2
    in_flight: int = 4
    interval: float = 1.0  # seconds between samples
    size: int = 3_000  # octets per document
    timeout: float = 3600.0
    keep: bool = False


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope and intercept of y over x."""
    n = len(points)
    if n < 2:
        return float("nan"), float("nan")
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return float("nan"), my
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    return slope, my - slope * mx


def growth(samples: list[dict[str, Any]], warmup: int) -> dict[str, dict[str, float]]:
    """Per process: RSS when the warm-up ended and at the end (MiB), and the fitted
    growth per PER jobs after the warm-up (MiB), from samples {"jobs": n, "rss_kb": {}}."""
    after = [s for s in samples if s["jobs"] >= warmup]
    out: dict[str, dict[str, float]] = {}
    if not after:
        return out
    for name in after[0]["rss_kb"]:
        points = [(s["jobs"], s["rss_kb"][name]) for s in after if s["rss_kb"].get(name)]
        if not points:
            continue
        slope, _ = fit(points)
        out[name] = {
            "rss_after_warmup_mib": round(points[0][1] / 1024, 1),
            "rss_end_mib": round(points[-1][1] / 1024, 1),
            "growth_per_10k_jobs_mib": round(slope * PER / 1024, 2),
            "growth_per_job_kib": round(slope, 3),
            "samples": len(points),
        }
    return out


async def _run(stack: ChaosStack, options: Options) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    assert stack.clients is not None and stack.clients.proc is not None
    stdout = stack.clients.proc.stdout
    assert stdout is not None
    counts: dict[str, Any] = {}
    done = asyncio.Event()

    async def read() -> None:
        while line := await stdout.readline():
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                event = message.pop("event", "")
                if event == "error":
                    log(f"clients: {message.get('error')}")
                counts.update(message)
                if event in ("done", "error"):
                    done.set()
        done.set()

    reader = asyncio.create_task(read())
    samples: list[dict[str, Any]] = []
    t0 = time.monotonic()
    stack.clients.send(
        {
            "command": "run",
            "jobs": options.jobs,
            "queues": [d.queue for d in stack.devices],
            "in_flight": options.in_flight,
            "retries": 0,
            "small_size": [options.size, options.size],
            "deadline": options.timeout,
            "journal": None,
        }
    )
    reported = 0
    try:
        while not done.is_set() and time.monotonic() - t0 < options.timeout:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), options.interval)
            jobs = int(counts.get("final", 0))
            rss = {name: memory_kb(pid)["rss_kb"] for name, pid in stack.pids().items()}
            samples.append({"t": round(time.monotonic() - t0, 2), "jobs": jobs, "rss_kb": rss})
            if jobs - reported >= 5000:
                reported = jobs
                rates = jobs / (time.monotonic() - t0)
                mib = ", ".join(f"{k} {v / 1024:.1f}" for k, v in rss.items())
                log(f"{jobs} jobs ({rates:.0f}/s); RSS MiB: {mib}")
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    return samples, counts


async def run(options: Options) -> dict[str, Any]:
    state = short_tmp("soak")
    sink = null_sink_dir("soak")
    stack = await ChaosStack.start(
        state, clients=options.clients, drivers=["file"], queue_prefix="soak", output_root=sink
    )
    try:
        t0 = time.monotonic()
        samples, counts = await _run(stack, options)
        seconds = time.monotonic() - t0
    finally:
        await stack.stop()
    output = stack.devices[0].output
    printed = (
        sum(1 for p in output.iterdir() if not p.name.startswith(".")) if output.exists() else 0
    )
    result = {
        "options": asdict(options),
        "seconds": round(seconds, 1),
        "jobs_per_s": round(counts.get("final", 0) / seconds, 1) if seconds else None,
        "client_counts": counts,
        "printed": printed,
        "growth": growth(samples, options.warmup),
        "samples": samples,
    }
    result["ok"] = counts.get("final") == options.jobs == printed and not counts.get("stuck")
    if options.keep or not result["ok"]:
        result["state_dir"] = str(state)
        result["output_dir"] = str(sink)
    else:
        remove(state, sink)
    return result


def report(result: dict[str, Any]) -> str:
    o = result["options"]
    lines = [
        f"soak: {result['client_counts'].get('final', 0)} of {o['jobs']} jobs ended "
        f"({result['printed']} printed) in {result['seconds']:.0f} s "
        f"({result['jobs_per_s']} jobs/s), warm-up {o['warmup']} jobs",
        f"{'process':<10} {'RSS after warm-up':>18} {'RSS at end':>11} "
        f"{'growth / 10,000 jobs':>21} {'per job':>10}",
    ]
    for name, g in result["growth"].items():
        lines.append(
            f"{name:<10} {g['rss_after_warmup_mib']:>14.1f} MiB {g['rss_end_mib']:>7.1f} MiB "
            f"{g['growth_per_10k_jobs_mib']:>17.2f} MiB {g['growth_per_job_kib']:>6.3f} KiB"
        )
    lines.append("RESULT: " + ("all jobs completed" if result["ok"] else "NOT all jobs completed"))
    if result.get("state_dir"):
        lines.append(f"state kept in {result['state_dir']} (output {result['output_dir']})")
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> Options:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=d.jobs)
    p.add_argument("--warmup", type=int, default=d.warmup)
    p.add_argument("--clients", type=int, default=d.clients)
    p.add_argument("--in-flight", type=int, default=d.in_flight, help="jobs per client at a time")
    p.add_argument("--interval", type=float, default=d.interval, help="seconds between samples")
    p.add_argument("--size", type=int, default=d.size, help="octets per document")
    p.add_argument("--timeout", type=float, default=d.timeout)
    p.add_argument("--keep", action="store_true", help="keep the state and output folders")
    a = p.parse_args(argv)
    if not 0 <= a.warmup < a.jobs:
        p.error("--warmup must be below --jobs")
    return Options(
        jobs=a.jobs,
        warmup=a.warmup,
        clients=a.clients,
        in_flight=a.in_flight,
        interval=a.interval,
        size=a.size,
        timeout=a.timeout,
        keep=a.keep,
    )


async def main(options: Options) -> int:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    result = await run(options)
    print(report(result))
    path: Path = write_results({"machine": machine_info(), **result}, "soak")
    log(f"results in {path}")
    return 0 if result["ok"] else 1


def cli() -> None:
    try:
        sys.exit(uvloop.run(main(parse())))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, SIGTERM: all stopped
        print("interrupted: every process it started was stopped", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    cli()
