"""The declared commands as XEP-0050 ad-hoc commands with XEP-0004 forms, so that any
XMPP client (Gajim, Conversations, Psi …) lists them in its command menu (XEP-0030).

- One node per command (its name). A command with arguments answers with a form whose
  fields are typed from the declaration: queues and devices are lists of what exists,
  flags are check boxes, settings a NAME=VALUE text box. Submitting it runs the command.
- "queue": the multi-step path — pick a queue, then an action, then (if the action needs
  more) its arguments.
- Only operators and administrators see the commands (disco#items is answered per
  requester) or may run them; an administrator-only command is refused to operators.
- Sessions time out: slixmpp keeps them forever otherwise (shared/FIELD-NOTES.md), and its
  own timeout sends a cancel to the user and keeps the session. Here they live in
  `ExpiringSessions`; a continuation of an expired one gets <bad-request/><session-expired/>.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

from slixmpp import Iq
from slixmpp.componentxmpp import ComponentXMPP
from slixmpp.exceptions import XMPPError
from slixmpp.plugins.xep_0004 import Form
from slixmpp.plugins.xep_0030 import DiscoItems

from admin_commands.declarations import (
    BY_NAME,
    COMMANDS,
    Arg,
    Command,
    Kind,
    UsageError,
    Values,
    events,
    may_run,
    to_value,
)
from admin_commands.render import Rendered
from server.admin.runner import run
from server.context import Caller, ServiceContext
from stanzas.admin_ops import AlertEvent
from stanzas.errors import CloudImagingError

log = logging.getLogger(__name__)

COMMANDS_NS = "http://jabber.org/protocol/commands"
QUEUE_NODE = "queue"
SESSION_TIMEOUT = 600.0  # seconds a session may wait for the user's next step
Session = dict[str, Any]


class ExpiringSessions(dict[str, Session]):
    """slixmpp's session store, forgetting sessions idle for longer than `timeout`."""

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.timeout = timeout
        self.clock = clock
        self._touched: dict[str, float] = {}

    def purge(self) -> None:
        limit = self.clock() - self.timeout
        for key in [k for k, t in self._touched.items() if t < limit]:
            self._touched.pop(key, None)
            super().pop(key, None)

    def __setitem__(self, key: str, value: Session) -> None:
        self.purge()
        self._touched[key] = self.clock()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._touched.pop(key, None)
        super().__delitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.purge()
        if key in self._touched:
            self._touched[key] = self.clock()
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.purge()
        return super().__contains__(key)


class AdHocCommands:
    def __init__(self, xmpp: ComponentXMPP, ctx: ServiceContext) -> None:
        self.xmpp = xmpp
        self.ctx = ctx
        self.sessions = ExpiringSessions(SESSION_TIMEOUT)
        plugin = xmpp.plugin["xep_0050"]
        plugin.set_backend(self.sessions)
        for command in COMMANDS:
            plugin.add_command(
                node=command.name,
                name=f"{command.name}: {command.summary}",
                handler=partial(self._start, command),
            )
        plugin.add_command(
            node=QUEUE_NODE, name="queue: pick a queue, then an action", handler=self._queue_start
        )
        xmpp.plugin["xep_0030"].set_node_handler(
            "get_items", jid=xmpp.boundjid, node=COMMANDS_NS, handler=self._items
        )

    def close(self) -> None:
        self.xmpp.plugin["xep_0030"].del_node_handler("get_items", self.xmpp.boundjid, COMMANDS_NS)
        self.sessions.clear()

    # --- discovery ------------------------------------------------------------------------
    def _items(self, jid: Any, node: str | None, ifrom: Any, data: Any) -> DiscoItems:
        """The commands this requester may run, nothing for anyone else."""
        items = DiscoItems()
        items["node"] = COMMANDS_NS
        caller = Caller(str(ifrom))
        operator, admin = self.ctx.is_operator(caller), self.ctx.is_admin(caller)
        if not operator:
            return items
        own = self.xmpp.boundjid
        items.add_item(own, node=QUEUE_NODE, name="queue: pick a queue, then an action")
        for command in COMMANDS:
            if may_run(command, operator=operator, admin=admin):
                items.add_item(own, node=command.name, name=f"{command.name}: {command.summary}")
        return items

    # --- one command ------------------------------------------------------------------------
    def _check(self, iq: Iq, command: Command | None) -> Caller:
        if iq["command"]["sessionid"]:
            # A continuation of a session we no longer have: it timed out (XEP-0050 §4.6).
            raise _refusal(
                iq,
                "bad-request",
                "this command session has expired; start the command again",
                extension="session-expired",
                extension_ns=COMMANDS_NS,
            )
        caller = Caller(iq["from"].full)
        operator, admin = self.ctx.is_operator(caller), self.ctx.is_admin(caller)
        if not operator:
            raise _refusal(
                iq, "forbidden", "Sorry, these commands are for the print service's operators"
            )
        if command is not None and not may_run(command, operator=operator, admin=admin):
            raise _refusal(iq, "forbidden", f"Sorry, '{command.name}' is for administrators")
        return caller

    async def _start(self, command: Command, iq: Iq, session: Session) -> Session:
        caller = self._check(iq, command)
        session["caller"] = caller
        if not command.args:
            return await self._finish(command, {}, session)
        session["payload"] = await self._form(command, command.args)
        session["next"] = partial(self._submitted, command, {}, command.args)
        session["has_next"] = False
        return session

    async def _submitted(
        self, command: Command, given: Values, args: tuple[Arg, ...], form: Any, session: Session
    ) -> Session:
        try:
            values = {**given, **self._values(args, form)}
        except UsageError as exc:
            return _failed(session, f"usage: {exc}")
        return await self._finish(command, values, session)

    async def _finish(self, command: Command, values: Values, session: Session) -> Session:
        caller: Caller = session["caller"]
        try:
            rendered = await run(self.ctx, caller, command, values)
        except UsageError as exc:
            return _failed(session, f"usage: {exc}")
        except CloudImagingError as exc:
            extra = f" (jobs: {', '.join(map(str, exc.job_ids))})" if exc.job_ids else ""
            return _failed(session, f"{exc.message} ({exc.status}){extra}")
        log.info("ad-hoc: %s ran %s", caller.bare, command.name)
        session["payload"] = result_form(command.name, rendered)
        session["next"] = None
        session["notes"] = None
        return session

    # --- the multi-step path: queue, then action, then its arguments ---------------------
    async def _queue_start(self, iq: Iq, session: Session) -> Session:
        session["caller"] = self._check(iq, None)
        form = Form()
        form["type"] = "form"
        form["title"] = "Which queue?"
        form.add_field(**await self._field(Arg("queue", Kind.QUEUE, "the queue")))
        session["payload"] = form
        session["next"] = self._queue_picked
        session["has_next"] = True
        return session

    async def _queue_picked(self, form: Any, session: Session) -> Session:
        queue = _raw(form, "queue")
        if not queue or await self.ctx.queues.get(str(queue)) is None:
            return _failed(session, "pick one of the queues")
        caller: Caller = session["caller"]
        operator, admin = self.ctx.is_operator(caller), self.ctx.is_admin(caller)
        actions = [
            c for c in COMMANDS if c.targets_queue and may_run(c, operator=operator, admin=admin)
        ]
        choice = Form()
        choice["type"] = "form"
        choice["title"] = f"What should {queue} do?"
        choice.add_field(
            var="action",
            ftype="list-single",
            label="Action",
            required=True,
            options=[{"label": f"{c.name}: {c.summary}", "value": c.name} for c in actions],
        )
        session["payload"] = choice
        session["next"] = partial(self._action_picked, str(queue))
        session["has_next"] = True
        return session

    async def _action_picked(self, queue: str, form: Any, session: Session) -> Session:
        command = BY_NAME.get(str(_raw(form, "action") or ""))
        caller: Caller = session["caller"]
        allowed = command is not None and may_run(
            command, operator=self.ctx.is_operator(caller), admin=self.ctx.is_admin(caller)
        )
        if command is None or not allowed or not command.targets_queue:
            return _failed(session, "pick one of the actions")
        rest = command.args[1:]
        if not rest:
            return await self._finish(command, {"queue": queue}, session)
        session["payload"] = await self._form(command, rest, title=f"{command.name} {queue}")
        session["next"] = partial(self._submitted, command, {"queue": queue}, rest)
        session["has_next"] = False
        return session

    # --- forms ------------------------------------------------------------------------------
    async def _form(self, command: Command, args: tuple[Arg, ...], title: str = "") -> Form:
        form = Form()
        form["type"] = "form"
        form["title"] = title or command.name
        form["instructions"] = command.summary
        for arg in args:
            form.add_field(**await self._field(arg))
        return form

    async def _field(self, arg: Arg) -> dict[str, Any]:
        field: dict[str, Any] = {
            "var": arg.name,
            "label": arg.help,
            "required": arg.required and arg.kind != Kind.FLAG,
        }
        if arg.kind == Kind.QUEUE:
            states = await self.ctx.queue_states.store.list_all()
            options = []
            for queue in await self.ctx.queues.list_all():
                state = states.get(queue.printer_name)
                shown = state.service_state.value if state else "idle"
                options.append(
                    {"label": f"{queue.printer_name} ({shown})", "value": queue.printer_name}
                )
            return {**field, "ftype": "list-single", "options": options}
        if arg.kind == Kind.DEVICE:
            options = [
                {
                    "label": f"{d.printer_name} ({d.registration_state.value}, {d.jid})",
                    "value": d.printer_name,
                }
                for d in await self.ctx.devices.list_all()
            ]
            return {**field, "ftype": "list-single", "options": options}
        if arg.kind == Kind.FLAG:
            return {**field, "ftype": "boolean", "value": False}
        if arg.kind == Kind.SETTINGS:
            return {**field, "ftype": "text-multi", "desc": "one NAME=VALUE per line"}
        if arg.kind == Kind.CHOICE:
            options = [{"label": c, "value": c} for c in arg.choices]
            return {**field, "ftype": "list-single", "options": options}
        if arg.kind == Kind.EVENTS:
            options = [{"label": e.value, "value": e.value} for e in AlertEvent]
            return {**field, "ftype": "list-multi", "options": options, "required": False}
        return {**field, "ftype": "text-single"}

    def _values(self, args: tuple[Arg, ...], form: Any) -> Values:
        values: Values = {}
        for arg in args:
            raw = _raw(form, arg.name)
            words = raw if isinstance(raw, list) else str(raw or "").split("\n")
            words = [w.strip() for w in words if w and w.strip()]
            if arg.kind == Kind.FLAG:
                values[arg.name] = bool(words) and words[0].lower() in ("1", "true")
            elif arg.kind == Kind.SETTINGS:
                values[arg.name] = dict(w.partition("=")[::2] for w in words)
            elif arg.kind == Kind.EVENTS:
                values[arg.name] = [e.value for e in events(words)] if words else ["off"]
            elif arg.kind == Kind.JOBS:
                values[arg.name] = [to_value(arg, w) for line in words for w in line.split()]
            elif words:
                values[arg.name] = to_value(arg, words[0])
            elif arg.required:
                raise UsageError(f"{arg.name} is required")
        return values


def _refusal(
    iq: Iq,
    condition: Literal["bad-request", "forbidden"],
    text: str,
    extension: str | None = None,
    extension_ns: str | None = None,
) -> XMPPError:
    """A refusal is an answer, not an error of the service: one line at INFO (slixmpp
    turns the XMPPError into the error reply)."""
    log.info(
        "ad-hoc %s from %s refused: %s (%s)", iq["command"]["node"], iq["from"], text, condition
    )
    return XMPPError(condition, text=text, extension=extension, extension_ns=extension_ns)


def _raw(form: Any, var: str) -> Any:
    if not isinstance(form, Form):
        return None
    field = form.get_fields().get(var)
    return None if field is None else field.get_value(convert=False)


def _failed(session: Session, text: str) -> Session:
    session["payload"] = None
    session["next"] = None
    session["notes"] = [("error", text)]
    return session


def result_form(title: str, rendered: Rendered) -> Form:
    """Lines as fixed fields; a table as <reported/> columns and one <item/> per row."""
    form = Form()
    form["type"] = "result"
    form["title"] = title
    for line in rendered.lines:
        form.add_field(ftype="fixed", value=line)
    table = rendered.table
    if table is not None:
        names = [c.lower().replace(" ", "-") for c in table.columns]
        for name, label in zip(names, table.columns, strict=True):
            form.add_reported(name, ftype="text-single", label=label)
        for row in table.rows:
            form.add_item(dict(zip(names, row, strict=True)))
    return form
