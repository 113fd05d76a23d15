"""`cirrus doctor [--config FILE]`: check a deployment from its config alone.

One line per check, `ok` or `FAIL` (or `skip` when what it needs failed); the exit status
is 1 when anything failed. What is checked follows from the config's kind:

- service: the XMPP server's component port resolves and connects, a XEP-0114 handshake
  with the secret is accepted, the byte endpoint listens and answers at its public URL
  with a certificate valid for that name;
- manager: the XMPP server resolves and connects, STARTTLS with a certificate valid for
  the account's domain, the account logs in (SASL) and the service answers it, and the
  byte endpoint answers from here (component mode: the handshake instead of the login);
- gateway: the same for its own account, and its ipps certificate files load.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop
from pydantic import BaseModel, ValidationError

from cirrus.deploy import probes
from cirrus.deploy.probes import ProbeFailed
from gateway.app import GatewayConfig
from manager.config import ManagerSettings
from server.config import Settings

DEFAULT_CONFIGS = [Path(f"/etc/cirrus/{kind}.toml") for kind in ("service", "manager", "gateway")]
LOADERS: dict[str, Callable[[Path], BaseModel]] = {
    "service": Settings.load,
    "manager": ManagerSettings.load,
    "gateway": GatewayConfig.load,
}


@dataclass
class Check:
    key: str
    run: Callable[[], Awaitable[str]]
    needs: tuple[str, ...] = ()


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="check a deployment from its config (docs/deploy.md)")
    p.add_argument(
        "--config",
        dest="doctor_configs",
        metavar="FILE",
        type=Path,
        action="append",
        help="a service, manager or gateway TOML (repeatable; default: those in /etc/cirrus)",
    )
    p.add_argument(
        "--service-url",
        metavar="URL",
        help="manager, gateway: the byte endpoint's public URL (default https://SERVICE_JID)",
    )
    p.add_argument("--ca-file", type=Path, metavar="FILE", help="extra CA bundle to trust (PEM)")


def kind_of(data: dict[str, Any]) -> str | None:
    if "database" in data or "spool_dir" in data:
        return "service"
    if "devices" in data or "state_dir" in data:
        return "manager"
    if {"listen", "account", "anonymous_queues"} & data.keys():
        return "gateway"
    return None


def load(path: Path) -> tuple[str, BaseModel]:
    """The config's kind and settings; ProbeFailed with one line per problem otherwise."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ProbeFailed(f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProbeFailed(f"{path}: not TOML ({exc})") from None
    kind = kind_of(data)
    if kind is None:
        raise ProbeFailed(f"{path}: neither a service, a manager nor a gateway config")
    try:
        return kind, LOADERS[kind](path)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ProbeFailed(f"{path} ({kind}): {problems}") from None


def _dns_and_port(host: str, port: int, prefix: str) -> list[Check]:
    return [
        Check(f"{prefix}dns", lambda: probes.resolve(host)),
        Check(f"{prefix}port", lambda: probes.reachable(host, port), (f"{prefix}dns",)),
    ]


def _https(url: str, ca_file: Path | None, guessed: bool) -> list[Check]:
    host = urlsplit(url).hostname or ""

    async def endpoint() -> str:
        try:
            return await probes.https_endpoint(url, ca_file)
        except ProbeFailed as exc:
            hint = " (URL guessed from service_jid: pass --service-url)" if guessed else ""
            raise ProbeFailed(f"{exc}{hint}") from None

    return [
        Check("https-dns", lambda: probes.resolve(host)),
        Check("https", endpoint, ("https-dns",)),
    ]


def _files(cert_file: Path, key_file: Path | None) -> Check:
    async def run() -> str:
        return probes.certificate_files(cert_file, key_file)

    return Check("cert-files", run)


def service_checks(settings: Settings, args: argparse.Namespace) -> list[Check]:
    xmpp, http = settings.xmpp, settings.http
    checks = _dns_and_port(xmpp.host, xmpp.port, "component-")
    checks.append(
        Check(
            "handshake",
            lambda: probes.component_handshake(
                xmpp.host, xmpp.port, xmpp.component_jid, xmpp.secret
            ),
            ("component-port",),
        )
    )
    if http.cert_file is not None:
        checks.append(_files(http.cert_file, http.key_file))
    if http.port:
        local = "127.0.0.1" if http.host in ("0.0.0.0", "::", "") else http.host

        async def listening() -> str:
            try:
                await probes.reachable(local, http.port)
            except ProbeFailed as exc:
                raise ProbeFailed(f"byte endpoint: {exc}: is the service running?") from None
            return f"byte endpoint listens on {local}:{http.port}"

        checks.append(Check("listen", listening))
    url = http.public_url
    if url is None and http.port:
        url = f"{'https' if http.cert_file else 'http'}://{http.host}:{http.port}"
    if url is not None:
        checks += _https(url, args.ca_file, guessed=False)
    return checks


def _service_url(service_jid: str, args: argparse.Namespace) -> tuple[str, bool]:
    if args.service_url:
        return args.service_url, False
    return f"https://{service_jid}", True


def manager_checks(settings: ManagerSettings, args: argparse.Namespace) -> list[Check]:
    xmpp = settings.xmpp
    ca_file = args.ca_file or xmpp.ca_file
    checks = _dns_and_port(xmpp.host, xmpp.port, "xmpp-")
    if xmpp.component_jid and xmpp.secret is not None:
        component, secret = xmpp.component_jid, xmpp.secret
        checks.append(
            Check(
                "handshake",
                lambda: probes.component_handshake(xmpp.host, xmpp.port, component, secret),
                ("xmpp-port",),
            )
        )
    elif xmpp.jid and xmpp.password is not None:
        checks += _c2s(xmpp.host, xmpp.port, xmpp.jid, xmpp.password, ca_file, xmpp.service_jid)
    else:
        checks.append(
            Check(
                "account",
                lambda: _fail("[xmpp] has neither jid and password nor component_jid and secret"),
            )
        )
    url, guessed = _service_url(xmpp.service_jid, args)
    return checks + _https(url, ca_file, guessed)


def _c2s(
    host: str, port: int, jid: str, password: str, ca_file: Path | None, service_jid: str
) -> list[Check]:
    domain = jid.split("@", 1)[-1].split("/", 1)[0]
    return [
        Check("tls", lambda: probes.starttls(host, port, domain, ca_file), ("xmpp-port",)),
        Check(
            "login",
            lambda: probes.login(host, port, jid, password, ca_file, service_jid),
            ("tls",),
        ),
    ]


async def _fail(message: str) -> str:
    raise ProbeFailed(message)


def gateway_checks(config: GatewayConfig, args: argparse.Namespace) -> list[Check]:
    xmpp = config.xmpp
    ca_file = args.ca_file or xmpp.ca_file
    checks = _dns_and_port(xmpp.host, xmpp.port, "xmpp-")
    if config.account and config.password is not None:
        jid = config.account if "@" in config.account else f"{config.account}@{xmpp.domain}"
        checks += _c2s(xmpp.host, xmpp.port, jid, config.password, ca_file, xmpp.service_jid)
    else:
        checks.append(
            Check(
                "tls",
                lambda: probes.starttls(xmpp.host, xmpp.port, xmpp.domain, ca_file),
                ("xmpp-port",),
            )
        )
    if config.listen.tls_port is not None:
        if config.listen.cert_file is None:
            checks.append(
                Check("cert-files", lambda: _fail("[listen] tls_port needs cert_file and key_file"))
            )
        else:
            checks.append(_files(config.listen.cert_file, config.listen.key_file))
    url, guessed = _service_url(xmpp.service_jid, args)
    return checks + _https(url, ca_file, guessed)


CHECKS: dict[str, Callable[[Any, argparse.Namespace], list[Check]]] = {
    "service": service_checks,
    "manager": manager_checks,
    "gateway": gateway_checks,
}


async def run_checks(checks: list[Check], say: Callable[[str], None]) -> bool:
    """Run each check whose prerequisites passed; True when every check passed."""
    passed: set[str] = set()
    healthy = True
    for check in checks:
        missing = [need for need in check.needs if need not in passed]
        if missing:
            say(f"skip  {check.key}: needs {', '.join(missing)}")
            healthy = False
            continue
        try:
            line = await check.run()
        except ProbeFailed as exc:
            say(f"FAIL  {exc}")
            healthy = False
        else:
            say(f"ok    {line}")
            passed.add(check.key)
    return healthy


async def doctor(paths: list[Path], args: argparse.Namespace) -> bool:
    healthy = True
    for path in paths:
        print(f"{path}:", flush=True)
        try:
            kind, settings = load(path)
        except ProbeFailed as exc:
            print(f"FAIL  {exc}", flush=True)
            healthy = False
            continue
        checks = CHECKS[kind](settings, args)
        healthy &= await run_checks(checks, lambda line: print(line, flush=True))
    return healthy


def run(args: argparse.Namespace) -> int:
    paths = args.doctor_configs or [p for p in DEFAULT_CONFIGS if p.exists()]
    if not paths:
        print("cirrus doctor: no config in /etc/cirrus; pass --config FILE", file=sys.stderr)
        return 2
    return 0 if uvloop.run(doctor(paths, args)) else 1
