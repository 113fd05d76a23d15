"""Run a real CUPS ``ippeveprinter`` (an IPP Everywhere printer simulator) for the demo,
the tests and the benchmarks.

``ippeveprinter`` needs a reachable D-Bus even with DNS-SD off (``-r off``), so a private
``dbus-daemon`` is started next to it, listening on a socket in ``state_dir``. The printer
listens on loopback only (``-n localhost``: 127.0.0.1 and ::1; ``-n 127.0.0.1`` makes it
fail on the IPv6 listener). It handles one job at a time: a Create-Job or Print-Job while
another job is active gets ``server-error-busy``. Without ``command`` it fakes several
seconds of printing per job; ``command="/bin/true"`` makes printing instant. Printed
documents land in ``spool_dir`` as ``<job-id>-<job-name>.<ext>`` (kept with keep_files).

Usage::

    printer = await start_ippeveprinter(tmp_path / "printer", command="/bin/true")
    try:
        ... printer.uri ...   # ipp://127.0.0.1:PORT/ipp/print
    finally:
        await printer.stop()
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from cirrus.stack.process import die_with_parent
from ipp.client import IppClient, IppError, IppTransportError
from ipp.codec import IppParseError

__all__ = ["DEFAULT_FORMATS", "IppEvePrinter", "IppEvePrinterError", "start_ippeveprinter"]

_UNIX_PATH_MAX = 100

#: document-format-supported by default (ippeveprinter's own default depends on the
#: command and leaves out application/pdf when a command is given).
DEFAULT_FORMATS: tuple[str, ...] = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/pwg-raster",
    "image/urf",
    "text/plain",
    "application/postscript",
    "application/octet-stream",
)  # sun_path is 108 bytes; keep a margin


class IppEvePrinterError(RuntimeError):
    """ippeveprinter (or its dbus-daemon) could not be started."""


class IppEvePrinter:
    """A running ippeveprinter and its private dbus-daemon."""

    def __init__(
        self,
        *,
        name: str,
        port: int,
        state_dir: Path,
        spool_dir: Path,
        log_path: Path,
    ) -> None:
        self.name = name
        self.port = port
        self.uri = f"ipp://127.0.0.1:{port}/ipp/print"
        self.state_dir = state_dir
        self.spool_dir = spool_dir
        self.log_path = log_path
        self.bus_address = ""
        self._process: asyncio.subprocess.Process | None = None
        self._dbus: asyncio.subprocess.Process | None = None
        self._files: list[IO[bytes]] = []
        self._tmp_dirs: list[Path] = []
        self._stopped = False

    def __repr__(self) -> str:
        return f"<IppEvePrinter {self.name!r} {self.uri} pid={self.pid}>"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines ippeveprinter wrote (stdout and stderr)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def output_files(self) -> list[Path]:
        """The files in the spool folder, oldest job first."""
        try:
            files = [p for p in self.spool_dir.iterdir() if p.is_file()]
        except OSError:
            return []
        return sorted(files, key=_job_file_key)

    async def stop(self, grace: float = 5.0) -> None:
        """Terminate ippeveprinter and the dbus-daemon (idempotent); processes still
        running after ``grace`` seconds are killed."""
        if self._stopped:
            return
        self._stopped = True
        for proc in (self._process, self._dbus):
            if proc is not None:
                await _terminate(proc, grace)
        for handle in self._files:
            handle.close()
        self._files.clear()
        for folder in self._tmp_dirs:
            shutil.rmtree(folder, ignore_errors=True)
        self._tmp_dirs.clear()

    async def __aenter__(self) -> IppEvePrinter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _job_file_key(path: Path) -> tuple[int, str]:
    head = path.name.split("-", 1)[0]
    return (int(head) if head.isdigit() else 1 << 62, path.name)


async def _terminate(proc: asyncio.subprocess.Process, grace: float) -> None:
    if proc.returncode is None:
        try:
            proc.terminate()
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            await proc.wait()
    else:
        await proc.wait()


def _prepare_dirs(state_dir: Path) -> tuple[Path, Path]:
    state = state_dir.resolve()
    spool = state / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    return state, spool


def _open_log(path: Path) -> IO[bytes]:
    return open(path, "ab")  # closed by IppEvePrinter.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_ippeveprinter(
    state_dir: Path | str,
    *,
    name: str = "Cirrus Test Printer",
    port: int | None = None,
    command: str | None = None,
    keep_files: bool = True,
    formats: Sequence[str] | None = DEFAULT_FORMATS,
    make: str = "Cirrus",
    model: str = "Virtual Printer",
    duplex: bool = False,
    color: bool = False,
    verbose: bool = False,
    extra_args: Sequence[str] = (),
    ready_timeout: float = 15.0,
    executable: str = "ippeveprinter",
    dbus_executable: str = "dbus-daemon",
) -> IppEvePrinter:
    """Start ippeveprinter (and a private dbus-daemon) and wait until it answers
    Get-Printer-Attributes. ``port=None`` picks a free loopback port. ``command`` is
    run for each document (``-c``; "/bin/true" prints instantly); ``formats`` sets
    document-format-supported (``-f``; None = ippeveprinter's default); ``duplex``
    reports two-sided support (``-2``); ``color`` reports color (``-s 10,10``).
    Raises IppEvePrinterError with the log tail if it does not come up within
    ``ready_timeout`` seconds."""
    for tool in (executable, dbus_executable):
        if shutil.which(tool) is None:
            raise IppEvePrinterError(f"{tool} not found (install cups-ipp-utils and dbus)")
    state, spool = _prepare_dirs(Path(state_dir))
    attempts = 1 if port is not None else 3
    last_error: IppEvePrinterError | None = None
    for _ in range(attempts):
        chosen = port if port is not None else _free_port()
        printer = IppEvePrinter(
            name=name,
            port=chosen,
            state_dir=state,
            spool_dir=spool,
            log_path=state / "ippeveprinter.log",
        )
        args = [
            executable,
            "-r",
            "off",
            "-n",
            "localhost",
            "-p",
            str(chosen),
            "-d",
            str(spool),
            "-M",
            make,
            "-m",
            model,
        ]
        if keep_files:
            args.append("-k")
        if command:
            args += ["-c", command]
        if formats:
            args += ["-f", ",".join(formats)]
        if duplex:
            args.append("-2")
        if color:
            args += ["-s", "10,10"]
        if verbose:
            args.append("-v")
        args += [*extra_args, name]
        try:
            await _start(printer, args, dbus_executable, ready_timeout)
            return printer
        except BaseException as exc:
            await printer.stop()
            if not isinstance(exc, IppEvePrinterError):
                raise
            last_error = exc
            if port is not None or "listener" not in str(exc):
                raise
    assert last_error is not None
    raise last_error


async def _start(
    printer: IppEvePrinter, args: list[str], dbus_executable: str, ready_timeout: float
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ready_timeout
    socket_path = printer.state_dir / "dbus.sock"
    if len(str(socket_path)) > _UNIX_PATH_MAX:
        short = Path(tempfile.mkdtemp(prefix="cirrus-dbus-"))
        printer._tmp_dirs.append(short)
        socket_path = short / "bus"
    socket_path.unlink(missing_ok=True)
    bus = f"unix:path={socket_path}"
    dbus_log = _open_log(printer.state_dir / "dbus.log")
    printer._files.append(dbus_log)
    # Both children lead their own session (a terminal's signals reach the runner, which
    # stops them in order) and die with the runner (die_with_parent), even a SIGKILLed one.
    printer._dbus = await asyncio.create_subprocess_exec(
        *die_with_parent(
            [
                dbus_executable,
                "--session",
                f"--address={bus}",
                "--nofork",
                "--nopidfile",
                "--print-address",
            ]
        ),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=dbus_log,
        start_new_session=True,
    )
    assert printer._dbus.stdout is not None
    try:
        line = await asyncio.wait_for(printer._dbus.stdout.readline(), 5.0)
    except TimeoutError:
        line = b""
    if not line.strip():
        raise IppEvePrinterError(
            f"dbus-daemon did not start (see {printer.state_dir / 'dbus.log'})"
        )
    printer.bus_address = line.decode().strip()

    env = dict(os.environ)
    env["DBUS_SYSTEM_BUS_ADDRESS"] = bus
    env["DBUS_SESSION_BUS_ADDRESS"] = bus
    log = _open_log(printer.log_path)
    printer._files.append(log)
    log.write(f"--- {' '.join(args)}\n".encode())
    log.flush()
    printer._process = await asyncio.create_subprocess_exec(
        *die_with_parent(args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        env=env,
        cwd=str(printer.state_dir),
        start_new_session=True,
    )

    async with IppClient(printer.uri, timeout=2.0, connect_timeout=1.0) as client:
        while True:
            if printer._process.returncode is not None:
                raise IppEvePrinterError(
                    f"ippeveprinter exited with status {printer._process.returncode}:\n"
                    f"{printer.log_tail()}"
                )
            try:
                await client.get_printer_attributes(["printer-state"])
                return
            except (IppTransportError, IppError, IppParseError):
                pass
            if loop.time() >= deadline:
                raise IppEvePrinterError(
                    f"ippeveprinter did not answer on {printer.uri} within the timeout:\n"
                    f"{printer.log_tail()}"
                )
            await asyncio.sleep(0.05)
