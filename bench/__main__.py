"""`make bench` / `python -m bench`: every benchmark of issue #6 in one run, one table.

    python -m bench                       # all: throughput printer push scale documents store
    python -m bench push scale            # some of them
    python -m bench --quick               # smaller runs (a smoke test of the suite)

Each figure is measured next to its anchor in the same run (CUPS, ipptool alone, the
INFRA reference when built, curl and nginx, polling designs), since this machine is
shared and noisy: absolute times drift, ratios hold.
The table goes to stdout, progress to stderr, every raw figure with the machine and
the versions to bench/results/bench-<time>.json (and bench-latest.json). A benchmark
that fails is reported in the table and the run goes on; the exit status is then 1.
See bench/README.md for running each one alone and reading the table.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

from bench import documents, printer, push, store, throughput
from bench.common import log, machine_info, write_results
from bench.report import Row, table

NAMES = ("throughput", "printer", "push", "scale", "documents", "store")


def plan(names: list[str], quick: bool) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """(result key, coroutine factory) in the order they run."""
    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
    if "throughput" in names:
        jobs = 400 if quick else 2000
        steps.append(("throughput", lambda: throughput.run(jobs=jobs)))
    if "printer" in names:
        steps.append(
            (
                "printer",
                lambda: printer.run(jobs=50 if quick else 200, infra_jobs=10 if quick else 20),
            )
        )
    if "push" in names or "scale" in names:
        sizes = []
        if "push" in names:
            sizes += [1, 100, 1000]
        if "scale" in names:
            sizes += [1000] if quick else [1000, 10000]
        steps.append(
            (
                "push",
                lambda: push.run(
                    sizes=sizes,
                    jobs=60 if quick else 200,
                    poll="push" in names,
                    poll_jobs=6 if quick else 12,
                    infra_jobs=((4, 8) if quick else (8, 20)) if "push" in names else None,
                ),
            )
        )
    if "documents" in names:
        steps.append(("documents", lambda: documents.run(sizes_mb=[100] if quick else [100, 1000])))
    if "store" in names:
        steps.append(("store", lambda: store.run(jobs=200_000 if quick else 1_000_000)))
    return steps


async def run_all(names: list[str], quick: bool) -> tuple[dict[str, Any], bool]:
    results: dict[str, Any] = {"machine": machine_info(), "quick": quick, "seconds": {}}
    ok = True
    started = time.monotonic()
    for key, make in plan(names, quick):
        log(f"=== {key}")
        t0 = time.monotonic()
        try:
            results[key] = await make()
        except Exception as exc:
            ok = False
            log(f"{key} failed: {exc!r}")
            results[key] = {
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
                "rows": [Row(key, "FAILED", f"{type(exc).__name__}: {exc}"[:200]).as_dict()],
            }
        results["seconds"][key] = round(time.monotonic() - t0, 1)
        log(f"=== {key} took {results['seconds'][key]:.0f} s")
    results["seconds"]["total"] = round(time.monotonic() - started, 1)
    return results, ok


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=" | ".join(NAMES))
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    args = parser.parse_args()
    unknown = set(args.names) - set(NAMES)
    if unknown:
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))} (choose from {NAMES})")
    names = args.names or list(NAMES)
    results, ok = uvloop.run(run_all(names, args.quick))
    rows = [
        Row(**r)
        for key in ("throughput", "printer", "push", "documents", "store")
        for r in results.get(key, {}).get("rows", [])
    ]
    rows.sort(key=lambda r: r.section.split()[0])
    print(table(rows))
    machine, seconds = results["machine"], results["seconds"]
    print(
        f"\n{machine['cores']} cores, load average at start "
        f"{machine['loadavg_at_start'][0]:.2f}; took {seconds['total']:.0f} s "
        "("
        + ", ".join(f"{k} {v:.0f} s" for k, v in results["seconds"].items() if k != "total")
        + ")"
    )
    path = write_results(results, "bench")
    print(f"raw figures: {path}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
