"""CUPS as a client of the gateway: a private cupsd on a loopback port, a queue added with
``lpadmin -m everywhere`` pointing at the gateway, a PDF printed with ``lp``; the cloud
job reaches completed and the real ippeveprinter behind the manager printed it."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stanzas.states import JobState
from tests.conftest import Harness
from tests.integration import test_gateway_ipptool as base
from tests.integration.test_gateway_ipptool import GatewayStack, make_pdf

# The gateway stack's fixtures, shared with the ipptool tests.
printer = base.printer
gateway_stack = base.gateway_stack

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("cupsd", "lpadmin", "lp", "ippeveprinter"))
    or not Path("/usr/lib/cups/filter/pdftopdf").exists(),
    reason="needs cups-daemon, cups-client and cups-filters",
)
WAIT = 60.0


@dataclass
class Cupsd:
    folder: Path
    port: int
    process: asyncio.subprocess.Process

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def run(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            args[0],
            "-h",
            self.server,
            *args[1:],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        text = out.decode(errors="replace")
        assert proc.returncode == 0, f"{' '.join(args)}: {text}\n{self.log_tail()}"
        return text

    def log_tail(self, lines: int = 60) -> str:
        log = self.folder / "log" / "error_log"
        return (
            "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(folder: Path, port: int) -> None:
    for sub in ("state", "cache", "spool", "tmp", "log", "ppd"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    for parent in (folder.parent, folder):
        parent.chmod(0o755)  # filters run as the lp user
    for sub in ("spool", "tmp"):
        (folder / sub).chmod(0o1777)
    (folder / "cupsd.conf").write_text(
        f"Listen 127.0.0.1:{port}\nLogLevel debug\nMaxLogSize 0\nBrowsing No\n"
        "DefaultAuthType None\nWebInterface No\nDefaultPolicy open\nJobRetryLimit 0\n"
        "ErrorPolicy abort-job\n"
        "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
        "<Policy open>\n  <Limit All>\n    Order deny,allow\n    Allow all\n  </Limit>\n"
        "</Policy>\n"
    )
    (folder / "cups-files.conf").write_text(
        f"ServerRoot {folder}\nStateDir {folder}/state\nCacheDir {folder}/cache\n"
        "DataDir /usr/share/cups\nServerBin /usr/lib/cups\n"
        f"RequestRoot {folder}/spool\nTempDir {folder}/tmp\n"
        f"AccessLog {folder}/log/access_log\nErrorLog {folder}/log/error_log\n"
        f"PageLog {folder}/log/page_log\nFileDevice Yes\nSandboxing Relaxed\n"
    )


@pytest.fixture
async def cupsd(short_tmp: Path) -> AsyncIterator[Cupsd]:
    folder = short_tmp / "cups"
    port = _free_port()
    write_config(folder, port)
    process = await asyncio.create_subprocess_exec(
        "cupsd",
        "-f",
        "-c",
        str(folder / "cupsd.conf"),
        "-s",
        str(folder / "cups-files.conf"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    instance = Cupsd(folder, port, process)
    try:
        for _ in range(200):  # up to ~10 s: cupsd answers once its listener is up
            if process.returncode is not None:
                raise RuntimeError(f"cupsd exited: {instance.log_tail()}")
            with contextlib.suppress(OSError):
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                await writer.wait_closed()
                break
            await asyncio.sleep(0.05)
        yield instance
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_cups_prints_through_the_gateway(
    gateway_stack: GatewayStack, cupsd: Cupsd, harness: Harness, short_tmp: Path
) -> None:
    await cupsd.run(
        "lpadmin", "-p", "cloud", "-E", "-v", gateway_stack.uri("alice"), "-m", "everywhere"
    )
    pdf = make_pdf(short_tmp / "report.pdf", pages=2)
    out = await cupsd.run("lp", "-d", "cloud", "-t", "cups report", str(pdf))
    assert "request id is cloud-" in out

    alice = await harness.client("alice")
    subscriptions = gateway_stack.app.gateway.subscriptions
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    final = None
    while loop.time() < deadline:
        jobs = await alice.get_jobs("office", which="all")
        done = [j for j in jobs if j.job_state.is_terminal]
        if done:
            final = done[0]
            break
        # Every job the gateway creates and every push its sessions get wakes this.
        await subscriptions.wait(min(2.0, deadline - loop.time()))
    assert final is not None, cupsd.log_tail()
    assert final.job_state == JobState.COMPLETED, (final, cupsd.log_tail())
    assert final.job_name == "cups report"
    assert final.job_originating_user_name and final.job_originating_user_name.startswith("alice")
    printed = gateway_stack.printer.output_files()
    assert any(p.read_bytes().startswith(b"%PDF") for p in printed), printed
