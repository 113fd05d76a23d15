"""Per-user XMPP sessions: HTTP Basic credentials checked by logging in to Prosody.

The gateway keeps no password database: the first request of a user logs in to Prosody
over c2s/TLS (SASL SCRAM) as that user with the given password; success is the check.
The session is then kept (one per user) and reused while the same password comes
with each request (compared by a salted SHA-256, never stored in clear), until it has
been idle for ``idle_timeout`` seconds. A wrong password never reaches an existing
session: it costs a fresh login attempt, answered after a short delay; the same refused
password for the same user is then refused at once for ``REFUSED_TTL`` seconds, without
another login.

Logins are what an unauthenticated client can make expensive, so they are bounded: per
peer address by a token bucket (``gateway.ratelimit``; beyond it ``TooManyLogins``, HTTP
429), and at most ``max_logins`` run at once. Nothing is kept per user name that was
never logged in: a flood of made-up names leaves no trace.
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
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)

#: How long a refused (user, password) pair is refused without asking the XMPP server.
REFUSED_TTL = 60.0
MAX_REFUSED = 10_000

#: Logs a user in; raises PermissionError for refused credentials.
Login = Callable[[str, str], Awaitable[CloudClient]]


class NotAuthenticated(Exception):
    """The credentials were refused (answered HTTP 401)."""


class TooManyLogins(Exception):
    """The peer asked for more logins than its rate allows (answered HTTP 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many logins from this address; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass
class _UserLock:
    """Serialises the logins of one user; dropped once nobody holds or awaits it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass
class _Entry:
    client: CloudClient
    digest: bytes
    last_used: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_REFUSED = "the XMPP server refused the credentials"


class Sessions:
    def __init__(
        self,
        login: Login,
        *,
        idle_timeout: float = 900.0,
        failure_delay: float = 0.5,
        limiter: RateLimiter | None = None,
        max_logins: int = 4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._login = login
        self.idle_timeout = idle_timeout
        self.failure_delay = failure_delay
        self._clock = clock
        self._salt = secrets.token_bytes(16)
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, _UserLock] = {}
        self.limiter = RateLimiter(clock=clock) if limiter is None else limiter
        self._logins = asyncio.Semaphore(max_logins)
        self._refused: dict[bytes, float] = {}  # digest → until when it is refused at once
        self._reaper: asyncio.Task[None] | None = None
        #: Called with (user, client) after each new login (subscriptions hook in here).
        self.on_login: list[Callable[[str, CloudClient], None]] = []

    def _digest(self, user: str, password: str) -> bytes:
        return hashlib.sha256(self._salt + user.encode() + b"\0" + password.encode()).digest()

    async def get(self, user: str, password: str, peer: str | None = None) -> CloudClient:
        """The user's session, logging in first if needed; NotAuthenticated if refused,
        TooManyLogins if ``peer`` (the client's address) has used up its logins."""
        digest = self._digest(user, password)
        entry = self._entries.get(user)
        if entry is not None and hmac.compare_digest(entry.digest, digest):
            entry.last_used = self._clock()
            return entry.client
        if self._refused.get(digest, 0.0) > self._clock():
            raise NotAuthenticated(_REFUSED)
        held = self._locks.setdefault(user, _UserLock())
        held.users += 1
        try:
            async with held.lock:
                client = await self._login_once(user, password, digest, peer)
        finally:
            held.users -= 1
            if not held.users:
                self._locks.pop(user, None)
        if client is None:  # refused: the delay is served outside the user's lock
            await asyncio.sleep(self.failure_delay)
            raise NotAuthenticated(_REFUSED)
        return client

    async def _login_once(
        self, user: str, password: str, digest: bytes, peer: str | None
    ) -> CloudClient | None:
        """Log in (unless a login that finished meanwhile did); None if refused."""
        entry = self._entries.get(user)
        if entry is not None and hmac.compare_digest(entry.digest, digest):
            entry.last_used = self._clock()
            return entry.client
        if self._refused.get(digest, 0.0) > self._clock():
            return None
        if peer is not None:
            wait = self.limiter.take(peer)
            if wait:
                raise TooManyLogins(wait)
        try:
            async with self._logins:
                client = await self._login(user, password)
        except PermissionError:
            self._remember_refused(digest)
            return None
        old = self._entries.pop(user, None)
        self._entries[user] = _Entry(client, digest, self._clock())
        if old is not None:  # the password changed: the old session goes
            await _quietly_stop(old.client)
        for callback in self.on_login:
            callback(user, client)
        self._ensure_reaper()
        return client

    def _remember_refused(self, digest: bytes) -> None:
        now = self._clock()
        if len(self._refused) >= MAX_REFUSED:
            self._refused = {d: t for d, t in self._refused.items() if t > now}
            while len(self._refused) >= MAX_REFUSED:  # the oldest go
                del self._refused[next(iter(self._refused))]
        self._refused[digest] = now + REFUSED_TTL

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
