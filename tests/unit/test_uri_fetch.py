"""server.documents.uri_fetch against real aiohttp servers on 127.0.0.1.

Loopback only: name resolution is stubbed for the whole module (no DNS query leaves
the host) and every connection attempt is checked to go to loopback; refusals of
other addresses must happen before any connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gzip
import hashlib
import ipaddress
import random
import re
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohappyeyeballs
import pytest
from aiohttp import web

from server.documents import uri_fetch
from server.documents.spool import Spool
from server.documents.uri_fetch import FetchPolicy, UriFetchError, check_address, fetch_to_spool

DOC = random.Random(1).randbytes(300_000)
# Loopback allowed for the test servers; everything else non-public stays refused.
LOOP = FetchPolicy(allow_networks=("127.0.0.1/32",))


# --- guards: no DNS, no traffic off loopback ------------------------------------------


@dataclass
class FakeDns:
    answers: dict[str, list[list[str]]] = field(default_factory=dict)  # host -> successive answers
    asked: list[str] = field(default_factory=list)
    hang: set[str] = field(default_factory=set)

    def add(self, host: str, *answers: list[str]) -> None:
        self.answers[host] = list(answers)

    async def getaddrinfo(self, host: str, port: int) -> list[tuple[Any, ...]]:
        self.asked.append(host)
        if host in self.hang:
            await asyncio.Event().wait()
        if host in self.answers:
            queue = self.answers[host]
            ips = queue.pop(0) if len(queue) > 1 else queue[0]
            return [_addrinfo(ip, port) for ip in ips]
        # Numeric forms (e.g. "2130706433") are parsed locally; names never reach DNS.
        loop = asyncio.get_running_loop()
        return await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )


def _addrinfo(ip: str, port: int) -> tuple[Any, ...]:
    if ipaddress.ip_address(ip).version == 4:
        return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port))
    return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, port, 0, 0))


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(uri_fetch, "_getaddrinfo", fake.getaddrinfo)
    return fake


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every address aiohttp tries to connect to; anything off loopback fails the test."""
    seen: list[str] = []
    real = aiohappyeyeballs.start_connection

    async def guarded(*args: Any, **kwargs: Any) -> socket.socket:
        hosts = [info[4][0] for info in kwargs["addr_infos"]]
        seen.extend(hosts)
        if not all(ipaddress.ip_address(h).is_loopback for h in hosts):
            raise ConnectionRefusedError(f"test guard: connection to {hosts} blocked")
        return await real(*args, **kwargs)

    monkeypatch.setattr(aiohappyeyeballs, "start_connection", guarded)
    yield seen
    assert all(ipaddress.ip_address(h).is_loopback for h in seen), seen


# --- servers ---------------------------------------------------------------------------


@dataclass
class Server:
    base: str  # http://127.0.0.1:port
    port: int
    tls_port: int
    requests: list[tuple[str, str]]  # (path, Host header)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    key, crt = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-subj", "/CN=localhost", "-days", "1"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(crt)),
        ],
        check=True,
        capture_output=True,
    )
    return crt, key


@pytest.fixture
def client_tls(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))


def _app(requests: list[tuple[str, str]], release: asyncio.Event) -> web.Application:
    async def log(request: web.Request) -> None:
        requests.append((request.path_qs, request.headers.get("Host", "")))

    async def doc(request: web.Request) -> web.Response:
        await log(request)
        return web.Response(body=DOC, content_type="application/pdf")

    async def status(request: web.Request) -> web.Response:
        await log(request)
        return web.Response(status=int(request.match_info["code"]), text="no")

    async def host(request: web.Request) -> web.Response:
        await log(request)
        return web.Response(text=request.headers.get("Host", ""))

    async def auth(request: web.Request) -> web.Response:
        await log(request)
        expected = "Basic " + base64.b64encode(b"user:s3cret").decode()
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401)
        return web.Response(body=DOC)

    async def stall(request: web.Request) -> web.StreamResponse:
        await log(request)
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"%PDF-1.7\n")
        await release.wait()  # set at teardown
        return response

    async def chunked(request: web.Request) -> web.StreamResponse:
        await log(request)
        response = web.StreamResponse()
        response.enable_chunked_encoding()  # no Content-Length
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            for _ in range(16):
                await response.write(b"x" * 65536)
            await response.write_eof()
        return response

    async def announced(request: web.Request) -> web.Response:
        await log(request)
        return web.Response(body=b"x" * 1001)

    async def gz(request: web.Request) -> web.Response:
        await log(request)
        size = int(request.match_info["size"])
        body = gzip.compress(DOC if size == 0 else b"\0" * size)
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    async def redirect(request: web.Request) -> web.Response:
        await log(request)
        n = int(request.match_info["n"])
        target = "/doc" if n <= 1 else f"/redirect/{n - 1}"  # relative Location
        raise web.HTTPFound(target)

    async def to(request: web.Request) -> web.Response:
        await log(request)
        raise web.HTTPFound(request.query["url"])

    async def loop(request: web.Request) -> web.Response:
        await log(request)
        raise web.HTTPMovedPermanently(str(request.url))

    async def nowhere(request: web.Request) -> web.Response:
        await log(request)
        return web.Response(status=302)

    app = web.Application()
    app.router.add_get("/doc", doc)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/host", host)
    app.router.add_get("/auth", auth)
    app.router.add_get("/stall", stall)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/announced", announced)
    app.router.add_get("/gzip/{size}", gz)
    app.router.add_get("/redirect/{n}", redirect)
    app.router.add_get("/to", to)
    app.router.add_get("/loop", loop)
    app.router.add_get("/nowhere", nowhere)
    return app


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def server(cert: tuple[Path, Path]) -> AsyncIterator[Server]:
    requests: list[tuple[str, str]] = []
    release = asyncio.Event()
    runner = web.AppRunner(_app(requests, release), shutdown_timeout=1.0)
    await runner.setup()
    plain, tls = _listen(), _listen()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(str(cert[0]), str(cert[1]))
    await web.SockSite(runner, plain).start()
    await web.SockSite(runner, tls, ssl_context=server_tls).start()
    port, tls_port = plain.getsockname()[1], tls.getsockname()[1]
    try:
        yield Server(f"http://127.0.0.1:{port}", port, tls_port, requests)
    finally:
        release.set()
        await runner.cleanup()


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    spool = Spool(tmp_path / "spool")
    spool.prepare()
    return spool


def _files(spool: Spool) -> list[str]:
    return sorted(p.name for p in spool.directory.iterdir())


async def _refused(uri: str, spool: Spool, policy: FetchPolicy, match: str) -> str:
    with pytest.raises(UriFetchError, match=match) as caught:
        await fetch_to_spool(uri, spool, prefix="doc", policy=policy)
    assert caught.value.status == "client-error-document-access-error"
    assert _files(spool) == []  # nothing left behind
    return caught.value.message


# --- fetching --------------------------------------------------------------------------


async def test_good_fetch(server: Server, spool: Spool) -> None:
    spooled, content_type = await fetch_to_spool(
        f"{server.base}/doc", spool, prefix="job7", policy=LOOP
    )
    assert spooled.size == len(DOC)
    assert spooled.digest == hashlib.sha256(DOC).hexdigest()
    assert spool.path(spooled.name).read_bytes() == DOC
    assert spooled.name.startswith("job7-")
    assert _files(spool) == [spooled.name]
    assert content_type == "application/pdf"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (401, "the server refused access (HTTP 401)"),
        (403, "the server refused access (HTTP 403)"),
        (404, "not found (HTTP 404)"),
        (500, "the server answered HTTP 500 (Internal Server Error)"),
    ],
)
async def test_http_errors(server: Server, spool: Spool, code: int, message: str) -> None:
    uri = f"{server.base}/status/{code}"
    got = await _refused(uri, spool, LOOP, re.escape(message))
    assert got == f"{uri}: {message}"


async def test_connection_refused(spool: Spool) -> None:
    closed = _listen()
    port = closed.getsockname()[1]
    closed.close()
    await _refused(
        f"http://127.0.0.1:{port}/doc", spool, LOOP, r": unreachable \(connection refused\)$"
    )


async def test_idle_timeout(server: Server, spool: Spool) -> None:
    policy = FetchPolicy(allow_networks=("127.0.0.1/32",), idle_timeout=0.5)
    started = time.monotonic()
    await _refused(
        f"{server.base}/stall", spool, policy, re.escape("timed out (nothing received for 0.5 s)")
    )
    assert time.monotonic() - started < 2


async def test_total_timeout(server: Server, spool: Spool) -> None:
    policy = FetchPolicy(allow_networks=("127.0.0.1/32",), total_timeout=0.3)
    await _refused(
        f"{server.base}/stall", spool, policy, re.escape("timed out (not complete within 0.3 s)")
    )


async def test_too_large_by_content_length(server: Server, spool: Spool) -> None:
    policy = FetchPolicy(allow_networks=("127.0.0.1/32",), max_size=1000)
    await _refused(
        f"{server.base}/announced",
        spool,
        policy,
        re.escape("larger than 1000 octets (the server announced 1001)"),
    )


async def test_too_large_streamed_chunked(server: Server, spool: Spool) -> None:
    policy = FetchPolicy(allow_networks=("127.0.0.1/32",), max_size=100_000)
    await _refused(f"{server.base}/chunked", spool, policy, r": larger than 100000 octets$")


async def test_compressed_body_is_decoded_and_bounded(server: Server, spool: Spool) -> None:
    spooled, _ = await fetch_to_spool(f"{server.base}/gzip/0", spool, prefix="d", policy=LOOP)
    assert spool.path(spooled.name).read_bytes() == DOC
    spool.discard(spooled.name)
    policy = FetchPolicy(allow_networks=("127.0.0.1/32",), max_size=1_000_000)
    # ~20 KB on the wire, 20 MB inflated
    await _refused(f"{server.base}/gzip/20000000", spool, policy, "larger than 1000000 octets")


# --- redirects -------------------------------------------------------------------------


async def test_redirect_chain(server: Server, spool: Spool) -> None:
    spooled, _ = await fetch_to_spool(f"{server.base}/redirect/5", spool, prefix="d", policy=LOOP)
    assert spooled.digest == hashlib.sha256(DOC).hexdigest()
    assert [path for path, _ in server.requests] == [
        "/redirect/5",
        "/redirect/4",
        "/redirect/3",
        "/redirect/2",
        "/redirect/1",
        "/doc",
    ]


async def test_too_many_redirects(server: Server, spool: Spool) -> None:
    await _refused(
        f"{server.base}/redirect/6", spool, LOOP, re.escape("too many redirects (more than 5)")
    )
    assert len(server.requests) == 6
    policy = FetchPolicy(allow_networks=("127.0.0.1/32",), max_redirects=0)
    await _refused(f"{server.base}/loop", spool, policy, "too many redirects")


async def test_redirect_to_metadata_address_refused_before_connecting(
    server: Server, spool: Spool, connections: list[str]
) -> None:
    uri = f"{server.base}/to?url=http://169.254.169.254/latest/meta-data/"
    message = await _refused(uri, spool, LOOP, "link-local")
    assert message == (
        f"{uri} (redirected to http://169.254.169.254/latest/meta-data/): "
        "169.254.169.254 is a link-local address; this queue does not allow them"
    )
    assert connections == ["127.0.0.1"]  # the first hop only


async def test_redirect_to_name_resolving_private_refused(
    server: Server, spool: Spool, dns: FakeDns, connections: list[str]
) -> None:
    dns.add("intranet.test", ["10.0.0.5"])
    await _refused(
        f"{server.base}/to?url=http://intranet.test/secret",
        spool,
        LOOP,
        re.escape("intranet.test resolves to 10.0.0.5, which is a private address;"),
    )
    assert connections == ["127.0.0.1"]


@pytest.mark.parametrize("target", ["ftp://example.test/doc", "file:///etc/passwd"])
async def test_redirect_to_bad_scheme(server: Server, spool: Spool, target: str) -> None:
    scheme = target.split(":")[0]
    await _refused(
        f"{server.base}/to?url={target}", spool, LOOP, f"unsupported URI scheme '{scheme}'"
    )


async def test_redirect_without_location(server: Server, spool: Spool) -> None:
    await _refused(f"{server.base}/nowhere", spool, LOOP, "redirected .* to nowhere")


# --- addresses and names ---------------------------------------------------------------


@pytest.mark.parametrize("uri", ["ftp://example.test/doc", "file:///etc/passwd"])
async def test_bad_scheme(spool: Spool, uri: str, dns: FakeDns) -> None:
    scheme = uri.split(":")[0]
    await _refused(uri, spool, LOOP, re.escape(f"{uri}: unsupported URI scheme '{scheme}'"))
    assert dns.asked == []


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://127.0.0.1:{port}/doc", "127.0.0.1 is a loopback address"),
        ("http://[::1]:{port}/doc", "::1 is a loopback address"),
        (
            "http://[::ffff:127.0.0.1]:{port}/doc",
            "::ffff:7f00:1 is a loopback address (IPv4-mapped 127.0.0.1)",
        ),
        ("http://[::ffff:10.0.0.5]/", "a private address (IPv4-mapped 10.0.0.5)"),
        ("http://2130706433:{port}/doc", "2130706433 resolves to 127.0.0.1, which is a loopback"),
        ("http://10.0.0.5/", "10.0.0.5 is a private address"),
        ("http://169.254.169.254/", "169.254.169.254 is a link-local address"),
        ("http://100.64.1.1/", "100.64.1.1 is a shared (carrier-grade NAT) address"),
        ("http://0.0.0.0:{port}/", "0.0.0.0 is an unspecified address"),
    ],
)
async def test_non_public_addresses_refused_before_connecting(
    server: Server, spool: Spool, connections: list[str], uri: str, message: str
) -> None:
    got = await _refused(uri.format(port=server.port), spool, FetchPolicy(), re.escape(message))
    assert got.endswith("; this queue does not allow them")
    assert connections == []
    assert server.requests == []


async def test_loopback_fetch_when_private_allowed(server: Server, spool: Spool) -> None:
    spooled, _ = await fetch_to_spool(
        f"{server.base}/doc", spool, prefix="d", policy=FetchPolicy(allow_private=True)
    )
    assert spooled.size == len(DOC)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.5", "a private address"),
        ("172.16.3.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("127.0.0.2", "a loopback address"),
        ("169.254.169.254", "a link-local address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("100.127.255.254", "a shared (carrier-grade NAT) address"),
        ("224.0.0.251", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("240.0.0.1", "a reserved address"),
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fd12:3456::1", "a private address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:169.254.169.254", "a link-local address (IPv4-mapped 169.254.169.254)"),
        ("64:ff9b::a00:5", "a private address (NAT64 for 10.0.0.5)"),
        ("64:ff9b:1::1", "a local-use NAT64 address"),
        ("2002:a00:5::1", "a private address (6to4 for 10.0.0.5)"),
        ("8.8.8.8", None),
        ("100.128.0.1", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
    ],
)
def test_check_address(address: str, reason: str | None) -> None:
    assert check_address(address, FetchPolicy()) == reason
    assert check_address(ipaddress.ip_address(address), FetchPolicy(allow_private=True)) is None


def test_check_address_allow_networks() -> None:
    policy = FetchPolicy(allow_networks=("127.0.0.1/32", "fd00::/8"))
    assert check_address("127.0.0.1", policy) is None
    assert check_address("::ffff:127.0.0.1", policy) is None
    assert check_address("fd00::5", policy) is None
    assert check_address("127.0.0.2", policy) == "a loopback address"
    assert check_address("10.0.0.1", policy) == "a private address"
    with pytest.raises(ValueError):
        FetchPolicy(allow_networks=("not-a-network",))
    with pytest.raises(ValueError):
        FetchPolicy(schemes=("ftp",))


async def test_any_disallowed_address_refuses_the_name(
    spool: Spool, dns: FakeDns, connections: list[str]
) -> None:
    dns.add("mixed.test", ["93.184.216.34", "10.0.0.5"])
    await _refused(
        "http://mixed.test/doc",
        spool,
        FetchPolicy(),
        re.escape("http://mixed.test/doc: mixed.test resolves to 10.0.0.5, which is a private"),
    )
    assert connections == []


async def test_name_does_not_resolve(spool: Spool) -> None:
    await _refused(
        "http://nowhere.test/doc", spool, FetchPolicy(), r"^http://nowhere.test/doc: name does not"
    )


async def test_name_resolution_timeout(spool: Spool, dns: FakeDns) -> None:
    dns.hang.add("slow.test")
    policy = FetchPolicy(connect_timeout=0.3)
    await _refused(
        "http://slow.test/", spool, policy, re.escape("the name did not resolve within 0.3 s")
    )


async def test_connects_to_the_vetted_address_only(
    server: Server, spool: Spool, dns: FakeDns, connections: list[str]
) -> None:
    # A rebinding name: the first answer passes, any later one would point elsewhere.
    dns.add("docs.test", ["127.0.0.1"], ["10.0.0.5"], ["10.0.0.5"])
    uri = f"http://docs.test:{server.port}/host"
    spooled, _ = await fetch_to_spool(uri, spool, prefix="d", policy=LOOP)
    assert spool.path(spooled.name).read_bytes() == f"docs.test:{server.port}".encode()
    assert dns.asked == ["docs.test"]
    assert connections == ["127.0.0.1"]


# --- TLS and credentials ---------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_https_with_trusted_self_signed_cert(
    server: Server, spool: Spool, dns: FakeDns, client_tls: ssl.SSLContext, host: str
) -> None:
    dns.add("localhost", ["127.0.0.1"])
    policy = FetchPolicy(allow_networks=("127.0.0.1/32",))
    spooled, content_type = await fetch_to_spool(
        f"https://{host}:{server.tls_port}/doc",
        spool,
        prefix="d",
        policy=policy,
        ssl_context=client_tls,
    )
    assert spooled.digest == hashlib.sha256(DOC).hexdigest()
    assert content_type == "application/pdf"


async def test_https_untrusted_cert_is_a_tls_failure(
    server: Server, spool: Spool, dns: FakeDns
) -> None:
    dns.add("localhost", ["127.0.0.1"])
    message = await _refused(f"https://localhost:{server.tls_port}/doc", spool, LOOP, "TLS failure")
    assert "certificate is not trusted" in message
    assert server.requests == []


async def test_https_name_mismatch_is_a_tls_failure(
    server: Server, spool: Spool, dns: FakeDns, client_tls: ssl.SSLContext
) -> None:
    dns.add("other.test", ["127.0.0.1"])  # connects to the right server, wrong name
    with pytest.raises(UriFetchError, match="TLS failure"):
        await fetch_to_spool(
            f"https://other.test:{server.tls_port}/doc",
            spool,
            prefix="d",
            policy=LOOP,
            ssl_context=client_tls,
        )


async def test_credentials_are_used_but_never_shown(server: Server, spool: Spool) -> None:
    good = f"http://user:s3cret@127.0.0.1:{server.port}/auth"
    spooled, _ = await fetch_to_spool(good, spool, prefix="d", policy=LOOP)
    assert spooled.size == len(DOC)
    spool.discard(spooled.name)
    message = await _refused(
        f"http://user:wrong@127.0.0.1:{server.port}/auth", spool, LOOP, r"HTTP 401"
    )
    assert "wrong" not in message and "user" not in message
    assert message.startswith(f"http://127.0.0.1:{server.port}/auth: ")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://example.test:99999/", "not a valid URI"),
        ("just some words", "not an absolute URI"),
        ("http:///path", "names no host"),
    ],
)
async def test_malformed_uris(spool: Spool, uri: str, message: str) -> None:
    await _refused(uri, spool, FetchPolicy(), message)


# --- the XMPP server's file share (allow_origins, display_name) -----------------------


async def test_an_allowed_origin_is_fetched_though_private_and_nothing_else_is(
    server: Server, spool: Spool
) -> None:
    share = FetchPolicy(
        allow_origins=(f"http://127.0.0.1:{server.port}",),
        max_redirects=0,
        display_name="the shared file doc",
    )
    spooled, _type = await fetch_to_spool(f"{server.base}/doc", spool, prefix="s", policy=share)
    assert spooled.size == len(DOC)
    spool.discard(spooled.name)
    # The same host on another port is not the file share: vetted, and refused.
    other = f"http://127.0.0.1:{server.tls_port}/doc"
    message = await _refused(other, spool, share, "loopback")
    assert message.startswith("the shared file doc: ") and other not in message
    # No redirect away from it, and the link (a capability) is never shown.
    uri = f"{server.base}/to?url=http://169.254.169.254/"
    message = await _refused(uri, spool, share, "too many redirects")
    assert message == "the shared file doc: too many redirects (more than 0)"
