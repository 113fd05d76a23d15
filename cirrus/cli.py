"""`cirrus`: print, follow and cancel jobs; run a local stack (`up`, `demo`).

Every failure ends in one line on stderr, `cirrus: what went wrong (hint: what to do)`,
and exit status 2 (130 when interrupted); `--debug` shows the log and tracebacks.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
import time
import tomllib
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path

import uvloop
from pydantic import TypeAdapter, ValidationError

from cirrus import admin_cli, commands
from cirrus.client import CirrusClient, ClientSettings
from cirrus.commands import add_ticket_options
from cirrus.deploy import cli as deploy_cli
from cirrus.output import error_line, failure_line
from cirrus.stack.xmpp import XMPP_SERVERS
from stanzas.errors import CloudImagingError
from stanzas.types import IdempotencyKey

CONNECT_TIMEOUT = 10.0  # a command gives up reaching the XMPP server sooner than a daemon
ENV_KEYS = {
    "jid": "CIRRUS_JID",
    "password": "CIRRUS_PASSWORD",
    "service_jid": "CIRRUS_SERVICE",
    "host": "CIRRUS_HOST",
    "port": "CIRRUS_PORT",
    "ca_file": "CIRRUS_CA_FILE",
}


def load_settings(config: Path | None) -> ClientSettings:
    """From --config, else $CIRRUS_CONFIG, else ~/.config/cirrus/client.toml; the
    environment variables in ENV_KEYS override single values."""
    path = config or Path(
        os.environ.get("CIRRUS_CONFIG", Path.home() / ".config/cirrus/client.toml")
    )
    values: dict[str, object] = {}
    if path.exists():
        with path.open("rb") as f:
            try:
                values.update(tomllib.load(f))
            except tomllib.TOMLDecodeError as exc:
                raise SystemExit(f"cirrus: {path}: not valid TOML: {exc}") from None
    for key, env in ENV_KEYS.items():
        if env in os.environ:
            values[key] = os.environ[env]
    missing = [k for k in ("jid", "password") if k not in values]
    if missing:
        raise SystemExit(
            f"cirrus: no {' or '.join(missing)}: write {path} or set "
            + ", ".join(ENV_KEYS[k] for k in missing)
        )
    values.setdefault("connect_timeout", CONNECT_TIMEOUT)
    unknown = sorted(set(values) - set(ClientSettings.__dataclass_fields__))
    if unknown:
        raise SystemExit(f"cirrus: {path}: unknown setting {unknown[0]!r}")
    try:
        if "port" in values:
            values["port"] = int(str(values["port"]))
        for key in ("request_timeout", "connect_timeout"):
            if key in values:
                values[key] = float(str(values[key]))
    except ValueError as exc:
        raise SystemExit(f"cirrus: {path}: {exc}") from None
    if values.get("ca_file"):
        values["ca_file"] = Path(str(values["ca_file"]))
    return ClientSettings(**values)  # type: ignore[arg-type]


async def with_client(
    args: argparse.Namespace, command: Callable[[CirrusClient, argparse.Namespace], Awaitable[int]]
) -> int:
    settings = load_settings(args.config)
    client = CirrusClient(settings)
    try:
        await client.start()
        return await command(client, args)
    except CloudImagingError as exc:
        print(error_line(exc, admin=args.command == "admin"), file=sys.stderr)
        return 2
    except PermissionError as exc:
        print(
            f"cirrus: {exc} (hint: check jid and password in your client config)", file=sys.stderr
        )
        return 2
    finally:
        await client.stop()


# --- local stack ---------------------------------------------------------------------------


async def cmd_up(args: argparse.Namespace) -> int:
    from cirrus.stack.local import start_local_stack

    state_dir = Path(args.state_dir or tempfile.mkdtemp(prefix="cirrus-"))
    stack = await start_local_stack(state_dir, device=args.device, xmpp_server=args.xmpp, say=print)
    print("\n" + stack.welcome())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: terminal closed
        loop.add_signal_handler(sig, stop.set)  # a second Ctrl-C does not cut the cleanup short
    try:
        await stop.wait()
    finally:
        print("\nstopping …")
        await stack.stop()
        print("stopped.")
    return 0


async def cmd_demo(args: argparse.Namespace) -> int:
    from cirrus.stack.local import start_local_stack

    started = time.monotonic()
    state_dir = Path(tempfile.mkdtemp(prefix="cirrus-demo-"))
    stack = await start_local_stack(
        state_dir, device="ippeveprinter", xmpp_server=args.xmpp, say=print
    )
    try:
        sample = Path(str(resources.files("cirrus") / "samples" / "sample.pdf"))
        print(f"\n$ cirrus print {sample.name} --queue {stack.queue}")
        client = CirrusClient(stack.user)
        await client.start()
        try:
            ns = build_parser().parse_args(
                ["print", str(sample), "--queue", stack.queue, "--timeout", "120"]
            )
            code = await commands.cmd_print(client, ns)
        finally:
            await client.stop()
        outputs = sorted(p for p in (stack.output_dir or state_dir).rglob("*") if p.is_file())
        print("\nthe printer put its output in:")
        for path in outputs:
            print(f"  {path} ({path.stat().st_size} octets)")
        if not outputs:
            print("  (nothing: the printer kept no file)")
            code = code or 1
    finally:
        await stack.stop()
    print(
        f"\ndemo finished in {time.monotonic() - started:.1f} s; every process it started is "
        f"stopped.\nIts files (logs, database, printed output) stay in {state_dir}: "
        f"rm -rf {state_dir} when done."
    )
    return code


# --- entry point ---------------------------------------------------------------------------


def _idempotency_key(text: str) -> str:
    """--idempotency-key: checked here, so a bad one is a usage error, not a refusal."""
    try:
        return TypeAdapter(IdempotencyKey).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(
            "1-128 letters, digits and ._:~+/=- (a UUID will do)"
        ) from None


def _common_options(parser: argparse.ArgumentParser, default: object) -> None:
    """The options every command takes, before or after its name. Below the top level
    the default is SUPPRESS, so that an option given before the name is not reset."""
    parser.add_argument(
        "--config", type=Path, default=default, help="client TOML (default $CIRRUS_CONFIG)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if default is argparse.SUPPRESS else False,
        help="machine-readable output",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if default is argparse.SUPPRESS else False,
        help="log to stderr, and show the traceback of a failure",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cirrus", description="Cirrus cloud printing over XMPP")
    _common_options(parser, None)
    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("print", parents=[common], help="print files (one job) and follow it live")
    p.add_argument("files", nargs="*")
    p.add_argument("--queue", "-q", required=True)
    p.add_argument("--uri", action="append", default=[], help="a document the service fetches")
    p.add_argument("--name", help="job-name (default: the first file's name)")
    p.add_argument(
        "--to",
        action="append",
        default=[],
        metavar="URI",
        help="send instead of print: mailto:ADDRESS (an EmailOut queue) or tel:NUMBER (FaxOut)",
    )
    add_ticket_options(p)
    p.add_argument("--hold", action="store_true", help="hold the job (job-hold-until=indefinite)")
    p.add_argument("--no-wait", action="store_true", help="return once the job is submitted")
    p.add_argument(
        "--idempotency-key",
        type=_idempotency_key,
        help="the job's key (default: a new one); the same command run again with the same "
        "key makes no second job",
    )
    p.add_argument(
        "--timeout", type=float, default=None, help="stop following after SECONDS without news"
    )

    p = sub.add_parser(
        "scan", parents=[common], help="scan at a scan queue's device into a file, live"
    )
    p.add_argument("--queue", "-q", required=True)
    p.add_argument("--output", "-o", required=True, metavar="FILE")
    p.add_argument("--resolution", type=int, help="input-resolution in dpi, e.g. 300")
    p.add_argument("--color-mode", choices=["color", "monochrome", "bi-level"])
    p.add_argument("--source", choices=["platen", "feeder", "adf"], help="feeder = adf")
    p.add_argument("--format", default="application/pdf", help="application/pdf, image/jpeg …")
    p.add_argument("--pages", type=int, help="pages to take from the feeder (default: all)")
    p.add_argument("--duplex", action="store_true", help="both sides (feeder)")
    p.add_argument("--media", help="the area to scan, e.g. iso_a4_210x297mm")
    p.add_argument("--name", help="job-name (default: the file's name)")
    p.add_argument(
        "--timeout", type=float, default=None, help="stop following after SECONDS without news"
    )

    p = sub.add_parser("jobs", parents=[common], help="active jobs (or --history)")
    p.add_argument("--queue", "-q")
    p.add_argument("--history", action="store_true", help="ended jobs, newest first")
    p.add_argument("--all", action="store_true", help="everyone's jobs, not only mine")
    p.add_argument("--limit", type=int)

    p = sub.add_parser("job", parents=[common], help="one job and its documents")
    p.add_argument("job_id", type=int)

    p = sub.add_parser("cancel", parents=[common], help="cancel jobs, or all of mine with --mine")
    p.add_argument("job_ids", type=int, nargs="*")
    p.add_argument("--mine", action="store_true", help="CancelMyJobs: all or nothing")
    p.add_argument("--queue", "-q")

    p = sub.add_parser("hold", parents=[common], help="hold jobs (job-hold-until)")
    p.add_argument("job_ids", type=int, nargs="+")
    p.add_argument("--until", default="indefinite")

    p = sub.add_parser(
        "release", parents=[common], help="release held jobs (--at: print them at a device)"
    )
    p.add_argument("job_ids", type=int, nargs="*")
    p.add_argument("--at", metavar="DEVICE", help="release jobs held for release at DEVICE")
    p.add_argument("--mine", action="store_true", help="with --at: all yours waiting there")

    p = sub.add_parser(
        "resubmit", parents=[common], help="print a retained job again, with changes"
    )
    p.add_argument("job_id", type=int)
    add_ticket_options(p)

    sub.add_parser("queues", parents=[common], help="the queues you can print to")
    p = sub.add_parser(
        "queue", parents=[common], help="one queue: capabilities, configuration, state"
    )
    p.add_argument("queue")

    p = sub.add_parser("validate", parents=[common], help="would a queue take this ticket?")
    p.add_argument("--queue", "-q", required=True)
    add_ticket_options(p)

    p = sub.add_parser(
        "up", parents=[common], help="run an XMPP server, the service, a printer and a manager here"
    )
    p.add_argument("--state-dir", help="where to keep state (default: a new temp folder)")
    p.add_argument("--device", choices=["ippeveprinter", "file", "sim"], default="ippeveprinter")
    add_xmpp_option(p)

    p = sub.add_parser(
        "demo", parents=[common], help="start everything, print a sample PDF, stop everything"
    )
    add_xmpp_option(p)
    admin_cli.add_parser(sub, common)  # cirrus admin …: operators' and administrators' commands
    # cirrus init, cirrus doctor: deploying (docs/deploy.md); no --json, doctor has its own
    # --config (repeatable)
    deploy_cli.add_parsers(sub)
    return parser


def add_xmpp_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--xmpp",
        choices=XMPP_SERVERS,
        default="prosody",
        help="the XMPP server to run (default: prosody)",
    )


COMMANDS: dict[str, Callable[[CirrusClient, argparse.Namespace], Awaitable[int]]] = {
    "print": commands.cmd_print,
    "scan": commands.cmd_scan,
    "jobs": commands.cmd_jobs,
    "job": commands.cmd_job,
    "cancel": commands.cmd_cancel,
    "hold": commands.cmd_hold,
    "release": commands.cmd_release,
    "resubmit": commands.cmd_resubmit,
    "queues": commands.cmd_queues,
    "queue": commands.cmd_queue,
    "validate": commands.cmd_validate,
    "admin": admin_cli.cmd_admin,
}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["gateway"]:  # `cirrus gateway --config gateway.toml`: the IPP gateway
        from gateway.__main__ import main as gateway_main

        return gateway_main(argv[1:])
    args = build_parser().parse_args(argv)
    # The library's warnings (a lost connection, a retry) are not the command's output:
    # without --debug only the one line of a failure reaches stderr.
    logging.basicConfig(
        level=logging.INFO if args.debug else logging.CRITICAL + 1,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        if args.command == "up":
            code = uvloop.run(cmd_up(args))
        elif args.command == "demo":
            code = uvloop.run(cmd_demo(args))
        elif args.command in deploy_cli.COMMANDS:
            code = deploy_cli.COMMANDS[args.command](args)
        else:
            code = uvloop.run(with_client(args, COMMANDS[args.command]))
    except KeyboardInterrupt:
        print("cirrus: interrupted", file=sys.stderr)
        code = 130
    except Exception as exc:  # the one place every other failure becomes one line
        if args.debug:
            raise
        print(failure_line(exc), file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
