"""RowCache: rows that only this service writes, kept in memory between reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar, cast

K = TypeVar("K")
V = TypeVar("V")


class Transactions(Protocol):
    """What a cache needs of the database (server.stores.db.Database): whether the calling
    task holds the open transaction, and to be told what becomes of that transaction."""

    @property
    def listeners(self) -> Sequence[object]: ...

    def listen(self, listener: RowCache[Any, Any]) -> None: ...

    def in_own_transaction(self) -> bool: ...


class RowCache(Generic[K, V]):
    """Rows that only this service writes, kept in memory between reads.

    Handlers read the same queue, device, job and document rows several times per job;
    caching them removes most statements per job. The rules:

    * A value loaded by a read is cached only when read outside the reading task's own
      transaction (so nothing that may still roll back is kept), and only if no write
      touched the cache while it was being read (the generation check).
    * A write either drops the key (`invalidate`: now, and again once it commits) or,
      when it knows the row exactly as stored (RETURNING *), stages it (`stage`): the
      writing transaction reads it back from the cache (so do the transactions after
      it in its group commit: they run in the same SQLite transaction), tasks outside
      it do not see it, and it becomes the cached value once the COMMIT succeeds. A
      rollback drops everything (the database tells it: it is a transaction listener).
    * A write that may touch rows the store cannot name clears the cache
      (`invalidate_all`), and so does a change made elsewhere (`changed_elsewhere`).

    One cache per store class and database (`of`): every instance of a store on the same
    database reads and writes the same rows. With a `limit`, the least recently used
    keys go first.
    """

    def __init__(self, db: Transactions, owner: type, *, limit: int | None = None) -> None:
        self.db = db
        self.owner = owner  # the store class whose rows these are
        self.limit = limit
        self._rows: dict[K, V] = {}
        self._staged: dict[K, V] = {}  # written by the open transaction, as stored
        # What the open transaction's writes mean once it commits, in order:
        # (key, value) becomes cached; (key, _FORGET) drops; (_ALL, _FORGET) clears.
        self._pending: list[tuple[Any, Any]] = []
        self._generation = 0
        db.listen(self)

    @classmethod
    def of(cls, db: Transactions, owner: type, *, limit: int | None = None) -> RowCache[K, V]:
        """The cache of `owner`'s rows on `db`, made on first use."""
        for listener in db.listeners:
            if isinstance(listener, RowCache) and listener.owner is owner:
                return cast(RowCache[K, V], listener)
        return cls(db, owner, limit=limit)

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
            self._pending.append((key, value))
        else:
            self._store(key, value)  # autocommit: durable already

    def invalidate(self, key: K) -> None:
        """After a write: drop the key now and again once the write commits."""
        self._generation += 1
        self._rows.pop(key, None)
        self._staged.pop(key, None)
        if self.db.in_own_transaction():
            self._pending.append((key, _FORGET))

    def invalidate_all(self) -> None:
        """After a write that may touch any row: clear now and again after commit."""
        self.clear()
        if self.db.in_own_transaction():
            self._pending.append((_ALL, _FORGET))

    def clear(self) -> None:
        self._generation += 1
        self._rows.clear()
        self._staged.clear()

    # --- what the database tells its transaction listeners ---------------------------
    def committed(self) -> None:
        """The open transaction committed: what it wrote is the cached value now."""
        pending, self._pending = self._pending, []
        for key, value in pending:
            self._generation += 1
            if key is _ALL:
                self.clear()
            elif value is _FORGET:
                self._rows.pop(key, None)
            else:
                self._staged.pop(key, None)
                self._store(key, value)

    def rolled_back(self) -> None:
        """Some of the open transaction's work is undone: nothing staged is true any more."""
        self._pending = []
        self.clear()

    def changed_elsewhere(self) -> None:
        """Rows changed behind the stores' back: nothing cached can be trusted."""
        self.clear()

    def _store(self, key: K, value: V) -> None:
        self._rows[key] = value
        if self.limit is not None and len(self._rows) > self.limit:
            del self._rows[next(iter(self._rows))]


_FORGET = object()  # pending: drop the key
_ALL = object()  # pending: every key
