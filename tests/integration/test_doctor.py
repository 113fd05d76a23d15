"""`cirrus doctor` against a real Prosody (prosody_config.launcher) and a real service:
right and wrong secrets, passwords and CA files, each wrong thing named in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cirrus.stack import toml
from cirrus.stack.local import SERVICE_JID
from prosody_config.launcher import ProsodyInstance, free_ports
from server.app import ServiceApp
from tests.conftest import MANAGER_COMPONENT
from tests.deploy_support import make_certificate, run_doctor

pytestmark = pytest.mark.timeout(60)


def service_toml(tmp: Path, prosody: ProsodyInstance, app: ServiceApp, secret: str) -> Path:
    return toml.write(
        tmp / "doctor" / "service.toml",
        {
            "database": str(tmp / "doctor" / "unused.db"),
            "spool_dir": str(tmp / "doctor" / "spool"),
            "xmpp": {
                "component_jid": SERVICE_JID,
                "secret": secret,
                "host": prosody.host,
                "port": prosody.component_port,
                "domain": prosody.domain,
            },
            "http": {
                "host": "127.0.0.1",
                "port": int(app.service.public_url.rsplit(":", 1)[1]),
                "public_url": app.service.public_url,
                "cert_file": str(prosody.cert_file),
                "key_file": str(prosody.key_file),
            },
        },
    )


def manager_toml(
    tmp: Path, prosody: ProsodyInstance, password: str, ca_file: Path | None, **xmpp: object
) -> Path:
    settings: dict[str, object] = {
        "service_jid": SERVICE_JID,
        "host": prosody.host,
        "port": prosody.c2s_port,
        "jid": prosody.jid("mgr1"),
        "password": password,
        **xmpp,
    }
    if ca_file is not None:
        settings["ca_file"] = str(ca_file)
    return toml.write(
        tmp / "doctor" / "manager.toml",
        {
            "state_dir": str(tmp / "doctor" / "mgr"),
            "xmpp": settings,
            "devices": [
                {"output_device_uuid": "urn:uuid:0", "printer_name": "q", "driver": "sim:"}
            ],
        },
    )


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith("ok ")]


async def test_service_config_right_and_wrong_secret(
    short_tmp: Path, prosody: ProsodyInstance, service: ServiceApp
) -> None:
    right = service_toml(short_tmp, prosody, service, prosody.components[SERVICE_JID])
    healthy, lines = await run_doctor(right, ca_file=prosody.ca_file)
    assert healthy, lines
    assert failures(lines) == []
    text = "\n".join(lines)
    # The running service holds the component: Prosody checked the secret, then refused
    # the second connection.
    assert "secret accepted (the component is connected: the service runs)" in text
    assert f"{service.service.public_url}: TLS valid, the service answers" in text

    wrong = service_toml(short_tmp, prosody, service, "not-the-secret")
    healthy, lines = await run_doctor(wrong, ca_file=prosody.ca_file)
    assert not healthy
    assert failures(lines) == [
        f"FAIL  component {SERVICE_JID} at {prosody.host}:{prosody.component_port}: "
        "the XMPP server refused the secret"
    ]


async def test_handshake_of_a_component_nobody_holds(
    short_tmp: Path, prosody: ProsodyInstance
) -> None:
    """A manager in component mode: the handshake itself is accepted, then closed."""
    config = manager_toml(
        short_tmp,
        prosody,
        "unused",
        prosody.ca_file,
        jid=None,
        port=prosody.component_port,
        component_jid=MANAGER_COMPONENT,
        secret=prosody.components[MANAGER_COMPONENT],
    )
    url = f"https://127.0.0.1:{free_ports(1)[0]}"
    healthy, lines = await run_doctor(config, service_url=url)
    assert lines[2].endswith(
        f"component {MANAGER_COMPONENT} at {prosody.host}:{prosody.component_port}: secret accepted"
    ), lines
    # Nothing listens at that URL: the one failure, in one line.
    assert not healthy
    assert failures(lines) == [f"FAIL  {url}: not reachable (connection refused)"]


async def test_manager_login_password_and_ca_file(
    short_tmp: Path, prosody: ProsodyInstance, service: ServiceApp, passwords: dict[str, str]
) -> None:
    url = service.service.public_url
    right = manager_toml(short_tmp, prosody, passwords["mgr1"], prosody.ca_file)
    healthy, lines = await run_doctor(right, service_url=url)
    assert healthy, lines
    text = "\n".join(lines)
    assert (
        f"c2s {prosody.host}:{prosody.c2s_port}: STARTTLS, certificate valid for localhost" in text
    )
    assert f"logged in as mgr1@localhost; the service {SERVICE_JID} answers" in text
    assert f"{url}: TLS valid, the service answers" in text

    wrong_password = manager_toml(short_tmp, prosody, "wrong", prosody.ca_file)
    healthy, lines = await run_doctor(wrong_password, service_url=url)
    assert not healthy
    assert failures(lines) == [
        "FAIL  login as mgr1@localhost: the XMPP server refused the password"
    ]

    other_ca, _ = make_certificate(short_tmp / "other", "localhost", "IP:127.0.0.1")
    wrong_ca = manager_toml(short_tmp, prosody, passwords["mgr1"], other_ca)
    healthy, lines = await run_doctor(wrong_ca, service_url=url)
    assert not healthy
    assert failures(lines) == [
        f"FAIL  c2s {prosody.host}:{prosody.c2s_port}: certificate not valid for localhost: "
        f"self-signed certificate (trusting {other_ca})",
        "skip  login: needs tls",
        f"FAIL  {url}: certificate not valid for 127.0.0.1: self-signed certificate "
        f"(trusting {other_ca})",
    ]


def test_exit_status(short_tmp: Path) -> None:
    """The command itself: a config that does not load is one line and status 1."""
    bad = short_tmp / "manager.toml"
    bad.write_text('state_dir = "x"\n[xmpp]\nport = "five"\n')
    run = subprocess.run(
        [sys.executable, "-m", "cirrus.cli", "doctor", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 1, run
    assert run.stdout.splitlines()[1] == (
        f"FAIL  {bad} (manager): xmpp.port: Input should be a valid integer, unable to parse "
        "string as an integer; devices: Field required"
    )


async def test_gateway_config(
    short_tmp: Path, prosody: ProsodyInstance, service: ServiceApp, passwords: dict[str, str]
) -> None:
    def gateway_toml(password: str, key_file: Path) -> Path:
        return toml.write(
            short_tmp / "doctor" / "gateway.toml",
            {
                "account": "alice",
                "password": password,
                "listen": {
                    "tls_port": 8632,
                    "cert_file": str(prosody.cert_file),
                    "key_file": str(key_file),
                },
                "xmpp": {
                    "host": prosody.host,
                    "port": prosody.c2s_port,
                    "domain": prosody.domain,
                    "service_jid": SERVICE_JID,
                    "ca_file": str(prosody.ca_file),
                },
            },
        )

    url = service.service.public_url
    healthy, lines = await run_doctor(
        gateway_toml(passwords["alice"], prosody.key_file), service_url=url
    )
    assert healthy, lines
    assert f"ok    {prosody.cert_file} and its key load" in lines
    assert f"ok    logged in as alice@localhost; the service {SERVICE_JID} answers" in lines

    _, other_key = make_certificate(short_tmp / "other", "localhost")
    healthy, lines = await run_doctor(gateway_toml(passwords["alice"], other_key), service_url=url)
    assert not healthy
    assert failures(lines) == [f"FAIL  {prosody.cert_file} / {other_key}: KEY_VALUES_MISMATCH"]
