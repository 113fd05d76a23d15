"""The gateway's guards, in isolation: credentials the XMPP server cannot take, the
per-peer login rate, bounded client-error logging, streamed decompression, the stack
runner's line cutter, ippget event life, printer events from what the gateway learns,
and the attributes an operation does not read."""

from __future__ import annotations

import asyncio
import gzip
import logging
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp.http_exceptions import BadHttpMessage

from cirrus.stack.process import LineCutter
from gateway.attributes import QueueInfo
from gateway.compression import CompressionError, inflate
from gateway.credentials import Refused, bare_jid, saslprep
from gateway.logs import BURST, MAX_RECORD, BoundedFormatter, ClientErrors, ServerLog, clip
from gateway.queue_watch import QueueWatch
from gateway.ratelimit import RateLimiter
from gateway.sessions import NotAuthenticated, Sessions, TooManyLogins
from gateway.subscriptions import EVENT_LIFE, Event, Subscriptions
from stanzas.groups import Capabilities, ServiceStatus

# ------------------------------------------------------------------ credentials


@pytest.mark.parametrize(
    "password",
    ["pass\x00word", "tab\tin", "\x7f", "\ue000", "\u0627a\u0628", "", "x" * 1025, "\ufffe"],
)
def test_passwords_saslprep_prohibits_are_refused(password: str) -> None:
    with pytest.raises(Refused):
        saslprep(password)


def test_saslprep_maps_as_rfc_4013_says() -> None:
    assert saslprep("I\u00adX") == "IX"  # soft hyphen maps to nothing
    assert saslprep("a\u00a0b") == "a b"  # non-ASCII space maps to space
    assert saslprep("\u2168") == "IX"  # NFKC
    assert saslprep("\u0627\u0628") == "\u0627\u0628"  # right-to-left throughout is fine


@pytest.mark.parametrize(
    ("user", "jid"),
    [
        ("alice", "alice@example.org"),
        ("Alice", "alice@example.org"),  # Nodeprep case-folds, as Prosody does
        ("alice@example.org", "alice@example.org"),
        ("alice@EXAMPLE.org", "alice@example.org"),
    ],
)
def test_user_names_become_bare_jids_of_the_domain(user: str, jid: str) -> None:
    assert bare_jid(user, "example.org") == jid


@pytest.mark.parametrize(
    "user", ["al ice", "al\x00ice", "a/b", "a:b", "<a>", "bob@other.example", "a" * 1024, "@x"]
)
def test_user_names_no_xmpp_address_can_carry_are_refused(user: str) -> None:
    with pytest.raises(Refused):
        bare_jid(user, "example.org")


# ------------------------------------------------------------------ logins


class _Client:
    async def stop(self) -> None:
        return None


async def test_logins_are_rate_limited_per_peer_and_refusals_remembered() -> None:
    tried: list[str] = []

    async def login(user: str, password: str) -> _Client:
        tried.append(password)
        if password != "right":
            raise PermissionError(user)
        return _Client()

    now = [0.0]
    limiter = RateLimiter(rate=1.0, burst=3.0, clock=lambda: now[0])
    sessions = Sessions(login, failure_delay=0, limiter=limiter, clock=lambda: now[0])  # type: ignore[arg-type]
    for guess in ("a", "b", "c"):
        with pytest.raises(NotAuthenticated):
            await sessions.get("alice@x", guess, "10.0.0.1")
    with pytest.raises(TooManyLogins) as limited:
        await sessions.get("alice@x", "d", "10.0.0.1")
    assert 0 < limited.value.retry_after <= 1.0
    with pytest.raises(NotAuthenticated):  # a refused password again: no new login
        await sessions.get("alice@x", "a", "10.0.0.1")
    assert tried == ["a", "b", "c"]
    await sessions.get("alice@x", "right", "10.0.0.2")  # another peer has its own bucket
    now[0] += 1.0
    await sessions.get("alice@x", "right", "10.0.0.1")  # cached: costs no token
    assert sessions._locks == {}  # nothing is kept per user name once its login is done
    await sessions.close()


def test_the_limiter_table_is_bounded() -> None:
    limiter = RateLimiter(rate=1.0, burst=2.0, max_peers=100, clock=lambda: 0.0)
    for peer in range(1000):
        limiter.take(f"10.0.{peer // 256}.{peer % 256}")
    assert len(limiter) <= 100


# ------------------------------------------------------------------ logging


def test_client_errors_are_one_bounded_line_and_rate_limited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    now = [0.0]
    errors = ClientErrors(clock=lambda: now[0])
    server = ServerLog(errors)
    garbage = BadHttpMessage("Invalid character in chunk size:\n\n b'" + "Z" * 70_000 + "'")
    for _ in range(BURST + 30):
        server.exception("Error handling request from %s", "127.0.0.1", exc_info=garbage)
    now[0] += 60
    errors.report("127.0.0.1", "the request broke off", ConnectionResetError("lost"))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == BURST + 2  # the burst, a summary of what was left out, the next
    assert all("\n" not in line and len(line) < 600 for line in lines)
    assert "30 more client errors" in lines[BURST]
    assert not any(r.exc_info for r in caplog.records)
    assert errors.suppressed == 30


def test_faults_of_the_gateway_keep_their_traceback_but_are_capped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = ServerLog(ClientErrors())
    try:
        raise RuntimeError("x" * 50_000)
    except RuntimeError as exc:
        server.exception("Unhandled exception", exc_info=exc)
    record = caplog.records[-1]
    assert record.exc_info is not None
    assert len(BoundedFormatter().format(record)) <= MAX_RECORD + 64


def test_clip_escapes_and_cuts() -> None:
    assert clip("a\nb\x00c") == "a\\nb\\x00c"
    assert clip("y" * 1000, 10) == "yyyyyyyyyy... [990 more]"


# ------------------------------------------------------------------ compression


async def _chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _inflate(packing: str, data: bytes) -> bytes:
    return b"".join([c async for c in inflate(packing, _chunks(data))])


async def test_gzip_and_deflate_stream_in_small_steps() -> None:
    doc = bytes(range(256)) * 4000
    assert await _inflate("gzip", gzip.compress(doc)) == doc
    assert await _inflate("deflate", zlib.compress(doc)[2:-4]) == doc  # raw (RFC 1951)
    assert await _inflate("deflate", zlib.compress(doc)) == doc  # zlib-wrapped (RFC 1950)
    bomb = gzip.compress(b"\0" * 20_000_000)
    sizes = [len(c) async for c in inflate("gzip", _chunks(bomb, 4096))]
    assert max(sizes) <= 64 * 1024 and sum(sizes) == 20_000_000


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4 not compressed",
        gzip.compress(b"x" * 1000)[:-9],
        gzip.compress(b"a") + b"junk",
        b"",
    ],
)
async def test_data_that_is_not_its_compression_is_refused(data: bytes) -> None:
    with pytest.raises(CompressionError):
        await _inflate("gzip", data)


# ------------------------------------------------------------------ the runner's lines


def test_lines_are_cut_with_a_note_and_nothing_else_is_lost() -> None:
    out: list[bytes] = []
    cutter = LineCutter(out.append, limit=10)
    for piece in (b"short\nlong", b"er than ten bytes", b"\nend", b"\n", b"tail"):
        cutter.feed(piece)
    cutter.close()
    assert out == [
        b"short\n",
        b"longer tha ... [11 bytes of this line left out]\n",
        b"end\n",
        b"tail\n",
    ]


# ------------------------------------------------------------------ events


def test_events_expire_after_the_ippget_event_life() -> None:
    now = [1000.0]
    subs = Subscriptions(clock=lambda: now[0])
    sub = subs.create(
        owner="a@x", queue="q", job_id=None, events=["printer-state-changed"], lease_duration=0
    )
    subs.publish(Event("printer-state-changed", "q", "", int(now[0])))
    assert len(subs.events_after(sub, 1)) == 1
    now[0] += EVENT_LIFE + 1
    assert subs.events_after(sub, 1) == []
    subs.publish(Event("printer-state-changed", "q", "", int(now[0])))
    assert [seq for seq, _ in sub.pending] == [2]  # the old one is gone, not just hidden


def test_one_account_cannot_take_every_subscription() -> None:
    subs = Subscriptions()
    for _ in range(100):
        subs.create(owner="a@x", queue="q", job_id=None, events=["job-completed"], lease_duration=0)
    assert subs.full("a@x") and not subs.full("b@x")


async def test_queue_changes_become_printer_events() -> None:
    now = [100]
    subs = Subscriptions(clock=lambda: float(now[0]))
    sub = subs.create(
        owner="a@x",
        queue="q",
        job_id=None,
        events=["printer-state-changed", "printer-stopped", "printer-config-changed"],
        lease_duration=0,
    )
    watch = QueueWatch(subs, lambda: now[0], started=50)
    idle = ServiceStatus(printer_state="idle")
    watch.observe(QueueInfo("q", status=idle))
    assert not sub.pending  # the first sight is no change
    now[0] = 120
    watch.pushed(
        "q", ServiceStatus(printer_state="stopped", printer_state_reasons=["paused"]), True
    )
    watch.observe(QueueInfo("q", capabilities=Capabilities(copies_supported=9), status=idle))
    names = [e.name for _, e in sub.pending]
    assert names == [
        "printer-state-changed",
        "printer-stopped",
        "printer-state-changed",
        "printer-config-changed",
    ]
    assert watch.state_change_time("q") == 120 and watch.config_change_time("q") == 120

    reads: list[str] = []

    async def reader(queue: str) -> QueueInfo:
        reads.append(queue)
        return QueueInfo(queue, status=idle)

    watch.settle = 0.0
    watch.start(reader)
    watch.hint("q")
    watch.hint("q")  # while one is under way: one more round, not a second task
    await asyncio.sleep(0.05)
    await watch.stop()
    assert reads == ["q"] * 4
