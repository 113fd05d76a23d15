"""A small chaos run (bench.chaos, issue 11): a few hundred jobs through the `file`
driver and the `ipp` driver (a real ippeveprinter recording every document it prints)
while the service, each manager and Prosody are SIGKILLed and started again. Every
accepted job must end, print exactly once with its bytes, nothing else may print, and
no printer may be left holding a job nobody will finish.

`make chaos` runs the full size (bench/README.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import chaos
from bench.common import remove

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

OPTIONS = chaos.Options(
    jobs=300,
    clients=3,
    managers=2,
    kills=6,
    seed=11,
    driver="both",
    timeout=150.0,  # a stuck job is one not ended 120 s after the start
    job_timeout=20.0,
)

# Known today, and not every run: a job left open on ippeveprinter (IPP Create-Job, no
# document ever sent) wedges the ipp queue — every other Create-Job is answered
# server-error-busy — until someone cancels that device job. Two causes, both the
# manager's: (a) a FetchDocument refused after a resync (issue 11 defect 3) ends the
# job in the manager without canceling its device job; (b) a manager SIGKILLed between
# the driver's Create-Job and the held-jobs record of phase `created` forgets the device
# job it made. Such a run is an expected failure; set False once both are fixed, so
# that it fails the test like any other stuck job.
KNOWN_WEDGE = True


def known_wedge(outcome: chaos.Outcome) -> bool:
    """The run failed only by the wedge: stuck jobs on ipp queues, a device job open."""
    failed = outcome.tally.failed
    ipp_queues = {f"chaos{i}" for i, d in enumerate(outcome.drivers) if d == "ipp"}
    stuck_on = set(outcome.tally.by_queue.get("stuck", {}))
    return (
        bool(failed.get("device_jobs_left_open"))
        and set(failed) <= {"stuck", "device_jobs_left_open"}
        and stuck_on <= ipp_queues
        and outcome.broken is None
        and outcome.integrity == "ok"
    )


async def test_chaos_run_loses_duplicates_and_strands_nothing() -> None:
    outcome = await chaos.run(OPTIONS)
    report = chaos.report(outcome)
    try:
        if KNOWN_WEDGE and known_wedge(outcome):
            pytest.xfail(f"an ipp queue wedged by a job left open on its printer\n{report}")
        assert outcome.broken is None, report
        assert len(outcome.kills) == OPTIONS.kills, report
        hit = {k.target for k in outcome.kills}
        assert hit == {"service", "prosody", "manager0", "manager1"}, report
        assert outcome.drivers == ["file", "ipp"]
        assert outcome.tally.accepted >= OPTIONS.jobs, report
        assert outcome.integrity == "ok", report
        for name in chaos.chaos_check.FAILURES:
            assert outcome.tally.counts[name] == 0, f"{name}\n{report}"
        assert outcome.tally.counts["ok"] >= OPTIONS.jobs * 9 // 10, report
    finally:
        if outcome.state_dir and not os.environ.get("CIRRUS_KEEP_CHAOS"):
            remove(Path(outcome.state_dir))
