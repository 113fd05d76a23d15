"""What `cirrus init` writes and prints works as it is: its Prosody snippets in a real
Prosody, the service it configured running against it, the manager's account logging in
(the doctor healthy throughout); its ejabberd snippets in a private ejabberd node."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from cirrus.cli import build_parser
from cirrus.deploy import init
from prosody_config.launcher import free_ports, lua_str
from server.app import ServiceApp
from server.config import Settings
from tests import deploy_servers
from tests.deploy_support import make_certificate, run_doctor

pytestmark = pytest.mark.timeout(90)
DOMAIN = "example.org"
COMPONENT = f"print.{DOMAIN}"


def cirrus_init(out: Path, kind: str) -> tuple[Path, dict[str, str]]:
    """Run `cirrus init KIND`: the config it wrote and the snippets it printed."""
    args = build_parser().parse_args(
        ["init", kind, "--domain", DOMAIN, "--out", str(out), "--state-dir", str(out / kind)]
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert init.run(args) == 0
    parts = re.split(r"^--- (\S+): add to its configuration ---$", printed.getvalue(), flags=re.M)
    snippets = dict(zip(parts[1::2], parts[2::2], strict=True))
    snippets["ejabberd"] = snippets["ejabberd"].split("\nThen: cirrus doctor")[0]
    return out / f"{kind}.toml", snippets


def replace(path: Path, replacements: dict[str, str]) -> Path:
    text = path.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return path


@pytest.mark.skipif(shutil.which("prosody") is None, reason="needs prosody (make install)")
async def test_prosody_with_what_init_printed(short_tmp: Path) -> None:
    service_toml, service_snippets = cirrus_init(short_tmp / "etc", "service")
    manager_toml, manager_snippets = cirrus_init(short_tmp / "etc", "manager")
    secret = Settings.load(service_toml).xmpp.secret
    global_part, component_part = service_snippets["Prosody"].split("\n\n", 1)
    account_part = manager_snippets["Prosody"]

    c2s, component, http_port = free_ports(3)
    state = short_tmp / "prosody"
    (state / "data").mkdir(parents=True)
    cert, key = make_certificate(short_tmp / "certs", DOMAIN, "IP:127.0.0.1")
    host = "\n".join(
        [
            f"VirtualHost {lua_str(DOMAIN)}",
            f"\tssl = {{ certificate = {lua_str(str(cert))}; key = {lua_str(str(key))} }}",
        ]
    )
    config = "\n".join(
        [
            deploy_servers.prosody_base_config(state, c2s),
            global_part.replace(
                "component_ports = { 5347 }", f"component_ports = {{ {component} }}"
            ),
            account_part,
            host,
            component_part,
        ]
    )
    (state / "prosody.cfg.lua").write_text(config)
    check = await asyncio.to_thread(
        subprocess.run,
        ["prosodyctl", "--config", str(state / "prosody.cfg.lua"), "check", "config"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "All checks passed" in check.stdout, check.stdout + check.stderr

    prosody = deploy_servers.prosody_instance(
        state, DOMAIN, c2s, component, {COMPONENT: secret}, cert, key
    )
    await prosody.restart()
    try:
        manager = tomllib.loads(manager_toml.read_text())["xmpp"]
        await prosody.create_account("cirrus-manager", manager["password"])
        replace(
            service_toml,
            {
                "port = 5347": f"port = {component}",
                "port = 8480": f"port = {http_port}",
                '"https://print.example.org"': f'"http://127.0.0.1:{http_port}"',
            },
        )
        replace(
            manager_toml,
            {
                '"xmpp.example.org"': '"127.0.0.1"',
                "port = 5222": f"port = {c2s}\nca_file = {lua_str(str(cert))}",
            },
        )
        service = ServiceApp(Settings.load(service_toml))
        await service.start()
        try:
            healthy, lines = await run_doctor(service_toml)
            assert healthy, lines
            healthy, lines = await run_doctor(
                manager_toml, service_url=f"http://127.0.0.1:{http_port}"
            )
            assert healthy, lines
            assert (
                f"ok    logged in as cirrus-manager@{DOMAIN}; the service {COMPONENT} answers"
                in lines
            )
        finally:
            await service.stop()
    finally:
        await prosody.stop()


@pytest.mark.skipif(
    shutil.which("ejabberdctl") is None or os.geteuid() != 0,
    reason="needs ejabberd (make install), and root: ejabberdctl starts a node only as root "
    "or as the ejabberd user",
)
async def test_ejabberd_with_what_init_printed(short_tmp: Path) -> None:
    short_tmp.chmod(0o755)  # the node runs as the ejabberd user
    service_toml, service_snippets = cirrus_init(short_tmp / "etc", "service")
    _, manager_snippets = cirrus_init(short_tmp / "etc", "manager")
    node = short_tmp / "ejabberd"
    cert, key = make_certificate(node / "certs", DOMAIN)
    c2s, component = free_ports(2)
    listener = service_snippets["ejabberd"].replace("port: 5347", f"port: {component}")
    config = "\n".join(
        [
            "loglevel: info",
            "log_rotate_count: 0",
            f"hosts:\n  - {DOMAIN}",
            f"certfiles:\n  - {cert}\n  - {key}",
            "modules:\n  mod_disco: {}\n  mod_ping: {}",
            "shaper:\n  normal:\n    rate: 3000\n    burst_size: 20000",
            "listen:",
            f'  -\n    port: {c2s}\n    ip: "127.0.0.1"\n    module: ejabberd_c2s\n'
            "    starttls_required: true\n    max_stanza_size: 524288\n    shaper: c2s_shaper",
            listener,
            manager_snippets["ejabberd"],
        ]
    )
    async with deploy_servers.ejabberd(node, config, c2s) as log:
        replace(
            service_toml,
            {
                "port = 5347": f"port = {component}",
                "port = 8480": "port = 0",
                '"https://print.example.org"': '"http://127.0.0.1:1"',
            },
        )
        _healthy, lines = await run_doctor(service_toml)
        assert f"ok    component {COMPONENT} at 127.0.0.1:{component}: secret accepted" in lines, (
            lines,
            log.read_text()[-3000:],
        )
