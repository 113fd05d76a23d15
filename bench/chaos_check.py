"""The verdict of a chaos run: every submission the clients made (their journal), every
document the devices printed (bench.printed), and what the service said at the end.

Each accepted submission (the client got a job id) falls in exactly one class:

| class | what | a failure? |
| --- | --- | --- |
| ok | final state completed, printed once, the right bytes | no |
| stuck | no final state at the end | yes |
| duplicated | printed two or more times | yes |
| wrong_bytes | printed once, but not the bytes submitted (cut off, corrupted) | yes |
| misreported | printed once with the right bytes, but ended aborted or canceled | yes |
| lost | not printed, although it ended completed or canceled (nobody canceled it) | yes |
| aborted_by_crash | not printed, ended aborted: at most once, a crash hit mid-job | counted |
| abandoned | canceled by the client after three failed uploads, not printed | counted |

Submissions the client saw fail (no job id) but which printed all the same are counted
as `printed_after_client_failure` (the issue's "accepted-but-client-saw-failure"):
the client library's retries with the request's idempotency key keep it at zero unless
a failure outlasts the library's time limit, and then a retry with a new key prints a
second copy (`printed_twice_via_retry` counts the jobs that printed twice that way). One whose
failure said the request was never delivered (`delivered` False: NotDelivered) must
not print: `printed_though_not_delivered` is a failure. Prints of no
submission at all are `phantom` (a failure). Jobs the service still holds open at the
end that no client was told of are `orphaned` (a CreateJob whose answer was lost).
Jobs a printer still holds open once every manager has stopped are
`device_jobs_left_open` (a failure: nobody will finish them, and ippeveprinter, one job
at a time, refuses every other job meanwhile).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import percentile
from bench.printed import Print

FAILURES = (
    "lost",
    "duplicated",
    "stuck",
    "wrong_bytes",
    "misreported",
    "phantom",
    "device_jobs_left_open",
    "printed_though_not_delivered",
)
# What each accepted submission is (classify), and the other counts.
CLASSES = ("ok", "lost", "duplicated", "stuck", "wrong_bytes", "misreported")
CLASSES += ("aborted_by_crash", "abandoned")
OTHERS = ("phantom", "device_jobs_left_open", "printed_though_not_delivered")
OTHERS += ("printed_after_client_failure", "orphaned")
TERMINAL = frozenset({"completed", "aborted", "canceled"})
DETAILS = 20  # examples kept per class


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=dict)
    by_queue: dict[str, Counter[str]] = field(default_factory=dict)  # class → queue → n
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    latency_s: dict[str, float] = field(default_factory=dict)
    attempts: int = 0
    accepted: int = 0
    jobs: int = 0

    @property
    def failed(self) -> dict[str, int]:
        return {name: self.counts.get(name, 0) for name in FAILURES if self.counts.get(name)}

    def add(self, name: str, example: dict[str, Any] | None = None) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        if example is not None and example.get("queue"):
            self.by_queue.setdefault(name, Counter())[str(example["queue"])] += 1
        if example is not None:
            kept = self.examples.setdefault(name, [])
            if len(kept) < DETAILS:
                kept.append(example)


def _final(record: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any]:
    """The record's final state, or the service's answer at the audit if the client
    followed it to the deadline without seeing it end."""
    if record.get("final") in TERMINAL:
        return record
    asked = (audit.get("recheck") or {}).get(str(record.get("job_id")))
    if asked and asked.get("state") in TERMINAL:
        return {**record, "final": asked["state"], "reasons": asked.get("reasons", [])}
    return {**record, "final": (asked or {}).get("state")}


def _example(record: dict[str, Any], prints: list[Print]) -> dict[str, Any]:
    keep = ("key", "job_id", "queue", "final", "reasons", "message", "device_job_id", "error")
    keep += ("delivered", "errors")
    out = {k: record.get(k) for k in keep if record.get(k) not in (None, [], "n/a")}
    if prints:
        out["prints"] = [{"path": p.path, "intact": p.intact, "size": p.size} for p in prints]
        out["submitted_size"] = record.get("size")
    return out


def classify(record: dict[str, Any], prints: list[Print]) -> str:
    final = record.get("final")
    if len(prints) >= 2:
        return "duplicated"
    if len(prints) == 1:
        if not prints[0].intact:
            return "wrong_bytes"
        if final not in TERMINAL:
            return "stuck"
        return "ok" if final == "completed" else "misreported"
    if final not in TERMINAL:
        return "stuck"
    if record.get("abandoned"):
        return "abandoned"
    return "aborted_by_crash" if final == "aborted" else "lost"


def analyse(
    records: Iterable[dict[str, Any]],
    prints: Iterable[Print],
    audit: dict[str, Any],
    open_device_jobs: Iterable[dict[str, Any]] = (),
) -> Tally:
    tally = Tally()
    for name in (*CLASSES, *OTHERS):
        tally.counts[name] = 0
    for job in open_device_jobs:
        tally.add("device_jobs_left_open", job)
    by_key: dict[str, list[Print]] = defaultdict(list)
    for p in prints:
        by_key[p.key or ""].append(p)
    seen: set[str] = set()
    printed_per_job: Counter[int] = Counter()
    latencies: list[float] = []
    jobs: set[int] = set()
    accepted_ids: set[int] = set()
    for record in records:
        key = record["key"]
        seen.add(key)
        tally.attempts += 1
        jobs.add(record["job"])
        mine = by_key.get(key, [])
        printed_per_job[record["job"]] += len(mine)
        if record.get("job_id") is None:
            if mine and record.get("delivered") is False:
                tally.add("printed_though_not_delivered", _example(record, mine))
            elif mine:
                tally.add("printed_after_client_failure", _example(record, mine))
            continue
        tally.accepted += 1
        accepted_ids.add(record["job_id"])
        record = _final(record, audit)
        tally.add(classify(record, mine), _example(record, mine))
        if record.get("t_final") is not None:
            latencies.append(record["t_final"] - record["t_job"])
    tally.jobs = len(jobs)
    tally.counts["printed_twice_via_retry"] = sum(1 for n in printed_per_job.values() if n >= 2)
    for key, mine in by_key.items():
        if key not in seen:
            for p in mine:
                tally.add("phantom", {"key": p.key, "path": p.path, "size": p.size})
    for job in audit.get("active", []):
        if job.get("job_id") not in accepted_ids:
            tally.add("orphaned", job)
    latencies.sort()
    if latencies:
        tally.latency_s = {
            "p50": round(percentile(latencies, 50), 3),
            "p99": round(percentile(latencies, 99), 3),
            "max": round(latencies[-1], 3),
        }
    return tally


# --- tracebacks in the logs ---------------------------------------------------------------

_PY_START = "Traceback (most recent call last):"
_LUA_START = re.compile(r"stack traceback:|Traceback\[", re.IGNORECASE)


@dataclass
class Tracebacks:
    count: int = 0
    # (log, the exception line) → how many, and the first one's opening lines
    kinds: dict[tuple[str, str], tuple[int, list[str]]] = field(default_factory=dict)

    def add(self, log: str, last: str, opening: list[str]) -> None:
        self.count += 1
        n, first = self.kinds.get((log, last), (0, opening))
        self.kinds[(log, last)] = (n + 1, first)

    def as_list(self) -> list[dict[str, Any]]:
        return [
            {"log": log, "exception": last, "count": n, "first_lines": first}
            for (log, last), (n, first) in sorted(self.kinds.items(), key=lambda kv: -kv[1][0])
        ]


def tracebacks(logs: dict[str, Path]) -> Tracebacks:
    """Python tracebacks (and Lua stack tracebacks in Prosody's log) in these logs."""
    found = Tracebacks()
    for name, path in logs.items():
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        i = 0
        while i < len(lines):
            line = lines[i]
            if _PY_START in line:
                before = lines[i - 1][-300:] if i else ""
                j = i + 1
                while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j]):
                    j += 1
                last = lines[j][:300] if j < len(lines) else "(cut off)"
                found.add(name, last, [before, *[x[:300] for x in lines[i : min(j, i + 4)]]])
                i = j
                continue
            if _LUA_START.search(line):
                found.add(name, line[:300], [x[:300] for x in lines[max(0, i - 1) : i + 3]])
            i += 1
    return found
