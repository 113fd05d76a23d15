"""`python -m bench.chaos` (`make chaos`): exactly once through SIGKILLs of everything.

N jobs from C clients (bench.chaos_client, one process, a real CirrusClient per
account) to M managers (`python -m manager`, one device and queue each: the `file`
driver writing into a folder per device, or the `ipp` driver against its own
ippeveprinter whose print command records every document it prints), while the
service, the managers and Prosody are SIGKILLed at random moments (seeded) and each
started again. Every document carries its submission's key (bench.marked), so each
print maps to one submission. At the end every process is stopped and the run is
judged (bench.chaos_check): every accepted job reached a final state and printed
exactly once with the right bytes, nothing printed that was not submitted, the
service's database passes PRAGMA integrity_check; the latency from submit to final,
and the tracebacks in every log.

    python -m bench.chaos [--jobs 2000 --clients 4 --managers 3 --kills 20 --seed 1]
                          [--driver file|ipp|both] [--timeout 900] [--keep]

Exit status 0 when nothing was lost, duplicated, stuck, cut off, misreported or
printed from nowhere and the database is intact; 1 otherwise; 2 if the run itself
broke (a process did not come back). The state folder (logs, outputs, database) is
removed after a clean run and kept otherwise (or with --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import uvloop

from bench import chaos_check, printed
from bench.chaos_stack import ChaosStack, Kill, RestartFailed
from bench.common import log, machine_info, remove, short_tmp, write_results
from stanzas.types import INLINE_DOCUMENT_MAX

KINDS = ["service", "prosody", "manager"]  # what a kill hits
MIN_GAP = 0.5  # seconds between a restart being ready and the next kill


@dataclass
class Options:
    jobs: int = 2000
    clients: int = 4
    managers: int = 3
    kills: int = 20
    seed: int = 1
    driver: str = "both"  # file | ipp | both (alternating, the second manager on ipp)
    timeout: float = 900.0  # seconds for the whole run, drain included
    in_flight: int = 4  # jobs each client keeps going
    big_share: float = 0.05  # jobs sent as CreateJob + HTTPS upload
    big_kib: int = 256  # their size: uniform from just above the in-band limit to this
    retries: int = 8
    max_down: float = 1.0  # a killed process stays dead 0..max_down seconds
    job_timeout: float = 20.0  # a client slot waits this long for its job, then takes the next
    keep: bool = False

    def drivers(self) -> list[str]:
        if self.driver in ("file", "ipp"):
            return [self.driver] * self.managers
        return ["ipp" if i % 2 else "file" for i in range(self.managers)]


@dataclass
class Outcome:
    options: Options
    tally: chaos_check.Tally
    kills: list[Kill]
    integrity: str
    tracebacks: chaos_check.Tracebacks
    client_counts: dict[str, Any]
    seconds: float
    state_dir: str | None = None
    broken: str | None = None  # why the run itself could not finish
    drivers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.tally.failed and self.integrity == "ok" and self.broken is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "options": asdict(self.options),
            "drivers": self.drivers,
            "ok": self.ok,
            "broken": self.broken,
            "seconds": round(self.seconds, 1),
            "jobs": self.tally.jobs,
            "attempts": self.tally.attempts,
            "accepted": self.tally.accepted,
            "counts": self.tally.counts,
            "by_queue": {name: dict(n) for name, n in self.tally.by_queue.items()},
            "failed": self.tally.failed,
            "latency_s": self.tally.latency_s,
            "integrity_check": self.integrity,
            "client": self.client_counts,
            "kills": [asdict(k) for k in self.kills],
            "tracebacks": {"count": self.tracebacks.count, "kinds": self.tracebacks.as_list()},
            "examples": self.tally.examples,
            "state_dir": self.state_dir,
        }


def kill_plan(options: Options, targets: list[str]) -> list[tuple[int, str, float]]:
    """(jobs accepted before it, target, seconds down) for each kill, from the seed.

    The kinds (the service, Prosody, a manager) and the managers take turns in shuffled
    orders, so that even a handful of kills hits each; when and how long are random."""
    rng = random.Random(options.seed)
    managers = [t for t in targets if t.startswith("manager")]
    kinds = (KINDS * (options.kills // len(KINDS) + 1))[: options.kills]
    rng.shuffle(kinds)
    rng.shuffle(managers)
    plan = []
    for kind in kinds:
        target = kind
        if kind == "manager":  # the managers take turns too
            target = managers[0]
            managers = [*managers[1:], target]
        at = rng.randint(int(0.03 * options.jobs), max(1, int(0.9 * options.jobs)))
        plan.append((at, target, round(rng.uniform(0, options.max_down), 3)))
    return sorted(plan)


class Progress:
    """The clients' counts, as their process reports them."""

    def __init__(self) -> None:
        self.counts: dict[str, Any] = {}
        self.events: dict[str, asyncio.Event] = {
            name: asyncio.Event() for name in ("submitted", "done", "audit")
        }
        self.audit: dict[str, Any] = {}
        self.error: str | None = None
        self.changed = asyncio.Event()

    @property
    def accepted(self) -> int:
        return int(self.counts.get("accepted", 0))

    async def read(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            event = message.pop("event", "")
            if event == "audit":
                self.audit = message
            elif event == "error":
                self.error = str(message.get("error"))
                log(f"clients: {self.error}")
            else:
                self.counts = message
            if event in self.events:
                self.events[event].set()
            self.changed.set()
        self.error = self.error or "the clients' process exited"
        self.changed.set()
        for flag in self.events.values():
            flag.set()

    async def until(self, check: Any, deadline: float) -> bool:
        while not check():
            left = deadline - time.monotonic()
            if left <= 0 or self.error:
                return bool(check())
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
        return True


async def _chaos(stack: ChaosStack, options: Options, journal: Path, t0: float) -> dict[str, Any]:
    """Run the jobs while killing; returns the clients' last counts and audit."""
    assert stack.clients is not None and stack.clients.proc is not None
    assert stack.clients.proc.stdout is not None
    deadline = t0 + options.timeout
    progress = Progress()
    reader = asyncio.create_task(progress.read(stack.clients.proc.stdout))
    try:
        stack.clients.send(
            {
                "command": "run",
                "jobs": options.jobs,
                "queues": [d.queue for d in stack.devices],
                "seed": options.seed,
                "in_flight": options.in_flight,
                "retries": options.retries,
                "big_share": options.big_share,
                "big_size": [
                    INLINE_DOCUMENT_MAX + 1,
                    max(INLINE_DOCUMENT_MAX + 1, options.big_kib * 1024),
                ],
                "job_timeout": options.job_timeout,
                "deadline": 0.8 * options.timeout,  # the rest: audit and stop
                "journal": str(journal),
            }
        )
        for at, target, down in kill_plan(options, stack.targets()):
            submitted = progress.events["submitted"]
            await progress.until(
                lambda a=at, s=submitted: progress.accepted >= a or s.is_set(), deadline
            )
            if submitted.is_set() or progress.error or time.monotonic() >= deadline:
                break
            kill = await stack.kill(
                target, down, at=time.monotonic() - t0, progress=progress.accepted
            )
            log(
                f"killed {target} at {progress.accepted} jobs accepted; "
                f"down {kill.down:.2f} s, ready again after {kill.restart:.2f} s"
            )
            await asyncio.sleep(MIN_GAP)
        await progress.until(lambda: progress.events["done"].is_set(), deadline)
        if not progress.error:
            stack.clients.send({"command": "audit"})
            await progress.until(lambda: progress.events["audit"].is_set(), deadline + 60)
        return {"counts": progress.counts, "audit": progress.audit, "error": progress.error}
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


def _records(journal: Path) -> list[dict[str, Any]]:
    if not journal.exists():
        return []
    out = []
    for line in journal.read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


async def run(options: Options) -> Outcome:
    state = short_tmp("chaos")
    journal = state / "journal.jsonl"
    t0 = time.monotonic()
    broken: str | None = None
    result: dict[str, Any] = {}
    log(f"chaos: state in {state}")
    stack = await ChaosStack.start(state, clients=options.clients, drivers=options.drivers())
    try:
        log(f"chaos: {options.jobs} jobs, {options.kills} kills, managers {options.drivers()}")
        result = await _chaos(stack, options, journal, time.monotonic())
        broken = result.get("error")
    except RestartFailed as exc:
        broken = str(exc)
    finally:
        await stack.stop()
    seconds = time.monotonic() - t0
    prints = printed.scan(d.output for d in stack.devices)
    tally = chaos_check.analyse(
        _records(journal), prints, result.get("audit") or {}, stack.open_device_jobs
    )
    outcome = Outcome(
        options=options,
        tally=tally,
        kills=stack.kills,
        integrity=stack.integrity(),
        tracebacks=chaos_check.tracebacks(stack.log_files()),
        client_counts=result.get("counts") or {},
        seconds=seconds,
        broken=broken,
        drivers=options.drivers(),
    )
    if outcome.ok and not options.keep:
        remove(state)
    else:
        outcome.state_dir = str(state)
    return outcome


def _seconds(values: dict[str, float], *names: str) -> str:
    return " / ".join(f"{values[n]:.3f}" if n in values else "—" for n in names) + " s"


def report(outcome: Outcome) -> str:
    t, c, client = outcome.tally, outcome.tally.counts, outcome.client_counts
    kinds: dict[str, int] = {}
    for kill in outcome.kills:
        kinds[kill.target] = kinds.get(kill.target, 0) + 1
    restarts = sorted(k.restart for k in outcome.kills)
    rows: list[tuple[str, Any]] = [
        ("managers (driver)", ", ".join(f"{i}:{d}" for i, d in enumerate(outcome.drivers))),
        ("kills", f"{len(outcome.kills)}: " + ", ".join(f"{k} {n}" for k, n in kinds.items())),
        ("ready again after a kill, max", f"{restarts[-1]:.2f} s" if restarts else "—"),
        ("jobs / attempts / accepted", f"{t.jobs} / {t.attempts} / {t.accepted}"),
        ("attempts the client saw fail", client.get("failed_attempts", "—")),
        ("jobs given up by the client", client.get("given_up", "—")),
        ("printed once, right bytes, completed", c.get("ok", 0)),
        ("LOST", c.get("lost", 0)),
        ("DUPLICATED", c.get("duplicated", 0)),
        ("STUCK", c.get("stuck", 0)),
        ("wrong bytes (cut off / corrupt)", c.get("wrong_bytes", 0)),
        ("printed, but reported aborted/canceled", c.get("misreported", 0)),
        ("printed, of no submission (phantom)", c.get("phantom", 0)),
        ("device jobs left open on a printer", c.get("device_jobs_left_open", 0)),
        ("ABORTED-BY-CRASH (not printed)", c.get("aborted_by_crash", 0)),
        ("abandoned by the client (upload failed)", c.get("abandoned", 0)),
        ("accepted-but-client-saw-failure (printed)", c.get("printed_after_client_failure", 0)),
        ("printed, though told 'not delivered'", c.get("printed_though_not_delivered", 0)),
        ("jobs printed twice via a client retry", c.get("printed_twice_via_retry", 0)),
        ("open jobs no client knows (orphaned)", c.get("orphaned", 0)),
        ("final state seen by asking (no push)", client.get("polled", "—")),
        ("latency submit to final p50 / p99 / max", _seconds(t.latency_s, "p50", "p99", "max")),
        ("database PRAGMA integrity_check", outcome.integrity),
        ("tracebacks in logs", outcome.tracebacks.count),
        ("wall time", f"{outcome.seconds:.0f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    for kind in outcome.tracebacks.as_list()[:10]:
        lines.append(f"  {kind['count']:>4} x {kind['log']}: {kind['exception']}")
        lines += [f"         {x}" for x in kind["first_lines"][:3]]
    for name, queues in t.by_queue.items():
        if name in chaos_check.FAILURES or name == "aborted_by_crash":
            lines.append(f"  {name} by queue: " + ", ".join(f"{q} {n}" for q, n in queues.items()))
    for name in (*chaos_check.FAILURES, "aborted_by_crash", "printed_after_client_failure"):
        for example in t.examples.get(name, [])[:5]:
            lines.append(f"  {name}: {json.dumps(example)[:400]}")
    if outcome.broken:
        lines.append(f"BROKEN: {outcome.broken}")
    lines.append("RESULT: " + ("PASS" if outcome.ok else f"FAIL {t.failed or ''}"))
    if outcome.state_dir:
        lines.append(f"state kept in {outcome.state_dir}")
    return "\n".join(lines)


def parse(argv: list[str] | None = None) -> Options:
    d = Options()
    p = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=d.jobs)
    p.add_argument("--clients", type=int, default=d.clients)
    p.add_argument("--managers", type=int, default=d.managers)
    p.add_argument("--kills", type=int, default=d.kills)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--driver", choices=("file", "ipp", "both"), default=d.driver)
    p.add_argument("--timeout", type=float, default=d.timeout, help="seconds for the whole run")
    p.add_argument("--in-flight", type=int, default=d.in_flight, help="jobs per client at a time")
    p.add_argument("--big-share", type=float, default=d.big_share, help="share of HTTPS uploads")
    p.add_argument("--big-kib", type=int, default=d.big_kib, help="their largest size, KiB")
    p.add_argument("--max-down", type=float, default=d.max_down, help="seconds dead, at most")
    p.add_argument(
        "--job-timeout", type=float, default=d.job_timeout, help="seconds a client waits per job"
    )
    p.add_argument("--keep", action="store_true", help="keep the state folder")
    a = p.parse_args(argv)
    if a.managers < 1 or a.clients < 1 or a.jobs < 1 or (a.driver == "both" and a.managers < 2):
        p.error("at least one job, one client and one manager (two for --driver both)")
    return Options(
        jobs=a.jobs,
        clients=a.clients,
        managers=a.managers,
        kills=a.kills,
        seed=a.seed,
        driver=a.driver,
        timeout=a.timeout,
        in_flight=a.in_flight,
        big_share=a.big_share,
        big_kib=a.big_kib,
        max_down=a.max_down,
        job_timeout=a.job_timeout,
        keep=a.keep,
    )


async def main(options: Options) -> int:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    outcome = await run(options)
    print(report(outcome))
    path = write_results({"machine": machine_info(), **outcome.as_dict()}, "chaos")
    log(f"results in {path}")
    if outcome.broken:
        return 2
    return 0 if outcome.ok else 1


def cli() -> None:
    try:
        sys.exit(uvloop.run(main(parse())))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, SIGTERM: all stopped
        print("interrupted: every process it started was stopped", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    cli()
