"""Private servers the deploy guide's tests start on loopback: an LDAP directory (slapd),
nginx and ejabberd, each in its own folder, each stopped by the test that started it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

from prosody_config.launcher import ProsodyInstance, free_ports, lua_str

READY_TIMEOUT = 20.0
BASE_DN = "dc=example,dc=com"


async def _wait_port(proc: asyncio.subprocess.Process, port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if proc.returncode is not None:
            raise RuntimeError(f"exited with {proc.returncode}:\n{_tail(log)}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"port {port} not open after {READY_TIMEOUT} s:\n{_tail(log)}"
                ) from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return


def _tail(path: Path) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-30:])
    except OSError:
        return "(no log)"


async def _stop(proc: asyncio.subprocess.Process, *, group: bool = False) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(proc.pid, signal.SIGTERM)  # our own session: ejabberdctl and su
            else:
                proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL) if group else proc.kill()
            await proc.wait()


# ------------------------------------------------------------------------------ LDAP


def _ldif(entries: dict[str, str], services: dict[str, str]) -> str:
    blocks = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\no: Example\n"
        "dc: example\n",
        f"dn: ou=people,{BASE_DN}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=services,{BASE_DN}\nobjectClass: organizationalUnit\nou: services\n",
    ]
    for uid, password in entries.items():
        blocks.append(
            f"dn: uid={uid},ou=people,{BASE_DN}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {uid}\nsn: {uid}\nuserPassword: {password}\n"
        )
    for cn, password in services.items():
        blocks.append(
            f"dn: cn={cn},ou=services,{BASE_DN}\nobjectClass: organizationalRole\n"
            f"objectClass: simpleSecurityObject\ncn: {cn}\nuserPassword: {password}\n"
        )
    return "\n".join(blocks)


@contextlib.asynccontextmanager
async def slapd(
    folder: Path, cert: Path, key: Path, users: dict[str, str], services: dict[str, str]
) -> AsyncIterator[tuple[int, int]]:
    """A directory `dc=example,dc=com` with `users` under ou=people (uid) and `services`
    under ou=services (cn); yields (ldap port with StartTLS, ldaps port)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").mkdir()
    conf = folder / "slapd.conf"
    conf.write_text(
        "include /etc/ldap/schema/core.schema\n"
        "include /etc/ldap/schema/cosine.schema\n"
        "include /etc/ldap/schema/inetorgperson.schema\n"
        "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
        f"pidfile {folder}/slapd.pid\n"
        f"TLSCertificateFile {cert}\nTLSCertificateKeyFile {key}\n"
        f'database mdb\nsuffix "{BASE_DN}"\ndirectory {folder}/db\n'
        "access to attrs=userPassword by anonymous auth by * none\n"
        "access to * by * read\n"
    )
    (folder / "data.ldif").write_text(_ldif(users, services))
    await asyncio.to_thread(
        subprocess.run,
        ["slapadd", "-f", str(conf), "-l", str(folder / "data.ldif")],
        check=True,
        capture_output=True,
    )
    ldap_port, ldaps_port = free_ports(2)
    log = folder / "slapd.log"
    urls = f"ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            "slapd", "-d", "0", "-f", str(conf), "-h", urls, stdout=out, stderr=out
        )
    try:
        await _wait_port(proc, ldap_port, log)
        await _wait_port(proc, ldaps_port, log)
        yield ldap_port, ldaps_port
    finally:
        await _stop(proc)


# ----------------------------------------------------------------------------- nginx


def nginx_config(folder: Path, server_block: str) -> Path:
    """A whole nginx.conf around one server block, everything it writes in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("body", "proxy"):
        (folder / sub).mkdir(exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log info;\n"
        "worker_processes 1;\ndaemon off;\n"
        + ("user root;\n" if os.geteuid() == 0 else "")
        + "events { worker_connections 64; }\n"
        "http {\n"
        f"    access_log {folder}/access.log;\n"
        f"    client_body_temp_path {folder}/body;\n"
        f"    proxy_temp_path {folder}/proxy;\n"
        f"    fastcgi_temp_path {folder}/proxy;\n"
        f"    uwsgi_temp_path {folder}/proxy;\n"
        f"    scgi_temp_path {folder}/proxy;\n"
        f"{server_block}\n"
        "}\n"
    )
    return conf


def nginx_test(conf: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t -c CONF`: nginx's own check of the whole file."""
    return subprocess.run(
        ["nginx", "-t", "-c", str(conf), "-e", str(conf.parent / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )


@contextlib.asynccontextmanager
async def nginx(conf: Path, port: int) -> AsyncIterator[None]:
    log = conf.parent / "error.log"
    proc = await asyncio.create_subprocess_exec(
        "nginx",
        "-c",
        str(conf),
        "-e",
        str(log),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _wait_port(proc, port, log)
        yield
    finally:
        await _stop(proc)


# -------------------------------------------------------------------------- ejabberd


@contextlib.asynccontextmanager
async def ejabberd(folder: Path, config: str, ready_port: int) -> AsyncIterator[Path]:
    """A private ejabberd node (never the system's service) with `config` (YAML) as its
    ejabberd.yml, in the foreground under ejabberdctl, as the ejabberd user."""
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("logs", "spool"):
        (folder / sub).mkdir(exist_ok=True)
    (folder / "ejabberd.yml").write_text(config)
    dist_port = free_ports(1)[0]
    cookie = secrets.token_hex(16)
    (folder / "ejabberdctl.cfg").write_text(
        f"ERLANG_NODE=cirrus-{secrets.token_hex(4)}@localhost\n"
        f"ERL_DIST_PORT={dist_port}\nINET_DIST_INTERFACE=127.0.0.1\n"
        f'ERL_OPTIONS="-setcookie {cookie}"\n'
        f"EJABBERD_PID_PATH={folder}/ejabberd.pid\nEJABBERD_BYPASS_WARNINGS=true\n"
    )
    user = pwd.getpwnam("ejabberd")
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)
    log = folder / "logs" / "ejabberd.log"
    ctl = shutil.which("ejabberdctl") or "/usr/sbin/ejabberdctl"
    proc = await asyncio.create_subprocess_exec(
        ctl,
        *("--config-dir", str(folder), "--config", str(folder / "ejabberd.yml")),
        *("--ctl-config", str(folder / "ejabberdctl.cfg")),
        *("--logs", str(folder / "logs"), "--spool", str(folder / "spool"), "foreground"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await _wait_port(proc, ready_port, log)
        yield log
    finally:
        await _stop_node(folder / "ejabberd.pid")
        await _stop(proc, group=True)


async def _stop_node(pid_file: Path) -> None:
    """The node itself: `su` under ejabberdctl does not pass SIGTERM on to it."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline += 5
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------- Prosody


def prosody_base_config(state: Path, c2s: int) -> str:
    """The global settings a test's Prosody needs before the blocks under test: where it
    keeps its files, loopback only, the modules of an ordinary server (mod_limits on,
    as in Debian's config). `state/data` must exist."""
    return "\n".join(
        [
            f"run_as_root = {'true' if os.geteuid() == 0 else 'false'}",
            f"pidfile = {lua_str(str(state / 'prosody.pid'))}",
            f"data_path = {lua_str(str(state / 'data'))}",
            f"admin_socket = {lua_str(str(state / 'data' / 'prosody.sock'))}",
            "log = { { levels = { min = 'info' }, to = 'file', filename = "
            f"{lua_str(str(state / 'prosody.log'))} }} }}",
            'interfaces = { "127.0.0.1" }',
            f"c2s_ports = {{ {c2s} }}",
            'c2s_interfaces = { "127.0.0.1" }',
            "s2s_ports = { }",
            "http_ports = { }",
            "https_ports = { }",
            'modules_enabled = { "roster"; "saslauth"; "tls"; "disco"; "ping"; "limits"; '
            '"admin_shell" }',
            'modules_disabled = { "s2s"; "s2s_auth_certs"; "offline" }',
        ]
    )


def prosody_instance(
    state: Path,
    domain: str,
    c2s: int,
    component: int,
    components: dict[str, str],
    cert: Path,
    key: Path,
) -> ProsodyInstance:
    """The launcher's instance around `state/prosody.cfg.lua` written by the test:
    `await instance.restart()` starts it and waits until it serves, `stop()` stops it."""
    return ProsodyInstance(
        domain=domain,
        host="127.0.0.1",
        c2s_port=c2s,
        component_port=component,
        components=components,
        state_dir=state,
        ca_file=cert,
        cert_file=cert,
        key_file=key,
        config_file=state / "prosody.cfg.lua",
        log_file=state / "prosody.log",
    )
