"""IPP over HTTP (RFC 8010 §4, RFC 7472 for ipps) on aiohttp.

``POST`` with ``Content-Type: application/ipp`` to ``/ipp/print/QUEUE`` (or ``/``) is an
IPP request: the body is read as a stream (chunked or with a length; aiohttp's own
``request.read()`` would stop at 1 MiB), its attribute part decoded and the document
data relayed to the service as it arrives. ``Expect: 100-continue`` is answered only
once the credentials (if any) are known good, so a refused client never sends its
document. HTTP Basic is accepted over TLS, or in clear only from a loopback peer.
``GET /ipp/print/QUEUE`` is the printer-more-info page, ``GET /icons/QUEUE.png`` its icon.

Malformed HTTP is answered (400 by aiohttp; 501 for a transfer coding other than
chunked, RFC 9112 §6.1: it is not decoded, so a body must not be read as if it were
plain) and logged as one bounded line (``gateway.logs``), never with a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import html
import ipaddress
import logging
import ssl
from dataclasses import dataclass

from aiohttp import hdrs, web

from .core import AuthRequired, Gateway
from .icon import printer_icon
from .logs import ServerLog
from .request import Endpoint
from .sessions import NotAuthenticated, TooManyLogins

log = logging.getLogger(__name__)

REALM = 'Basic realm="Cirrus", charset="UTF-8"'
#: After an answer, unread document data up to this size is drained to keep the
#: connection; beyond it the connection is closed instead.
DRAIN_LIMIT = 1024 * 1024
DRAIN_TIMEOUT = 2.0


@dataclass(frozen=True)
class Listener:
    host: str
    port: int
    ssl_context: ssl.SSLContext | None = None


class BadCredentials(Exception):
    """An Authorization header that is no decodable HTTP Basic credential."""


def basic_credentials(request: web.BaseRequest) -> tuple[str, str] | None:
    """(user, password) from an Authorization: Basic header, None without one;
    BadCredentials when the header cannot be decoded (RFC 7617: base64 of UTF-8
    ``user:password``)."""
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise BadCredentials("the Basic credentials are not base64 of UTF-8 text") from None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise BadCredentials("the Basic credentials are not user:password")
    return user, password


def _unsupported_coding(request: web.BaseRequest) -> str | None:
    """A transfer coding other than chunked, if the request names one."""
    codings = [
        c.strip().lower()
        for header in request.headers.getall(hdrs.TRANSFER_ENCODING, [])
        for c in header.split(",")
        if c.strip()
    ]
    other = [c for c in codings if c != "chunked"]
    return other[0] if other else None


def _loopback(request: web.BaseRequest) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def _endpoint(request: web.BaseRequest) -> Endpoint:
    scheme = "ipps" if request.secure else "ipp"
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    port = sockname[1] if sockname else (631)
    host = request.host
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
        host = name
    elif host.count(":") == 1:
        name, _, number = host.partition(":")
        if number.isdigit():
            port = int(number)
        host = name
    return Endpoint(scheme, host or "localhost", port)


def _unauthorized(text: str) -> web.Response:
    response = web.Response(status=401, text=text, headers={hdrs.WWW_AUTHENTICATE: REALM})
    response.force_close()  # the client may not send (or may send) the body: start afresh
    return response


def _closing(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    response = web.Response(status=status, text=text, headers=headers)
    response.force_close()  # the body (if any) is not read: the connection cannot be reused
    return response


def _too_many(exc: TooManyLogins) -> web.Response:
    retry = str(max(1, round(exc.retry_after)))
    return _closing(429, f"{exc}\n", {hdrs.RETRY_AFTER: retry})


class IppHttp:
    """The aiohttp application around one Gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.app = web.Application(client_max_size=1024 * 1024)
        self.app.router.add_route("POST", "/", self.ipp, expect_handler=self.expect)
        self.app.router.add_route(
            "POST", "/ipp/print/{queue}", self.ipp, expect_handler=self.expect
        )
        self.app.router.add_route(
            "POST", "/ipp/print/{queue}/{job}", self.ipp, expect_handler=self.expect
        )
        self.app.router.add_get("/ipp/print/{queue}", self.page)
        self.app.router.add_get("/icons/{queue}.png", self.icon)
        self._runners: list[web.AppRunner] = []

    def _refuse(self, request: web.BaseRequest) -> web.Response | None:
        """What is refused before the body is read: a transfer coding that is not
        decoded, undecodable credentials, Basic in clear from a non-loopback peer."""
        coding = _unsupported_coding(request)
        if coding is not None:
            self.gateway.client_errors.report(request.remote, "transfer coding not chunked")
            return _closing(501, "only the chunked transfer coding is implemented\n")
        try:
            credentials = basic_credentials(request)
        except BadCredentials as exc:
            return _unauthorized(f"{exc}\n")
        if request.secure or _loopback(request) or credentials is None:
            return None
        return _closing(403, "HTTP Basic is only accepted over TLS: use the ipps:// URI\n")

    async def expect(self, request: web.Request) -> web.StreamResponse | None:
        if request.headers.get(hdrs.EXPECT, "").lower() != "100-continue":
            return _closing(417, "only Expect: 100-continue is understood\n")
        refused = self._refuse(request)
        if refused is not None:
            return refused
        credentials = basic_credentials(request)
        if credentials is not None:
            try:
                await self.gateway.authenticate(credentials, request.remote)
            except NotAuthenticated as exc:
                return _unauthorized(f"{exc}\n")
            except TooManyLogins as exc:
                return _too_many(exc)
        if request.version >= (1, 1):
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0
        return None

    async def ipp(self, request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/ipp":
            return _closing(400, "IPP requests are application/ipp\n")
        refused = self._refuse(request)
        if refused is not None:
            return refused
        try:
            answer = await self.gateway.handle(
                request.content,
                basic_credentials(request),
                _endpoint(request),
                peer=request.remote,
            )
        except AuthRequired:
            return _unauthorized("this operation needs a Cirrus account (HTTP Basic)\n")
        except NotAuthenticated as exc:
            return _unauthorized(f"{exc}\n")
        except TooManyLogins as exc:
            return _too_many(exc)
        response = web.Response(body=answer, content_type="application/ipp")
        if not await _drain(request):
            response.force_close()
        return response

    async def page(self, request: web.Request) -> web.Response:
        queue = html.escape(request.match_info["queue"])
        endpoint = _endpoint(request)
        uri = html.escape(f"{endpoint.base()}/ipp/print/{request.match_info['queue']}")
        body = (
            f"<!DOCTYPE html><html><head><title>{queue}</title></head><body>"
            f"<h1>{queue}</h1><p>A Cirrus cloud print queue. Add it as an IPP Everywhere "
            f"printer with the URI <code>{uri}</code> and your Cirrus account.</p>"
            "</body></html>"
        )
        return web.Response(text=body, content_type="text/html")

    async def icon(self, request: web.Request) -> web.Response:
        return web.Response(body=printer_icon(), content_type="image/png")

    async def start(self, listeners: list[Listener]) -> list[tuple[str, int, bool]]:
        """Listen on each; returns (host, port, tls) actually bound (port 0 = any)."""
        bound = []
        for listener in listeners:
            runner = web.AppRunner(
                self.app,
                access_log=None,
                handle_signals=False,
                logger=ServerLog(self.gateway.client_errors),
            )
            await runner.setup()
            site = web.TCPSite(
                runner, listener.host, listener.port, ssl_context=listener.ssl_context
            )
            await site.start()
            self._runners.append(runner)
            sockets = getattr(site._server, "sockets", None) or []
            port = sockets[0].getsockname()[1] if sockets else listener.port
            bound.append((listener.host, port, listener.ssl_context is not None))
        return bound

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()


async def _drain(request: web.Request) -> bool:
    """Read what is left of the body (an unread document); False if too much or slow."""
    content = request.content
    if content.at_eof():
        return True
    total = 0
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT):
            while chunk := await content.read(64 * 1024):
                total += len(chunk)
                if total > DRAIN_LIMIT:
                    return False
    except Exception:  # broke off, bad framing, too slow: the connection goes
        return False
    return True
