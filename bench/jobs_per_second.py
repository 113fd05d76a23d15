"""First throughput figure: N small print jobs through one manager, end to end.

Prosody, the service and the manager run as separate processes (the manager with the
`file` driver, or `--device ippeveprinter`); one client submits the jobs with a bounded
number in flight and waits for every job to complete. Prints jobs/s from first submit
to last completion. Not a test: run it by hand.

    .venv/bin/python -m bench.jobs_per_second --jobs 200 --in-flight 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

import uvloop

from cirrus.client import CirrusClient
from cirrus.stack.local import start_local_stack
from stanzas.states import JobState

SAMPLE = Path(__file__).parents[1] / "cirrus" / "samples" / "sample.pdf"


async def run(jobs: int, in_flight: int, device: str) -> dict[str, float]:
    state = Path(tempfile.mkdtemp(prefix="cirrus-bench-"))
    stack = await start_local_stack(state, device=device)
    client = CirrusClient(stack.user)
    await client.start()
    try:
        gate = asyncio.Semaphore(in_flight)
        latencies: list[float] = []

        async def one() -> JobState:
            async with gate:
                t0 = time.perf_counter()
                job = await client.print_files(stack.queue, [SAMPLE])
                final = await client.wait_for_final(job.job_id, timeout=120)
                latencies.append(time.perf_counter() - t0)
                return final.job_state

        started = time.perf_counter()
        finals = await asyncio.gather(*(one() for _ in range(jobs)))
        elapsed = time.perf_counter() - started
    finally:
        await client.stop()
        await stack.stop()
        shutil.rmtree(state, ignore_errors=True)
    latencies.sort()
    completed = sum(1 for f in finals if f == JobState.COMPLETED)
    return {
        "jobs": jobs,
        "completed": completed,
        "seconds": round(elapsed, 3),
        "jobs_per_second": round(jobs / elapsed, 1),
        "latency_p50_ms": round(1000 * latencies[len(latencies) // 2], 1),
        "latency_p99_ms": round(1000 * latencies[int(len(latencies) * 0.99) - 1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--device", choices=["file", "sim", "ippeveprinter"], default="file")
    args = parser.parse_args()
    result = uvloop.run(run(args.jobs, args.in_flight, args.device))
    result["machine"] = f"{platform.machine()} {platform.python_version()}"  # type: ignore[assignment]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
