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

from cirrus.client import CirrusClient, ClientSettings
from stanzas.errors import CloudImagingError
from stanzas.groups import JobStatus, JobTicket

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


def describe(job: JobStatus) -> str:
    reasons = ", ".join(job.job_state_reasons)
    text = f"job {job.job_id}: {job.job_state.value} ({reasons})"
    if job.job_state_message:
        text += f" — {job.job_state_message}"
    return text


# --- commands ------------------------------------------------------------------------------


async def cmd_print(client: CirrusClient, args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.files]
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"cirrus: {path}: no such file")
    ticket = JobTicket(
        copies=args.copies,
        media=args.media,
        sides=args.sides,
        print_color_mode=args.color_mode,
        job_hold_until="indefinite" if args.hold else None,
    )
    job = await client.create_job(args.queue, job_name=args.name or paths[0].name, ticket=ticket)
    say = _printer(args)
    say(f"job {job.job_id} created on queue {args.queue}", job)
    for index, path in enumerate(paths):
        uploaded = await client.send_document(
            job.job_id, path, last_document=index == len(paths) - 1
        )
        say(
            f"sent {path.name}: {uploaded.size} octets, sha256 {uploaded.digest[:16]}…",
            None,
        )
    if args.no_wait:
        say(describe(job), await client.get_job(job.job_id))
        return 0
    final = job
    async for status in client.job_updates(job.job_id, timeout=args.timeout):
        say(describe(status), status)
        final = status
    return 0 if final.job_state.value == "completed" else 1


async def cmd_job(client: CirrusClient, args: argparse.Namespace) -> int:
    job = await client.get_job(args.job_id)
    if args.json:
        print(job.model_dump_json(by_alias=True, exclude_none=True))
    else:
        print(describe(job))
        for key in (
            "job_name",
            "printer_name",
            "job_originating_user_name",
            "number_of_documents",
            "output_device_uuid",
            "job_impressions_completed",
        ):
            value = getattr(job, key)
            if value is not None:
                print(f"  {key.replace('_', '-')}: {value}")
    return 0


async def cmd_cancel(client: CirrusClient, args: argparse.Namespace) -> int:
    for job_id in args.job_ids:
        job = await client.cancel_job(job_id)
        print(describe(job))
    return 0


def _printer(args: argparse.Namespace) -> Callable[[str, JobStatus | None], None]:
    def say(text: str, job: JobStatus | None) -> None:
        if args.json:
            if job is not None:
                print(job.model_dump_json(by_alias=True, exclude_none=True), flush=True)
        else:
            print(f"{time.strftime('%H:%M:%S')}  {text}", flush=True)

    return say


async def with_client(
    args: argparse.Namespace, command: Callable[[CirrusClient, argparse.Namespace], Awaitable[int]]
) -> int:
    settings = load_settings(args.config)
    client = CirrusClient(settings)
    try:
        await client.start()
        return await command(client, args)
    except CloudImagingError as exc:
        print(f"cirrus: {exc.status}: {exc.message}", file=sys.stderr)
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
    stack = await start_local_stack(state_dir, device=args.device, say=print)
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
    stack = await start_local_stack(state_dir, device="ippeveprinter", say=print)
    try:
        sample = Path(str(resources.files("cirrus") / "samples" / "sample.pdf"))
        print(f"\n$ cirrus print {sample.name} --queue {stack.queue}")
        client = CirrusClient(stack.user)
        await client.start()
        try:
            ns = argparse.Namespace(
                files=[str(sample)],
                queue=stack.queue,
                name=None,
                copies=None,
                media=None,
                sides=None,
                color_mode=None,
                hold=False,
                no_wait=False,
                json=False,
                timeout=120.0,
            )
            code = await cmd_print(client, ns)
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

    p = sub.add_parser("print", help="print files as one job and follow it")
    p.add_argument("files", nargs="+")
    p.add_argument("--queue", "-q", required=True)
    p.add_argument("--name", help="job-name (default: the first file's name)")
    p.add_argument("--copies", type=int)
    p.add_argument("--media", help="e.g. iso_a4_210x297mm, na_letter_8.5x11in")
    p.add_argument("--sides", choices=["one-sided", "two-sided-long-edge", "two-sided-short-edge"])
    p.add_argument("--color-mode", help="print-color-mode: auto, color, monochrome …")
    p.add_argument("--hold", action="store_true", help="hold the job (job-hold-until=indefinite)")
    p.add_argument("--no-wait", action="store_true", help="return once the job is submitted")
    p.add_argument("--timeout", type=float, default=None, help="give up waiting after seconds")

    p = sub.add_parser("job", help="show one job")
    p.add_argument("job_id", type=int)

    p = sub.add_parser("cancel", help="cancel jobs")
    p.add_argument("job_ids", type=int, nargs="+")

    p = sub.add_parser("up", help="run Prosody, the service, a printer and a manager here")
    p.add_argument("--state-dir", help="where to keep state (default: a new temp folder)")
    p.add_argument("--device", choices=["ippeveprinter", "file", "sim"], default="ippeveprinter")

    sub.add_parser("demo", help="start everything, print a sample PDF, stop everything")
    return parser


COMMANDS: dict[str, Callable[[CirrusClient, argparse.Namespace], Awaitable[int]]] = {
    "print": cmd_print,
    "job": cmd_job,
    "cancel": cmd_cancel,
}


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "up":
        code = uvloop.run(cmd_up(args))
    elif args.command == "demo":
        code = uvloop.run(cmd_demo(args))
    else:
        code = uvloop.run(with_client(args, COMMANDS[args.command]))
    sys.exit(code)


if __name__ == "__main__":
    main()
