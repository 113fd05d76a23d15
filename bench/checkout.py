"""Another checkout's code under this checkout's benchmark, for an A/B run.

The Cirrus processes of a benchmark (the service, the managers, the clients of
bench.load) are `python -m MODULE` children. To run another checkout's code in them,
each gets PYTHONSAFEPATH=1 (the working directory is not put first on sys.path) and
PYTHONPATH naming a folder of symlinks: the project's packages (cirrus, server, manager,
stanzas, ipp, gateway, prosody_config, and admin_commands and ejabberd_config where the
other checkout has them) pointing into the other checkout, and `bench` into this one,
so the harness that drives and measures them is the same on both sides. Both run with
this venv's interpreter and libraries, and with the configuration this checkout writes
(Prosody's, the service's and the managers' TOML): a checkout whose settings differ
from this one's cannot be compared this way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.common import ROOT, short_tmp

PACKAGES = {
    "cirrus": "cirrus",
    "server": "server",
    "manager": "manager",
    "stanzas": "stanzas",
    "ipp": "ipp",
    "gateway": "gateway",
    "prosody_config": "prosody-config",
}
# Newer packages: linked when the other checkout has them (an older one does not
# import them).
OPTIONAL = {"admin_commands": "admin_commands", "ejabberd_config": "ejabberd-config"}


def overlay(checkout: Path) -> Path:
    """A folder whose packages are the checkout's (and `bench` this one's)."""
    checkout = checkout.resolve()
    missing = [src for src in PACKAGES.values() if not (checkout / src).is_dir()]
    if missing:
        raise SystemExit(f"{checkout} is not a Cirrus checkout (no {', '.join(missing)})")
    folder = short_tmp("ab")
    for name, src in {**PACKAGES, **OPTIONAL}.items():
        if (checkout / src).is_dir():
            (folder / name).symlink_to(checkout / src, target_is_directory=True)
    (folder / "bench").symlink_to(ROOT / "bench", target_is_directory=True)
    return folder


def code_env(folder: Path) -> dict[str, str]:
    return {"PYTHONSAFEPATH": "1", "PYTHONPATH": str(folder)}


def describe(checkout: Path) -> str:
    """The checkout's commit (and whether it has changes), for the table."""
    try:
        head = subprocess.run(
            ["git", "-C", str(checkout), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        head = ""
    return head or checkout.name


def check(env: dict[str, str], checkout: Path) -> None:
    """Fail early unless the children would import the checkout's code."""
    probe = subprocess.run(
        [sys.executable, "-c", "import server, stanzas, cirrus; print(server.__file__)"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=ROOT,
        timeout=60,
    )
    where = Path(probe.stdout.strip() or "/").resolve()
    if not where.is_relative_to(checkout.resolve()):
        raise SystemExit(f"the A/B children would import {where}, not {checkout}: {probe.stderr}")
