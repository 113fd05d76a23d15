"""The IPP gateway against real clients: ipptool's conformance suites (cups-ipp-utils),
with a real ippeveprinter behind a real manager, the service and Prosody.

Also measures jobs per second printed with ipptool through the gateway.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cirrus.client import CirrusClient
from cirrus.stack.ippeveprinter import IppEvePrinter, start_ippeveprinter
from cirrus.stack.local import SERVICE_JID
from gateway.app import GatewayApp, GatewayConfig
from gateway.cloud import has, local_service_directory, service_elements_directory
from manager.drivers import make_driver
from tests.conftest import Harness

SUITES = Path("/usr/share/cups/ipptool")
pytestmark = pytest.mark.skipif(
    shutil.which("ipptool") is None or shutil.which("ippeveprinter") is None,
    reason="cups-ipp-utils is not installed",
)


# ------------------------------------------------------------------------ documents


def make_pdf(path: Path, pages: int = 1) -> Path:
    """A small valid PDF (A4 pages with a line of text), written by hand."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    font = 3 + 2 * pages
    for i in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        text = f"BT /F1 24 Tf 72 720 Td (Cirrus gateway test page {i + 1}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


def make_jpeg(path: Path) -> Path:
    """A tiny baseline JPEG (8x8 grey), from a fixed byte sequence built at run time."""
    # One 8x8 block, all DC: the smallest well-formed baseline JPEG.
    quant = bytes([1] * 64)
    huff_dc = bytes([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) + bytes([0])
    huff_ac = bytes([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) + bytes([0])

    def seg(marker: int, body: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body

    data = b"\xff\xd8"
    data += seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    data += seg(0xDB, b"\x00" + quant)
    data += seg(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
    data += seg(0xC4, b"\x00" + huff_dc)
    data += seg(0xC4, b"\x10" + huff_ac)
    data += seg(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    data += b"\x00\x00"  # DC diff 0 (code '0'), EOB (code '0'), padded with zeros
    data += b"\xff\xd9"
    path.write_bytes(data)
    return path


# ------------------------------------------------------------------------ the stack


@dataclass
class GatewayStack:
    app: GatewayApp
    printer: IppEvePrinter
    passwords: dict[str, str]
    queue: str = "office"

    def uri(self, user: str | None = "alice", queue: str | None = None, tls: bool = False) -> str:
        base = self.app.uri(queue or self.queue, tls=tls)
        if user is None:
            return base
        scheme, rest = base.split("://", 1)
        return f"{scheme}://{user}:{self.passwords[user]}@{rest}"


def gateway_config(harness: Harness, **extra: object) -> GatewayConfig:
    prosody = harness.prosody
    return GatewayConfig.model_validate(
        {
            "listen": {"host": "127.0.0.1", "port": 0},
            "xmpp": {
                "host": prosody.host,
                "port": prosody.c2s_port,
                "domain": prosody.domain,
                "service_jid": SERVICE_JID,
                "ca_file": str(prosody.ca_file),
            },
            "account": "bob",
            "password": harness.passwords["bob"],
            **extra,
        }
    )


def directory_for(service):  # type: ignore[no-untyped-def]
    """GetServiceElements once the client library has it; the in-process service's
    queue table until then."""
    if has(CirrusClient, "get_service_elements"):
        return service_elements_directory
    return local_service_directory(service.service)


@pytest.fixture
async def printer(short_tmp: Path) -> AsyncIterator[IppEvePrinter]:
    instance = await start_ippeveprinter(short_tmp / "printer", command="/bin/true")
    try:
        yield instance
    finally:
        await instance.stop()


@pytest.fixture
async def gateway_stack(
    service, harness: Harness, printer: IppEvePrinter
) -> AsyncIterator[GatewayStack]:  # type: ignore[no-untyped-def]
    settings = harness.manager_settings(driver=f"ipp:{printer.uri}")
    await harness.manager(make_driver(settings.devices[0].driver), settings=settings)
    app = GatewayApp(gateway_config(harness), directory=directory_for(service))
    await app.start()
    try:
        yield GatewayStack(app, printer, harness.passwords)
    finally:
        await app.stop()


# ------------------------------------------------------------------------ ipptool


@dataclass
class SuiteResult:
    passed: int
    failed: int
    skipped: int
    output: str
    failures: list[str]


_LINE = re.compile(r"^\s{4}(\S.*?)\s+\[(PASS|FAIL|SKIP)\]", re.M)


async def run_ipptool(
    uri: str,
    suite: str,
    cwd: Path,
    *,
    file: Path | None = None,
    timeout: float = 240.0,
    defines: dict[str, str] | None = None,
) -> SuiteResult:
    args = ["ipptool", "-tI", "-T", "30"]
    if file is not None:
        args += ["-f", str(file)]
    for key, value in (defines or {}).items():
        args += ["-d", f"{key}={value}"]
    args += [uri, suite]
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    text = out.decode(errors="replace")
    results = _LINE.findall(text)
    failures = [name for name, verdict in results if verdict == "FAIL"]
    return SuiteResult(
        passed=sum(1 for _, v in results if v == "PASS"),
        failed=len(failures),
        skipped=sum(1 for _, v in results if v == "SKIP"),
        output=text,
        failures=failures,
    )


@pytest.fixture
def documents(short_tmp: Path) -> Path:
    folder = short_tmp / "docs"
    folder.mkdir()
    make_pdf(folder / "testfile.pdf")
    make_pdf(folder / "document-a4.pdf")
    make_pdf(folder / "document-letter.pdf")
    make_pdf(folder / "onepage-a4.pdf")
    make_pdf(folder / "onepage-letter.pdf")
    make_jpeg(folder / "testfile.jpg")
    make_jpeg(folder / "color.jpg")
    make_jpeg(folder / "gray.jpg")
    return folder


# Expectations of the suites that a cloud queue cannot meet honestly, and why. A test
# counts as passed when every expectation it failed is listed here (the report in the
# test output names them).
NOT_APPLICABLE = {
    # ipp-1.1/2.0 ask for "ftp" among reference-uri-schemes-supported whenever Print-URI or
    # Send-URI is offered (an RFC 2911-era check; RFC 8011 §5.4.27 has no such rule). The
    # service fetches documents by reference over http and https only (its SSRF policy).
    'reference-uri-schemes-supported WITH-VALUE "ftp"': "service fetches http/https only",
    # ipp-everywhere: page overrides (PWG 5100.6) are not carried by the job ticket.
    "overrides-supported": "no page overrides in the cloud job ticket",
    # ipp-everywhere: the device reports no supply levels to the service.
    "printer-supply": "devices report no supplies to the service",
}


def unexplained_failures(result: SuiteResult) -> list[str]:
    return [
        line.strip()
        for line in result.output.splitlines()
        if line.strip().startswith("EXPECTED:") and not any(key in line for key in NOT_APPLICABLE)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["ipp-1.1.test", "ipp-2.0.test", "ipp-everywhere.test"])
async def test_ipptool_suite(gateway_stack: GatewayStack, documents: Path, suite: str) -> None:
    """ipp-everywhere.test: its print tests use PWG raster samples Debian does not ship
    (SKIP-IF-MISSING); its attribute test runs."""
    result = await run_ipptool(
        gateway_stack.uri("alice"),
        str(SUITES / suite),
        documents,
        file=documents / "testfile.pdf",
        timeout=400,
    )
    print(
        f"{suite}: {result.passed} passed, {result.failed} failed, {result.skipped} skipped;"
        f" failed: {result.failures}"
    )
    assert result.passed > 10, result.output[-4000:]
    assert not unexplained_failures(result), result.output[-8000:]
    statuses = [line for line in result.output.splitlines() if "EXPECTED: STATUS" in line]
    assert not statuses, statuses


@pytest.mark.slow
async def test_jobs_per_second_with_ipptool(
    gateway_stack: GatewayStack, harness: Harness, short_tmp: Path
) -> None:
    """N Print-Jobs over one ipptool connection; every job completes on the device."""
    count = 30
    block = (
        '{\n NAME "Print-Job"\n OPERATION Print-Job\n GROUP operation-attributes-tag\n'
        " ATTR charset attributes-charset utf-8\n"
        " ATTR naturalLanguage attributes-natural-language en\n"
        " ATTR uri printer-uri $uri\n ATTR name requesting-user-name $user\n"
        " ATTR mimeMediaType document-format application/pdf\n"
        " FILE $filename\n STATUS successful-ok\n}\n"
    )
    suite = short_tmp / "print-many.test"
    suite.write_text(block * count)
    pdf = make_pdf(short_tmp / "job.pdf")
    started = time.monotonic()
    result = await run_ipptool(gateway_stack.uri("alice"), str(suite), short_tmp, file=pdf)
    submitted = time.monotonic() - started
    assert result.passed == count, result.output[-3000:]

    alice = await harness.client("alice")
    subscriptions = gateway_stack.app.gateway.subscriptions
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    done: list[object] = []
    while loop.time() < deadline:
        jobs = await alice.get_jobs("office", which="all")
        done = [j for j in jobs if j.job_state.is_terminal]
        if len(done) >= count:
            break
        await subscriptions.wait(min(2.0, deadline - loop.time()))
    finished = time.monotonic() - started
    assert len(done) == count
    assert all(j.job_state.value == "completed" for j in done)  # type: ignore[attr-defined]
    print(
        f"ipptool through the gateway: {count} Print-Jobs submitted in {submitted:.2f} s "
        f"({count / submitted:.1f} jobs/s), all completed on the device in {finished:.2f} s "
        f"({count / finished:.1f} jobs/s)"
    )


# ------------------------------------------------------------------------ real captures


async def test_codec_round_trips_real_ipptool_and_ippeveprinter_traffic(
    printer: IppEvePrinter, documents: Path
) -> None:
    """ipptool talks to ippeveprinter through a recording proxy; every request and
    response captured decodes and re-encodes to the same bytes."""
    from aiohttp import ClientSession, web

    from ipp.codec import decode, encode

    captured: list[tuple[str, bytes]] = []
    upstream = printer.uri.replace("ipp://", "http://")

    async def relay(request: web.Request) -> web.Response:
        body = await request.content.read()
        async with (
            ClientSession() as http,
            http.post(upstream, data=body, headers={"Content-Type": "application/ipp"}) as answer,
        ):
            data = await answer.read()
        captured.append(("request", body))
        captured.append(("response", data))
        return web.Response(body=data, content_type="application/ipp")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/ipp/print", relay)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        for suite in (
            "get-printer-attributes.test",
            "print-job.test",
            "get-jobs.test",
            "create-printer-subscription.test",
        ):
            await run_ipptool(
                f"ipp://127.0.0.1:{port}/ipp/print",
                str(SUITES / suite),
                documents,
                file=documents / "testfile.pdf",
            )
    finally:
        await runner.cleanup()
    assert len(captured) >= 8
    for kind, data in captured:
        message, offset = decode(data)
        assert encode(message) == data[:offset], kind
        assert message.groups, kind
