"""Network probes of `cirrus doctor`, one job each. Every probe returns a short line
saying what it found, or raises `ProbeFailed` with one line saying what is wrong."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slixmpp import JID, ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout

from stanzas.session import tls_context

TIMEOUT = 10.0  # seconds for each network step
STREAM_NS = "http://etherx.jabber.org/streams"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
STANZA_ERROR_NS = "urn:ietf:params:xml:ns:xmpp-streams"


# Relative paths of a config resolve in the unit's credentials directory under systemd.
CREDENTIAL_HINT = " (under the systemd unit, a LoadCredential= line provides the file)"


class ProbeFailed(Exception):
    """One line: what is wrong."""


async def resolve(host: str) -> str:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), TIMEOUT
        )
    except (OSError, TimeoutError) as exc:
        raise ProbeFailed(f"{host} does not resolve ({_reason(exc)})") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    return f"{host} → {', '.join(addresses)}"


@contextlib.asynccontextmanager
async def _connect(
    host: str, port: int
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise ProbeFailed(f"cannot connect to {host}:{port} ({_reason(exc)})") from None
    try:
        yield reader, writer
    finally:
        # No goodbye: a TLS close waits for the server's close_notify, which ejabberd
        # sends only when its stream times out (30 s).
        writer.transport.abort()


async def reachable(host: str, port: int) -> str:
    async with _connect(host, port):
        return f"{host}:{port} accepts connections"


class _Stream:
    """The top-level children of an XMPP stream, as they arrive."""

    def __init__(self, reader: asyncio.StreamReader, what: str) -> None:
        self.reader = reader
        self.what = what
        self.parser: Any = ET.XMLPullParser(events=("start", "end"))
        self.header: ET.Element | None = None
        self._depth = 0
        self._ready: list[ET.Element] = []

    async def next(self) -> ET.Element:
        """The stream header first, then each complete child of the stream."""
        while not self._ready:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise ProbeFailed(f"{self.what}: {_reason(exc)}") from None
            if not data:
                raise ProbeFailed(f"{self.what}: the server closed the connection")
            try:
                self.parser.feed(data)
                events: list[tuple[str, ET.Element]] = list(self.parser.read_events())
            except ET.ParseError as exc:
                raise ProbeFailed(f"{self.what}: not an XMPP stream ({exc})") from None
            for event, element in events:
                if event == "start":
                    self._depth += 1
                    if self._depth == 1:
                        self.header = element
                        self._ready.append(element)
                else:
                    self._depth -= 1
                    if self._depth == 1:
                        self._ready.append(element)
        return self._ready.pop(0)


def _stream_error(element: ET.Element) -> str | None:
    if element.tag != f"{{{STREAM_NS}}}error":
        return None
    conditions = [c.tag.split("}")[-1] for c in element if not c.tag.endswith("}text")]
    text = element.findtext(f"{{{STANZA_ERROR_NS}}}text")
    return " ".join(conditions) + (f": {text}" if text else "")


def _header(xmlns: str, to: str) -> bytes:
    return (
        f"<?xml version='1.0'?><stream:stream xmlns='{xmlns}' xmlns:stream='{STREAM_NS}' "
        f"to='{to}' version='1.0'>"
    ).encode()


async def starttls(host: str, port: int, domain: str, ca_file: Path | None) -> str:
    """STARTTLS on the c2s port; the certificate must be valid for the XMPP domain."""
    what = f"c2s {host}:{port}"
    async with _connect(host, port) as (reader, writer):
        writer.write(_header("jabber:client", domain))
        stream = _Stream(reader, what)
        await stream.next()  # the header
        features = await stream.next()
        error = _stream_error(features)
        if error:
            raise ProbeFailed(f"{what} refused the stream for {domain}: {error}")
        if features.find(f"{{{TLS_NS}}}starttls") is None:
            raise ProbeFailed(f"{what} offers no STARTTLS for {domain}")
        writer.write(f"<starttls xmlns='{TLS_NS}'/>".encode())
        answer = await stream.next()
        if answer.tag != f"{{{TLS_NS}}}proceed":
            raise ProbeFailed(f"{what} refused STARTTLS ({answer.tag.split('}')[-1]})")
        try:
            await asyncio.wait_for(
                writer.start_tls(tls_context(ca_file), server_hostname=domain), TIMEOUT
            )
        except ssl.SSLCertVerificationError as exc:
            raise ProbeFailed(
                f"{what}: certificate not valid for {domain}: {exc.verify_message}"
                + _trust_hint(ca_file)
            ) from None
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            raise ProbeFailed(f"{what}: TLS failed ({_reason(exc)})") from None
        return f"{what}: STARTTLS, certificate valid for {domain}{_expiry(writer)}"


def _expiry(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peercert")
    return f" until {peer['notAfter']}" if peer and "notAfter" in peer else ""


def _trust_hint(ca_file: Path | None) -> str:
    return f" (trusting {ca_file})" if ca_file else " (trusting the system's CAs)"


async def component_handshake(host: str, port: int, component: str, secret: str) -> str:
    """A XEP-0114 handshake with the secret, then close the stream at once."""
    what = f"component {component} at {host}:{port}"
    async with _connect(host, port) as (reader, writer):
        writer.write(_header("jabber:component:accept", component))
        stream = _Stream(reader, what)
        header = await stream.next()
        error = _stream_error(header)
        if error:
            raise ProbeFailed(f"{what}: {error}")
        stream_id = header.get("id")
        if not stream_id:
            raise ProbeFailed(f"{what}: the server sent no stream id (not a component port?)")
        digest = hashlib.sha1((stream_id + secret).encode()).hexdigest()
        writer.write(f"<handshake>{digest}</handshake>".encode())
        answer = await stream.next()
        writer.write(b"</stream:stream>")  # leave at once: ejabberd routes to every connection
        with contextlib.suppress(OSError):
            await writer.drain()
        if answer.tag in ("{jabber:component:accept}handshake", "handshake"):
            return f"{what}: secret accepted"
        error = _stream_error(answer) or answer.tag
        if error.startswith("conflict"):
            # Prosody checks the secret first, then refuses a second connection.
            return f"{what}: secret accepted (the component is connected: the service runs)"
        if error.startswith("not-authorized"):
            raise ProbeFailed(f"{what}: the XMPP server refused the secret")
        if error.startswith("host-unknown"):
            raise ProbeFailed(f"{what}: the XMPP server has no component {component}")
        raise ProbeFailed(f"{what}: handshake refused ({error})")


class _Login(ClientXMPP):
    def __init__(self, jid: str, password: str, ca_file: Path | None) -> None:
        super().__init__(jid, password, ssl_context=tls_context(ca_file))
        self.enable_direct_tls = False
        self.enable_starttls = True
        self.enable_plaintext = False
        self.outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.register_plugin("xep_0030")
        self.add_event_handler("session_start", lambda _e: self._settle("ok"))
        self.add_event_handler("failed_all_auth", lambda _e: self._settle("refused"))
        self.add_event_handler("connection_failed", lambda e: self._settle(f"failed: {e}"))
        self.add_event_handler("disconnected", lambda _e: self._settle("disconnected"))

    def _settle(self, outcome: str) -> None:
        if not self.outcome.done():
            self.outcome.set_result(outcome)


async def login(
    host: str, port: int, jid: str, password: str, ca_file: Path | None, service_jid: str
) -> str:
    """SASL login over STARTTLS, then ask the service for its disco#info: proof that the
    account can reach the service."""
    client = _Login(jid, password, ca_file)
    client.connect(host, port)
    try:
        try:
            outcome = await asyncio.wait_for(asyncio.shield(client.outcome), TIMEOUT)
        except TimeoutError:
            raise ProbeFailed(f"login as {jid}: no answer in {TIMEOUT:.0f} s") from None
        if outcome == "refused":
            raise ProbeFailed(f"login as {jid}: the XMPP server refused the password")
        if outcome != "ok":
            raise ProbeFailed(f"login as {jid} at {host}:{port}: {outcome}")
        try:
            await client.plugin["xep_0030"].get_info(jid=JID(service_jid), timeout=TIMEOUT)
        except IqError as exc:
            raise ProbeFailed(
                f"logged in as {jid}, but the service {service_jid} does not answer "
                f"({exc.iq['error']['condition']})"
            ) from None
        except IqTimeout:
            raise ProbeFailed(
                f"logged in as {jid}, but the service {service_jid} does not answer"
            ) from None
        return f"logged in as {jid}; the service {service_jid} answers"
    finally:
        client.cancel_connection_attempt()  # slixmpp retries a failed connect forever
        if client.transport is not None:
            await client.disconnect(wait=1.0)


async def https_endpoint(url: str, ca_file: Path | None) -> str:
    """The byte endpoint answers a request for an unknown document with Cirrus's own 404
    (a JSON body with an IPP status): reachable, TLS valid, and it is Cirrus there."""
    parts = urlsplit(url)
    probe = f"{url.rstrip('/')}/documents/cirrus-doctor-probe"
    context: ssl.SSLContext | bool = tls_context(ca_file) if parts.scheme == "https" else False
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http,
            http.get(probe, ssl=context) as response,
        ):
            body = await response.text()
            status = response.status
            content_type = response.content_type
    except aiohttp.ClientConnectorCertificateError as exc:
        verify = getattr(exc.certificate_error, "verify_message", str(exc.certificate_error))
        raise ProbeFailed(
            f"{url}: certificate not valid for {parts.hostname}: {verify}{_trust_hint(ca_file)}"
        ) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise ProbeFailed(f"{url}: not reachable ({_reason(exc)})") from None
    if status == 404 and content_type == "application/json" and "client-error" in body:
        tls = "TLS valid, " if parts.scheme == "https" else "no TLS, "
        return f"{url}: {tls}the service answers"
    if status in (502, 503, 504):
        raise ProbeFailed(f"{url}: HTTP {status} from the proxy: is the service running?")
    raise ProbeFailed(f"{url}: HTTP {status} ({content_type}): not the Cirrus byte endpoint")


def certificate_files(cert_file: Path, key_file: Path | None) -> str:
    """The files load as a chain and its key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert_file, key_file)
    except FileNotFoundError as exc:
        raise ProbeFailed(f"{exc.filename}: no such file{CREDENTIAL_HINT}") from None
    except PermissionError as exc:
        raise ProbeFailed(f"{exc.filename}: not readable here{CREDENTIAL_HINT}") from None
    except ssl.SSLError as exc:
        raise ProbeFailed(f"{cert_file} / {key_file}: {_reason(exc)}") from None
    return f"{cert_file} and its key load"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _reason(exc.os_error)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"timed out after {TIMEOUT:.0f} s"
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
