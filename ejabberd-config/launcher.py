"""Start, stop and restart a private ejabberd 23.01 node for `cirrus up --xmpp ejabberd`,
the tests and benchmarks: the same interface as prosody_config's ProsodyInstance.

Everything lives in a caller-chosen *state directory* (never the repository): the
rendered configs, a self-signed certificate, the node's cookie, Mnesia spool, logs and
PID file.  The node listens on 127.0.0.1 only: client-to-server (STARTTLS, TLS
required, SASL SCRAM against hashed passwords), one XEP-0114 listener per component
(ejabberd routes a listener's every name to each of its connections) and HTTPS for the
file share chat clients upload to (XEP-0363, ``mod_http_upload`` as ``upload.DOMAIN``,
its URLs at ``upload_origin``).  No s2s, no plain HTTP.

The node is run through Debian's ``ejabberdctl foreground`` with the state
directory's configs (``--config-dir/--config/--ctl-config/--logs/--spool``), as the
``ejabberd`` user when we are root (``setpriv``; ejabberdctl itself would ``su``), with
a unique node name, Erlang distribution on one loopback port without epmd, and a
random cookie in the folder's ``.erlang.cookie`` (HOME points there) — never the
system service's node, cookie or ports.

Usage::

    node = await start_ejabberd(tmp_dir, accounts={"alice": "pw"})
    try:
        ...  # connect to node.host:node.c2s_port, trusting node.ca_file
    finally:
        await node.stop()

The node is a plain ``subprocess.Popen`` (awaited by polling), so an instance may be
started in one event loop and restarted or stopped in another (a test module's
fixture and its tests).

Accounts are created in bulk with ``ejabberdctl import_piefxis`` (XEP-0227): the
SCRAM-SHA-1 keys are derived here (hashlib's PBKDF2, in C) and ejabberd only stores
them: 2,000 accounts in 2.0-3.4 s (600-1,000 a second, on a shared 2-core machine)
against ~2 a second for ``ejabberdctl register``, which starts an Erlang VM per call.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from xml.sax.saxutils import quoteattr

from prosody_config.launcher import (
    DEFAULT_SCRAM_ITERATIONS,
    UPLOAD_SIZE_LIMIT,
    check_names,
    check_user,
    cli_names,
    cli_parser,
    free_ports,
    https_probe,
    log_tail,
    make_certificate,
    serve,
    stream_header,
    stream_probe,
)

__all__ = [
    "EjabberdError",
    "EjabberdInstance",
    "PortInUseError",
    "let_node_enter",
    "start_ejabberd",
]

HERE = Path(__file__).parent
TEMPLATE = HERE / "ejabberd.yml.template"
CTL_TEMPLATE = HERE / "ejabberdctl.cfg.template"
HOST = "127.0.0.1"
EJABBERDCTL = "/usr/sbin/ejabberdctl"
SERVICE_USER = "ejabberd"  # the Debian package's account, which ejabberdctl insists on

START_TIMEOUT = 30.0  # seconds until every port answers (a fresh node takes ~1-2 s)
STOP_TIMEOUT = 15.0  # seconds between SIGTERM and SIGKILL
CTL_TIMEOUT = 60.0  # per ejabberdctl command
POLL_INTERVAL = 0.02
C2S_STANZA_SIZE = 512 * 1024  # as Prosody's c2s_stanza_size_limit in prosody-config
COMPONENT_STANZA_SIZE = 1024 * 1024
PIE_NS = "urn:xmpp:pie:0"


class EjabberdError(RuntimeError):
    """ejabberd failed to start, or an ejabberdctl command failed."""


class PortInUseError(EjabberdError):
    """The node could not bind one of its ports."""

    def __init__(self, message: str, port: int) -> None:
        super().__init__(message)
        self.port = port


def yaml_str(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are a subset of YAML's)."""
    return json.dumps(value)


@dataclass(frozen=True)
class _RunAs:
    """Who runs the node and its ejabberdctl commands, and how."""

    uid: int
    gid: int
    prefix: tuple[str, ...]  # before the ejabberdctl path (setpriv when we are root)
    script: Path  # ejabberdctl, or our copy of it that runs as the calling user

    @property
    def other_user(self) -> bool:
        return self.uid != os.geteuid()


def _run_as(state_dir: Path) -> _RunAs:
    if not Path(EJABBERDCTL).exists():
        raise EjabberdError(f"{EJABBERDCTL} not found (apt-get install ejabberd)")
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise EjabberdError(f"no {SERVICE_USER!r} user (apt-get install ejabberd)") from None
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise EjabberdError("setpriv not found (apt-get install util-linux)")
        prefix = (
            setpriv,
            f"--reuid={account.pw_uid}",
            f"--regid={account.pw_gid}",
            "--init-groups",
            "--",
        )
        return _RunAs(account.pw_uid, account.pw_gid, prefix, Path(EJABBERDCTL))
    if pwd.getpwuid(os.geteuid()).pw_name == SERVICE_USER:
        return _RunAs(os.geteuid(), os.getegid(), (), Path(EJABBERDCTL))
    # Debian's ejabberdctl refuses any user but root and ejabberd; an unprivileged
    # developer runs the same script, told to stay the calling user.
    script = state_dir / "ejabberdctl"
    text = Path(EJABBERDCTL).read_text()
    script.write_text(re.sub(r"(?m)^INSTALLUSER=.*$", "INSTALLUSER=", text, count=1))
    script.chmod(0o700)
    return _RunAs(os.geteuid(), os.getegid(), (), script)


def let_node_enter(folder: Path) -> None:
    """Let the node's user (and nobody else) enter `folder`, a folder of ours that will
    hold a state directory: its group becomes ejabberd's, with search permission.
    Nothing to do when the node runs as the calling user."""
    if os.geteuid() != 0:
        return
    try:
        gid = pwd.getpwnam(SERVICE_USER).pw_gid
    except KeyError:
        raise EjabberdError(f"no {SERVICE_USER!r} user (apt-get install ejabberd)") from None
    os.chown(folder, -1, gid)
    os.chmod(folder, stat.S_IMODE(folder.stat().st_mode) | stat.S_IXGRP)


def _check_reachable(path: Path, uid: int, gid: int) -> None:
    """The node's user must be able to enter every folder above its state directory."""
    groups = {gid, *os.getgrouplist(pwd.getpwuid(uid).pw_name, gid)}
    for parent in path.parents:
        st = parent.stat()
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            raise EjabberdError(
                f"the {SERVICE_USER} user cannot enter {parent} (mode "
                f"{stat.filemode(st.st_mode)}): let it search the folder "
                f"(ejabberd_config.launcher.let_node_enter, or chgrp {SERVICE_USER} and "
                "chmod g+x) or put the state directory elsewhere"
            )


def _scram_sha1(password: str, iterations: int) -> tuple[bytes, bytes, bytes]:
    """(salt, stored key, server key) as RFC 5802 derives them."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha1).digest()
    return salt, hashlib.sha1(client_key).digest(), server_key


def _piefxis_user(user: str, password: str, iterations: int) -> str:
    salt, stored_key, server_key = _scram_sha1(password, iterations)

    # ejabberd keeps these base64 encoded and its import (and export) adds a layer:
    # what `ejabberdctl export_piefxis` writes, `import_piefxis` reads back.
    def b64(raw: bytes) -> str:
        return base64.b64encode(base64.b64encode(raw)).decode()

    return (
        f"<user name={quoteattr(user)}>"
        f"<scram-credentials xmlns='{PIE_NS}#scram' mechanism='SCRAM-SHA-1'>"
        f"<iter-count>{iterations}</iter-count><salt>{b64(salt)}</salt>"
        f"<server-key>{b64(server_key)}</server-key><stored-key>{b64(stored_key)}</stored-key>"
        "</scram-credentials></user>"
    )


def _piefxis_users(accounts: list[tuple[str, str]], iterations: int) -> str:
    return "".join(_piefxis_user(user, password, iterations) for user, password in accounts)


def _piefxis(domain: str, users: str) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        f"<server-data xmlns='{PIE_NS}'><host jid={quoteattr(domain)}>{users}</host></server-data>"
    )


@dataclass
class EjabberdInstance:
    """A running (or stopped) private ejabberd node.  Create it with :func:`start_ejabberd`."""

    domain: str
    host: str
    c2s_port: int
    component_port: int  # the first component's (each component has its own)
    components: dict[str, str]  # component domain -> secret
    component_ports: dict[str, int]  # component domain -> its listener's port
    state_dir: Path
    ca_file: Path  # the self-signed certificate clients must trust (PEM)
    cert_file: Path
    key_file: Path
    node: str = ""  # the Erlang node name, unique per instance
    dist_port: int = 0  # Erlang distribution (ejabberdctl), loopback
    scram_iterations: int = DEFAULT_SCRAM_ITERATIONS
    upload_port: int = 0  # HTTPS of the file share (XEP-0363); 0: none
    config_file: Path = field(repr=False, default=Path())
    ctl_config_file: Path = field(repr=False, default=Path())
    log_file: Path = field(repr=False, default=Path())
    _run: _RunAs | None = field(default=None, repr=False, compare=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False, compare=False)
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
        """How the file share's links name their uploader (jid_in_url: sha1, the SHA-1
        of the uploader's bare JID)."""
        return "sha1"

    @property
    def upload_origin(self) -> str | None:
        """Where its URLs point: the scheme, host and port the service must trust."""
        return f"https://{self.domain}:{self.upload_port}" if self.upload_port else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The Erlang VM's process id (what listens), once it has written its PID file."""
        if not self.running:
            return None
        try:
            return int(self._pid_file().read_text().strip())
        except (OSError, ValueError):
            return None

    def summary(self) -> str:
        """Human-readable summary, without secrets."""
        ports = ", ".join(f"{name} on {port}" for name, port in self.component_ports.items())
        return "\n".join(
            [
                f"ejabberd for {self.domain} (node {self.node}, pid {self.pid})",
                f"  c2s:        {self.host}:{self.c2s_port} (STARTTLS required)",
                f"  components: {self.host}: {ports or 'none'} (secrets in {self.config_file})",
                f"  uploads:    {self.upload_service} at {self.upload_origin} (XEP-0363)",
                f"  CA file:    {self.ca_file}",
                f"  state:      {self.state_dir}",
                f"  log:        {self.log_file}",
            ]
        )

    def _pid_file(self) -> Path:
        return self.state_dir / "ejabberd.pid"

    # ------------------------------------------------------------ lifecycle

    def _ctl_argv(self, *command: str) -> list[str]:
        assert self._run is not None
        d = self.state_dir
        return [
            *self._run.prefix,
            str(self._run.script),
            "--config-dir",
            str(d),
            "--config",
            str(self.config_file),
            "--ctl-config",
            str(self.ctl_config_file),
            "--logs",
            str(d / "logs"),
            "--spool",
            str(d / "spool"),
            *command,
        ]

    def _env(self) -> dict[str, str]:
        # HOME: the Erlang VM reads its cookie from $HOME/.erlang.cookie.
        return {**os.environ, "HOME": str(self.state_dir)}

    async def _start(self) -> None:
        if self.running:
            return
        self._spawn()
        try:
            await self._wait_ready()
        except BaseException:
            await self.stop()
            raise

    def _spawn(self) -> None:
        """`ejabberdctl foreground` as a plain child process (not bound to an event loop).

        No parent-death signal as the Prosody launcher has: it would reach ejabberdctl's
        shell, not the Erlang VM it waits for.  A node whose caller was killed keeps
        running until `kill $(cat STATE_DIR/ejabberd.pid)`."""
        self._pid_file().unlink(missing_ok=True)  # left over by a killed run
        try:
            self._log_offset = self.log_file.stat().st_size
        except FileNotFoundError:
            self._log_offset = 0
        with open(self.state_dir / "ejabberd.stdout.log", "ab") as out:
            self._proc = subprocess.Popen(
                self._ctl_argv("foreground"),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                env=self._env(),
                start_new_session=True,  # Ctrl-C in a terminal reaches us, not the node
            )

    async def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        probes = {self.c2s_port: stream_header("jabber:client", self.domain)}
        for name, port in self.component_ports.items():
            probes[port] = stream_header("jabber:component:accept", name)
        if self.upload_port:
            probes[self.upload_port] = ""
        while True:
            if self._proc.poll() is not None:
                self._check_for_bind_failure()
                raise EjabberdError(
                    f"ejabberd exited with status {self._proc.returncode} during startup:\n"
                    f"{log_tail(self.log_file)}\n{log_tail(self.state_dir / 'ejabberd.stdout.log')}"
                )
            self._check_for_bind_failure()
            for port, header in list(probes.items()):
                if port == self.upload_port:
                    answered = await https_probe(self.host, port, self.domain)
                else:
                    answered = await stream_probe(self.host, port, header)
                if answered:
                    del probes[port]
            if not probes and self.pid is not None:
                return
            if time.monotonic() > deadline:
                raise EjabberdError(
                    f"ejabberd not ready after {START_TIMEOUT:.0f} s (ports not answering: "
                    f"{sorted(probes)}):\n{log_tail(self.log_file)}"
                )
            await asyncio.sleep(POLL_INTERVAL)

    def _check_for_bind_failure(self) -> None:
        """A listener that cannot bind is logged and skipped; the distribution port
        failing stops the VM.  Either way: say which port."""
        try:
            with open(self.log_file, "rb") as f:
                f.seek(self._log_offset)
                new = f.read().decode(errors="replace")
        except FileNotFoundError:
            new = ""
        match = re.search(r"Failed to open socket at [\d.]+:(\d+).*", new)
        if match:
            raise PortInUseError(match.group(0), int(match.group(1)))
        stdout = log_tail(self.state_dir / "ejabberd.stdout.log", 50)
        if self._proc is not None and self._proc.poll() is not None and "eaddrinuse" in stdout:
            raise PortInUseError(f"Erlang distribution port busy:\n{stdout}", self.dist_port)

    async def stop(self) -> None:
        """SIGTERM to the VM (it stops ejabberd cleanly), wait up to STOP_TIMEOUT, then
        SIGKILL the node's process group.  Idempotent."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            pid = self.pid
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if pid is not None:
                    os.kill(pid, signal.SIGTERM)
                else:  # not started far enough to have written its PID file
                    os.killpg(proc.pid, signal.SIGTERM)
            if not await _exited(proc, STOP_TIMEOUT):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await _exited(proc, STOP_TIMEOUT)
        self._proc = None

    async def restart(self) -> None:
        """Stop, then start again with the same configs: same ports, secrets, accounts."""
        await self.stop()
        await self._start()

    # ------------------------------------------------------------- accounts

    async def ctl(self, *command: str) -> str:
        """Run one ejabberdctl command against this node; its output.  Raises on failure."""
        proc = await asyncio.create_subprocess_exec(
            *self._ctl_argv(*command),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.state_dir,
            env=self._env(),
        )
        try:
            out_b, _ = await asyncio.wait_for(proc.communicate(), CTL_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise EjabberdError(f"ejabberdctl {command[0]} timed out") from None
        out = out_b.decode(errors="replace")
        if proc.returncode != 0:
            raise EjabberdError(f"ejabberdctl {command[0]} failed ({proc.returncode}):\n{out}")
        return out

    async def create_account(self, user: str, password: str) -> str:
        """Create (or reset the password of) `user`; returns the bare JID.  Node must run."""
        await self.create_accounts({user: password})
        return self.jid(user)

    async def create_accounts(self, accounts: Mapping[str, str]) -> None:
        """Create many accounts (existing ones are made anew, with the new password) in
        one import.

        The SCRAM keys are derived here, in threads (PBKDF2 releases the GIL), and one
        `ejabberdctl import_piefxis` stores them all.
        """
        items = list(accounts.items())
        if not items:
            return
        for user, _ in items:
            check_user(user)
        if not self.running:
            raise EjabberdError("create_accounts needs a running ejabberd")
        # The import stops at the first account that exists: those are made anew.
        existing = set((await self.ctl("registered_users", self.domain)).split())
        for user, _ in items:
            if user in existing:
                await self.ctl("unregister", user, self.domain)
        workers = max(1, min(os.cpu_count() or 1, len(items) // 50 + 1))
        chunks = [items[i::workers] for i in range(workers)]
        parts = await asyncio.gather(
            *(asyncio.to_thread(_piefxis_users, chunk, self.scram_iterations) for chunk in chunks)
        )
        document = _piefxis(self.domain, "".join(parts))
        path = self.state_dir / f"import-{secrets.token_hex(4)}.xml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds keys
        try:
            with os.fdopen(fd, "w") as f:
                f.write(document)
            assert self._run is not None
            if self._run.other_user:
                os.chown(path, self._run.uid, self._run.gid)
            await self.ctl("import_piefxis", str(path))
        finally:
            path.unlink(missing_ok=True)


async def _exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(POLL_INTERVAL)
    return True


def _service_listener(name: str, secret: str, port: int) -> str:
    return (
        f"  - port: {port}\n"
        f'    ip: "{HOST}"\n'
        "    module: ejabberd_service\n"
        f"    max_stanza_size: {COMPONENT_STANZA_SIZE}\n"
        "    shaper: none\n"
        "    hosts:\n"
        f"      {yaml_str(name)}:\n"
        f"        password: {yaml_str(secret)}\n"
    )


def _render_config(inst: EjabberdInstance, *, log_level: str) -> str:
    listeners = "".join(
        _service_listener(name, secret, inst.component_ports[name])
        for name, secret in inst.components.items()
    )
    values = {
        "domain": yaml_str(inst.domain),
        "log_level": log_level,
        "pem_file": yaml_str(str(inst.state_dir / "ejabberd.pem")),
        "c2s_port": str(inst.c2s_port),
        "c2s_max_stanza_size": str(C2S_STANZA_SIZE),
        "service_listeners": listeners.rstrip("\n"),
        "upload_port": str(inst.upload_port),
        "upload_jid": yaml_str(f"upload.{inst.domain}"),
        "upload_url": yaml_str(f"{inst.upload_origin}/upload"),
        "upload_dir": yaml_str(str(inst.state_dir / "upload")),
        "upload_size_limit": str(UPLOAD_SIZE_LIMIT),
    }
    return Template(TEMPLATE.read_text()).substitute(values)


def _render_ctl_config(inst: EjabberdInstance) -> str:
    values = {
        "node": shlex.quote(inst.node),
        "dist_port": str(inst.dist_port),
        "pid_file": shlex.quote(str(inst._pid_file())),
    }
    return Template(CTL_TEMPLATE.read_text()).substitute(values)


def _node_name(state_dir: Path) -> str:
    """A unique node name, kept in the state directory: Mnesia's spool belongs to it."""
    path = state_dir / "node-name"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        name = f"cirrus-{secrets.token_hex(4)}@{HOST}"
        path.write_text(name + "\n")
        return name


def _write_private(path: Path, text: str, run: _RunAs, mode: int = 0o600) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    if run.other_user:
        os.chown(path, run.uid, run.gid)


def _prepare(
    state_dir: Path,
    *,
    domain: str,
    components: list[str],
    accounts: Mapping[str, str] | None,
    c2s_port: int | None,
    log_level: str,
) -> tuple[EjabberdInstance, bool]:
    """Validate arguments, create the state directory, pick ports, secrets and a node
    name.  Returns the (not yet started) instance and whether a certificate must be made."""
    state_dir = state_dir.resolve()
    check_names(domain, components, accounts)
    if log_level not in ("debug", "info", "warning", "error"):
        raise ValueError(f"bad log level {log_level!r}")

    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o700)  # configs hold component secrets, the cookie the node's keys
    run = _run_as(state_dir)
    if run.other_user:
        _check_reachable(state_dir, run.uid, run.gid)
    picked = iter(free_ports(3 + len(components)))
    port = c2s_port if c2s_port is not None else next(picked)
    ports = [p for p in picked if p != port]
    upload_port = ports.pop()
    certs_dir = state_dir / "certs"
    certs_dir.mkdir(exist_ok=True)
    for sub in ("logs", "spool", "upload"):
        (state_dir / sub).mkdir(exist_ok=True)
    cert_file = certs_dir / f"{domain}.crt"
    key_file = certs_dir / f"{domain}.key"
    need_cert = not (cert_file.exists() and key_file.exists())
    inst = EjabberdInstance(
        domain=domain,
        host=HOST,
        c2s_port=port,
        component_port=ports[0] if components else 0,
        components={name: secrets.token_urlsafe(24) for name in components},
        component_ports=dict(zip(components, ports, strict=False)),
        state_dir=state_dir,
        ca_file=cert_file,
        cert_file=cert_file,
        key_file=key_file,
        node=_node_name(state_dir),
        dist_port=ports[-1],
        config_file=state_dir / "ejabberd.yml",
        ctl_config_file=state_dir / "ejabberdctl.cfg",
        log_file=state_dir / "logs" / "ejabberd.log",
        upload_port=upload_port,
        _run=run,
    )
    return inst, need_cert


def _write_files(inst: EjabberdInstance, *, log_level: str) -> None:
    run = inst._run
    assert run is not None
    d = inst.state_dir
    pem = inst.key_file.read_text() + inst.cert_file.read_text()
    _write_private(d / "ejabberd.pem", pem, run)
    _write_private(inst.config_file, _render_config(inst, log_level=log_level), run)
    _write_private(inst.ctl_config_file, _render_ctl_config(inst), run)
    cookie = d / ".erlang.cookie"
    if not cookie.exists():  # kept across restarts; the Erlang VM wants it private
        _write_private(cookie, secrets.token_urlsafe(32), run, mode=0o400)
    # The resolver config ejabberdctl points the VM at (ERL_INETRC = config dir/inetrc).
    _write_private(d / "inetrc", '{lookup,["file","native"]}.\n', run, mode=0o644)
    if run.other_user:
        for path in (d, d / "logs", d / "spool", d / "upload"):
            os.chown(path, run.uid, run.gid)
        for path in (d / "logs").iterdir():
            os.chown(path, run.uid, run.gid)


async def start_ejabberd(
    state_dir: Path,
    *,
    domain: str = "localhost",
    components: Iterable[str] = ("print.localhost",),
    accounts: Mapping[str, str] | None = None,
    c2s_port: int | None = None,
    log_level: str = "info",
    scram_iterations: int = DEFAULT_SCRAM_ITERATIONS,
) -> EjabberdInstance:
    """Render the configs into `state_dir`, start the node, wait until every port answers.

    Ports default to free loopback ports; component secrets and the cookie are random.
    `accounts` (user -> password) are created once the node is up.  The caller must
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
            log_level=log_level,
        )
        inst.scram_iterations = scram_iterations
        if need_cert:
            await make_certificate(domain, inst.cert_file, inst.key_file)
        _write_files(inst, log_level=log_level)
        try:
            await inst._start()
            break
        except PortInUseError as err:
            # A port we picked was taken in the meantime: pick again.
            if err.port == c2s_port or attempt == 2:
                raise
    if accounts:
        try:
            await inst.create_accounts(accounts)
        except BaseException:
            await inst.stop()
            raise
    return inst


# ---------------------------------------------------------------------- CLI


async def _main(argv: list[str] | None = None) -> int:
    parser = cli_parser("python -m ejabberd_config.launcher", "ejabberd")
    args = parser.parse_args(argv)
    components, accounts = cli_names(parser, args)
    inst = await start_ejabberd(
        args.state_dir,
        domain=args.domain,
        components=components,
        accounts=accounts,
        c2s_port=args.c2s_port,
        log_level=args.log_level,
    )
    return await serve(inst, "ejabberd")


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(_main(argv))


if __name__ == "__main__":
    sys.exit(main())
