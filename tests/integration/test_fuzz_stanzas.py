"""A small run of the stanza fuzzer (tests/fuzz_stanzas.py; the long run is
`python -m tests.fuzz_stanzas --count 20000`): mutated stanzas through a real Prosody
to the service running as its own process."""

from __future__ import annotations

from pathlib import Path

from tests.fuzz_stanzas import run


async def test_mutated_stanzas_never_cut_the_service_off_nor_raise(short_tmp: Path) -> None:
    report = await run(1500, seed=11, state=short_tmp / "fuzz")
    assert report.stanzas > 1400
    assert report.labels["deep650"] + report.labels["deep1000"] > 0  # the killer was sent
    assert report.component_disconnects == 0
    assert report.service_tracebacks == 0 and report.service_error_lines == 0
    assert report.unanswered == 0 and report.answered == report.iqs_expecting_answer
    assert report.longest_log_line < 1000  # bounded: no peer text copied whole
    assert report.attacker_reconnects == 0
    assert report.service_still_serves
