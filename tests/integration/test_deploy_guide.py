"""Every config block of docs/deploy.md, given test ports and paths, loaded by the real
program: Cirrus's settings loaders, `nginx -t`, `prosodyctl check config`, and Prosody,
ejabberd and nginx started with them on loopback, accounts from a real LDAP directory,
a job printed through the lot, `cirrus doctor` run against it.

Test values replace the guide's own ones by plain string replacement, and each
replaced string must be in the block: a guide that changes a value the test relies on
fails here instead of silently testing something else."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from cirrus.admin_client import AdminClient
from cirrus.client import CirrusClient, ClientSettings
from gateway.app import GatewayConfig
from manager.app import ManagerApp
from manager.config import ManagerSettings
from prosody_config.launcher import free_ports, lua_str
from server.app import ServiceApp
from server.config import Settings
from stanzas.admin_ops import IssueEnrollmentCodeResponse
from stanzas.states import JobState
from tests import deploy_servers
from tests.deploy_support import (
    guide_snippets,
    make_certificate,
    make_issued_certificate,
    run_doctor,
    snippet,
)

pytestmark = pytest.mark.timeout(120)

CHECKED = {
    ("lua", "prosody-global"),
    ("lua", "prosody-hosts"),
    ("lua", "prosody-ldap"),
    ("yaml", "ejabberd"),
    ("yaml", "ejabberd-ldap"),
    ("toml", "cirrus-service"),
    ("toml", "cirrus-manager"),
    ("toml", "cirrus-gateway"),
    ("nginx", "cirrus-service"),
}
NOT_CONFIG = {"sh", "text"}  # commands and sample output
DOMAIN, COMPONENT = "example.com", "print.example.com"


def render(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"the guide's block no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def test_every_config_block_is_checked() -> None:
    named = [(s.language, s.name) for s in guide_snippets() if s.language not in NOT_CONFIG]
    assert sorted(named) == sorted(CHECKED), "a config block no test loads (or a lost one)"
    unnamed = [s.line for s in guide_snippets() if s.language in NOT_CONFIG and s.name]
    assert unnamed == []


def test_cirrus_blocks_load_and_agree(tmp_path: Path) -> None:
    """The three TOML blocks load with the real loaders, and the guide's blocks agree
    with each other: one secret, one endpoint, one size limit, the same accounts."""
    loaded = {}
    for name, loader in (
        ("cirrus-service", Settings.load),
        ("cirrus-manager", ManagerSettings.load),
        ("cirrus-gateway", GatewayConfig.load),
    ):
        path = tmp_path / f"{name}.toml"
        path.write_text(snippet(name, "toml"))
        loaded[name] = loader(path)
    service = loaded["cirrus-service"]
    manager = loaded["cirrus-manager"]
    gateway = loaded["cirrus-gateway"]
    assert isinstance(service, Settings) and isinstance(manager, ManagerSettings)
    assert isinstance(gateway, GatewayConfig)

    secret = service.xmpp.secret
    assert f"component_secret = {lua_str(secret)}" in snippet("prosody-hosts")
    assert f'password: "{secret}"' in snippet("ejabberd")
    assert f"Component {lua_str(service.xmpp.component_jid)}" in snippet("prosody-hosts")
    assert manager.xmpp.service_jid == gateway.xmpp.service_jid == service.xmpp.component_jid
    assert manager.xmpp.jid is not None
    assert f"unlimited_jids = {{ {lua_str(manager.xmpp.jid)} }}" in snippet("prosody-global")
    assert f"- {manager.xmpp.jid}" in snippet("ejabberd")

    proxy = snippet("cirrus-service", "nginx")
    assert f"proxy_pass http://{service.http.host}:{service.http.port};" in proxy
    server_name = re.search(r"server_name (\S+);", proxy)
    assert server_name and service.http.public_url == f"https://{server_name[1]}"
    body_limit = re.search(r"client_max_body_size (\d+)g;", proxy)
    assert body_limit and int(body_limit[1]) * 1024**3 >= service.http.max_document_size


# ----------------------------------------------------------------------------- nginx


def _render_nginx(folder: Path, port: int, upstream: int) -> Path:
    cert, key = make_certificate(folder / "certs", "print.example.com", "IP:127.0.0.1")
    block = render(
        snippet("cirrus-service", "nginx"),
        {
            "listen 443": f"listen 127.0.0.1:{port}",
            "listen [::]:443": f"listen [::1]:{port}",
            "/etc/letsencrypt/live/print.example.com/fullchain.pem": str(cert),
            "/etc/letsencrypt/live/print.example.com/privkey.pem": str(key),
            "http://127.0.0.1:8480": f"http://127.0.0.1:{upstream}",
        },
    )
    return deploy_servers.nginx_config(folder, block)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="needs nginx (make install)")
def test_nginx_block_passes_nginx_t(tmp_path: Path) -> None:
    conf = _render_nginx(tmp_path / "nginx", *free_ports(2))
    result = deploy_servers.nginx_test(conf)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr


# ---------------------------------------------------------------------------- Prosody

LDAP_USERS = {"alice": "alice-ldap-pw", "admin": "admin-ldap-pw"}


def _prosody_config(state: Path, certs: Path, c2s: int, component: int, ldap_port: int) -> str:
    """Ours (where Prosody keeps its files, loopback ports), then the guide's blocks."""
    ours = deploy_servers.prosody_base_config(state, c2s)
    guide_global = render(
        snippet("prosody-global"),
        {
            '"/etc/prosody/certs"': lua_str(str(certs)),
            "component_ports = { 5347 }": f"component_ports = {{ {component} }}",
        },
    )
    ldap = render(snippet("prosody-ldap"), {'"ldap.example.com"': f'"127.0.0.1:{ldap_port}"'})
    return "\n".join([ours, guide_global, ldap, snippet("prosody-hosts")])


@pytest.mark.skipif(
    shutil.which("prosody") is None
    or shutil.which("slapd") is None
    or shutil.which("nginx") is None,
    reason="needs prosody, slapd, lua-ldap and nginx (make install)",
)
async def test_prosody_ldap_nginx_service_and_manager_as_the_guide_says(
    short_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service_toml = tomllib.loads(snippet("cirrus-service", "toml"))
    manager_toml = tomllib.loads(snippet("cirrus-manager"))
    secret = str(service_toml["xmpp"]["secret"])  # type: ignore[index]
    manager_jid = str(manager_toml["xmpp"]["jid"])  # type: ignore[index]
    manager_password = str(manager_toml["xmpp"]["password"])  # type: ignore[index]
    users = {**LDAP_USERS, manager_jid.split("@")[0]: manager_password}
    ldap_service_password = re.search(r'ldap_password = "([^"]+)"', snippet("prosody-ldap"))
    assert ldap_service_password

    certs = short_tmp / "certs"
    xmpp_cert, xmpp_key = make_certificate(certs, DOMAIN)  # Prosody finds it by name
    ldap_cert, ldap_key = make_certificate(short_tmp / "ldapcert", "ldap", "IP:127.0.0.1")
    c2s, component, http_port, proxy_port = free_ports(4)
    nginx_conf = _render_nginx(short_tmp / "nginx", proxy_port, http_port)
    nginx_cert = short_tmp / "nginx" / "certs" / "print.example.com.crt"
    trust = short_tmp / "trust.pem"  # what the manager and the client trust
    trust.write_text(xmpp_cert.read_text() + nginx_cert.read_text())
    monkeypatch.setenv("LDAPTLS_CACERT", str(ldap_cert))  # for Prosody's StartTLS to slapd

    async with deploy_servers.slapd(
        short_tmp / "ldap", ldap_cert, ldap_key, users, {"prosody": ldap_service_password[1]}
    ) as (ldap_port, _):
        state = short_tmp / "prosody"
        (state / "data").mkdir(parents=True)
        config = state / "prosody.cfg.lua"
        config.write_text(_prosody_config(state, certs, c2s, component, ldap_port))
        check = await asyncio.to_thread(
            subprocess.run,
            ["prosodyctl", "--config", str(config), "check", "config"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        assert "All checks passed" in check.stdout, check.stdout

        prosody = deploy_servers.prosody_instance(
            state, DOMAIN, c2s, component, {COMPONENT: secret}, xmpp_cert, xmpp_key
        )
        await prosody.restart()  # starts it with the config above, waits until it serves
        try:
            await _print_through_the_guide(
                short_tmp, c2s, component, http_port, proxy_port, trust, nginx_conf, users
            )
        finally:
            await prosody.stop()


async def _print_through_the_guide(
    tmp: Path,
    c2s: int,
    component: int,
    http_port: int,
    proxy_port: int,
    trust: Path,
    nginx_conf: Path,
    users: dict[str, str],
) -> None:
    state = tmp / "service-state"
    service_text = render(
        snippet("cirrus-service", "toml"),
        {
            "/var/lib/cirrus-service": str(state),
            "port = 5347": f"port = {component}",
            "port = 8480": f"port = {http_port}",
            '"https://print.example.com"': f'"https://127.0.0.1:{proxy_port}"',
        },
    )
    # The queue is approved by hand in a deployment (`approve office`): here at once.
    service_file = tmp / "service.toml"
    service_file.write_text("auto_approve_devices = true\n" + service_text)

    service = ServiceApp(Settings.load(service_file))
    await service.start()
    try:
        # As the guide says: the administrator enrols the device with a one-time code.
        code = await _enrollment_code(c2s, trust, users["admin"])
        manager_text = render(
            snippet("cirrus-manager"),
            {
                "/var/lib/cirrus-manager": str(tmp / "manager-state"),
                '"xmpp.example.com"': '"127.0.0.1"',
                "port = 5222": f"port = {c2s}\nca_file = {lua_str(str(trust))}",
                '"ipp:ipp://192.0.2.10/ipp/print"': '"sim:"',
                "PASTE-THE-CODE-FROM-CIRRUS-ADMIN-ENROLL": code,
            },
        )
        manager_file = tmp / "manager.toml"
        manager_file.write_text(manager_text)
        async with deploy_servers.nginx(nginx_conf, proxy_port):
            healthy, lines = await run_doctor(service_file, ca_file=trust)
            assert healthy, lines
            url = f"https://127.0.0.1:{proxy_port}"
            healthy, lines = await run_doctor(manager_file, service_url=url)
            assert healthy, lines
            assert (
                "logged in as cirrus-manager@example.com; the service print.example.com "
                "answers" in "\n".join(lines)
            )

            manager = ManagerApp(ManagerSettings.load(manager_file))
            await manager.start()
            try:
                await asyncio.wait_for(manager.synced.wait(), 30)
                await _alice_prints(tmp, c2s, trust, users["alice"])
            finally:
                await manager.stop()
            access_log = (nginx_conf.parent / "access.log").read_text()
            assert re.search(r'"PUT /uploads/\S+ HTTP/1.1" 201', access_log), access_log
            assert re.search(r'"GET /documents/\S+ HTTP/1.1" 200', access_log), access_log
    finally:
        await service.stop()


async def _enrollment_code(c2s: int, trust: Path, password: str) -> str:
    """`cirrus admin enroll office`, as the guide's administrator."""
    settings = ClientSettings(
        jid=f"admin@{DOMAIN}",
        password=password,
        service_jid=COMPONENT,
        host="127.0.0.1",
        port=c2s,
        ca_file=trust,
    )
    async with CirrusClient(settings) as admin:
        response, _text = await AdminClient(admin).run("enroll", {"queue": "office"})
    assert isinstance(response, IssueEnrollmentCodeResponse)
    return response.enrollment_code


async def _alice_prints(tmp: Path, c2s: int, trust: Path, password: str) -> None:
    """A document too big to travel inside a request: uploaded through nginx, fetched
    by the manager through nginx, with the digest header checked on the way."""
    alice = CirrusClient(
        ClientSettings(
            jid=f"alice@{DOMAIN}",
            password=password,
            service_jid=COMPONENT,
            host="127.0.0.1",
            port=c2s,
            ca_file=trust,
        )
    )
    await alice.start()  # SASL PLAIN inside TLS, checked against the directory
    try:
        document = tmp / "report.pdf"
        document.write_bytes(os.urandom(300 * 1024))
        job = await alice.create_job("office", job_name="report")
        await alice.send_document(job.job_id, document)  # HTTPS PUT through nginx
        final = await alice.wait_for_final(job.job_id, timeout=60)
        assert final.job_state == JobState.COMPLETED, final
    finally:
        await alice.stop()


# --------------------------------------------------------------------------- ejabberd


@pytest.mark.skipif(
    shutil.which("ejabberdctl") is None or shutil.which("slapd") is None or os.geteuid() != 0,
    reason="needs ejabberd and slapd (make install), and root: ejabberdctl starts a node "
    "only as root or as the ejabberd user",
)
async def test_ejabberd_with_ldap_as_the_guide_says(short_tmp: Path) -> None:
    """A private ejabberd node from the guide's blocks, accounts from LDAPS: the doctor
    finds the component secret accepted and the manager's account logging in."""
    short_tmp.chmod(0o755)  # the node runs as the ejabberd user
    manager_toml = tomllib.loads(snippet("cirrus-manager"))
    manager_password = str(manager_toml["xmpp"]["password"])  # type: ignore[index]
    ldap_password = re.search(r'ldap_password: "([^"]+)"', snippet("ejabberd-ldap"))
    assert ldap_password
    node = short_tmp / "ejabberd"
    xmpp_cert, xmpp_key = make_certificate(node / "certs", DOMAIN)
    ldap_ca, ldap_cert, ldap_key = make_issued_certificate(
        # Erlang's ssl checks an address given as a string against DNS names only.
        short_tmp / "ldapcert",
        "ldap",
        "IP:127.0.0.1",
        "DNS:127.0.0.1",
    )
    c2s, component = free_ports(2)
    async with deploy_servers.slapd(
        short_tmp / "ldap",
        ldap_cert,
        ldap_key,
        {"cirrus-manager": manager_password},
        {"ejabberd": ldap_password[1]},
    ) as (_, ldaps_port):
        config = "\n".join(
            [
                "loglevel: info",
                "log_rotate_count: 0",
                "modules:\n  mod_disco: {}\n  mod_ping: {}\n  mod_roster: {}",
                render(
                    snippet("ejabberd"),
                    {
                        "/etc/ejabberd/certs/example.com/fullchain.pem": str(xmpp_cert),
                        "/etc/ejabberd/certs/example.com/privkey.pem": str(xmpp_key),
                        'port: 5222\n    ip: "::"': f'port: {c2s}\n    ip: "127.0.0.1"',
                        "port: 5347": f"port: {component}",
                    },
                ),
                render(
                    snippet("ejabberd-ldap"),
                    {
                        "- ldap.example.com": "- 127.0.0.1",
                        "ldap_port: 636": f"ldap_port: {ldaps_port}",
                        "/etc/ssl/certs/ca-certificates.crt": str(ldap_ca),
                    },
                ),
            ]
        )
        async with deploy_servers.ejabberd(node, config, c2s) as log:
            service_file = short_tmp / "service.toml"
            service_file.write_text(
                render(
                    snippet("cirrus-service", "toml"),
                    {
                        "port = 5347": f"port = {component}",
                        "port = 8480": "port = 0",
                        # no DNS look-up of the guide's name from a test
                        '"https://print.example.com"': '"http://127.0.0.1:1"',
                    },
                )
            )
            _healthy, lines = await run_doctor(service_file)
            assert lines[2].endswith(
                f"component {COMPONENT} at 127.0.0.1:{component}: secret accepted"
            ), (lines, log.read_text()[-3000:])

            manager_file = short_tmp / "manager.toml"
            manager_file.write_text(
                render(
                    snippet("cirrus-manager"),
                    {
                        '"xmpp.example.com"': '"127.0.0.1"',
                        "port = 5222": f"port = {c2s}\nca_file = {lua_str(str(xmpp_cert))}",
                    },
                )
            )
            _healthy, lines = await run_doctor(manager_file, service_url="http://127.0.0.1:1")
            text = "\n".join(lines)
            assert f"STARTTLS, certificate valid for {DOMAIN}" in text, text
            # The password is the directory's. No service runs here: ejabberd answers for
            # the component it knows but nobody holds.
            assert (
                f"FAIL  logged in as cirrus-manager@{DOMAIN}, but the service {COMPONENT} does "
                "not answer (remote-server-not-found)" in lines
            ), (text, log.read_text()[-3000:])
