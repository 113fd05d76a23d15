"""The chat front end for everyone who prints: a shared file becomes a job, and the
commands of admin_commands/user_commands.py (default, queues, jobs, cancel, help) are
answered, each through the client operations' own handlers with the sender's identity,
so every check is the one a remote request gets (CLIENT role, job ownership).

A shared link is printed only if it points into the XMPP server's file share (the
origins in settings.chat_print.upload_hosts, documents/uploads.py); it is fetched by
the by-reference rules, and an upload's URL, a capability, is never repeated in a
reply or a job's state message.
"""

from __future__ import annotations

import logging
import shlex
from typing import TypeVar

from admin_commands.declarations import BY_NAME, UsageError
from admin_commands.render import Rendered, Table, describe, fit, reasons
from admin_commands.user_commands import USER_BY_NAME, USER_COMMANDS, UserCommand
from server.admin.chat import error_text, preformatted
from server.chatprint.notices import ChatNotices, Send
from server.chatprint.shares import Shared, document_format, format_name, shared
from server.context import Caller, ServiceContext
from server.documents.uploads import file_name
from server.handlers import OPERATIONS
from server.handlers.roles import CLIENT
from stanzas import client_ops as ops
from stanzas.errors import CloudImagingError
from stanzas.model import Payload
from stanzas.states import ServiceType

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Payload)

REFUSAL = (
    "Sorry, this address is the print service, for the users of its XMPP server, and "
    "{who} is not one of them, so nothing was done."
)
ADMIN_ONLY = (
    "Sorry, '{name}' is for the service's operators and administrators, and {who} is "
    "neither, so nothing was done. Send 'help' for what you can do here."
)
ENCRYPTED = (
    "This message is end-to-end encrypted: the service cannot read it, so it cannot "
    "print it and nothing was done. Share the file with encryption off for this chat."
)
ENCRYPTED_FILE = (
    "That file is end-to-end encrypted (an aesgcm:// link): the service cannot read it, "
    "so nothing was done. Share it with encryption off for this chat."
)
NOT_AN_UPLOAD = (
    "I print only files shared through your XMPP server's file share (your chat "
    "client's 'send file'); that link is not one, so nothing was done."
)
NOT_YOURS = (
    "I print only files you uploaded yourself; that link is someone else's upload, so "
    "nothing was done."
)
MAX_LINKS = 10  # documents in one job from one message


class ChatPrint:
    """Answers users' chat messages; tells their chat jobs' states (notices.py)."""

    def __init__(self, ctx: ServiceContext, send: Send) -> None:
        self.ctx = ctx
        self.notices = ChatNotices(ctx, send)

    def attach(self) -> None:
        """Tell chat jobs' states from now on, and spawn the look-up of those a restart
        left unfinished."""
        self.notices.attach()
        self.ctx.tasks.spawn(self.notices.load())

    def detach(self) -> None:
        self.notices.detach()

    def handles(self, body: str, oob_urls: list[str], *, encrypted: bool) -> bool:
        """Whether an operator's message is for this front end rather than the
        administrators' chat bot: a share, or a command only users have."""
        if encrypted or shared(body, oob_urls).links:
            return True
        words = body.split()
        return bool(words) and words[0].lower() in USER_BY_NAME.keys() - BY_NAME.keys()

    async def answer(
        self, sender: str, address: str, body: str, oob_urls: list[str], *, encrypted: bool
    ) -> str | None:
        """The reply to one message from `sender` (a full JID) to `address`; None when a
        chat job's notice has answered already (a cancel that ended the job at once)."""
        reply = await self._answer(Caller(sender), address, body, oob_urls, encrypted)
        return None if reply is None else fit(reply)

    async def _answer(
        self, caller: Caller, address: str, body: str, oob_urls: list[str], encrypted: bool
    ) -> str | None:
        try:
            await CLIENT.admit(self.ctx, caller, None)
        except CloudImagingError:
            return REFUSAL.format(who=caller.bare)
        if encrypted:
            return ENCRYPTED
        share = shared(body, oob_urls)
        try:
            if share.links:
                return await self._share(caller, address, share)
            return await self._command(caller, address, body)
        except UsageError as exc:
            return f"usage: {exc}"
        except CloudImagingError as exc:
            return error_text(exc)
        except Exception:
            log.exception("chat message from %s failed", caller.bare)
            return "error: that failed inside the service (server-error-internal-error)"

    # --- sharing a file ----------------------------------------------------------------
    async def _share(self, caller: Caller, address: str, share: Shared) -> str:
        if share.encrypted_file:
            return ENCRYPTED_FILE
        uploads = self.ctx.upload_origins
        if any(uploads.of(link) is None for link in share.links):
            return NOT_AN_UPLOAD
        if not all(uploads.uploaded_by(link, caller.bare) for link in share.links):
            return NOT_YOURS
        if len(share.links) > MAX_LINKS:
            raise UsageError(f"at most {MAX_LINKS} files in one message")
        words = share.words
        if words and words[0].lower() == "print":
            words = words[1:]
        if len(words) > 1:
            raise UsageError(USER_BY_NAME["print"].usage)
        queue = words[0] if words else await self._default_queue(caller)
        if queue is None:
            return await self._which_queue()
        names = [file_name(link) for link in share.links]
        created = await self._run(
            caller, ops.CreateJob(printer_name=queue, job_name=names[0]), ops.CreateJobResponse
        )
        job_id = created.job.job_id
        job = await self.ctx.jobs.get(job_id)
        assert job is not None  # just created, and nobody else may end it yet
        await self.notices.record(job, caller.jid, address)
        formats = [document_format(name) for name in names]
        try:
            for number, (link, name, mime) in enumerate(
                zip(share.links, names, formats, strict=True)
            ):
                await self._run(
                    caller,
                    ops.SendUri(
                        job_id=job_id,
                        document_uri=link,
                        document_name=name,
                        document_format=mime,
                        last_document=number == len(names) - 1,
                    ),
                    ops.SendUriResponse,
                )
        except CloudImagingError:
            self.notices.forget(job_id)
            await self._run(
                caller,
                ops.CancelJob(job_id=job_id, message="the shared file was refused"),
                ops.CancelJobResponse,
            )
            raise
        log.info("chat: %s shared job %d on %s", caller.bare, job_id, queue)
        what = ", ".join(f"{n} ({format_name(m)})" for n, m in zip(names, formats, strict=True))
        return (
            f"job {job_id} on {queue}: {what}. I'll tell you here how it goes; "
            f"'cancel {job_id}' cancels it."
        )

    async def _default_queue(self, caller: Caller) -> str | None:
        """The sender's default queue, or the only print queue there is."""
        chosen = await self.ctx.chat_defaults.get(caller.bare)
        if chosen is not None:
            return chosen
        names = await self._queue_names()
        return names[0] if len(names) == 1 else None

    async def _queue_names(self) -> list[str]:
        return [
            q.printer_name
            for q in await self.ctx.queues.list_all()
            if q.service_type == ServiceType.PRINT.value
        ]

    async def _which_queue(self) -> str:
        names = await self._queue_names()
        if not names:
            return "There is no print queue yet, so nothing was done."
        return (
            "Which queue? Send the queue's name with the file ('QUEUE LINK'), or set "
            f"your default with 'default QUEUE'. Queues: {', '.join(names)}"
        )

    # --- commands ----------------------------------------------------------------------
    async def _command(self, caller: Caller, address: str, body: str) -> str | None:
        try:
            words = shlex.split(body)
        except ValueError:
            return "I could not read that: a quote is not closed."
        if not words:
            return "Send 'help' for what you can do here."
        name = words[0].lower()
        if name in ("help", "?"):
            return self._help(words[1:])
        command = USER_BY_NAME.get(name)
        if command is None:
            if name in BY_NAME:
                return ADMIN_ONLY.format(name=name, who=caller.bare)
            return f"I don't know '{words[0][:40]}'. Send 'help' for what you can do here."
        if command.name == "print":
            raise UsageError(f"no link to a file: {command.usage}")
        rest = words[1:]
        if command.name == "default":
            return await self._set_default(caller, rest)
        if command.name == "queues":
            return await self._queues(caller)
        if command.name == "jobs":
            return await self._jobs(caller)
        return await self._cancel(caller, address, rest)

    def _help(self, words: list[str]) -> str:
        if words:
            command = USER_BY_NAME.get(words[0].lower())
            if command is None:
                return f"I don't know '{words[0][:40]}'. Send 'help' for the list."
            return _command_help(command)
        table = Table(["COMMAND", "WHAT IT DOES"])
        for command in USER_COMMANDS:
            table.rows.append([command.short_usage, command.summary])
        lines = [
            "To print, share a file here (your chat client's 'send file'); put a queue's",
            "name in the message to choose where. Commands (help COMMAND for more):",
        ]
        return preformatted(Rendered(lines, table))

    async def _set_default(self, caller: Caller, words: list[str]) -> str:
        if len(words) > 1:
            raise UsageError(USER_BY_NAME["default"].usage)
        if not words:
            chosen = await self.ctx.chat_defaults.get(caller.bare)
            return f"your default queue: {chosen or 'none'}"
        if words[0].lower() == "off":
            await self.ctx.chat_defaults.set(caller.bare, None, self.ctx.now())
            return "your default queue: none"
        name = words[0]
        if name not in await self._queue_names():
            return f"error: no print queue named {name[:64]!r} (client-error-not-found)"
        await self.ctx.chat_defaults.set(caller.bare, name, self.ctx.now())
        return f"your default queue: {name}"

    async def _queues(self, caller: Caller) -> str:
        found = await self._run(
            caller, ops.GetServices(service_type=ServiceType.PRINT), ops.GetServicesResponse
        )
        table = Table(["QUEUE", "STATE", "ABOUT"])
        for service in found.service:
            if service.description is None:
                continue
            state = service.status.printer_state if service.status else None
            table.rows.append(
                [
                    service.description.printer_name,
                    state.value if state is not None else "-",
                    (service.description.printer_info or "-")[:40],
                ]
            )
        return preformatted(Rendered(table=table))

    async def _jobs(self, caller: Caller) -> str:
        found = await self._run(caller, ops.GetActiveJobs(my_jobs=True), ops.JobList)
        table = Table(["ID", "NAME", "QUEUE", "STATE", "REASONS"])
        for job in found.job:
            table.rows.append(
                [
                    str(job.job_id),
                    (job.job_name or "-")[:30],
                    job.printer_name or "-",
                    job.job_state.value,
                    reasons(job.job_state_reasons),
                ]
            )
        return preformatted(Rendered(table=table))

    async def _cancel(self, caller: Caller, address: str, words: list[str]) -> str | None:
        if len(words) > 1 or (words and not words[0].isdigit()):
            raise UsageError(USER_BY_NAME["cancel"].usage)
        job_id = int(words[0]) if words else self.notices.latest(caller.bare, address)
        if job_id is None:
            return "You have no job here that has not ended; 'cancel ID' names one."
        told = job_id in self.notices.open  # its notices come to this conversation
        canceled = await self._run(caller, ops.CancelJob(job_id=job_id), ops.CancelJobResponse)
        if canceled.job.job_state.is_terminal and told:
            return None  # its notice has just said so
        if canceled.job.job_state.is_terminal:
            return describe(canceled.job)
        return f"job {job_id}: canceling (it is {canceled.job.job_state.value})"

    async def _run(self, caller: Caller, request: Payload, answer: type[R]) -> R:
        """The client operation's own handler, with the sender's identity."""
        response = await OPERATIONS[request.ELEMENT](self.ctx, caller, request)
        assert isinstance(response, answer)
        return response


def _command_help(command: UserCommand) -> str:
    lines = [command.usage, f"  {command.summary}"]
    for arg in command.args:
        optional = "" if arg.required else " (optional)"
        lines.append(f"  {arg.name}: {arg.help}{optional}")
    if command.aliases:
        lines.append(f"  also: {', '.join(command.aliases)}")
    if command.example:
        lines.append(f"  example: {command.example}")
    return "\n".join(lines)
