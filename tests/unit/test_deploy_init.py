"""`cirrus init`: each config loads with its real loader, explains every setting the
loader knows, holds fresh secrets, is mode 0600, and is never overwritten by accident."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from cirrus.cli import build_parser
from cirrus.deploy import configs, init
from gateway.app import GatewayConfig
from manager.config import ManagerSettings
from server.config import Settings

MODELS: dict[str, type[BaseModel]] = {
    "service": Settings,
    "manager": ManagerSettings,
    "gateway": GatewayConfig,
}
LOADERS = {"service": Settings.load, "manager": ManagerSettings.load, "gateway": GatewayConfig.load}


def run_init(out: Path, kind: str, *extra: str) -> tuple[int, Path]:
    args = build_parser().parse_args(
        ["init", kind, "--domain", "example.org", "--out", str(out), *extra]
    )
    return init.run(args), out / f"{kind}.toml"


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every setting a model reads, as dotted TOML keys ([[devices]] → devices.KEY)."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        nested = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
        if nested:
            keys |= model_keys(nested[0], f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def written_keys(kind: str) -> set[str]:
    names = configs.Names.for_domain("example.org")
    sections = {
        "service": lambda: configs.service_sections(names, secret="s", state=Path("/s")),
        "manager": lambda: configs.manager_sections(
            names, account="m", password="p", state=Path("/s"), queue="q", driver="sim:"
        ),
        "gateway": lambda: configs.gateway_sections(names, account="g", password="p"),
    }[kind]()
    return {
        (f"{section.name}." if section.name else "") + key
        for section in sections
        for key in section.keys()
    }


@pytest.mark.parametrize("kind", configs.KINDS)
def test_every_setting_of_the_loader_is_in_the_file(kind: str) -> None:
    """A setting added to a loader must be explained in what `cirrus init` writes."""
    assert written_keys(kind) == model_keys(MODELS[kind])


@pytest.mark.parametrize("kind", configs.KINDS)
def test_written_config_loads_and_is_private(tmp_path: Path, kind: str, capsys: Any) -> None:
    code, path = run_init(tmp_path / "etc", kind, "--state-dir", str(tmp_path / "state"))
    assert code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings = LOADERS[kind](path)
    text = path.read_text()
    assert text.startswith(f"# Cirrus {kind} for example.org")
    out = capsys.readouterr().out
    assert f"wrote {path} (mode 0600)" in out
    assert "--- Prosody: add to its configuration ---" in out
    assert "--- ejabberd: add to its configuration ---" in out
    if isinstance(settings, Settings):
        assert settings.xmpp.component_jid == "print.example.org"
        assert settings.database == tmp_path / "state" / "service.db"
        assert settings.xmpp.secret in out  # the snippet carries the same secret
        assert len(settings.xmpp.secret) >= 43  # 256 bits, URL-safe base64
    elif isinstance(settings, ManagerSettings):
        assert settings.xmpp.jid == "cirrus-manager@example.org"
        assert settings.xmpp.host == "xmpp.example.org"
        assert settings.devices[0].driver == "ipp:ipp://printer.example.org/ipp/print"
        assert "prosodyctl adduser cirrus-manager@example.org" in out
    else:
        assert isinstance(settings, GatewayConfig)
        assert settings.account == "cirrus-gateway@example.org"
        assert settings.listen.tls_port == 631


@pytest.mark.parametrize("kind", configs.KINDS)
def test_every_commented_example_is_valid(tmp_path: Path, kind: str) -> None:
    """Uncommenting an example gives a config that still loads."""
    run_init(tmp_path, kind)
    path = tmp_path / f"{kind}.toml"
    text = re.sub(r"^# (\w+ = .+)$", r"\1", path.read_text(), flags=re.MULTILINE)
    uncommented = tmp_path / f"all-{kind}.toml"
    uncommented.write_text(text)
    data = tomllib.loads(text)
    LOADERS[kind](uncommented)
    assert len(re.findall(r"^# \w+ = ", path.read_text(), flags=re.MULTILINE)) >= 2
    assert data  # something was uncommented and still parses


def test_secrets_are_new_each_time(tmp_path: Path) -> None:
    run_init(tmp_path / "a", "service")
    run_init(tmp_path / "b", "service")
    a = Settings.load(tmp_path / "a" / "service.toml").xmpp.secret
    b = Settings.load(tmp_path / "b" / "service.toml").xmpp.secret
    assert a != b


def test_an_existing_config_is_kept(tmp_path: Path, capsys: Any) -> None:
    run_init(tmp_path, "manager")
    path = tmp_path / "manager.toml"
    before = path.read_text()
    code, _ = run_init(tmp_path, "manager")
    assert code == 2
    assert path.read_text() == before
    assert "exists (its secrets may be in use); --force overwrites it" in capsys.readouterr().err
    code, _ = run_init(tmp_path, "manager", "--force")
    assert code == 0
    assert path.read_text() != before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_unit_and_containerfile_written_for_this_installation(tmp_path: Path) -> None:
    code, _ = run_init(tmp_path, "gateway", "--with-unit", "--with-containerfile")
    assert code == 0
    unit = (tmp_path / "cirrus-gateway.service").read_text()
    assert f"LoadCredential=gateway.toml:{tmp_path.resolve()}/gateway.toml" in unit
    assert "/etc/letsencrypt/live/ipp.example.org/fullchain.pem" in unit
    assert "/opt/cirrus/bin" not in unit
    assert stat.S_IMODE((tmp_path / "cirrus-gateway.service").stat().st_mode) == 0o644
    recipe = (tmp_path / "Containerfile.gateway").read_text()
    assert 'ENTRYPOINT ["cirrus-gateway", "--config", "/etc/cirrus/gateway.toml"]' in recipe


def test_a_domain_that_is_no_domain(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["init", "service", "--domain", "Example Org", "--out", "x"])
    assert exited.value.code == 2
    assert "'Example Org' is not a domain name (lower case, like example.com)" in (
        capsys.readouterr().err
    )
