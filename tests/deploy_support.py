"""What the deploy tests share: certificates, `cirrus doctor` runs, the guide's snippets."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cirrus.deploy import doctor

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "deploy.md"


def make_certificate(folder: Path, name: str, *sans: str) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) for `name` and `sans`: (cert, key)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    alt = ",".join(s if ":" in s else f"DNS:{s}" for s in (name, *sans))
    subj = f"/CN={name}"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt"),
            *("ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", subj),
            *("-addext", f"subjectAltName={alt}", "-addext", "basicConstraints=critical,CA:TRUE"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return cert, key


def make_issued_certificate(folder: Path, name: str, *sans: str) -> tuple[Path, Path, Path]:
    """A CA and a certificate it issued for `name` and `sans`: (ca, cert, key). Erlang's
    ssl (ejabberd's LDAP client) refuses a self-signed CA certificate as the peer's."""
    ca, ca_key = make_certificate(folder / "ca", f"{name} test CA")
    cert, key, csr = folder / f"{name}.crt", folder / f"{name}.key", folder / f"{name}.csr"
    alt = ",".join(s if ":" in s else f"DNS:{s}" for s in (name, *sans))
    subprocess.run(
        [
            *("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(csr)),
        ],
        check=True,
        capture_output=True,
    )
    extensions = folder / f"{name}.ext"
    extensions.write_text(f"subjectAltName={alt}\nbasicConstraints=CA:FALSE\n")
    subprocess.run(
        [
            *("openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key)),
            *("-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return ca, cert, key


async def run_doctor(
    config: Path, *, service_url: str | None = None, ca_file: Path | None = None
) -> tuple[bool, list[str]]:
    """`cirrus doctor --config CONFIG` in this event loop: (healthy, its lines)."""
    args = argparse.Namespace(doctor_configs=[config], service_url=service_url, ca_file=ca_file)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        healthy = await doctor.doctor([config], args)
    return healthy, out.getvalue().splitlines()[1:]  # the first line names the file


@dataclass(frozen=True)
class Snippet:
    language: str
    name: str
    text: str
    line: int


FENCE = re.compile(r"^```(\S*)[ \t]*(\S*)[ \t]*$")


def guide_snippets(path: Path = GUIDE) -> list[Snippet]:
    """Every fenced block of the guide, with its info string (```LANGUAGE NAME```)."""
    snippets: list[Snippet] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match and match.group(1):
            start = i
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].rstrip() != "```":
                body.append(lines[i])
                i += 1
            snippets.append(
                Snippet(match.group(1), match.group(2), "\n".join(body) + "\n", start + 1)
            )
        i += 1
    return snippets


def snippet(name: str, language: str | None = None, path: Path = GUIDE) -> str:
    """The text of the one block named `name` (in `language`)."""
    found = [s for s in guide_snippets(path) if s.name == name and language in (None, s.language)]
    assert len(found) == 1, f"{path.name}: {len(found)} blocks named {name!r}"
    return found[0].text
