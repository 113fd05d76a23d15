"""`cirrus admin …`: every command of admin_commands/declarations.py as a subcommand.

    cirrus admin queues
    cirrus admin pause office
    cirrus admin promote 44 --after 41
    cirrus admin hold-new office 18:00
    cirrus admin set office printer-location="2nd floor" auto-approve-devices=true
    cirrus admin devices --json
    cirrus admin usage --since 2025-06-01 --by queue --csv
    cirrus admin quota group:staff monthly --impressions 2000

Arguments come from each command's declaration: required ones are positional, keyword
ones (`after`) and flags (`paused`) are options. Tables are aligned; --json prints the
answer's payload as JSON.
"""

from __future__ import annotations

import argparse

from admin_commands.declarations import (
    BY_NAME,
    COMMANDS,
    Command,
    Kind,
    UsageError,
    Values,
    to_value,
)
from cirrus.admin_client import AdminClient
from cirrus.client import CirrusClient


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """The `admin` subcommand and one sub-subcommand per declared command; each takes
    the `common` options (--json, --config) too."""
    admin = sub.add_parser(
        "admin", parents=[common], help="operate and administer the service (operators)"
    )
    commands = admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = commands.add_parser(
            command.name,
            parents=[common],
            aliases=list(command.aliases),
            help=f"{command.summary} [{command.role.value}]",
            description=f"{command.summary}. For {command.role.value}s.",
            epilog=f"example: cirrus admin {command.example}" if command.example else None,
        )
        for arg in command.args:
            _add_argument(p, arg.name, arg.kind, arg.help, arg.required, arg.keyword, arg.choices)


def _add_argument(
    p: argparse.ArgumentParser,
    name: str,
    kind: Kind,
    text: str,
    required: bool,
    keyword: str | None,
    choices: tuple[str, ...] = (),
) -> None:
    dest = name.replace("-", "_")
    if kind == Kind.FLAG:
        p.add_argument(f"--{name}", dest=dest, action="store_true", help=text)
    elif keyword:
        p.add_argument(f"--{keyword}", dest=dest, help=text, choices=choices or None)
    elif kind in (Kind.JOBS, Kind.EVENTS, Kind.SETTINGS):
        p.add_argument(dest, nargs="+" if required else "*", help=text, metavar=name.upper())
    elif choices:
        p.add_argument(dest, nargs=None if required else "?", help=text, choices=choices)
    else:
        p.add_argument(dest, nargs=None if required else "?", help=text, metavar=name.upper())


def values_from(command: Command, args: argparse.Namespace) -> Values:
    values: Values = {}
    for arg in command.args:
        raw = getattr(args, arg.name.replace("-", "_"), None)
        if raw in (None, False, []):
            continue
        if arg.kind == Kind.SETTINGS:
            pairs = [w.partition("=") for w in raw]
            bad = [name for name, eq, _ in pairs if not eq]
            if bad:
                raise UsageError(f"settings are NAME=VALUE, not {bad[0]!r}")
            values[arg.name] = {name: value for name, _, value in pairs}
        elif arg.kind == Kind.JOBS:
            values[arg.name] = [to_value(arg, w) for w in raw]
        elif arg.kind in (Kind.EVENTS, Kind.FLAG):
            values[arg.name] = raw
        else:
            values[arg.name] = to_value(arg, str(raw))
    return values


async def cmd_admin(client: CirrusClient, args: argparse.Namespace) -> int:
    command = BY_NAME[args.admin_command]
    try:
        values = values_from(command, args)
        response, rendered = await AdminClient(client).run(command, values)
    except UsageError as exc:
        raise SystemExit(f"cirrus admin {command.name}: {exc}") from None
    if args.json:
        print(response.model_dump_json(by_alias=True, exclude_none=True))
    elif values.get("csv") and rendered.table is not None:
        print(rendered.table.csv())
    else:
        print(rendered.text())
    return 0
