"""The SQLite database: one aiosqlite connection, numbered migrations, nesting transactions."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

log = logging.getLogger(__name__)

# Members of one group commit at most: bounds how long the first one waits for its
# COMMIT, and how many savepoints SQLite keeps until then.
GROUP_LIMIT = 32


class GroupCommitFailed(aiosqlite.OperationalError):
    """The COMMIT of a group this member's work was in failed: none of it is durable."""


class TransactionListener(Protocol):
    """Keeps something derived from committed rows (the stores' caches,
    server/stores/cache.py) and is told what becomes of the work it saw written.

    `committed` comes after the COMMIT that made the open transaction's work durable and
    before any after-commit callback runs (so whatever those callbacks read is as
    committed); `rolled_back` after some or all of it was undone; `changed_elsewhere`
    when rows changed that no store wrote (raw SQL, cascades a store cannot name).

    This is also where changes made by another instance on the same database will come
    in: a listener of PostgreSQL's LISTEN/NOTIFY will call `changed_elsewhere` (by key,
    once caches take keys from outside), and a listener's `committed` is where this
    instance will NOTIFY the others of what it wrote.
    """

    def committed(self) -> None: ...

    def rolled_back(self) -> None: ...

    def changed_elsewhere(self) -> None: ...


class Database:
    """Owns the connection. Stores borrow it; nothing else runs SQL.

    `transaction()` nests: the outermost one is a member of a group commit (below),
    inner ones are savepoints. Handlers run as concurrent tasks on one connection, so a
    lock gives one task at a time the connection: a task's transaction never swallows
    another task's statements while it runs. Callbacks registered with `after_commit`
    run once the COMMIT that holds the transaction's work has succeeded: that is where
    events are pushed, so nobody hears of a change that might still roll back.

    Every call into aiosqlite is a hop to its thread and back (~0.1 ms of the event
    loop's time, and more of the lock's while the loop is busy), so each statement is
    one call, and BEGIN and SAVEPOINT are sent only when the first statement of their
    level runs: a transaction served wholly from the stores' caches costs no hop at all.
    """

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous
        self._conn: aiosqlite.Connection | None = None
        self._depth = 0  # transaction() blocks entered by the owner
        self._opened = 0  # of those, how many have sent their BEGIN / SAVEPOINT
        self._after_commit: list[Callable[[], None]] = []
        self._lock = asyncio.Lock()
        self._listeners: list[TransactionListener] = []
        self._owner: asyncio.Task[Any] | None = None
        # Group commit (see _member).
        self._waiting = 0  # tasks waiting for the connection
        self._in_group = False  # BEGIN sent by a member, COMMIT not yet
        self._began = False  # the current member sent that BEGIN
        self._group: list[asyncio.Future[None]] = []  # members waiting for the COMMIT
        self._group_callbacks: list[Callable[[], None]] = []  # theirs, in order
        self._flushers: set[asyncio.Task[None]] = set()
        self.errors = 0  # statements SQLite refused (busy, full disk, constraint …): metrics

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._conn.row_factory = aiosqlite.Row
        await self.fetchall("PRAGMA journal_mode=WAL")
        # FULL: a job acknowledged to a client survives power loss, not just a crash.
        await self.execute(f"PRAGMA synchronous={self.synchronous}")
        await self.execute("PRAGMA foreign_keys=ON")
        await self.fetchall("PRAGMA busy_timeout=5000")
        await self.migrate()

    async def close(self) -> None:
        if self._flushers:
            await asyncio.gather(*self._flushers, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    # --- migrations -----------------------------------------------------------------
    async def migrate(self) -> None:
        await self.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = await self.fetchone("SELECT MAX(version) AS v FROM schema_version")
        current = (row["v"] if row else None) or 0
        for version, name, sql in _migrations():
            if version <= current:
                continue
            log.info("applying migration %03d %s", version, name)
            async with self.transaction():
                # executescript() would COMMIT the open transaction first.
                for statement in _split_sql(sql):
                    await self.execute(statement)
                await self.execute("INSERT INTO schema_version VALUES (?)", (version,))

    # --- transactions ---------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._owner is asyncio.current_task():
            async with self._transaction():
                yield
            return
        async with self._member():
            async with self._transaction():
                yield

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        level = self._depth
        callbacks_before = len(self._after_commit)
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            await self._roll_back(level, callbacks_before)
            raise
        self._depth -= 1
        # No RELEASE, and no COMMIT here (the member's end commits its group): a
        # savepoint stays on SQLite's stack until COMMIT (or an enclosing ROLLBACK TO)
        # ends it. A later block of the same level opens a new one of the same name, and
        # ROLLBACK TO names the most recent, so each block still rolls back exactly its
        # own work; a hop per block saved.
        self._opened = min(self._opened, level)

    async def _roll_back(self, level: int, callbacks_before: int) -> None:
        """Undo the work of the block at `level`, and forget what it meant to announce."""
        opened = self._opened > level
        self._opened = min(self._opened, level)
        del self._after_commit[callbacks_before:]
        if not opened:
            return  # it ran no statement
        if level == 0 and self._began:
            # It opened the transaction, so it is the group's first member: all of it goes.
            # Some errors may have ended the transaction already.
            self._began = False
            self._in_group = False
            if self.conn.in_transaction:
                await self._hop("ROLLBACK")
        elif self.conn.in_transaction:
            await self._hop(f"ROLLBACK TO sp{level}")
        # What the block wrote is gone from the database.
        self._rolled_back()

    async def _open_levels(self) -> None:
        """Send the BEGIN / SAVEPOINTs of the blocks that have run no statement yet. A
        member that finds its group's transaction open joins it with a savepoint."""
        while self._opened < self._depth:
            level = self._opened
            if level == 0 and not self._in_group:
                await self._hop("BEGIN IMMEDIATE")
                self._in_group = self._began = True
            else:
                await self._hop(f"SAVEPOINT sp{level}")
            self._opened += 1

    # --- group commit -----------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _member(self) -> AsyncIterator[None]:
        """One task's turn on the connection (a transaction, or one statement outside
        any); it ends once its work is committed.

        Group commit: when others are waiting for the connection, a member that wrote
        does not COMMIT but hands the open transaction on and waits; the member after
        which nobody waits (or the GROUP_LIMIT-th) commits for all of them, runs their
        after-commit callbacks in order, and wakes them. Nobody returns, so nobody
        answers a client or pushes anything, before the COMMIT that holds its work; and
        everybody reading inside the open transaction is a member too, so nothing
        uncommitted leaves a member. A member that fails rolls back to its savepoint.
        As before, a transaction must not wait for another task that may be waiting for
        the database; now that includes a task whose read is waiting for its group's
        COMMIT.
        """
        self._waiting += 1
        try:
            await self._lock.acquire()
        except BaseException:
            self._waiting -= 1
            self._flush_if_abandoned()
            raise
        self._waiting -= 1
        self._owner = asyncio.current_task()
        self._began = False
        turn: asyncio.Future[None] | None = None
        failed = False
        try:
            try:
                yield
            except BaseException:
                failed = True  # its own work is undone: nothing of it to wait for
                raise
            finally:
                turn = await self._end_member(join=not failed)
        finally:
            self._owner = None
            self._lock.release()
        if turn is not None:
            await turn

    async def _end_member(self, *, join: bool) -> asyncio.Future[None] | None:
        """Commit the group, or hand the connection on (and, with `join`, return the
        future that the group's COMMIT settles)."""
        self._group_callbacks += self._after_commit
        self._after_commit = []
        self._opened = 0
        if not self._in_group:  # nothing uncommitted (reads, or an autocommit write)
            self._run_callbacks()
            return None
        if self._waiting and len(self._group) + 1 < GROUP_LIMIT:
            if not join:
                return None
            turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._group.append(turn)
            return turn
        await self._commit_group()
        return None

    async def _commit_group(self) -> None:
        members, self._group = self._group, []
        callbacks, self._group_callbacks = self._group_callbacks, []
        self._in_group = False
        commit = asyncio.ensure_future(self._hop("COMMIT"))
        try:
            await asyncio.shield(commit)
        except asyncio.CancelledError:
            # The COMMIT runs on (it is in the aiosqlite queue); its outcome settles them.
            commit.add_done_callback(lambda done: self._settle(done, members, callbacks))
            raise
        except BaseException:
            try:
                if self.conn.in_transaction:
                    await self._hop("ROLLBACK")
            finally:
                self._settle(commit, members, callbacks)
            raise
        self._settle(commit, members, callbacks)

    def _settle(
        self,
        commit: asyncio.Future[None],
        members: list[asyncio.Future[None]],
        callbacks: list[Callable[[], None]],
    ) -> None:
        """After the group's COMMIT: announce and wake its members, or tell them it failed
        (nothing of it is durable, and nothing is announced)."""
        error = None if commit.cancelled() else commit.exception()
        if commit.cancelled() or error is not None:
            self._rolled_back()
            for turn in members:
                if not turn.done():
                    turn.set_exception(GroupCommitFailed(f"COMMIT failed: {error!r}"))
            return
        self._committed()
        for callback in callbacks:
            callback()
        for turn in members:
            if not turn.done():
                turn.set_result(None)

    def _run_callbacks(self) -> None:
        callbacks, self._group_callbacks = self._group_callbacks, []
        for callback in callbacks:
            callback()

    def _flush_if_abandoned(self) -> None:
        """A task gave up waiting for the connection: if it was the one the group handed
        on to, nobody will commit the group, so a task of our own does."""
        if self._in_group and not self._lock.locked() and not self._waiting:
            task = asyncio.get_running_loop().create_task(self._flush())
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)

    async def _flush(self) -> None:
        async with self._member():
            pass

    async def _hop(self, sql: str) -> None:
        # The cursor is dropped here, while the caller holds the connection.
        await self.conn.execute(sql)

    def in_own_transaction(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task()

    # --- transaction listeners ----------------------------------------------------------
    @property
    def listeners(self) -> Sequence[TransactionListener]:
        return tuple(self._listeners)

    def listen(self, listener: TransactionListener) -> None:
        self._listeners.append(listener)

    def unlisten(self, listener: TransactionListener) -> None:
        self._listeners.remove(listener)

    def changed_elsewhere(self) -> None:
        """Rows changed that no store wrote (raw SQL; later: another instance)."""
        for listener in self._listeners:
            listener.changed_elsewhere()

    def _committed(self) -> None:
        for listener in self._listeners:
            listener.committed()

    def _rolled_back(self) -> None:
        for listener in self._listeners:
            listener.rolled_back()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run callback after the current transaction commits (now, if none is open).
        It runs in the context (contextvars) of the code that registered it, not in that
        of whichever member of the group commit ran the COMMIT: what it reads of the
        request it belongs to (the job log's cause) is its own request's."""
        if self._owner is not asyncio.current_task():
            callback()
        else:
            self._after_commit.append(functools.partial(contextvars.copy_context().run, callback))

    # --- queries: one hop to the aiosqlite thread each --------------------------------
    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """The connection for one statement: ours if we hold the transaction, else wait."""
        if self._owner is asyncio.current_task():
            await self._open_levels()
            yield
        else:
            async with self._member():
                yield

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run a statement; returns lastrowid (inserts) or the rows it changed itself
        (sqlite3_changes: not the rows ON DELETE CASCADE removed with them)."""
        is_insert = sql.lstrip()[:6].upper() == "INSERT"
        async with self._turn():
            try:
                cursor = await self.conn.execute(sql, tuple(params))
            except sqlite3.Error:
                self.errors += 1
                raise
            # The statement has run to its end (sqlite3 resets it at SQLITE_DONE): no
            # close() hop is needed, and the cursor dies here, under the lock.
            result = cursor.lastrowid if is_insert else cursor.rowcount
            del cursor
        return int(result or 0)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """The first row of a query, or of a write's RETURNING clause."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._turn():
            try:
                rows = await self.conn.execute_fetchall(sql, tuple(params))
            except sqlite3.Error:
                self.errors += 1
                raise
        return list(rows)


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
