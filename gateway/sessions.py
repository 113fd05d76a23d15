"""Per-user XMPP sessions: HTTP Basic credentials checked by logging in to Prosody.

The gateway keeps no password database: the first request of a user logs in to Prosody
over c2s/TLS (SASL SCRAM) as that user with the given password; success is the check.
The session is then kept (one per user) and reused while the same password comes
with each request (compared by a salted SHA-256, never stored in clear), until it has
been idle for ``idle_timeout`` seconds. A wrong password never reaches an existing
session: it costs a fresh login attempt, after a short per-user delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .cloud import CloudClient

log = logging.getLogger(__name__)

#: Logs a user in; raises PermissionError for refused credentials.
Login = Callable[[str, str], Awaitable[CloudClient]]


class NotAuthenticated(Exception):
    """The credentials were refused (answered HTTP 401)."""


@dataclass
class _Entry:
    client: CloudClient
    digest: bytes
    last_used: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Sessions:
    def __init__(
        self,
        login: Login,
        *,
        idle_timeout: float = 900.0,
        failure_delay: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._login = login
        self.idle_timeout = idle_timeout
        self.failure_delay = failure_delay
        self._clock = clock
        self._salt = secrets.token_bytes(16)
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._reaper: asyncio.Task[None] | None = None
        #: Called with (user, client) after each new login (subscriptions hook in here).
        self.on_login: list[Callable[[str, CloudClient], None]] = []

    def _digest(self, user: str, password: str) -> bytes:
        return hashlib.sha256(self._salt + user.encode() + b"\0" + password.encode()).digest()

    async def get(self, user: str, password: str) -> CloudClient:
        """The user's session, logging in first if needed; NotAuthenticated if refused."""
        digest = self._digest(user, password)
        entry = self._entries.get(user)
        if entry is not None and hmac.compare_digest(entry.digest, digest):
            entry.last_used = self._clock()
            return entry.client
        lock = self._locks.setdefault(user, asyncio.Lock())
        async with lock:
            entry = self._entries.get(user)
            if entry is not None and hmac.compare_digest(entry.digest, digest):
                entry.last_used = self._clock()
                return entry.client
            try:
                client = await self._login(user, password)
            except PermissionError:
                await asyncio.sleep(self.failure_delay)
                raise NotAuthenticated(
                    f"the XMPP server refused the credentials of {user}"
                ) from None
            old = self._entries.pop(user, None)
            self._entries[user] = _Entry(client, digest, self._clock())
            if old is not None:  # the password changed: the old session goes
                await _quietly_stop(old.client)
            for callback in self.on_login:
                callback(user, client)
            self._ensure_reaper()
            return client

    def cached(self, user: str) -> CloudClient | None:
        entry = self._entries.get(user)
        return entry.client if entry else None

    def users(self) -> list[str]:
        return list(self._entries)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def _reap(self) -> None:
        while self._entries:
            await asyncio.sleep(min(60.0, self.idle_timeout / 2))
            now = self._clock()
            for user, entry in list(self._entries.items()):
                if now - entry.last_used > self.idle_timeout:
                    self._entries.pop(user, None)
                    log.info("closing the idle session of %s", user)
                    await _quietly_stop(entry.client)

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        entries, self._entries = list(self._entries.values()), {}
        await asyncio.gather(*(_quietly_stop(e.client) for e in entries))


async def _quietly_stop(client: CloudClient) -> None:
    try:
        await client.stop()
    except Exception:  # a session that is already gone cannot fail the caller
        log.debug("stopping a session failed", exc_info=True)
