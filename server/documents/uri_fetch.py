"""Print by reference: fetch an http/https document URI into the spool, safely.

The service fetches URIs that users hand it, so the fetch is built to be a poor
tool for server-side request forgery and a poor target for resource exhaustion:

* the host name is resolved here (once per hop) and *every* address it resolves to
  is vetted (``check_address``); the connection then goes to those vetted addresses
  only — aiohttp's resolver is replaced by one that knows nothing else — so a
  second, different DNS answer (rebinding) cannot redirect it. TLS SNI, certificate
  verification and the Host header still use the name from the URI;
* redirects are followed by hand, each hop re-checked (scheme, addresses), at most
  ``max_redirects``; credentials in a URI go only to that URI's own hop;
* the body is streamed to the spool, never held in memory, and stops past
  ``max_size`` (refused up front when Content-Length already says so); connect,
  idle and whole-transfer timeouts bound the time;
* no proxy from the environment, no compression asked for (aiohttp bounds what it
  inflates per read if a server compresses anyway; ``max_size`` counts decoded bytes).

Every failure of the fetch raises ``UriFetchError`` with a message for people that
names the URI without its userinfo. Failures of the local disk are not the URI's
fault and propagate as they are.
"""

from __future__ import annotations

import asyncio
import http
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from server.documents.spool import DocumentTooLarge, Spool, SpooledFile
from stanzas.errors import DocumentAccessError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SUPPORTED_SCHEMES = frozenset({"http", "https"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ACCEPTED = frozenset({200, 203})
_CHUNK = 64 * 1024
_MAX_URI_LENGTH = 8192
_USER_AGENT = "Cirrus print-by-reference"

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # well-known prefix: embeds an IPv4 address
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215)


@dataclass(frozen=True)
class FetchPolicy:
    # loopback, link-local, private (RFC 1918/4193), CGNAT, multicast, unspecified, reserved
    allow_private: bool = False
    max_size: int = 2 * 1024**3
    connect_timeout: float = 10.0  # name resolution, TCP connect and TLS handshake, each
    total_timeout: float = 300.0  # the whole transfer, redirects included
    idle_timeout: float = 30.0  # no byte for this long
    max_redirects: int = 5
    schemes: tuple[str, ...] = ("http", "https")
    # Networks allowed even when allow_private is False (e.g. one intranet document
    # server: ("10.1.2.3/32",)). An IPv4-mapped/NAT64/6to4 address matches by its IPv4.
    allow_networks: tuple[str, ...] = ()
    # Origins ("https://upload.example.com:443", see `origin`) whose addresses are not
    # vetted, by name: the XMPP server's file share on the organisation's own network.
    # Every other host, a redirect's too, is vetted as usual.
    allow_origins: tuple[str, ...] = ()
    # How messages name the URI instead of the URI itself: a capability URL (a chat
    # upload's) would hand the document to whoever reads the job's state message.
    display_name: str | None = None

    def __post_init__(self) -> None:
        if self.max_size < 0 or self.max_redirects < 0:
            raise ValueError("max_size and max_redirects must not be negative")
        if min(self.connect_timeout, self.total_timeout, self.idle_timeout) <= 0:
            raise ValueError("timeouts must be positive")
        unknown = set(self.schemes) - _SUPPORTED_SCHEMES
        if unknown:
            raise ValueError(f"unsupported schemes {sorted(unknown)}; only http and https")
        for network in self.allow_networks:
            ipaddress.ip_network(network, strict=False)  # raises ValueError when malformed


class UriFetchError(DocumentAccessError):
    """The document at a URI could not be fetched; the message says why, for people."""


def check_address(ip: IPAddress | str, policy: FetchPolicy) -> str | None:
    """Why the policy refuses connecting to ``ip`` (e.g. "a private address"), or None.

    An address is refused unless it is public, or ``policy.allow_private`` is set, or it
    lies in one of ``policy.allow_networks``. IPv4 addresses carried inside IPv6 ones
    (IPv4-mapped, NAT64 well-known prefix, 6to4) are judged by their IPv4 address.
    """
    address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if policy.allow_private:
        return None
    embedded, how = _embedded_ipv4(address)
    for network in policy.allow_networks:
        net = ipaddress.ip_network(network, strict=False)
        if address in net or (embedded is not None and embedded in net):
            return None
    if embedded is not None:
        reason = _non_public(embedded)
        return f"{reason} ({how} {embedded})" if reason else None
    return _non_public(address)


def _embedded_ipv4(address: IPAddress) -> tuple[ipaddress.IPv4Address | None, str]:
    if isinstance(address, ipaddress.IPv4Address):
        return None, ""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64 for"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4 for"
    return None, ""


def _non_public(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if isinstance(address, ipaddress.IPv6Address) and address in _NAT64_LOCAL:
        return "a local-use NAT64 address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def origin(url: URL) -> str:
    """scheme://host:port, lower case, the port spelt out (FetchPolicy.allow_origins)."""
    scheme = url.scheme.lower()
    port = url.port if url.port is not None else {"http": 80, "https": 443}.get(scheme, 0)
    return f"{scheme}://{_host_key(url.raw_host or '')}:{port}"


def _display(url: URL) -> str:
    """The URI for messages and logs: never its userinfo (credentials)."""
    if url.raw_user is not None or url.raw_password is not None:
        url = url.with_user(None)
    return str(url.with_fragment(None))


async def _getaddrinfo(host: str, port: int) -> list[tuple[Any, ...]]:
    """The system resolver; a seam for tests, which must not send DNS queries."""
    loop = asyncio.get_running_loop()
    return await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)


class _PinnedResolver(AbstractResolver):
    """Answers aiohttp with the addresses vetted for a host, and nothing else."""

    def __init__(self) -> None:
        self._pins: dict[str, list[IPAddress]] = {}

    def pin(self, host: str, addresses: list[IPAddress]) -> None:
        self._pins[_host_key(host)] = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = self._pins.get(_host_key(host))
        if not addresses:
            raise OSError(f"{host} was not vetted")
        return [
            ResolveResult(
                hostname=host,
                host=str(ip),
                port=port,
                family=socket.AF_INET if ip.version == 4 else socket.AF_INET6,
                proto=socket.IPPROTO_TCP,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for ip in addresses
        ]

    async def close(self) -> None:
        return None


def _host_key(host: str) -> str:
    return host.rstrip(".").lower()


def _parse(uri: str, policy: FetchPolicy) -> URL:
    if len(uri) > _MAX_URI_LENGTH:
        raise UriFetchError(f"the URI is longer than {_MAX_URI_LENGTH} characters")
    try:
        url = URL(uri)
        url.port  # noqa: B018 — a bad port only shows when asked for
    except (ValueError, TypeError):
        raise UriFetchError("not a valid URI") from None
    if not url.scheme:
        raise UriFetchError(f"{_name(url, policy)}: not an absolute URI")
    _check_url(url, policy)
    return url


def _name(url: URL, policy: FetchPolicy) -> str:
    return policy.display_name if policy.display_name is not None else _display(url)


def _check_url(url: URL, policy: FetchPolicy) -> None:
    scheme = url.scheme.lower()
    if scheme not in policy.schemes:
        raise UriFetchError(f"{_name(url, policy)}: unsupported URI scheme {scheme!r}")
    if not url.raw_host:
        raise UriFetchError(f"{_name(url, policy)}: the URI names no host")


class _Fetch:
    def __init__(
        self,
        url: URL,
        spool: Spool,
        prefix: str,
        policy: FetchPolicy,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.original = url
        self.current = url
        self.spool = spool
        self.prefix = prefix
        self.policy = policy
        self.ssl_context = ssl_context
        self.resolver = _PinnedResolver()

    def error(self, what: str) -> UriFetchError:
        if self.policy.display_name is not None:
            return UriFetchError(f"{self.policy.display_name}: {what}")
        name = _display(self.original)
        if self.current != self.original:
            name = f"{name} (redirected to {_display(self.current)})"
        return UriFetchError(f"{name}: {what}")

    async def run(self) -> tuple[SpooledFile, str | None]:
        policy = self.policy
        connector = aiohttp.TCPConnector(
            resolver=self.resolver,
            use_dns_cache=False,
            ssl=self.ssl_context if self.ssl_context is not None else True,
            limit=1,
        )
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=policy.connect_timeout,
            sock_connect=policy.connect_timeout,
            sock_read=policy.idle_timeout,
        )
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            trust_env=False,  # no proxy from the environment: connect to what was vetted
            headers={"Accept-Encoding": "identity", "User-Agent": _USER_AGENT},
        ) as session:
            for _hop in range(policy.max_redirects + 1):
                await self.vet(self.current)
                log.debug("fetching %s", _display(self.current))
                try:
                    response = await session.get(self.current, allow_redirects=False)
                except Exception as exc:
                    raise self.translate(exc) from None
                async with response:
                    if response.status in _REDIRECTS:
                        self.current = self.redirect_target(response)
                        continue
                    return await self.receive(response)
        raise self.error(f"too many redirects (more than {policy.max_redirects})")

    async def vet(self, url: URL) -> None:
        """Check scheme and every address the host has; pin those addresses."""
        try:
            _check_url(url, self.policy)
        except UriFetchError as exc:
            raise self.error(exc.message.removeprefix(f"{_name(url, self.policy)}: ")) from None
        host = url.raw_host
        assert host is not None
        try:
            addresses: list[IPAddress] = [ipaddress.ip_address(host)]
            literal = True
        except ValueError:
            addresses = await self.resolve(host, url.port or 0)
            literal = False
        allowed = origin(url) in self.policy.allow_origins
        for ip in addresses:
            reason = None if allowed else check_address(ip, self.policy)
            if reason is not None:
                where = str(ip) if literal else f"{host} resolves to {ip}, which"
                raise self.error(f"{where} is {reason}; this queue does not allow them")
        self.resolver.pin(host, addresses)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            async with asyncio.timeout(self.policy.connect_timeout):
                infos = await _getaddrinfo(host, port)
        except TimeoutError:
            raise self.error(
                f"timed out (the name did not resolve within {self.policy.connect_timeout:g} s)"
            ) from None
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)):
                raise self.error("name does not resolve") from None
            raise self.error(f"name does not resolve ({exc.strerror or exc})") from None
        except (OSError, UnicodeError) as exc:
            raise self.error(f"name does not resolve ({exc})") from None
        addresses: list[IPAddress] = []
        for family, _type, _proto, _canon, sockaddr in infos:
            if family not in (socket.AF_INET, socket.AF_INET6):
                continue
            ip = ipaddress.ip_address(sockaddr[0])
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise self.error("name does not resolve (no addresses)")
        return addresses

    def redirect_target(self, response: aiohttp.ClientResponse) -> URL:
        location = response.headers.get("Location")
        if not location:
            raise self.error(f"the server redirected (HTTP {response.status}) to nowhere")
        try:
            target = self.current.join(URL(location))
            target.port  # noqa: B018 — a bad port only shows when asked for
        except (ValueError, TypeError):
            raise self.error("the server redirected to an invalid URI") from None
        log.debug("%s redirects to %s", _display(self.current), _display(target))
        return target.with_fragment(None)

    async def receive(self, response: aiohttp.ClientResponse) -> tuple[SpooledFile, str | None]:
        status = response.status
        if status not in _ACCEPTED:
            raise self.error(_status_message(status))
        max_size = self.policy.max_size
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        length = None if encoded else response.content_length
        if length is not None and length > max_size:
            raise self.error(f"larger than {max_size} octets (the server announced {length})")
        try:
            spooled = await self.spool.receive(
                self.body(response), prefix=self.prefix, max_size=max_size, expected_size=length
            )
        except UriFetchError:
            raise
        except DocumentTooLarge:
            raise self.error(f"larger than {max_size} octets") from None
        except DocumentAccessError as exc:  # the spool's size check
            raise self.error(f"the transfer was cut short ({exc.message})") from None
        log.debug("fetched %s: %d octets", _display(self.current), spooled.size)
        content_type = response.headers.get("Content-Type")
        return spooled, (content_type.strip() or None) if content_type else None

    async def body(self, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        # Network errors are translated here, so that anything else the spool raises
        # (a full disk, say) stays what it is.
        while True:
            try:
                chunk = await response.content.read(_CHUNK)
            except Exception as exc:
                raise self.translate(exc) from None
            if not chunk:
                return
            yield chunk

    def translate(self, exc: Exception) -> UriFetchError:
        policy = self.policy
        if isinstance(exc, UriFetchError):
            return exc
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            cert_error = exc.certificate_error
            detail = getattr(cert_error, "verify_message", None) or str(cert_error)
            return self.error(f"TLS failure (the certificate is not trusted: {detail})")
        if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
            ssl_error = exc.os_error if isinstance(exc, aiohttp.ClientSSLError) else exc
            detail = getattr(ssl_error, "reason", None) or str(ssl_error)
            return self.error(f"TLS failure ({detail})")
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return self.error(f"timed out (no connection within {policy.connect_timeout:g} s)")
        if isinstance(exc, aiohttp.SocketTimeoutError):
            return self.error(f"timed out (nothing received for {policy.idle_timeout:g} s)")
        if isinstance(exc, TimeoutError):
            return self.error("timed out")
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            return self.error("name does not resolve")
        if isinstance(exc, aiohttp.ClientConnectorError):
            return self.error(f"unreachable ({_os_error_text(exc.os_error)})")
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            return self.error("the server closed the connection unexpectedly")
        if isinstance(exc, aiohttp.ClientPayloadError):
            return self.error("the transfer was cut short (the response body is incomplete)")
        if isinstance(exc, aiohttp.ClientResponseError):
            return self.error(f"the server sent a malformed response ({exc.message})")
        if isinstance(exc, aiohttp.ClientError | OSError):
            return self.error(f"the connection failed ({_os_error_text(exc)})")
        log.warning("unexpected error fetching %s", _name(self.current, policy), exc_info=exc)
        return self.error(f"the fetch failed ({type(exc).__name__})")


def _status_message(status: int) -> str:
    if status in (401, 403):
        return f"the server refused access (HTTP {status})"
    if status == 404:
        return "not found (HTTP 404)"
    if status == 410:
        return "gone (HTTP 410)"
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        return f"the server answered HTTP {status}"
    return f"the server answered HTTP {status} ({phrase})"


def _os_error_text(exc: BaseException) -> str:
    errno = getattr(exc, "errno", None)
    if isinstance(errno, int) and errno > 0:
        try:
            return os.strerror(errno).lower()
        except ValueError:
            pass
    return str(exc) or type(exc).__name__


async def fetch_to_spool(
    uri: str,
    spool: Spool,
    *,
    prefix: str,
    policy: FetchPolicy,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[SpooledFile, str | None]:
    """Fetch ``uri`` into ``spool``: the spooled file and the server's Content-Type (or None).

    ``ssl_context`` None means the system's CAs. Raises ``UriFetchError`` for every
    failure to fetch (with nothing left in the spool).
    """
    url = _parse(uri, policy)
    fetch = _Fetch(url, spool, prefix, policy, ssl_context)
    try:
        async with asyncio.timeout(policy.total_timeout):
            return await fetch.run()
    except TimeoutError:  # only the whole-transfer deadline gets here; the rest are translated
        raise fetch.error(f"timed out (not complete within {policy.total_timeout:g} s)") from None
