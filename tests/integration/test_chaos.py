"""A small chaos run (bench.chaos, issue 11): a few hundred jobs through the `file`
driver and the `ipp` driver (a real ippeveprinter recording every document it prints)
while the service, a manager and Prosody are each SIGKILLed and started again. Every
accepted job must end, print exactly once with its bytes, and nothing else may print.

`make chaos` runs the full size (bench/README.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import chaos
from bench.common import remove

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

OPTIONS = chaos.Options(
    jobs=300, clients=3, managers=2, kills=6, seed=11, driver="both", timeout=240.0
)


async def test_chaos_run_loses_duplicates_and_strands_nothing() -> None:
    outcome = await chaos.run(OPTIONS)
    report = chaos.report(outcome)
    try:
        assert outcome.broken is None, report
        assert len(outcome.kills) == OPTIONS.kills, report
        hit = {k.target if not k.target.startswith("manager") else "manager" for k in outcome.kills}
        assert hit == {"service", "prosody", "manager"}, report
        assert outcome.drivers == ["file", "ipp"]
        assert outcome.tally.accepted >= OPTIONS.jobs, report
        assert outcome.integrity == "ok", report
        for name in ("lost", "duplicated", "stuck", "wrong_bytes", "misreported", "phantom"):
            assert outcome.tally.counts[name] == 0, f"{name}\n{report}"
        assert outcome.tally.counts["ok"] >= OPTIONS.jobs * 9 // 10, report
    finally:
        if outcome.state_dir and not os.environ.get("CIRRUS_KEEP_CHAOS"):
            remove(Path(outcome.state_dir))
