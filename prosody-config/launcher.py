"""Start, stop and restart a private Prosody 0.12 for the demo, `cirrus up`, tests and benchmarks.

Everything lives in a caller-chosen *state directory* (never the repository): the
rendered config, a self-signed certificate, Prosody's data, pidfile, log and admin
socket.  Prosody listens on 127.0.0.1 only: client-to-server (STARTTLS, TLS
required, SASL against ``internal_hashed``), external components (XEP-0114,
one random secret per component) and HTTPS for the file share chat clients upload
to (XEP-0363, ``mod_http_file_share`` as ``upload.DOMAIN``, its URLs at
``upload_origin``).  No s2s, no plain HTTP.

Usage::

    prosody = await start_prosody(tmp_dir, accounts={"alice": "pw"})
    try:
        ...  # connect to prosody.host:prosody.c2s_port, trusting prosody.ca_file
    finally:
        await prosody.stop()

Accounts are created through Prosody's admin shell (``prosodyctl shell``): one
``prosodyctl`` process per call, batched raw Lua lines on its stdin, each creating
many accounts at once in the running server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Protocol

__all__ = [
    "PortInUseError",
    "ProsodyError",
    "ProsodyInstance",
    "check_domain",
    "check_names",
    "check_user",
    "cli_names",
    "cli_parser",
    "free_ports",
    "https_probe",
    "log_tail",
    "make_certificate",
    "serve",
    "start_prosody",
    "stream_header",
    "stream_probe",
]

TEMPLATE = Path(__file__).with_name("prosody.cfg.lua.template")
HOST = "127.0.0.1"

START_TIMEOUT = 20.0  # seconds until both ports must accept connections
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
POLL_INTERVAL = 0.02
PROBE_TIMEOUT = 0.3  # per readiness probe (a reply takes ~1 ms once Prosody runs)
ACCOUNT_BATCH = 200  # accounts per admin-shell line
# SCRAM iteration count for accounts we create.  4096 is RFC 5802's recommended
# minimum; Prosody's default (10000) makes bulk creation and every client login
# (slixmpp hashes in pure Python) ~2.4x slower, for no benefit on a loopback server.
DEFAULT_SCRAM_ITERATIONS = 4096
# The file share (XEP-0363): Prosody's defaults are 10 MiB a file and 100 MiB a day per
# user, small for print documents (a scanned or photo-heavy PDF passes 10 MiB). ejabberd's
# mod_http_upload gets the same size limit (it has no daily quota without
# mod_http_upload_quota).
UPLOAD_SIZE_LIMIT = 100 * 1024 * 1024
UPLOAD_DAILY_QUOTA = 1024 * 1024 * 1024

# Characters not allowed in a localpart (RFC 7622 plus whitespace).  We also require
# lower case, since clients nodeprep the username before authenticating.
_BAD_LOCALPART = re.compile(r"[\s\"&'/:<>@\x00-\x1f\x7f]")
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


class ProsodyError(RuntimeError):
    """Prosody failed to start, or an admin command failed."""


class PortInUseError(ProsodyError):
    """Prosody could not bind one of its ports."""

    def __init__(self, message: str, port: int) -> None:
        super().__init__(message)
        self.port = port


def lua_str(value: str) -> str:
    """Quote a Python string as a Lua string literal (any content, byte-safe)."""
    out = ['"']
    for byte in value.encode():
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{byte:03d}")
    out.append('"')
    return "".join(out)


def check_user(user: str) -> None:
    if not user or _BAD_LOCALPART.search(user) or user != user.lower() or len(user) > 1023:
        raise ValueError(f"unsupported XMPP username {user!r} (use lower case, no @/: etc.)")


def check_domain(domain: str) -> None:
    if not _DOMAIN.match(domain):
        raise ValueError(f"unsupported domain {domain!r}")


def check_names(domain: str, components: list[str], accounts: Mapping[str, str] | None) -> None:
    """The server's domain, its components' and the accounts' names, or ValueError."""
    check_domain(domain)
    for name in components:
        check_domain(name)
        if name == domain:
            raise ValueError("a component cannot use the server's own domain")
    if len(set(components)) != len(components):
        raise ValueError("duplicate component domain")
    if f"upload.{domain}" in components:
        raise ValueError(f"upload.{domain} is the file share's (XEP-0363) name")
    for user in accounts or {}:
        check_user(user)


def free_ports(count: int, host: str = HOST) -> list[int]:
    """Return `count` distinct free TCP ports on `host` (bind to port 0, then release)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


async def stream_probe(host: str, port: int, header: str) -> bool:
    """True once the server answers an XMPP stream header on host:port.

    A bare TCP connect is not enough: the kernel accepts connections as soon as
    Prosody calls listen(), before its event loop runs (and before mod_posix
    installs its SIGTERM handler).  A reply proves the loop is serving.
    """
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PROBE_TIMEOUT)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(header.encode())
        await writer.drain()
        data = b""
        while b"<stream:stream" not in data and b"<stream " not in data:
            chunk = await asyncio.wait_for(reader.read(4096), PROBE_TIMEOUT)
            if not chunk:
                return False
            data += chunk
        return True
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def https_probe(host: str, port: int, server_name: str) -> bool:
    """True once an HTTPS server answers a request on host:port (any HTTP status): the
    TLS handshake alone does not prove the server's loop serves requests."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # readiness only: nothing is sent but a HEAD
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=server_name),
            PROBE_TIMEOUT,
        )
    except (OSError, TimeoutError, ssl.SSLError):
        return False
    try:
        request = f"HEAD / HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), PROBE_TIMEOUT)
        return line.startswith(b"HTTP/1.")
    except (OSError, TimeoutError, ssl.SSLError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def stream_header(xmlns: str, to: str) -> str:
    return (
        f"<?xml version='1.0'?><stream:stream xmlns='{xmlns}' to='{to}' version='1.0' "
        "xmlns:stream='http://etherx.jabber.org/streams'>"
    )


def _write_openssl_config(conf: Path, domain: str) -> None:
    conf.write_text(
        "[req]\n"
        "distinguished_name = dn\n"
        "x509_extensions = ext\n"
        "prompt = no\n"
        "[dn]\n"
        f"CN = {domain}\n"
        "[ext]\n"
        "basicConstraints = critical, CA:TRUE\n"
        "keyUsage = critical, digitalSignature, keyCertSign\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid:always\n"
        f"subjectAltName = DNS:{domain}, DNS:*.{domain}, IP:127.0.0.1\n"
    )


async def make_certificate(domain: str, cert_file: Path, key_file: Path) -> None:
    """Self-signed P-256 certificate (its own CA) for `domain`, `*.domain` and 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ProsodyError("openssl not found (apt-get install openssl)")
    conf = cert_file.with_suffix(".cnf")
    _write_openssl_config(conf, domain)
    old_umask = os.umask(0o077)  # the key file is created 0600
    try:
        proc = await asyncio.create_subprocess_exec(
            openssl,
            "req",
            "-x509",
            "-config",
            str(conf),
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "825",
            "-keyout",
            str(key_file),
            "-out",
            str(cert_file),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
    finally:
        os.umask(old_umask)
    if proc.returncode != 0:
        raise ProsodyError(f"openssl failed: {out.decode(errors='replace')}")
    os.chmod(cert_file, 0o644)


@dataclass
class ProsodyInstance:
    """A running (or stopped) private Prosody.  Create it with :func:`start_prosody`."""

    domain: str
    host: str
    c2s_port: int
    component_port: int
    components: dict[str, str]  # component domain -> secret
    state_dir: Path
    ca_file: Path  # the self-signed certificate clients must trust (PEM)
    cert_file: Path
    key_file: Path
    config_file: Path = field(repr=False, default=Path())
    log_file: Path = field(repr=False, default=Path())
    upload_port: int = 0  # HTTPS of the file share (XEP-0363); 0: none
    _proc: asyncio.subprocess.Process | None = field(default=None, repr=False, compare=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)
    _log_offset: int = field(default=0, repr=False, compare=False)

    # ------------------------------------------------------------------ info

    def jid(self, user: str) -> str:
        return f"{user}@{self.domain}"

    @property
    def upload_service(self) -> str | None:
        """The XEP-0363 upload service's JID (clients find it by disco#items)."""
        return f"upload.{self.domain}" if self.upload_port else None

    @property
    def upload_owner_in_url(self) -> str:
        """How the file share's links name their uploader (its links do not name the uploader)."""
        return "none"

    @property
    def upload_origin(self) -> str | None:
        """Where its URLs point: the scheme, host and port the service must trust."""
        return f"https://{self.domain}:{self.upload_port}" if self.upload_port else None

    @property
    def component_ports(self) -> dict[str, int]:
        """The port each component connects to: one for all of them here (ejabberd has
        one per component)."""
        return {name: self.component_port for name in self.components}

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def summary(self) -> str:
        """Human-readable summary, without secrets."""
        return "\n".join(
            [
                f"Prosody for {self.domain} (pid {self.pid})",
                f"  c2s:        {self.host}:{self.c2s_port} (STARTTLS required)",
                f"  components: {self.host}:{self.component_port} "
                f"({', '.join(self.components) or 'none'}; secrets in {self.config_file})",
                f"  uploads:    {self.upload_service} at {self.upload_origin} (XEP-0363)",
                f"  CA file:    {self.ca_file}",
                f"  state:      {self.state_dir}",
                f"  log:        {self.log_file}",
            ]
        )

    # ------------------------------------------------------------ lifecycle

    async def _start(self) -> None:
        if self.running:
            return
        prosody = shutil.which("prosody")
        if prosody is None:
            raise ProsodyError("prosody not found (apt-get install prosody)")
        argv = [prosody, "-F", "--config", str(self.config_file)]
        setpriv = shutil.which("setpriv")
        if setpriv is not None:
            # If our Python process dies without stop(), Prosody follows.
            argv = [setpriv, "--pdeathsig", "TERM", "--", *argv]
        out = self._prepare_spawn()
        env = dict(os.environ)
        env.pop("PROSODY_CONFIG", None)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.state_dir,
                env=env,
                start_new_session=True,  # Ctrl-C in a terminal reaches us, not Prosody
            )
        finally:
            os.close(out)
        try:
            await self._wait_ready()
        except BaseException:
            await self._stop_locked()
            raise

    def _prepare_spawn(self) -> int:
        """Create the data dir, drop a stale admin socket; returns an fd for stdout/stderr."""
        (self.state_dir / "data").mkdir(parents=True, exist_ok=True)
        self._admin_socket().unlink(missing_ok=True)  # left over by a killed run
        try:
            self._log_offset = self.log_file.stat().st_size
        except FileNotFoundError:
            self._log_offset = 0
        return os.open(
            self.state_dir / "prosody.stdout.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )

    async def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        probes = {self.c2s_port: stream_header("jabber:client", self.domain)}
        for name in self.components:  # any component domain will do
            probes[self.component_port] = stream_header("jabber:component:accept", name)
            break
        if self.upload_port:
            probes[self.upload_port] = ""
        while True:
            if self._proc.returncode is not None:
                stdout_log = self.state_dir / "prosody.stdout.log"
                raise ProsodyError(
                    f"prosody exited with status {self._proc.returncode} during startup:\n"
                    f"{log_tail(self.log_file)}\n{log_tail(stdout_log)}"
                )
            self._check_log_for_bind_failure()
            for port, header in list(probes.items()):
                if port == self.upload_port:
                    answered = await https_probe(self.host, port, self.domain)
                else:
                    answered = await stream_probe(self.host, port, header)
                if answered:
                    del probes[port]
            if not probes and self._admin_socket().exists():
                return
            if time.monotonic() > deadline:
                raise ProsodyError(
                    f"prosody not ready after {START_TIMEOUT:.0f} s (ports not answering: "
                    f"{sorted(probes)}):\n{log_tail(self.log_file)}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    def _check_log_for_bind_failure(self) -> None:
        """Prosody 0.12 keeps running when it cannot bind a port: spot it in the log."""
        try:
            with open(self.log_file, "rb") as f:
                f.seek(self._log_offset)
                new = f.read().decode(errors="replace")
        except FileNotFoundError:
            return
        match = re.search(r"Failed to open server port (\d+).*", new)
        if match:
            raise PortInUseError(match.group(0), int(match.group(1)))

    async def stop(self) -> None:
        """SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL.  Idempotent."""
        async with self._lock:
            await self._stop_locked()

    async def _stop_locked(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        self._proc = None

    async def restart(self) -> None:
        """Stop, then start again with the same config: same ports, secrets, accounts, data."""
        async with self._lock:
            await self._stop_locked()
            await self._start()

    # ------------------------------------------------------------- accounts

    def _admin_socket(self) -> Path:
        return self.state_dir / "data" / "prosody.sock"

    async def create_account(self, user: str, password: str) -> str:
        """Create (or reset the password of) `user`; returns the bare JID.  Server must run."""
        await self.create_accounts({user: password})
        return self.jid(user)

    async def create_accounts(self, accounts: Mapping[str, str]) -> None:
        """Create many accounts (existing ones get the new password) in one admin-shell session.

        One `prosodyctl shell` process; each stdin line is a raw Lua chunk creating
        ACCOUNT_BATCH accounts through core.usermanager.  Cost is dominated by SCRAM
        hashing inside Prosody.
        """
        items = list(accounts.items())
        if not items:
            return
        for user, _ in items:
            check_user(user)
        if not self.running:
            raise ProsodyError("create_accounts needs a running Prosody")
        prosodyctl = shutil.which("prosodyctl")
        if prosodyctl is None:
            raise ProsodyError("prosodyctl not found")
        lines = []
        for i in range(0, len(items), ACCOUNT_BATCH):
            batch = items[i : i + ACCOUNT_BATCH]
            pairs = ",".join(f"{{{lua_str(u)},{lua_str(p)}}}" for u, p in batch)
            lines.append(
                ">local um, n, bad = require'core.usermanager', 0, nil; "
                f"for _, a in ipairs({{{pairs}}}) do "
                f"local ok, err = um.create_user(a[1], a[2], {lua_str(self.domain)}); "
                "if ok then n = n + 1 else bad = bad or (a[1] .. ': ' .. tostring(err)) end "
                "end; "
                "if bad then return nil, 'CIRRUS-FAIL ' .. bad end; "
                "return 'CIRRUS-OK ' .. n"
            )
        script = "\n".join(lines) + "\nquit\n"
        env = dict(os.environ)
        env.pop("PROSODY_CONFIG", None)
        proc = await asyncio.create_subprocess_exec(
            prosodyctl,
            "--config",
            str(self.config_file),
            "shell",
            "--quiet",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.state_dir,
            env=env,
        )
        timeout = 60.0 + 0.05 * len(items)
        try:
            out_b, _ = await asyncio.wait_for(proc.communicate(script.encode()), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise ProsodyError(
                f"prosodyctl shell timed out creating {len(items)} accounts"
            ) from None
        out = out_b.decode(errors="replace")
        created = sum(int(n) for n in re.findall(r"CIRRUS-OK (\d+)", out))
        if proc.returncode != 0 or created != len(items):
            raise ProsodyError(
                f"account creation failed ({created}/{len(items)} created, "
                f"prosodyctl status {proc.returncode}):\n{out[-2000:]}"
            )


def _render_config(
    inst: ProsodyInstance, *, log_level: str, scram_iterations: int, run_as_root: bool
) -> str:
    data_dir = inst.state_dir / "data"
    component_blocks = "\n".join(
        f"Component {lua_str(name)}\n\tcomponent_secret = {lua_str(secret)}\n"
        for name, secret in inst.components.items()
    )
    values = {
        "run_as_root": "true" if run_as_root else "false",
        "pidfile": lua_str(str(inst.state_dir / "prosody.pid")),
        "data_path": lua_str(str(data_dir)),
        "admin_socket": lua_str(str(inst._admin_socket())),
        "certs_dir": lua_str(str(inst.cert_file.parent)),
        "plugins_dir": lua_str(str(inst.state_dir / "plugins")),
        "log_level": lua_str(log_level),
        "log_file": lua_str(str(inst.log_file)),
        "host": lua_str(inst.host),
        "c2s_port": str(inst.c2s_port),
        "component_port": str(inst.component_port),
        "scram_iterations": str(scram_iterations),
        "cert_file": lua_str(str(inst.cert_file)),
        "key_file": lua_str(str(inst.key_file)),
        "c2s_stanza_size_limit": str(512 * 1024),
        "component_stanza_size_limit": str(1024 * 1024),
        "domain": lua_str(inst.domain),
        "components": component_blocks,
        "https_port": str(inst.upload_port),
        "upload_jid": lua_str(f"upload.{inst.domain}"),
        "http_host": lua_str(inst.domain),
        "upload_size_limit": str(UPLOAD_SIZE_LIMIT),
        "upload_daily_quota": str(UPLOAD_DAILY_QUOTA),
    }
    return Template(TEMPLATE.read_text()).substitute(values)


def _prepare(
    state_dir: Path,
    *,
    domain: str,
    components: list[str],
    accounts: Mapping[str, str] | None,
    c2s_port: int | None,
    component_port: int | None,
    log_level: str,
) -> tuple[ProsodyInstance, bool]:
    """Validate arguments, create the state directory, pick ports and secrets.

    Returns the (not yet started) instance and whether a certificate must be made.
    """
    state_dir = state_dir.resolve()
    check_names(domain, components, accounts)
    if log_level not in ("debug", "info", "warn", "error"):
        raise ValueError(f"bad log level {log_level!r}")
    admin_socket = state_dir / "data" / "prosody.sock"
    if len(os.fsencode(admin_socket)) > 100:  # sun_path is 108 bytes
        raise ValueError(f"state_dir path too long for a unix socket: {state_dir}")

    picked = iter(free_ports(4))
    if c2s_port is None:
        c2s_port = next(picked)
    if component_port is None:
        component_port = next(p for p in picked if p != c2s_port)
    if c2s_port == component_port:
        raise ValueError("c2s_port and component_port must differ")
    upload_port = next(p for p in picked if p not in (c2s_port, component_port))

    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o700)  # the config holds component secrets
    certs_dir = state_dir / "certs"
    certs_dir.mkdir(exist_ok=True)
    (state_dir / "data").mkdir(exist_ok=True)
    cert_file = certs_dir / f"{domain}.crt"
    key_file = certs_dir / f"{domain}.key"
    need_cert = not (cert_file.exists() and key_file.exists())

    inst = ProsodyInstance(
        domain=domain,
        host=HOST,
        c2s_port=c2s_port,
        component_port=component_port,
        components={name: secrets.token_urlsafe(24) for name in components},
        state_dir=state_dir,
        ca_file=cert_file,
        cert_file=cert_file,
        key_file=key_file,
        config_file=state_dir / "prosody.cfg.lua",
        log_file=state_dir / "prosody.log",
        upload_port=upload_port,
    )
    return inst, need_cert


def _write_config(inst: ProsodyInstance, *, log_level: str, scram_iterations: int) -> None:
    config = _render_config(
        inst,
        log_level=log_level,
        scram_iterations=scram_iterations,
        run_as_root=os.geteuid() == 0,
    )
    fd = os.open(inst.config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(config)


async def start_prosody(
    state_dir: Path,
    *,
    domain: str = "localhost",
    components: Iterable[str] = ("print.localhost",),
    accounts: Mapping[str, str] | None = None,
    c2s_port: int | None = None,
    component_port: int | None = None,
    log_level: str = "info",
    scram_iterations: int = DEFAULT_SCRAM_ITERATIONS,
) -> ProsodyInstance:
    """Render the config into `state_dir`, start Prosody, wait until it listens.

    Ports default to free loopback ports; component secrets are random.  `accounts`
    (user -> password) are created once the server is up.  The caller must
    ``await instance.stop()``.
    """
    comps = list(components)
    for attempt in range(3):
        inst, need_cert = _prepare(
            Path(state_dir),
            domain=domain,
            components=comps,
            accounts=accounts,
            c2s_port=c2s_port,
            component_port=component_port,
            log_level=log_level,
        )
        if need_cert:
            await make_certificate(domain, inst.cert_file, inst.key_file)
        _write_config(inst, log_level=log_level, scram_iterations=scram_iterations)
        try:
            async with inst._lock:
                await inst._start()
            break
        except PortInUseError as err:
            # A port we picked was taken in the meantime: pick again.
            if err.port in (c2s_port, component_port) or attempt == 2:
                raise
    if accounts:
        try:
            await inst.create_accounts(accounts)
        except BaseException:
            await inst.stop()
            raise
    return inst


# ---------------------------------------------------------------------- CLI
# Shared with ejabberd_config.launcher: the same options and the same run loop.


class Served(Protocol):
    log_file: Path

    @property
    def running(self) -> bool: ...

    def summary(self) -> str: ...

    async def stop(self) -> None: ...


def cli_parser(prog: str, server: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=f"Run a private loopback {server} until Ctrl-C."
    )
    parser.add_argument("state_dir", type=Path, help="directory for config, data, certs, logs")
    parser.add_argument("--domain", default="localhost")
    parser.add_argument(
        "--component", action="append", dest="components", help="component domain (repeatable)"
    )
    parser.add_argument("--c2s-port", type=int)
    parser.add_argument(
        "--account", action="append", default=[], metavar="USER:PASSWORD", help="repeatable"
    )
    parser.add_argument("--log-level", default="info")
    return parser


def cli_names(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[list[str], dict[str, str]]:
    """The components (print.DOMAIN by default) and accounts the command line asks for."""
    accounts = {}
    for spec in args.account:
        user, sep, password = spec.partition(":")
        if not sep:
            parser.error(f"--account wants USER:PASSWORD, got {spec!r}")
        accounts[user] = password
    return args.components or [f"print.{args.domain}"], accounts


async def serve(inst: Served, server: str) -> int:
    """Print the summary, run until Ctrl-C (or the server dies), stop the server."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        print(inst.summary(), flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        while not stop.is_set() and inst.running:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
        if not stop.is_set():
            print(f"{server} exited unexpectedly:\n{log_tail(inst.log_file)}", file=sys.stderr)
            return 1
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await inst.stop()
        print(f"{server} stopped.", flush=True)


async def _main(argv: list[str] | None = None) -> int:
    parser = cli_parser("python -m prosody_config.launcher", "Prosody")
    parser.add_argument("--component-port", type=int)
    args = parser.parse_args(argv)
    components, accounts = cli_names(parser, args)
    inst = await start_prosody(
        args.state_dir,
        domain=args.domain,
        components=components,
        accounts=accounts,
        c2s_port=args.c2s_port,
        component_port=args.component_port,
        log_level=args.log_level,
    )
    return await serve(inst, "Prosody")


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(_main(argv))


if __name__ == "__main__":
    sys.exit(main())
