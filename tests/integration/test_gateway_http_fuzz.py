"""The gateway as a real process (run by the stack's process runner) against 10,000+
hostile HTTP requests from raw sockets: truncated bodies, wrong lengths, chunked
oddities, transfer codings it does not decode, huge headers and values, credentials the
XMPP server cannot take, mutated IPP. Behind it: a real Prosody, the service and a
simulated device.

Afterwards it must still answer, no request may have been answered 5xx or
server-error-internal-error, its log must be bounded (no traceback, no long line, a few
hundred KB at most), and its resident memory must be flat after the warm-up."""

from __future__ import annotations

import asyncio
import base64
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cirrus.stack import toml
from cirrus.stack.local import SERVICE_JID
from cirrus.stack.process import ManagedProcess
from ipp.codec import IppParseError, IppRequest, decode, encode
from ipp.constants import Operation, StatusCode
from manager.drivers.sim import SimDriver
from tests.conftest import Harness
from tests.unit.test_gateway_fuzz import mutate, seeds

REQUESTS = int(os.environ.get("CIRRUS_FUZZ_REQUESTS", "12000"))
WORKERS = 16
ANSWER_TIMEOUT = 15.0


@dataclass
class GatewayProcess:
    process: ManagedProcess
    port: int
    passwords: dict[str, str]

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]


@pytest.fixture
async def gateway_process(  # type: ignore[no-untyped-def]
    service, harness: Harness
) -> AsyncIterator[GatewayProcess]:
    await harness.manager(SimDriver())
    prosody = harness.prosody
    config = toml.write(
        harness.tmp / "gateway.toml",
        {
            "account": "bob",
            "password": harness.passwords["bob"],
            "listen": {"host": "127.0.0.1", "port": 0},
            "xmpp": {
                "host": prosody.host,
                "port": prosody.c2s_port,
                "domain": prosody.domain,
                "service_jid": SERVICE_JID,
                "ca_file": str(prosody.ca_file),
            },
        },
    )
    log = harness.tmp / "logs" / "gateway.log"
    process = ManagedProcess("gateway", "gateway", ["--config", str(config)], log)
    await process.start("cirrus gateway ready", timeout=60)
    try:
        ready = next(x for x in log.read_text().splitlines() if "cirrus gateway ready" in x)
        port = int(re.search(r"'ipp': '127\.0\.0\.1:(\d+)'", ready).group(1))  # type: ignore[union-attr]
        yield GatewayProcess(process, port, harness.passwords)
    finally:
        await process.stop()


# ------------------------------------------------------------------ raw HTTP


@dataclass
class Answer:
    status: int | None  # HTTP status; None: the connection closed without an answer
    body: bytes = b""


async def exchange(port: int, data: bytes, *, half_close: bool = False) -> Answer:
    """One request on a fresh connection (``half_close``: then the end of our side, as a
    client that sends less than it announced and stops); reads one response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if half_close and writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(ANSWER_TIMEOUT):
            return await _read_response(reader)
    except (ConnectionError, asyncio.IncompleteReadError):
        return Answer(None)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def _read_response(reader: asyncio.StreamReader) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    while head.startswith(b"HTTP/1.1 100 "):  # 100 Continue, then the real answer
        head = head.split(b"\r\n\r\n", 1)[1] or await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    body = await reader.readexactly(int(length.group(1))) if length else b""
    return Answer(status, body)


def _http(
    body: bytes,
    *,
    path: str = "/ipp/print/office",
    auth: str | None = None,
    extra: list[str] | None = None,
    length: int | None = None,
    chunked: bytes | None = None,
) -> bytes:
    """A request with a body framed by Content-Length (``length`` may lie) or, when
    ``chunked`` is given, that raw chunked text as the body."""
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/ipp",
        "Connection: close",
    ]
    if auth is not None:
        lines.append(f"Authorization: {auth}")
    lines += extra or []
    if chunked is not None:
        lines.append("Transfer-Encoding: chunked")
        payload = chunked
    else:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def _basic(user: bytes, password: bytes) -> str:
    return "Basic " + base64.b64encode(user + b":" + password).decode()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@dataclass
class Cases:
    rng: random.Random
    port: int
    good_auth: str
    pool: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        uri = f"ipp://127.0.0.1:{self.port}/ipp/print/office"
        self.pool = seeds()  # their printer-uri names port 8631: only the path matters
        self.gpa = encode(
            IppRequest(Operation.GET_PRINTER_ATTRIBUTES, 1).operation_attributes(
                printer_uri=uri, requested_attributes=["printer-state"]
            )
        )

    def auth(self) -> str | None:
        return self.rng.choice(
            [
                None,
                self.good_auth,
                self.good_auth,
                _basic(b"alice", b"wrong"),
                _basic(b"alice", b"pass\x00word"),  # a NUL: SASLprep prohibits it
                _basic(b"alice", b"\xff\xfe"),  # not UTF-8
                _basic(b"a" * 5000, b"x"),  # over-long user name
                _basic(b"al ice", b"x"),
                _basic(b"alice@elsewhere.example", b"x"),
                "Basic !!!not-base64!!!",
                "Basic " + base64.b64encode(b"no-colon").decode(),
            ]
        )

    def make(self, index: int) -> tuple[str, bytes, bool]:
        """(kind, bytes, half-close) of request ``index``."""
        rng = self.rng
        kind = index % 16
        ipp = (
            mutate(rng, rng.choice(self.pool), self.pool)
            if rng.random() < 0.8
            else rng.choice(self.pool)
        )
        if kind <= 4:
            return "mutated", _http(ipp, auth=self.auth()), False
        if kind == 5:  # a chunk-size line of garbage, up to 70,000 bytes of it
            garbage = bytes(rng.choice(b"Zz;=\t xq") for _ in range(rng.choice([3, 500, 70_000])))
            return (
                "chunk-garbage",
                _http(b"", auth=self.auth(), chunked=garbage + b"\r\n" + ipp),
                False,
            )
        if kind == 6:  # chunked, cut off in the middle of a chunk or before the last one
            body = _chunk(ipp[: len(ipp) // 2]) + _chunk(ipp[len(ipp) // 2 :])
            return (
                "chunk-truncated",
                _http(b"", auth=self.auth(), chunked=body[: rng.randrange(len(body))]),
                True,
            )
        if kind == 7:  # chunk extensions, a huge declared size, a missing CRLF
            body = rng.choice(
                [
                    b"%x;name=value\r\n%s\r\n0\r\n\r\n" % (len(ipp), ipp),
                    b"ffffffffffffffff\r\n" + ipp,
                    b"-5\r\n" + ipp,
                    b"%x\r\n%s0\r\n\r\n" % (len(ipp), ipp),
                    _chunk(ipp) + b"0\r\nTrailer: x\r\n\r\n",
                ]
            )
            return "chunk-odd", _http(b"", auth=self.auth(), chunked=body), True
        if kind == 8:  # Content-Length longer than what comes
            return (
                "length-long",
                _http(ipp, auth=self.auth(), length=len(ipp) + rng.randint(1, 100_000)),
                True,
            )
        if kind == 9:  # Content-Length shorter: the rest is a second, garbage request
            return (
                "length-short",
                _http(ipp, auth=self.auth(), length=rng.randrange(max(len(ipp), 1))),
                False,
            )
        if kind == 10:  # transfer codings that are not decoded
            coding = rng.choice(["gzip, chunked", "deflate, chunked", "identity, chunked", "br"])
            head = _http(b"", auth=self.auth()).split(b"Content-Length")[0]
            return (
                "coding",
                head + f"Transfer-Encoding: {coding}\r\n\r\n".encode() + _chunk(ipp) + b"0\r\n\r\n",
                False,
            )
        if kind == 11:  # both Content-Length and Transfer-Encoding
            head = _http(ipp, auth=self.auth()).split(b"\r\n\r\n")[0]
            return (
                "both",
                head + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunk(ipp) + b"0\r\n\r\n",
                False,
            )
        if kind == 12:  # huge header values
            size = rng.choice([9000, 70_000])
            header = rng.choice(
                [
                    f"X-Junk: {'j' * size}",
                    f"Authorization: Basic {'A' * size}",
                    f"Host: {'h' * size}",
                ]
            )
            return "huge-header", _http(ipp, extra=[header]), False
        if kind == 13:  # huge IPP values: a 60 KB name, an attribute part over 1 MiB
            big = (
                ipp[:9]
                + b"\x42\x00\x08job-name"
                + (60_000).to_bytes(2, "big")
                + b"n" * 60_000
                + ipp[9:]
            )
            if rng.random() < 0.2:
                big = ipp[:9] + (b"\x42\x00\x01x\xff\xff" + b"v" * 0xFFFF) * 17 + ipp[9:]
            return "huge-value", _http(big, auth=self.auth()), False
        if kind == 14:  # Expect: 100-continue, sometimes with refused credentials
            return "expect", _http(ipp, auth=self.auth(), extra=["Expect: 100-continue"]), False
        return "health", _http(self.gpa), False


def _ipp_status(answer: Answer) -> int | None:
    if answer.status != 200 or not answer.body:
        return None
    try:
        message, _ = decode(answer.body)
    except IppParseError:
        return -1
    return message.status_code


@pytest.mark.slow
async def test_the_gateway_process_survives_hostile_http(gateway_process: GatewayProcess) -> None:
    gw = gateway_process
    good = _basic(b"alice", gw.passwords["alice"].encode())
    cases = Cases(random.Random(16_2), gw.port, good)
    kinds: Counter[str] = Counter()
    http: Counter[int | None] = Counter()
    ipp: Counter[int | None] = Counter()
    failures: list[str] = []
    rss: list[int] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(REQUESTS):
        queue.put_nowait(index)

    async def worker() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            kind, data, half_close = cases.make(index)
            answer = await exchange(gw.port, data, half_close=half_close)
            kinds[kind] += 1
            http[answer.status] += 1
            status = _ipp_status(answer)
            ipp[status] += 1
            if (answer.status or 0) >= 500 and answer.status != 501:
                failures.append(f"{kind}: HTTP {answer.status} {answer.body[:200]!r}")
            if status == StatusCode.SERVER_ERROR_INTERNAL_ERROR or status == -1:
                failures.append(f"{kind}: IPP {status} for {data[:300]!r}")
            if kind == "health" and status != StatusCode.SUCCESSFUL_OK:
                failures.append(f"health check answered {answer.status} / {status}")
            if index % (REQUESTS // 8) == 0 or index == REQUESTS - 1:
                rss.append(gw.rss_kib())

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    elapsed = time.monotonic() - started

    answer = await asyncio.wait_for(exchange(gw.port, _http(cases.gpa)), 5)
    log = gw.process.log_file.read_bytes()
    lines = log.splitlines()
    longest = max(len(x) for x in lines)
    print(
        f"{REQUESTS} requests in {elapsed:.1f} s ({REQUESTS / elapsed:.0f}/s); "
        f"HTTP {dict(http)}; IPP {dict(ipp)}; log {len(log)} bytes, {len(lines)} lines, "
        f"longest {longest}; RSS {rss} KiB",
        file=sys.stderr,
    )
    assert _ipp_status(answer) == StatusCode.SUCCESSFUL_OK  # still answering, at once
    assert not failures, failures[:10]
    assert all(kinds[k] > 100 for k in ("chunk-garbage", "coding", "huge-header", "mutated"))
    assert http[501] > 100  # gzip, chunked and friends are refused, not read as chunked
    assert ipp[StatusCode.SUCCESSFUL_OK] > 500  # the well-formed ones did work
    at = log.find(b"Traceback")
    assert at < 0, log[max(at - 300, 0) : at + 3000].decode(errors="replace")
    assert longest < 1024
    assert len(log) < 512 * 1024
    assert rss[-1] - rss[2] < 8 * 1024, rss  # flat after the warm-up, within 8 MiB


# ------------------------------------------------------------------ what a login costs


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get_jobs(port: int) -> bytes:
    return encode(
        IppRequest(Operation.GET_JOBS, 1).operation_attributes(
            printer_uri=f"ipp://127.0.0.1:{port}/ipp/print/office"
        )
    )


UNACCEPTABLE = [
    _basic(b"alice", b"pass\x00word"),  # NUL: SASLprep (RFC 4013) prohibits it
    _basic(b"alice", b"tab\there"),  # a control character
    _basic(b"alice", "\u0627a\u0628".encode()),  # right-to-left text with left-to-right
    _basic(b"alice", "\ue000".encode()),  # private use
    _basic(b"alice", b"x" * 2000),  # over-long
    _basic(b"alice", b""),  # empty
    _basic(b"alice", b"\xc3\x28"),  # not UTF-8
    _basic("al\u0000ice".encode(), b"x"),
    _basic(b"a" * 1100, b"x"),  # no localpart is that long
    _basic(b"alice@other.example", b"x"),  # another domain's account
    "Basic not//base64",
]


async def test_credentials_the_xmpp_server_cannot_take_are_refused_at_once(
    gateway_process: GatewayProcess,
) -> None:
    """A NUL in a Basic password used to start a ~30 s busy login-retry loop per request."""
    gw = gateway_process
    body = _get_jobs(gw.port)
    cpu = cpu_seconds(gw.pid)
    started = time.monotonic()
    answers = await asyncio.gather(
        *(exchange(gw.port, _http(body, auth=auth)) for auth in UNACCEPTABLE * 20)
    )
    elapsed = time.monotonic() - started
    spent = cpu_seconds(gw.pid) - cpu
    print(f"{len(answers)} refusals in {elapsed:.2f} s, {spent:.2f} s of gateway CPU")
    assert [a.status for a in answers] == [401] * len(answers)
    assert elapsed < 10 and spent < 2.0


async def test_logins_are_rate_limited_per_peer(gateway_process: GatewayProcess) -> None:
    """Wrong passwords that could be right each cost a real login to Prosody: one address
    gets login_burst (10) of them at once and login_rate (1) per second, then HTTP 429
    with Retry-After, before any work."""
    gw = gateway_process
    body = _get_jobs(gw.port)
    cpu = cpu_seconds(gw.pid)
    started = time.monotonic()
    answers = await asyncio.gather(
        *(
            exchange(gw.port, _http(body, auth=_basic(b"alice", b"guess-%d" % i)))
            for i in range(200)
        )
    )
    elapsed = time.monotonic() - started
    spent = cpu_seconds(gw.pid) - cpu
    statuses = Counter(a.status for a in answers)
    print(f"200 guesses in {elapsed:.2f} s: {dict(statuses)}, {spent:.2f} s of gateway CPU")
    assert statuses[429] >= 150
    assert statuses[401] <= 10 + elapsed + 2
    assert set(statuses) <= {401, 429}
    assert spent < 3.0
    # The right password of a user with a session is never rate-limited.
    good = _basic(b"bob", gw.passwords["bob"].encode())
    answer = await exchange(gw.port, _http(body, auth=good))
    assert answer.status in (200, 429)
