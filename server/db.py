"""The SQLite database: one aiosqlite connection, numbered migrations, nesting transactions."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiosqlite

log = logging.getLogger(__name__)


class Database:
    """Owns the connection. Stores borrow it; nothing else runs SQL.

    `transaction()` nests: the outermost one is BEGIN IMMEDIATE … COMMIT, inner ones
    are savepoints. Handlers run as concurrent tasks on one connection, so a lock gives
    one task at a time the connection: a task's transaction never swallows another
    task's statements, and an autocommit statement never joins someone's transaction.
    Callbacks registered with `after_commit` run once the outermost transaction has
    committed: that is where events are pushed, so nobody hears of a change that might
    still roll back.
    """

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._conn: aiosqlite.Connection | None = None
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []
        self._lock = asyncio.Lock()
        self.caches: list[RowCache[Any, Any]] = []
        self._owner: asyncio.Task[Any] | None = None

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a job acknowledged to a client survives power loss, not just a crash.
        await self._conn.execute(f"PRAGMA synchronous={self.synchronous}")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        await self._conn.execute("PRAGMA busy_timeout=5000")
        await self.migrate()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    # --- migrations -----------------------------------------------------------------
    async def migrate(self) -> None:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_version")
        current = (row["v"] if row else None) or 0
        for version, name, sql in _migrations():
            if version <= current:
                continue
            log.info("applying migration %03d %s", version, name)
            async with self.transaction():
                await _execute_script(self.conn, sql)
                await self.conn.execute("INSERT INTO schema_version VALUES (?)", (version,))

    # --- transactions ---------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._owner is asyncio.current_task():
            async with self._transaction():
                yield
            return
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                async with self._transaction():
                    yield
            finally:
                self._owner = None

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        outer = self._depth == 0
        savepoint = f"sp{self._depth}"
        await self.conn.execute("BEGIN IMMEDIATE" if outer else f"SAVEPOINT {savepoint}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if outer:
                await self.conn.execute("ROLLBACK")
                self._after_commit.clear()
            else:
                await self.conn.execute(f"ROLLBACK TO {savepoint}")
                await self.conn.execute(f"RELEASE {savepoint}")
            raise
        self._depth -= 1
        if outer:
            await self.conn.execute("COMMIT")
            callbacks, self._after_commit = self._after_commit, []
            for callback in callbacks:
                callback()
        else:
            await self.conn.execute(f"RELEASE {savepoint}")

    def in_own_transaction(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task()

    def clear_caches(self) -> None:
        """After deletes that cascade across tables."""
        for cache in self.caches:
            cache.clear()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run callback after the current transaction commits (now, if none is open)."""
        if self._owner is not asyncio.current_task():
            callback()
        else:
            self._after_commit.append(callback)

    # --- queries --------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """The connection for one statement: ours if we hold the transaction, else wait."""
        if self._owner is asyncio.current_task():
            yield
        else:
            async with self._lock:
                yield

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns lastrowid (inserts) or rowcount."""
        async with self._turn():
            cursor = await self.conn.execute(sql, tuple(params))
            is_insert = sql.lstrip().upper().startswith("INSERT")
            result = cursor.lastrowid if is_insert else cursor.rowcount
            await cursor.close()
        return int(result or 0)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self._turn():
            cursor = await self.conn.execute(sql, tuple(params))
            row = await cursor.fetchone()
            await cursor.close()
        return row

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._turn():
            cursor = await self.conn.execute(sql, tuple(params))
            rows = await cursor.fetchall()
            await cursor.close()
        return list(rows)


async def _execute_script(conn: aiosqlite.Connection, sql: str) -> None:
    # executescript() would COMMIT the open transaction first; run statement by statement.
    for statement in _split_sql(sql):
        await conn.execute(statement)


def _split_sql(sql: str) -> list[str]:
    # Our migrations keep ';' out of comments, so dropping comments makes splitting safe.
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("server.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:3].isdigit():
            found.append((int(name[:3]), name[4:-4], entry.read_text(encoding="utf-8")))
    return sorted(found)


K = TypeVar("K")
V = TypeVar("V")


class RowCache(Generic[K, V]):
    """Rows that only this service writes, kept in memory between reads.

    Handlers read the same queue, device and queue-state rows several times per job;
    caching them removes most statements per job. A value is cached only when read
    outside the reading task's own transaction (so nothing that may still roll back is
    kept), and only if no write touched the key while it was being read.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._rows: dict[K, V] = {}
        self._generation = 0
        db.caches.append(self)

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        if key in self._rows:
            return self._rows[key]
        generation = self._generation
        value = await load()
        if generation == self._generation and not self.db.in_own_transaction():
            self._rows[key] = value
        return value

    def invalidate(self, key: K) -> None:
        """After a write: drop the key now and again once the write commits."""
        self._generation += 1
        self._rows.pop(key, None)
        self.db.after_commit(functools.partial(self._forget, key))

    def _forget(self, key: K) -> None:
        self._generation += 1
        self._rows.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        self._rows.clear()
