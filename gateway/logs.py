"""Logging that no client can blow up: one bounded line per client error, rate-limited.

A malformed request is the client's error, not the gateway's: it is logged as one line
at INFO, without a traceback, with at most ``MAX_FIELD`` characters of anything the peer
sent (control characters escaped), and at most ``BURST`` such lines per ``WINDOW``
seconds (then one line says how many were left out). ``BoundedFormatter`` caps every
record, tracebacks of the gateway's own faults included, at ``MAX_RECORD`` characters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

#: Characters of peer-controlled text in one log line.
MAX_FIELD = 200
#: Characters of one formatted record (message and traceback).
MAX_RECORD = 8192
WINDOW = 10.0
BURST = 20

log = logging.getLogger("gateway.clients")


def clip(value: object, limit: int = MAX_FIELD) -> str:
    """``value`` as one printable line of at most about ``limit`` characters."""
    text = str(value)
    cut = len(text) - limit
    text = text[:limit].encode("unicode_escape", "backslashreplace").decode("ascii")
    if len(text) > limit:
        text = text[:limit]
    return f"{text}... [{cut} more]" if cut > 0 else text


def is_client_error(exc: BaseException | None) -> bool:
    """Errors a peer causes: bad HTTP framing, a connection that broke off."""
    return isinstance(exc, HttpProcessingError | ConnectionError | TimeoutError)


class ClientErrors:
    """Rate-limited one-line reports of client errors."""

    def __init__(
        self, logger: logging.Logger = log, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._log = logger
        self._clock = clock
        self._window_start = -WINDOW
        self._count = 0
        self.reported = 0
        self.suppressed = 0

    def report(self, peer: str | None, what: str, exc: BaseException | None = None) -> None:
        now = self._clock()
        if now - self._window_start >= WINDOW:
            left_out = self._count - BURST
            if left_out > 0:
                self._log.info("%d more client errors in %.0f s were not logged", left_out, WINDOW)
            self._window_start, self._count = now, 0
        self._count += 1
        if self._count > BURST:
            self.suppressed += 1
            return
        self.reported += 1
        detail = f": {type(exc).__name__}: {clip(_message(exc))}" if exc is not None else ""
        self._log.info("client error from %s: %s%s", clip(peer or "?", 64), clip(what), detail)


def _message(exc: BaseException) -> str:
    if isinstance(exc, HttpProcessingError):
        return exc.message.strip().splitlines()[0] if exc.message.strip() else str(exc.code)
    return str(exc)


class ServerLog:
    """The logger given to aiohttp's request handler: its 'Error handling request'
    records of malformed HTTP become ``ClientErrors`` lines; anything else (a fault of
    the gateway or of aiohttp) keeps its traceback."""

    def __init__(self, clients: ClientErrors, logger: logging.Logger | None = None) -> None:
        self.clients = clients
        self._log = logger or logging.getLogger("aiohttp.server")

    def debug(self, *args: Any, **kw: Any) -> None:
        if self._log.isEnabledFor(logging.DEBUG):
            self._log.debug(*args, **{**kw, "exc_info": None})

    def exception(self, msg: str, *args: Any, exc_info: Any = True, **kw: Any) -> None:
        exc = exc_info if isinstance(exc_info, BaseException) else None
        if is_client_error(exc):
            peer = args[0] if args and msg.startswith("Error handling request from") else None
            self.clients.report(str(peer) if peer else None, "malformed HTTP request", exc)
            return
        self._log.error(msg, *args, exc_info=exc_info, **kw)


class BoundedFormatter(logging.Formatter):
    """A formatter whose records are at most ``MAX_RECORD`` characters."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if len(text) <= MAX_RECORD:
            return text
        return f"{text[:MAX_RECORD]}... [{len(text) - MAX_RECORD} characters left out]"
