"""CUPS as the anchor: a private cupsd in its own folder, on a loopback port.

    cupsd -f -c DIR/cupsd.conf -s DIR/cups-files.conf

Queues are written into DIR/printers.conf before cupsd starts (raw queues: no PPD), so
no lpadmin or administrator authentication is needed. Jobs are sent the way the issue
asks: N Print-Job requests in one ipptool run, which keeps one HTTP connection.
`FileDevice Yes` allows the `file:/dev/null` queue; a queue that forwards to an IPP
printer uses `ipp://…?waitjob=false&waitprinter=false` (FIELD-NOTES: without them the
ipp backend waits for each job and CUPS manages ~1.6 jobs/s).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from pathlib import Path

from bench.common import ChildFailed, run_tool, stop_group
from ipp.client import IppClient
from prosody_config.launcher import free_ports

PRINT_JOB_TEST = """{
  NAME "Print-Job"
  OPERATION Print-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name bench
  ATTR mimeMediaType document-format application/pdf
  ATTR name job-name bench
  FILE $filename
  STATUS successful-ok
}
"""


def available() -> str | None:
    """None when cupsd and ipptool are installed, else what is missing."""
    missing = [tool for tool in ("cupsd", "ipptool") if shutil.which(tool) is None]
    return f"{', '.join(missing)} not installed (cups-daemon, cups-ipp-utils)" if missing else None


class Cupsd:
    def __init__(self, folder: Path, printers: dict[str, str], log_level: str = "warn") -> None:
        """printers: queue name → device URI (each a raw queue)."""
        self.folder = folder
        self.log_level = log_level
        self.printers = printers
        self.port = free_ports(1)[0]
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def uri(self, name: str) -> str:
        return f"ipp://127.0.0.1:{self.port}/printers/{name}"

    def _write_config(self) -> None:
        d = self.folder
        for sub in ("spool", "cache", "state", "tmp", "log"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "cups-files.conf").write_text(
            f"ServerRoot {d}\nRequestRoot {d}/spool\nCacheDir {d}/cache\nStateDir {d}/state\n"
            f"TempDir {d}/tmp\nAccessLog {d}/log/access_log\nErrorLog {d}/log/error_log\n"
            f"PageLog {d}/log/page_log\nFileDevice Yes\nSandboxing Relaxed\nSystemGroup root\n"
        )
        (d / "cupsd.conf").write_text(
            f"LogLevel {self.log_level}\nListen 127.0.0.1:{self.port}\n"
            "Browsing No\nDefaultAuthType None\n"
            "WebInterface No\nMaxJobs 0\nMaxJobsPerPrinter 0\nMaxJobsPerUser 0\n"
            "PreserveJobHistory Yes\nPreserveJobFiles No\nAutoPurgeJobs Yes\n"
            "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
            "<Policy default>\n  JobPrivateAccess all\n  JobPrivateValues none\n"
            "  SubscriptionPrivateAccess all\n  SubscriptionPrivateValues none\n"
            "  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
        )
        blocks = [
            f"<Printer {name}>\nInfo bench {name}\nDeviceURI {uri}\nState Idle\nStateTime 0\n"
            "Type 4\nAccepting Yes\nShared No\nJobSheets none none\nOpPolicy default\n"
            "ErrorPolicy abort-job\n</Printer>\n"
            for name, uri in self.printers.items()
        ]
        (d / "printers.conf").write_text("".join(blocks))

    async def start(self, timeout: float = 20.0) -> None:
        self._write_config()
        log = (self.folder / "log" / "cupsd.out").open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                "cupsd",
                "-f",
                "-c",
                str(self.folder / "cupsd.conf"),
                "-s",
                str(self.folder / "cups-files.conf"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        for name in self.printers:
            async with IppClient(self.uri(name), timeout=2, connect_timeout=1) as client:
                while True:
                    if self.proc.returncode is not None:
                        raise ChildFailed(f"cupsd exited: {self.log_tail()}")
                    try:
                        await client.get_printer_attributes(["printer-state"])
                        break
                    except Exception:  # not listening yet, or not answering IPP yet
                        if time.monotonic() > deadline:
                            await self.stop()
                            raise ChildFailed(f"cupsd did not answer: {self.log_tail()}") from None
                        await asyncio.sleep(0.05)

    def log_tail(self) -> str:
        parts = []
        for name in ("cupsd.out", "error_log"):
            with contextlib.suppress(OSError):
                parts.append((self.folder / "log" / name).read_text(errors="replace")[-1500:])
        return "\n".join(parts)

    def count_in_log(self, text: str) -> int:
        """Lines of cupsd's error_log that contain `text` (backend messages at info)."""
        try:
            log = (self.folder / "log" / "error_log").read_text(errors="replace")
        except OSError:
            return 0
        return sum(1 for line in log.splitlines() if text in line)

    async def print_jobs(self, name: str, count: int, document: Path, timeout: float) -> None:
        """`count` Print-Jobs over one ipptool connection; raises unless all succeeded."""
        test = self.folder / f"print-{count}.test"
        test.write_text(PRINT_JOB_TEST * count)
        status, out = await run_tool(
            ["ipptool", "-q", "-T", "30", "-f", str(document), self.uri(name), str(test)],
            timeout,
        )
        if status != 0:
            raise ChildFailed(f"ipptool failed ({status}): {out[-1000:]}\n{self.log_tail()}")

    async def wait_idle(self, name: str, timeout: float, interval: float = 0.005) -> float:
        """Until the queue has no job left that is not completed; returns the time."""
        deadline = time.monotonic() + timeout
        async with IppClient(self.uri(name), timeout=10) as client:
            while True:
                jobs = await client.get_jobs("not-completed", ["job-id"])
                now = time.monotonic()
                if not jobs:
                    return now
                if now > deadline:
                    raise ChildFailed(f"CUPS still has {len(jobs)} jobs after {timeout:.0f} s")
                await asyncio.sleep(interval)

    async def stop(self) -> None:
        await stop_group(self.proc)


async def count_completed(printer_uri: str) -> int:
    """Completed jobs an IPP printer (ippeveprinter) reports."""
    async with IppClient(printer_uri, timeout=10) as client:
        return len(await client.get_jobs("completed", ["job-id"]))
