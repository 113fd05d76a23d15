"""Writes job-log records off the event loop: the loop collects each `Entry` and hands
them to the standard library's QueueListener thread in batches (every HAND_OVER
seconds), which formats them and hands them to the destinations: a file, rotated by
size and by age and deleted after the retention period, and/or the local syslog socket.

The file's records are whole RFC 5424 lines (with their <PRI>), so a log tool reads the
file as it would read syslog's own; the syslog socket gets the same record, its <PRI>
put in front by logging's SysLogHandler.
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import os
import queue
import socket
import threading
import time
from pathlib import Path
from typing import Any, cast

from server.joblog.record import Entry, Severity, format_record

log = logging.getLogger(__name__)

_LEVELS = {Severity.WARNING: logging.WARNING, Severity.NOTICE: logging.INFO}
HAND_OVER = 0.05  # seconds records wait on the loop before the thread gets them
_STAMP = "%Y%m%dT%H%M%SZ"


class _Formatter(logging.Formatter):
    def __init__(self, header: dict[str, Any], *, pri: bool) -> None:
        super().__init__()
        self.header = header
        self.pri = pri

    def format(self, record: logging.LogRecord) -> str:
        # Formatted once per destination kind (the size check and the write both ask).
        key = "text" if self.pri else "syslog_text"
        text: str | None = record.__dict__.get(key)
        if text is None:
            entry: Entry = record.entry  # type: ignore[attr-defined]
            text = record.__dict__[key] = format_record(entry, pri=self.pri, **self.header)
        return text


class RotatingLogFile(logging.handlers.BaseRotatingHandler):
    """The job log's file: a new file once this one holds `max_bytes` or is
    `rotate_seconds` old (whichever comes first); the old one is renamed NAME.STAMP (the
    UTC time it was closed) and files closed more than `retention_seconds` ago are
    deleted. The standard handlers rotate by size or by time, and keep a number of
    files rather than an age: this one does both, and keeps by age, as the seed's
    retention policy asks."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        rotate_seconds: float,
        retention_seconds: float,
        clock: Any = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(str(path), "a", encoding="utf-8")
        os.chmod(path, 0o640)  # user names and job names: not for everyone on the host
        self.path = path
        self.max_bytes = max_bytes
        self.rotate_seconds = rotate_seconds
        self.retention_seconds = retention_seconds
        self.clock = clock
        self.opened = self._started(path)
        self.size = path.stat().st_size
        self.delete_expired()

    def _started(self, path: Path) -> float:
        """When the current file began: its first record's age survives a restart."""
        try:
            if path.stat().st_size:
                return path.stat().st_ctime
        except OSError:
            pass
        return self.clock()

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        # The size as written, counted here: a text file's tell() costs more than the
        # record's whole write.
        if self.clock() - self.opened >= self.rotate_seconds:
            return self.size > 0
        return self.size + len(self.format(record)) + 1 > self.max_bytes > 0

    def doRollover(self) -> None:
        if self.stream:
            self.stream.close()
            self.stream = None
        stamp = time.strftime(_STAMP, time.gmtime(self.clock()))
        target = self.path.with_name(f"{self.path.name}.{stamp}")
        n = 1
        while target.exists():  # two rotations within a second (tiny max_bytes)
            target = self.path.with_name(f"{self.path.name}.{stamp}-{n}")
            n += 1
        if self.path.exists():
            os.rename(self.path, target)
        self.stream = self._open()
        os.chmod(self.path, 0o640)
        self.opened = self.clock()
        self.size = 0
        self.delete_expired()

    def emit(self, record: logging.LogRecord) -> None:
        """Write without a flush: the listener flushes once its queue is empty, so a
        burst of records costs one write system call, not one each."""
        try:
            if self.shouldRollover(record):
                self.doRollover()
            if self.stream is None:
                self.stream = self._open()
            text = self.format(record)
            self.stream.write(text + "\n")
            self.size += len(text) + 1  # characters; the few non-ASCII ones count once
        except Exception:
            self.handleError(record)

    def write_batch(self, records: list[Any]) -> None:
        """Records in one write (rotating between them where due): the logging
        machinery's lock, filters and emit per record cost as much as the formatting."""
        with self.lock:  # type: ignore[union-attr]
            lines: list[str] = []
            try:
                for record in records:
                    if self.shouldRollover(record):
                        self._write(lines)
                        lines = []
                        self.doRollover()
                    text = self.format(record)
                    lines.append(text)
                    self.size += len(text) + 1  # characters; non-ASCII ones count once
                self._write(lines)
            except Exception:
                self.handleError(records[-1])

    def _write(self, lines: list[str]) -> None:
        if not lines:
            return
        if self.stream is None:
            self.stream = self._open()
        self.stream.write("\n".join(lines) + "\n")

    def rotated(self) -> list[Path]:
        return sorted(self.path.parent.glob(self.path.name + ".*"))

    def delete_expired(self) -> None:
        limit = self.clock() - self.retention_seconds
        for old in self.rotated():
            try:
                if old.stat().st_mtime < limit:
                    old.unlink()
            except OSError as exc:
                log.warning("job log: cannot remove %s: %s", old, exc)


class _Syslog(logging.handlers.SysLogHandler):
    """The local syslog socket. A socket that is missing or refuses is said once, not
    with a traceback per record; the handler tries to reconnect at every record."""

    warned = False

    def handleError(self, record: logging.LogRecord) -> None:
        if not self.warned:
            self.warned = True
            log.warning("job log: the syslog socket %s does not take records", self.address)


class _Listener(logging.handlers.QueueListener):
    def handle(self, record: Any) -> None:
        if isinstance(record, _Marker):
            self._flush()
            record.event.set()
            return
        batch = [_Record(entry) for entry in record]
        for handler in self.handlers:
            if isinstance(handler, RotatingLogFile):
                handler.write_batch(batch)  # one write for the batch
            else:
                for one in batch:
                    handler.handle(one)  # type: ignore[arg-type]
        if cast("queue.SimpleQueue[Any]", self.queue).empty():
            self._flush()

    def _flush(self) -> None:
        for handler in self.handlers:
            handler.flush()

    def prepare(self, record: Any) -> Any:
        return _Record(record)


class _Record:
    """What the handlers read of a record: a LogRecord's few fields they use (building
    a whole LogRecord was a third of the thread's time per record)."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.levelno = _LEVELS.get(entry.severity, logging.INFO)
        self.levelname = logging.getLevelName(self.levelno)
        self.exc_info = None
        self.stack_info = None


class JobLogWriter:
    """Start, `put` entries (from the event loop), stop (writes what is queued)."""

    def __init__(
        self,
        *,
        file: Path | None,
        syslog_socket: Path | None,
        facility: int,
        hostname: str | None = None,
        app_name: str = "cirrus-service",
        max_bytes: int = 64 * 1024 * 1024,
        rotate_seconds: float = 86400.0,
        retention_seconds: float = 366 * 86400.0,
        clock: Any = time.time,
    ) -> None:
        header = {
            "hostname": hostname or socket.gethostname(),
            "app_name": app_name,
            "procid": str(os.getpid()),
            "facility": facility,
        }
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.handlers: list[logging.Handler] = []
        self.file: RotatingLogFile | None = None
        if file is not None:
            self.file = RotatingLogFile(
                file,
                max_bytes=max_bytes,
                rotate_seconds=rotate_seconds,
                retention_seconds=retention_seconds,
                clock=clock,
            )
            self.file.setFormatter(_Formatter(header, pri=True))
            self.handlers.append(self.file)
        if syslog_socket is not None:
            syslog = _Syslog(address=str(syslog_socket), facility=facility)
            syslog.append_nul = False
            syslog.setFormatter(_Formatter(header, pri=False))
            self.handlers.append(syslog)
        self._listener = _Listener(self.queue, *self.handlers, respect_handler_level=False)
        self._running = False
        self._pending: list[Entry] = []  # put on the loop, not yet handed to the thread
        self._handing_over = False

    def start(self) -> None:
        self._listener.start()
        self._running = True

    def put(self, entry: Entry) -> None:
        """Queue one record. On the event loop, records are handed to the thread in
        batches, once per HAND_OVER seconds: waking the thread (and passing the GIL to
        it) per record cost more than writing the record."""
        self._pending.append(entry)
        if self._handing_over:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._hand_over()
            return
        self._handing_over = True
        loop.call_later(HAND_OVER, self._hand_over)

    def _hand_over(self) -> None:
        self._handing_over = False
        if self._pending:
            batch, self._pending = self._pending, []
            self.queue.put_nowait(batch)

    def flush(self) -> None:
        """Wait until every entry put so far is written (tests, backup, stop)."""
        self._hand_over()
        if not self._running:
            return
        done = _Marker()
        self.queue.put_nowait(done)
        done.wait()

    def stop(self) -> None:
        self._hand_over()
        if self._running:
            self._running = False
            self._listener.stop()  # writes what is queued, then joins the thread
        for handler in self.handlers:
            handler.close()


class _Marker:
    """Put on the queue by `flush`; the listener thread sets it when it gets there."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def wait(self) -> None:
        self.event.wait(10.0)
