"""The INFRA reference as an anchor: ippsample's ippserver + ippproxy + an ippeveprinter.

IPP INFRA (PWG 5100.18) is what the seeds defer to, and ippsample is its reference code:
`ippserver` is the Infrastructure Printer (the cloud side), `ippproxy` the Proxy in
front of one output device, here the same `ippeveprinter -c /bin/true` Cirrus feeds in
bench.printer. None of it is part of the project: it is built outside the checkout
(bench/README.md says how) and found through CIRRUS_BENCH_IPPSAMPLE (the top of that
build tree: server/ippserver and tools/ippproxy under it); without it the rows say
"skipped (not built)".

What ippproxy does, read from its code and seen in its log (`-v`): it long-polls
Get-Notifications (notify-wait; ippserver holds the request up to 30 s and answers as
soon as its printer has an event). After an answer with a job event it asks again at
once; after an empty answer it sleeps 1 s; the 30 s pause (ippserver's
notify-get-interval) follows only answers whose events carry no job id, and errors.
ippserver's wait ends on *any* event of the server, so the proxy's own status updates
(Update-Job-Status, Update-Document-Status) end its next held request with nothing for
it, and it sleeps 1 s: a job committed in such a second waits for the rest of it. Each
job is handled in turn by one thread: Fetch-Job, Update-Job-Status, Fetch-Document
streamed into the device's Create-Job + Send-Document, then Get-Job-Attributes on the
device every 1, 1, 2, 3, 5 … s until the device job ends.

ippserver answers each Get-Notifications from one event past the sequence number asked
for (its first_sequence starts one below its first event): the first unseen event is
never delivered. When a job's job-state-changed ends a held request before its
job-fetchable exists, the job-fetchable is the event skipped next and the job is never
fetched: latency() reports such jobs as lost and measures the others.

Measured here, both on CLOCK_REALTIME (ippproxy's log is stamped in UTC to the
millisecond, truncated: 0.5 ms is added to each of its stamps):

* latency: commit (the submitting client has ippserver's Print-Job answer: the job is
  fetchable) → ippproxy knows of the job ("Job is now fetchable"), and → the document is
  at the device ("Local job N created": ippproxy has read the whole Fetch-Document answer
  into the device's Send-Document), jobs at Poisson times;
* throughput: N Print-Jobs over one ipptool connection to ippserver, until the
  ippeveprinter behind ippproxy has completed them all.

ippserver runs plain HTTP on loopback (`Encryption Never`), without authentication, with
its log at `Error`; ippproxy runs with `-v` (its verbose log is the clock).

    python -m bench.infra [--jobs 20 --mean-gap 2] [--throughput-jobs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import uvloop

from bench import cups as cups_anchor
from bench.common import (
    SAMPLE,
    ChildFailed,
    Meter,
    log,
    machine_info,
    remove,
    run_tool,
    short_tmp,
    stop_group,
    summary_ms,
    write_results,
)
from bench.report import Row, fmt, table
from cirrus.stack.ippeveprinter import IppEvePrinter, start_ippeveprinter
from ipp.client import IppClient
from prosody_config.launcher import free_ports

ENV = "CIRRUS_BENCH_IPPSAMPLE"
NOT_BUILT = f"skipped (not built: see bench/README.md, {ENV})"
STALL = 12.0  # seconds without a job reaching the device: the rest are lost

# 2026-12-04T01:14:24.635Z  [Job 1] Job is now fetchable, queuing up.
_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z  (?:\[Job (\d+)\] )?(.*)$")


def binaries() -> tuple[Path, Path] | str:
    """(ippserver, ippproxy) of the build tree CIRRUS_BENCH_IPPSAMPLE names, or why not."""
    top = os.environ.get(ENV)
    if not top:
        return NOT_BUILT
    server, proxy = Path(top) / "server" / "ippserver", Path(top) / "tools" / "ippproxy"
    for path in (server, proxy):
        if not os.access(path, os.X_OK):
            return f"skipped (not built: no {path})"
    return server, proxy


def _stamp(text: str) -> float:
    """ippproxy's UTC stamp (truncated to the ms) as seconds since the epoch, mid-ms."""
    when = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=dt.UTC)
    return when.timestamp() + 0.0005


@dataclass
class ProxyLog:
    """What ippproxy's verbose log says, as (time, job id or 0, message) lines."""

    lines: list[tuple[float, int, str]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> ProxyLog:
        out = cls()
        for raw in path.read_text(errors="replace").splitlines():
            m = _LINE.match(raw)
            if m and not m.group(3).startswith(("  ", "[Printer]   ")):  # not an attribute
                out.lines.append((_stamp(m.group(1)), int(m.group(2) or 0), m.group(3)))
        return out

    def first(self, job: int, prefix: str) -> float | None:
        return next((t for t, j, text in self.lines if j == job and text.startswith(prefix)), None)

    def sleeps(self, since: float) -> dict[str, int]:
        """How often ippproxy chose each pause between polls ("Using notify-get-interval=N")."""
        out: dict[str, int] = {}
        for t, _job, text in self.lines:
            if t >= since and text.startswith("Using notify-get-interval="):
                key = f"{text.split('=', 1)[1]} s"
                out[key] = out.get(key, 0) + 1
        return out

    def asleep_at(self, when: float) -> bool:
        """Was ippproxy pausing between polls at this moment (after an answer, before
        its next Get-Notifications)?"""
        state = False
        for t, job, text in self.lines:
            if t > when:
                break
            if job == 0 and text.startswith("Using notify-get-interval="):
                state = text != "Using notify-get-interval=0"
            elif job == 0 and text.startswith("[Printer] Get-Notifications"):
                state = False
        return state


class InfraReference:
    """ippeveprinter -c /bin/true ← ippproxy ← ippserver, each in one temporary folder."""

    def __init__(self, server_bin: Path, proxy_bin: Path) -> None:
        self.server_bin = server_bin
        self.proxy_bin = proxy_bin
        self.folder = short_tmp("infra")
        self.port = free_ports(1)[0]
        self.uri = f"ipp://127.0.0.1:{self.port}/ipp/print/infra"
        self.printer: IppEvePrinter | None = None
        self.server: asyncio.subprocess.Process | None = None
        self.proxy: asyncio.subprocess.Process | None = None
        self.proxy_log = self.folder / "ippproxy.log"
        self._logs: list[IO[bytes]] = []

    def _write_config(self) -> Path:
        conf = self.folder / "conf"
        (conf / "print").mkdir(parents=True)
        (self.folder / "spool").mkdir()
        (conf / "system.conf").write_text(
            f"Listen 127.0.0.1:{self.port}\nSpoolDir {self.folder / 'spool'}\n"
            "LogLevel Error\nKeepFiles No\nMaxJobs 0\nEncryption Never\nAuthentication No\n"
        )
        # A printer whose jobs only a proxy takes (INFRA): the proxy group is the user's.
        (conf / "print" / "infra.conf").write_text(
            "AuthProxyGroup @system\nMaxOutputDevices 1\nWebForms No\n"
            'MAKE "PWG"\nMODEL "INFRA reference"\n'
            "ATTR mimeMediaType document-format-supported application/pdf,"
            "application/octet-stream\n"
        )
        return conf

    async def _spawn(self, argv: list[str], log_name: str) -> asyncio.subprocess.Process:
        handle = (self.folder / log_name).open("ab")
        self._logs.append(handle)
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=handle,
            stderr=handle,
            start_new_session=True,
        )

    async def start(self, timeout: float = 30.0) -> None:
        self.printer = await start_ippeveprinter(
            self.folder / "eve", command="/bin/true", keep_files=False
        )
        conf = self._write_config()
        self.server = await self._spawn(
            [str(self.server_bin), "--no-dns-sd", "-C", str(conf)], "ippserver.log"
        )
        deadline = time.monotonic() + timeout
        async with IppClient(self.uri, timeout=5, connect_timeout=1) as client:
            while True:
                if self.server.returncode is not None:
                    raise ChildFailed(f"ippserver exited: {self.tail('ippserver.log')}")
                try:
                    await client.get_printer_attributes(["printer-state"])
                    break
                except Exception:  # not listening yet
                    if time.monotonic() > deadline:
                        raise ChildFailed(
                            f"ippserver did not answer: {self.tail('ippserver.log')}"
                        ) from None
                    await asyncio.sleep(0.05)
        self.proxy = await self._spawn(
            [str(self.proxy_bin), "-v", "-d", self.printer.uri, self.uri], "ippproxy.log"
        )
        # Ready once it holds its first Get-Notifications (after registering the device
        # and asking for fetchable jobs).
        while "Get-Notifications" not in self.tail("ippproxy.log", 100_000):
            if self.proxy.returncode is not None or time.monotonic() > deadline:
                raise ChildFailed(f"ippproxy did not start: {self.tail('ippproxy.log')}")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # let the request reach ippserver and be held

    def tail(self, name: str, chars: int = 2000) -> str:
        try:
            return (self.folder / name).read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def pids(self) -> dict[str, int | None]:
        return {
            "ippserver": self.server.pid if self.server else None,
            "ippproxy": self.proxy.pid if self.proxy else None,
            "ippeveprinter": self.printer.pid if self.printer else None,
        }

    async def stop(self) -> None:
        for proc in (self.proxy, self.server):
            await stop_group(proc, grace=5)
        if self.printer is not None:
            await self.printer.stop()
        for handle in self._logs:
            handle.close()
        remove(self.folder)

    async def until_printed(self, count: int, timeout: float) -> tuple[float, int]:
        """Until the device has completed `count` jobs, or none more for STALL seconds
        (a job whose job-fetchable event was skipped never comes); returns the time of
        the last completion seen and how many were completed."""
        assert self.printer is not None
        deadline = time.monotonic() + timeout
        last, progress = -1, time.monotonic()
        while True:
            done = await cups_anchor.count_completed(self.printer.uri)
            now = time.monotonic()
            if done != last:
                last, progress = done, now
            if done >= count or now > deadline or now - progress > STALL:
                return progress, done
            await asyncio.sleep(0.01)


def poisson_gaps(jobs: int, mean_gap: float, seed: int = 19) -> list[float]:
    rng = random.Random(seed)
    return [rng.expovariate(1 / mean_gap) for _ in range(jobs)]


async def latency(ref: InfraReference, gaps: list[float]) -> dict[str, Any]:
    """Jobs at the given gaps; commit → ippproxy knows of the job, → document at the device."""
    document = SAMPLE.read_bytes()
    commits: dict[int, float] = {}
    started = time.time()
    async with IppClient(ref.uri, requesting_user_name="bench", timeout=30) as client:
        await client.get_printer_attributes(["printer-state"])  # connected before the clock
        at = time.monotonic()
        for gap in gaps:
            at += gap
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            job = await client.print_job(document, "application/pdf", job_name="bench")
            commits[job] = time.time()
    # Until every job is at the device, or none more arrived for STALL seconds: the
    # ones still missing were lost (their job-fetchable event was skipped, see above;
    # ippproxy looks for fetchable jobs only when it starts).
    last_count, progress = -1, time.monotonic()
    while True:
        seen = ProxyLog.read(ref.proxy_log)
        delivered = {j for j in commits if seen.first(j, "Local job ") is not None}
        if len(delivered) == len(commits):
            break
        if len(delivered) != last_count:
            last_count, progress = len(delivered), time.monotonic()
        if time.monotonic() - progress > STALL:
            break
        await asyncio.sleep(0.1)
    notified, document_at = [], []
    asleep = 0
    for job, committed in commits.items():
        at_device = seen.first(job, "Local job ")
        if at_device is None:
            continue
        notified.append((seen.first(job, "Job is now fetchable") or at_device) - committed)
        document_at.append(at_device - committed)
        asleep += seen.asleep_at(committed)
    return {
        "jobs": len(commits),
        "lost": sorted(set(commits) - delivered),
        "mean_gap_s": round(sum(gaps) / len(gaps), 3),
        "notified": summary_ms(notified),
        "document": summary_ms(document_at),
        # delivered jobs committed while ippproxy paused between two polls
        "committed_while_proxy_slept": asleep,
        "proxy_pauses": seen.sleeps(started),
    }


async def throughput(ref: InfraReference, jobs: int) -> dict[str, Any]:
    """`jobs` Print-Jobs over one ipptool connection, until the device printed them all."""
    test = ref.folder / "print.test"
    test.write_text(cups_anchor.PRINT_JOB_TEST * jobs)
    assert ref.printer is not None
    before = await cups_anchor.count_completed(ref.printer.uri)
    meter = Meter(ref.pids(), children=frozenset({"ippeveprinter"}))
    meter.start()
    t0 = time.monotonic()
    status, out = await run_tool(
        ["ipptool", "-q", "-T", "30", "-f", str(SAMPLE), ref.uri, str(test)], 60 + jobs
    )
    if status != 0:
        raise ChildFailed(f"ipptool failed ({status}): {out[-1000:]}")
    submitted = time.monotonic()
    t1, done = await ref.until_printed(before + jobs, 120 + 10 * jobs)
    cpu = meter.stop()
    printed = done - before
    return {
        "jobs": jobs,
        "printed": printed,
        "seconds": round(t1 - t0, 3),
        "submit_seconds": round(submitted - t0, 3),
        "jobs_per_second": round(printed / (t1 - t0), 2),
        "cpu_ms_per_job": {k: round(1000 * v / max(1, printed), 3) for k, v in cpu.items()},
    }


async def measure(*, gaps: list[float] | None = None, throughput_jobs: int = 0) -> dict[str, Any]:
    """One reference, started and stopped here: the latency phase and/or throughput."""
    found = binaries()
    if isinstance(found, str):
        return {"skipped": found}
    ref = InfraReference(*found)
    result: dict[str, Any] = {}
    try:
        await ref.start()
        if gaps:
            log(f"infra: {len(gaps)} jobs at Poisson times into ippserver → ippproxy")
            result["latency"] = await latency(ref, gaps)
        if throughput_jobs:
            log(f"infra: {throughput_jobs} jobs over one ipptool connection into ippserver")
            result["throughput"] = await throughput(ref, throughput_jobs)
    finally:
        await ref.stop()
    return result


def rows(result: dict[str, Any]) -> list[Row]:
    if "skipped" in result:
        return [Row("3 push", "INFRA reference (ippserver + ippproxy)", result["skipped"])]
    out = []
    lat = result.get("latency")
    if lat:
        for key, what in (("notified", "knows of the job"), ("document", "document at device")):
            got = lat[key]
            out.append(
                Row(
                    "3 push",
                    f"INFRA reference: commit → ippproxy {what}, p50/p90/p99/max ms "
                    f"({lat['jobs']} jobs, mean gap {lat['mean_gap_s']:g} s)",
                    "/".join(fmt(got.get(k), 2) for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")),
                )
            )
        out.append(
            Row(
                "3 push",
                "INFRA reference: jobs committed while ippproxy slept; its pauses",
                f"{lat['committed_while_proxy_slept']} of {lat['jobs']}; "
                + ", ".join(f"{k}: {v}" for k, v in sorted(lat["proxy_pauses"].items())),
            )
        )
    tp = result.get("throughput")
    if tp:
        out.append(
            Row(
                "2 printer",
                f"INFRA reference: jobs/s into ippeveprinter -c /bin/true, {tp['jobs']} jobs",
                fmt(tp.get("jobs_per_second"), 2) if "jobs_per_second" in tp else tp["error"],
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=20, help="latency phase: jobs")
    parser.add_argument("--mean-gap", type=float, default=2.0, help="seconds between jobs")
    parser.add_argument("--throughput-jobs", type=int, default=20)
    args = parser.parse_args()
    result = uvloop.run(
        measure(
            gaps=poisson_gaps(args.jobs, args.mean_gap) if args.jobs else None,
            throughput_jobs=args.throughput_jobs,
        )
    )
    result["rows"] = [r.as_dict() for r in rows(result)]
    print(table([Row(**r) for r in result["rows"]]))
    log(f"results in {write_results({'machine': machine_info(), 'infra': result}, 'infra')}")


if __name__ == "__main__":
    main()
