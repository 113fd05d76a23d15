"""The chaos harness's verdict (bench.chaos_check) and its marked documents
(bench.marked, bench.printed): every print maps to one submission, and every accepted
submission lands in exactly one class."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench import marked, printed
from bench.chaos import Options, kill_plan
from bench.chaos_check import analyse, classify, tracebacks
from bench.printed import Print


def record(job: int, attempt: int = 0, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "key": marked.attempt_key(job, attempt),
        "job": job,
        "attempt": attempt,
        "job_id": 100 + job,
        "final": "completed",
        "t_job": 10.0,
        "t_final": 10.5,
        "size": 2000,
    }
    return {**base, **fields}


def printed_as(key: str, intact: bool = True) -> Print:
    return Print(f"/out/{key}", key, intact, 2000)


def test_marked_document_names_its_submission_and_tells_a_cut_off_copy() -> None:
    data = marked.make("j7a1", 5000)
    assert len(data) == 5000
    assert marked.identify(data) == ("j7a1", True)
    assert marked.identify(data[:4000]) == ("j7a1", False)
    assert marked.identify(data[:-1] + b"!") == ("j7a1", False)
    assert marked.identify(b"%PDF-1.4 not ours") == (None, False)
    assert marked.make("j7a1", 5000) == data  # from the key alone
    assert marked.make("j7a2", 5000) != data


def test_recorder_copies_each_document_under_a_name_of_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "printed"
    script = printed.write_recorder(tmp_path / "rec.sh", folder)
    document = tmp_path / "spool-file"
    document.write_bytes(marked.make("j1a0", 3000))
    for _ in range(2):  # the same document printed twice: two recordings
        subprocess.run([str(script), str(document)], check=True)
    (folder / ".123.part").write_bytes(b"half")  # a copy under way is not a print
    prints = printed.scan([folder, tmp_path / "missing"])
    assert [(p.key, p.intact) for p in prints] == [("j1a0", True), ("j1a0", True)]
    assert len({p.path for p in prints}) == 2


@pytest.mark.parametrize(
    ("fields", "prints", "expected"),
    [
        ({}, [True], "ok"),
        ({}, [True, True], "duplicated"),
        ({}, [False], "wrong_bytes"),
        ({}, [], "lost"),
        ({"final": "canceled"}, [], "lost"),  # nobody canceled it
        ({"final": "aborted"}, [], "aborted_by_crash"),
        ({"final": "aborted"}, [True], "misreported"),
        ({"final": None}, [], "stuck"),
        ({"final": None}, [True], "stuck"),
        ({"final": "canceled", "abandoned": True}, [], "abandoned"),
    ],
)
def test_each_accepted_submission_has_one_class(
    fields: dict[str, Any], prints: list[bool], expected: str
) -> None:
    r = record(1, **fields)
    assert classify(r, [printed_as(r["key"], ok) for ok in prints]) == expected


def test_analyse_counts_failures_retries_phantoms_and_orphans() -> None:
    records = [
        record(0),  # fine
        record(1, 0, job_id=None, final=None, error="ServiceUnavailable"),  # failed, printed
        record(1, 1, job_id=201),  # its retry, printed too
        record(2, final=None, t_final=None),  # followed to the deadline ...
        record(3, final="aborted"),
    ]
    prints = [
        printed_as("j0a0"),
        printed_as("j1a0"),
        printed_as("j1a1"),
        printed_as("j2a0"),
        printed_as("j99a0"),  # submitted by nobody
        Print("/out/garbage", None, False, 10),
    ]
    audit = {
        "recheck": {"102": {"state": "completed", "reasons": ["job-completed-successfully"]}},
        "active": [{"job_id": 555, "job_name": "j9a0", "state": "pending"}],
    }
    tally = analyse(records, prints, audit)
    c = tally.counts
    assert (c["ok"], c["aborted_by_crash"], c["stuck"]) == (3, 1, 0)  # ... and ended later
    assert c["printed_after_client_failure"] == 1
    assert c["printed_twice_via_retry"] == 1
    assert c["phantom"] == 2
    assert c["orphaned"] == 1
    assert tally.failed == {"phantom": 2}
    assert (tally.jobs, tally.attempts, tally.accepted) == (4, 5, 4)
    assert tally.latency_s["p50"] == 0.5


def test_tracebacks_are_counted_by_exception_with_their_first_lines(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    log.write_text(
        "2026 x ERROR handler failed\n"
        "Traceback (most recent call last):\n"
        '  File "a.py", line 1, in f\n'
        "    g()\n"
        "RecursionError: maximum recursion depth exceeded\n"
        "ok line\n"
        "Traceback (most recent call last):\n"
        '  File "a.py", line 1, in f\n'
        "RecursionError: maximum recursion depth exceeded\n"
    )
    (tmp_path / "prosody.log").write_text("x error stack traceback:\n  [C]: in ?\n")
    found = tracebacks({"service": log, "prosody": tmp_path / "prosody.log"})
    assert found.count == 3
    kinds = found.as_list()
    assert kinds[0]["count"] == 2
    assert kinds[0]["exception"].startswith("RecursionError")
    assert kinds[0]["first_lines"][0] == "2026 x ERROR handler failed"


def test_kill_plan_is_seeded_and_hits_every_kind() -> None:
    options = Options(jobs=300, kills=6, seed=5)
    targets = ["service", "prosody", "manager0", "manager1"]
    plan = kill_plan(options, targets)
    assert plan == kill_plan(options, targets)
    assert plan != kill_plan(Options(jobs=300, kills=6, seed=6), targets)
    kinds = [t if not t.startswith("manager") else "manager" for _, t, _ in plan]
    assert sorted(kinds) == sorted(["service", "prosody", "manager"] * 2)
    assert [at for at, _, _ in plan] == sorted(at for at, _, _ in plan)
    assert all(9 <= at <= 270 for at, _, _ in plan)
    managers = [t for _, t, _ in kill_plan(Options(jobs=300, kills=12, seed=5), targets)]
    assert (
        sorted(t for t in managers if t.startswith("manager"))
        == ["manager0"] * 2 + ["manager1"] * 2
    )


def test_a_job_left_open_on_a_printer_is_a_failure() -> None:
    left = {"manager": 1, "device_job_id": 128, "state": "pending-held"}
    tally = analyse([record(0)], [printed_as("j0a0")], {}, [left])
    assert tally.failed == {"device_jobs_left_open": 1}
    assert tally.examples["device_jobs_left_open"] == [left]


def test_a_print_of_a_request_the_client_was_told_never_arrived_is_a_failure() -> None:
    records = [
        record(0, 0, job_id=None, final=None, delivered=False, error="NotDelivered: bounced"),
        record(0, 1, job_id=None, final=None, delivered=None, error="OutcomeUnknown: lost"),
        record(0, 2),
    ]
    prints = [printed_as("j0a0"), printed_as("j0a1"), printed_as("j0a2")]
    tally = analyse(records, prints, {})
    assert tally.failed == {"printed_though_not_delivered": 1}
    assert tally.counts["printed_after_client_failure"] == 1
    assert tally.counts["printed_twice_via_retry"] == 1
