"""The Cloud Imaging Service with a clock on the commit: `python -m bench.probe_service`.

Runs the unchanged service (`server.__main__.run`) after wrapping
`CloudImagingService.job_changed`, which JobStates calls right after the COMMIT that
made a change durable. Each time a job *becomes fetchable* (the moment the push
latency benchmark starts its clock) one line "JOB_ID MONOTONIC" is appended to the
file named by CIRRUS_BENCH_COMMITS. The cost is one small write per job.

    python -m bench.probe_service --config service.toml
"""

from __future__ import annotations

import os
import time
from typing import IO

from server.service import CloudImagingService
from server.stores.jobs import Job


def install(path: str) -> IO[str]:
    out = open(path, "a", buffering=1)  # line-buffered: one write(2) per job
    original = CloudImagingService.job_changed

    def job_changed(self: CloudImagingService, before: Job, after: Job) -> None:
        if after.is_fetchable and not before.is_fetchable:
            out.write(f"{after.job_id} {time.monotonic():.6f}\n")
        original(self, before, after)

    CloudImagingService.job_changed = job_changed  # type: ignore[method-assign]
    return out


def main() -> None:
    path = os.environ.get("CIRRUS_BENCH_COMMITS")
    if path:
        install(path)
    from server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
