"""`cirrus`: print, follow and cancel jobs; run a local stack (`up`, `demo`)."""

from __future__ import annotations

import argparse
import asyncio
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

from cirrus import admin_cli, commands
from cirrus.client import CirrusClient, ClientSettings
from cirrus.commands import add_ticket_options
from cirrus.deploy import cli as deploy_cli
from cirrus.output import error_line
from cirrus.stack.xmpp import XMPP_SERVERS
from stanzas.errors import CloudImagingError

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
            values.update(tomllib.load(f))
    for key, env in ENV_KEYS.items():
        if env in os.environ:
            values[key] = os.environ[env]
    missing = [k for k in ("jid", "password") if k not in values]
    if missing:
        raise SystemExit(
            f"cirrus: no {' or '.join(missing)}: write {path} or set "
            + ", ".join(ENV_KEYS[k] for k in missing)
        )
    if "port" in values:
        values["port"] = int(str(values["port"]))
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
        print(error_line(exc), file=sys.stderr)
        return 2
    except PermissionError as exc:
        print(f"cirrus: {exc}", file=sys.stderr)
        return 2
    finally:
        await client.stop()


# --- local stack ---------------------------------------------------------------------------


async def cmd_up(args: argparse.Namespace) -> int:
    from cirrus.stack.local import start_local_stack

    state_dir = Path(args.state_dir or tempfile.mkdtemp(prefix="cirrus-"))
    stack = await start_local_stack(state_dir, device=args.device, xmpp_server=args.xmpp, say=print)
    config = stack.client_config()
    print(
        f"\nCirrus is up (state in {state_dir}). In another shell:\n"
        f"  export CIRRUS_CONFIG={config}\n"
        f"  cirrus print FILE.pdf --queue {stack.queue}\n"
        f"  cirrus job ID   |   cirrus cancel ID\n"
        + (f"Printed output lands in {stack.output_dir}\n" if stack.output_dir else "")
        + "Ctrl-C stops everything."
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cirrus", description="Cirrus cloud printing over XMPP")
    parser.add_argument("--config", type=Path, help="client TOML (default $CIRRUS_CONFIG)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("print", help="print files (one job) and follow it live")
    p.add_argument("files", nargs="*")
    p.add_argument("--queue", "-q", required=True)
    p.add_argument("--uri", action="append", default=[], help="a document the service fetches")
    p.add_argument("--name", help="job-name (default: the first file's name)")
    add_ticket_options(p)
    p.add_argument("--hold", action="store_true", help="hold the job (job-hold-until=indefinite)")
    p.add_argument("--no-wait", action="store_true", help="return once the job is submitted")
    p.add_argument("--timeout", type=float, default=None, help="give up waiting after seconds")

    p = sub.add_parser("jobs", help="active jobs (or --history)")
    p.add_argument("--queue", "-q")
    p.add_argument("--history", action="store_true", help="ended jobs, newest first")
    p.add_argument("--all", action="store_true", help="everyone's jobs, not only mine")
    p.add_argument("--limit", type=int)

    p = sub.add_parser("job", help="one job and its documents")
    p.add_argument("job_id", type=int)

    p = sub.add_parser("cancel", help="cancel jobs, or all of mine with --mine")
    p.add_argument("job_ids", type=int, nargs="*")
    p.add_argument("--mine", action="store_true", help="CancelMyJobs: all or nothing")
    p.add_argument("--queue", "-q")

    p = sub.add_parser("hold", help="hold jobs (job-hold-until)")
    p.add_argument("job_ids", type=int, nargs="+")
    p.add_argument("--until", default="indefinite")

    p = sub.add_parser("release", help="release held jobs")
    p.add_argument("job_ids", type=int, nargs="+")

    p = sub.add_parser("resubmit", help="print a retained job again, with changes")
    p.add_argument("job_id", type=int)
    add_ticket_options(p)

    sub.add_parser("queues", help="the queues you can print to")
    p = sub.add_parser("queue", help="one queue: capabilities, configuration, state")
    p.add_argument("queue")

    p = sub.add_parser("validate", help="would a queue take this ticket?")
    p.add_argument("--queue", "-q", required=True)
    add_ticket_options(p)

    p = sub.add_parser("up", help="run an XMPP server, the service, a printer and a manager here")
    p.add_argument("--state-dir", help="where to keep state (default: a new temp folder)")
    p.add_argument("--device", choices=["ippeveprinter", "file", "sim"], default="ippeveprinter")
    add_xmpp_option(p)

    p = sub.add_parser("demo", help="start everything, print a sample PDF, stop everything")
    add_xmpp_option(p)
    admin_cli.add_parser(sub)  # cirrus admin …: operators' and administrators' commands
    deploy_cli.add_parsers(sub)  # cirrus init, cirrus doctor: deploying (docs/deploy.md)
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
    if args.command == "up":
        code = uvloop.run(cmd_up(args))
    elif args.command == "demo":
        code = uvloop.run(cmd_demo(args))
    elif args.command in deploy_cli.COMMANDS:
        code = deploy_cli.COMMANDS[args.command](args)
    else:
        code = uvloop.run(with_client(args, COMMANDS[args.command]))
    sys.exit(code)


if __name__ == "__main__":
    main()
