"""The chat bot: an operator or administrator sends a plain message to the service's JID
and gets a readable answer. Anyone else is refused politely, and nothing is done.

    pause office            → office: stopped (paused) …
    promote 44 after 41     → job 44: pending … / waiting jobs, in the order they go: 41, 44
    help                    → the commands this sender may use
    help promote            → usage, arguments, an example

Tables come in a ``` block (XEP-0393 preformatted text), so clients show them in a
monospace font.
"""

from __future__ import annotations

import difflib
import logging
import shlex

from admin_commands.declarations import (
    BY_NAME,
    COMMANDS,
    Command,
    Kind,
    UsageError,
    may_run,
    parse_words,
)
from admin_commands.render import Rendered, Table, fit
from server.admin.runner import run
from server.context import Caller, ServiceContext
from stanzas.errors import CloudImagingError

log = logging.getLogger(__name__)

REFUSAL = (
    "Sorry, this address is the print service. Its commands are for its operators and "
    "administrators, and {who} is neither, so nothing was done. To print, use the cirrus "
    "client or a print dialog."
)
MAX_ROWS = 200


def preformatted(rendered: Rendered) -> str:
    """Lines as they are; the table as a ``` block (monospace in XEP-0393 clients)."""
    parts = list(rendered.lines)
    table = rendered.table
    if table is not None:
        if not table.rows:
            parts.append("(none)")
        else:
            shown = Table(table.columns, table.rows[:MAX_ROWS])
            parts.append("```\n" + shown.aligned() + "\n```")
            if len(table.rows) > MAX_ROWS:
                parts.append(f"… and {len(table.rows) - MAX_ROWS} more")
    return "\n".join(parts) or "done"


def help_text(words: list[str], *, operator: bool, admin: bool) -> str:
    """The short form: each command this sender may run with its one-line summary;
    `help COMMAND` gives its arguments and an example."""
    if words:
        command = BY_NAME.get(words[0].lower())
        if command is None:
            return unknown(words[0])
        return command_help(command)
    table = Table(["COMMAND", "WHAT IT DOES"])
    for command in COMMANDS:
        if may_run(command, operator=operator, admin=admin):
            table.rows.append([command.short_usage, command.summary])
    return preformatted(Rendered(["Commands (help COMMAND: its arguments, an example):"], table))


def command_help(command: Command) -> str:
    lines = [f"{command.usage}", f"  {command.summary}"]
    who = "operators and administrators" if command.role == "operator" else "administrators"
    lines.append(f"  for: {who}")
    for arg in command.args:
        optional = "" if arg.required and arg.kind != Kind.FLAG else " (optional)"
        word = f"{arg.keyword} {arg.name}" if arg.keyword else arg.name
        lines.append(f"  {word}: {arg.help}{optional}")
    if command.aliases:
        lines.append(f"  also: {', '.join(command.aliases)}")
    if command.example:
        lines.append(f"  example: {command.example}")
    return "\n".join(lines)


def unknown(word: str) -> str:
    names = [*BY_NAME, "help"]
    close = difflib.get_close_matches(word.lower(), names, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"I don't know the command '{word}'.{hint} Send 'help' for the list."


def error_text(exc: CloudImagingError) -> str:
    text = f"error: {exc.message} ({exc.status})"
    if exc.job_ids:
        text += f"\njobs: {', '.join(map(str, exc.job_ids))}"
    return text


class ChatBot:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def answer(self, sender: str, body: str) -> str:
        """The reply to one chat message from `sender` (a full JID), every line at most
        80 characters (render.fit): phones and terminals show it as it is."""
        return fit(await self._answer(sender, body))

    async def _answer(self, sender: str, body: str) -> str:
        caller = Caller(sender)
        operator, admin = self.ctx.is_operator(caller), self.ctx.is_admin(caller)
        if not operator:
            return REFUSAL.format(who=caller.bare)
        try:
            words = shlex.split(body)
        except ValueError:
            return "I could not read that: a quote is not closed."
        if not words:
            return "Send 'help' for the list of commands."
        name = words[0].lower()
        if name in ("help", "?"):
            return help_text(words[1:], operator=operator, admin=admin)
        command = BY_NAME.get(name)
        if command is None:
            return unknown(words[0])
        if not may_run(command, operator=operator, admin=admin):
            return f"Sorry, '{command.name}' is for administrators; nothing was done."
        try:
            values = parse_words(command, words[1:])
            rendered = await run(self.ctx, caller, command, values)
        except UsageError as exc:
            return f"usage: {exc}"
        except CloudImagingError as exc:
            return error_text(exc)
        except Exception:
            log.exception("chat command %r from %s failed", body, caller.bare)
            return "error: the command failed inside the service (server-error-internal-error)"
        log.info("chat: %s ran %s", caller.bare, command.name)
        if values.get("csv") and rendered.table is not None:
            return "\n".join([*rendered.lines, "```", rendered.table.csv(), "```"])
        return preformatted(rendered)
