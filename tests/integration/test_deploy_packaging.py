"""What an operator installs: the wheel (entry points, package data), the systemd units
(`systemd-analyze verify`, and `systemd-analyze security` for the hardening) and the
Containerfiles (not built: no container engine runs here; checked for what they name)."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from cirrus.deploy import configs, init

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
BIN_DIR = Path(sys.executable).parent  # this venv: the entry points exist there
MAX_EXPOSURE = 2.0  # systemd-analyze security's scale: 0 (locked down) … 10 (exposed)

needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (apt systemd)"
)


def rendered_unit(tmp_path: Path, kind: str) -> Path:
    unit = tmp_path / f"cirrus-{kind}.service"
    unit.write_text(
        init.render_unit(kind, config_dir=tmp_path, domain="example.org", bin_dir=BIN_DIR)
    )
    return unit


@needs_systemd
@pytest.mark.parametrize("kind", configs.KINDS)
def test_unit_verifies_cleanly(tmp_path: Path, kind: str) -> None:
    unit = rendered_unit(tmp_path, kind)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    # Unknown keys and bad values are only warnings: no output at all is the pass.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_systemd
@pytest.mark.parametrize("kind", configs.KINDS)
def test_unit_is_hardened(tmp_path: Path, kind: str) -> None:
    unit = rendered_unit(tmp_path, kind)
    text = unit.read_text()
    for setting in (
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        f"LoadCredential={kind}.toml:{tmp_path.resolve()}/{kind}.toml",
        f"ExecStart={BIN_DIR}/cirrus-{kind} --config %d/{kind}.toml",
    ):
        assert setting in text.splitlines(), setting
    capabilities = "CAP_NET_BIND_SERVICE" if kind == "gateway" else ""
    assert f"CapabilityBoundingSet={capabilities}" in text.splitlines()
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    score = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert score, result.stdout + result.stderr
    assert float(score[1]) <= MAX_EXPOSURE, result.stdout


@pytest.mark.parametrize("kind", configs.KINDS)
def test_containerfile(kind: str) -> None:
    recipe = init.shipped_file(f"Containerfile.{kind}")
    instructions = [line for line in recipe.splitlines() if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert "COPY cirrus_print-*.whl /tmp/" in instructions
    user = [line for line in instructions if line.startswith("USER ")]
    assert user == ["USER 10001:10001"]  # not root
    entry = instructions[-1]
    assert entry == (f'ENTRYPOINT ["cirrus-{kind}", "--config", "{configs.config_path(kind)}"]')
    assert f"cirrus-{kind}" in SCRIPTS
    if kind != "gateway":
        assert f"VOLUME {configs.state_dir(kind)}" in instructions


def test_wheel_has_entry_points_and_package_data(tmp_path: Path) -> None:
    """`pip wheel .` (no network: this venv's setuptools, no dependencies) on a copy of
    the tree; the wheel holds every package, the data files and the entry points."""
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", "tests", "bench"
        ),
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "dist").glob("cirrus_print-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    for package_dir in ("stanzas", "server", "manager", "cirrus", "ipp", "gateway"):
        for init_file in (ROOT / package_dir).rglob("__init__.py"):
            assert str(init_file.relative_to(ROOT)) in names
    assert "prosody_config/__init__.py" in names
    data = [
        *(ROOT / "server" / "migrations").glob("*.sql"),
        *(ROOT / "prosody-config").glob("*.template"),
        *(ROOT / "cirrus" / "samples").iterdir(),
        *(ROOT / "cirrus" / "deploy" / "files").iterdir(),
    ]
    for path in data:
        relative = str(path.relative_to(ROOT)).replace("prosody-config/", "prosody_config/")
        assert relative in names, relative

    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    for script in ("cirrus", "cirrus-service", "cirrus-manager", "cirrus-gateway"):
        target = SCRIPTS[script]
        assert f"{script} = {target}" in text
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function))
