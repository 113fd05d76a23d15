"""Per-peer token buckets: how often one client address may make the gateway log in.

A login to the XMPP server (TLS, SCRAM) is the most expensive thing an unauthenticated
client can make the gateway do. Each peer address gets ``burst`` logins at once and
``rate`` more per second; beyond that the request is refused (HTTP 429) before any work.
The table keeps at most ``max_peers`` addresses: a full bucket carries no information,
so those go first when it is full.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(
        self,
        *,
        rate: float = 2.0,
        burst: float = 20.0,
        max_peers: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_peers = max_peers
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, peer: str) -> float:
        """Take one token for ``peer``: 0.0 if granted, else the seconds until one is."""
        now = self._clock()
        bucket = self._buckets.get(peer)
        if bucket is None:
            self._make_room(now)
            bucket = self._buckets[peer] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self.max_peers:
            return
        refill = self.burst / self.rate  # a bucket idle this long is full again
        for peer in [p for p, b in self._buckets.items() if now - b.stamp >= refill]:
            del self._buckets[peer]
        while len(self._buckets) >= self.max_peers:  # all busy: the oldest goes
            del self._buckets[next(iter(self._buckets))]
