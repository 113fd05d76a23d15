"""RowCache: rows that only this service writes, kept in memory between reads."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, TypeVar, cast

if TYPE_CHECKING:
    from server.db import Database

K = TypeVar("K")
V = TypeVar("V")


class RowCache(Generic[K, V]):
    """Rows that only this service writes, kept in memory between reads.

    Handlers read the same queue, device, job and document rows several times per job;
    caching them removes most statements per job. The rules:

    * A value loaded by a read is cached only when read outside the reading task's own
      transaction (so nothing that may still roll back is kept), and only if no write
      touched the cache while it was being read (the generation check).
    * A write either drops the key (`invalidate`, now and again after commit) or, when
      it knows the row exactly as stored (RETURNING *), stages it (`stage`): the
      writing transaction reads it back from the cache (so do the transactions after
      it in its group commit: they run in the same SQLite transaction), tasks outside
      it do not see it, and it becomes the cached value once the COMMIT succeeds. A
      rollback drops what was staged.
    * A write that may touch rows the store cannot name clears the cache
      (`invalidate_all`).

    With a `limit`, the least recently used keys go first.
    """

    def __init__(self, db: Database, *, limit: int | None = None) -> None:
        self.db = db
        self.limit = limit
        self._rows: dict[K, V] = {}
        self._staged: dict[K, V] = {}  # written by the open transaction, as stored
        self._generation = 0
        db.caches.append(self)

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        found, known = self.known(key)
        if found:
            return cast(V, known)  # V itself may include None (a missing row)
        generation = self._generation
        value = await load()
        if generation == self._generation and not self.db.in_own_transaction():
            self._store(key, value)
        return value

    def known(self, key: K) -> tuple[bool, V | None]:
        """The row as the calling task would read it, if the cache holds it."""
        if self._staged and key in self._staged and self.db.in_own_transaction():
            return True, self._staged[key]
        if key not in self._rows:
            return False, None
        value = self._rows[key]
        if self.limit is not None:  # most recently used last
            del self._rows[key]
            self._rows[key] = value
        return True, value

    def stage(self, key: K, value: V) -> None:
        """After a write that returned the row as stored (None: the row is gone)."""
        self._generation += 1
        self._rows.pop(key, None)
        if self.db.in_own_transaction():
            self._staged[key] = value
            self.db.after_commit(functools.partial(self._committed, key, value))
        else:
            self._store(key, value)  # autocommit: durable already

    def invalidate(self, key: K) -> None:
        """After a write: drop the key now and again once the write commits."""
        self._generation += 1
        self._rows.pop(key, None)
        self._staged.pop(key, None)
        self.db.after_commit(functools.partial(self._forget, key))

    def invalidate_all(self) -> None:
        """After a write that may touch any row: clear now and again after commit."""
        self.clear()
        self.db.after_commit(self.clear)

    def clear(self) -> None:
        self._generation += 1
        self._rows.clear()
        self._staged.clear()

    def _committed(self, key: K, value: V) -> None:
        self._staged.pop(key, None)
        self._generation += 1
        self._store(key, value)

    def _forget(self, key: K) -> None:
        self._generation += 1
        self._rows.pop(key, None)

    def _store(self, key: K, value: V) -> None:
        self._rows[key] = value
        if self.limit is not None and len(self._rows) > self.limit:
            del self._rows[next(iter(self._rows))]
