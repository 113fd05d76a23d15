"""How long a session waits between attempts to reach the XMPP server again.

slixmpp's own schedule (0, 3, 9, 21 … s, up to 300) kept clients and managers offline
~12 s after a Prosody restart of 1-2 s. This one doubles from `first` up to `cap` with
"equal jitter" (each delay is drawn from the upper half of its step), so a session is
back within `cap` seconds of the server's return, and sessions that lost the server
together do not all knock again at the same instant.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any


class Backoff:
    def __init__(self, first: float = 0.1, cap: float = 2.0) -> None:
        self.first = first
        self.cap = cap
        self.attempts = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (seconds); each call is one attempt more."""
        step = min(self.cap, self.first * 2**self.attempts)
        self.attempts = min(self.attempts + 1, 32)  # 2**32 * first is past any cap
        return random.uniform(step / 2, step)

    def reset(self) -> None:
        """Connected: the next loss starts again from `first`."""
        self.attempts = 0


class QuickReconnect:
    """Mixed in before a slixmpp stream class (a session, the service's component): a
    failed connection attempt is retried after `backoff`'s delay, not slixmpp's. The
    stream calls reconnected() once it is logged in again."""

    backoff: Backoff

    def reconnected(self: Any) -> None:
        self.__dict__.setdefault("backoff", Backoff()).reset()

    def reschedule_connection_attempt(self: Any) -> asyncio.Future[Any] | None:
        """slixmpp's hook after a failed attempt; `_connect_loop` first sleeps
        `_connect_loop_wait`, which slixmpp grows to 3, 9, 21 … s."""
        if self._current_connection_attempt is None or getattr(self, "stopping", False):
            return None
        self._connect_loop_wait = self.__dict__.setdefault("backoff", Backoff()).next_delay()
        self._current_connection_attempt = asyncio.ensure_future(
            self._connect_loop(), loop=self.loop
        )
        return self._current_connection_attempt
