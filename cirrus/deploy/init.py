"""`cirrus init service|manager|gateway --domain DOMAIN`: write a commented config for one
organisation's domain (secrets generated, mode 0600) and print what the XMPP server
needs (Prosody's and ejabberd's variants)."""

from __future__ import annotations

import argparse
import re
import sys
import sysconfig
from importlib import resources
from pathlib import Path

from cirrus.deploy import configs, snippets
from cirrus.deploy.configfile import Section, render, write_new

SHIPPED_BIN_DIR = "/opt/cirrus/bin/"  # where the shipped units expect the entry points
SHIPPED_CONFIG_DIR = "/etc/cirrus/"
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})+$")


def domain(value: str) -> str:
    """An XMPP domain as DNS names it (lower case, at least two labels)."""
    if not _DOMAIN.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a domain name (lower case, like example.com)"
        )
    return value


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="write a commented config for your domain (docs/deploy.md)")
    p.add_argument("kind", choices=configs.KINDS)
    p.add_argument("--domain", required=True, type=domain, help="the organisation's XMPP domain")
    p.add_argument("--out", type=Path, default=Path("/etc/cirrus"), help="default /etc/cirrus")
    p.add_argument("--xmpp-host", help="the XMPP server's host (default xmpp.DOMAIN)")
    p.add_argument("--public-url", help="the byte endpoint (default https://print.DOMAIN)")
    p.add_argument("--state-dir", type=Path, help="default /var/lib/cirrus-KIND")
    p.add_argument("--account", help="manager/gateway account (default cirrus-KIND)")
    p.add_argument("--queue", default="office", help="manager: the first printer's queue")
    p.add_argument(
        "--driver",
        help="manager: the first printer's driver (default ipp:ipp://printer.DOMAIN/ipp/print)",
    )
    p.add_argument("--with-unit", action="store_true", help="also write the systemd unit")
    p.add_argument("--with-containerfile", action="store_true", help="also write the Containerfile")
    p.add_argument("--force", action="store_true", help="overwrite existing files")


def shipped_file(name: str) -> str:
    return (resources.files("cirrus.deploy") / "files" / name).read_text(encoding="utf-8")


def render_unit(kind: str, *, config_dir: Path, domain: str, bin_dir: Path | None = None) -> str:
    """The shipped unit with this installation's entry points and config folder."""
    unit = shipped_file(f"cirrus-{kind}.service")
    bin_dir = bin_dir or Path(sysconfig.get_path("scripts"))
    unit = unit.replace(SHIPPED_BIN_DIR, f"{bin_dir}/")
    unit = unit.replace(SHIPPED_CONFIG_DIR, f"{config_dir.resolve()}/")
    return unit.replace("example.com", domain)


def sections(kind: str, args: argparse.Namespace) -> tuple[list[Section], dict[str, str]]:
    """The config's sections and the XMPP server snippets for it."""
    names = configs.Names.for_domain(
        args.domain, xmpp_host=args.xmpp_host, public_url=args.public_url
    )
    state = args.state_dir or configs.state_dir(kind)
    if kind == "service":
        secret = configs.new_secret()
        return (
            configs.service_sections(names, secret=secret, state=state),
            snippets.service_snippets(names, secret),
        )
    account = args.account or f"cirrus-{kind}"
    password = configs.new_secret()
    where = f"the password in {configs.config_path(kind, args.out)}"
    jid = f"{account}@{names.domain}"
    if kind == "manager":
        driver = args.driver or f"ipp:ipp://printer.{names.domain}/ipp/print"
        built = configs.manager_sections(
            names,
            account=account,
            password=password,
            state=state,
            queue=args.queue,
            driver=driver,
        )
    else:
        built = configs.gateway_sections(names, account=account, password=password)
    return built, snippets.account_snippets(jid, where)


def run(args: argparse.Namespace) -> int:
    kind: str = args.kind
    built, server_snippets = sections(kind, args)
    title = configs.TITLE.format(kind=kind, domain=args.domain)
    path = configs.config_path(kind, args.out)
    files = [(path, render(title, built), 0o600)]
    if args.with_unit:
        unit = render_unit(kind, config_dir=args.out, domain=args.domain)
        files.append((args.out / f"cirrus-{kind}.service", unit, 0o644))
    if args.with_containerfile:
        recipe = shipped_file(f"Containerfile.{kind}")
        files.append((args.out / f"Containerfile.{kind}", recipe, 0o644))
    written = []
    try:
        for target, text, mode in files:
            written.append((write_new(target, text, mode=mode, force=args.force), mode))
    except FileExistsError as exc:
        print(
            f"cirrus init: {exc.filename} exists (its secrets may be in use); "
            "--force overwrites it",
            file=sys.stderr,
        )
        return 2
    except OSError as exc:
        print(f"cirrus init: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    for item, mode in written:
        print(f"wrote {item} (mode {mode:04o})")
    for server, text in server_snippets.items():
        print(f"\n--- {server}: add to its configuration ---\n{text}", end="")
    print(f"\nThen: cirrus doctor --config {path}")
    return 0
