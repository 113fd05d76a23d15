"""A chat job's states, told in the conversation it came from: a chat message to the
full JID that shared the file (the XMPP server hands it to the account's other
resources if that one has gone), from the address it was shared with (the service's,
or a queue's), whenever the job's state changes: held, released, printing, stopped
(with the printer's reasons), completed, canceled, aborted (with why). Its creation is
the answer to the share itself (server/chatprint/users.py).

A chat job sends no JobEvents (its notify-jid is cleared when it is recorded): the
chat client would not read them, and the notices say the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from admin_commands.render import fit, reasons
from server.context import ServiceContext
from server.stores.chat import ChatJob
from server.stores.jobs import Job
from stanzas.states import JobState

log = logging.getLogger(__name__)

Send = Callable[[str, str, str], None]  # (to, from: the conversation's address, text)

_SAID = {
    JobState.PENDING: "waiting to print",
    JobState.PENDING_HELD: "held",
    JobState.PROCESSING: "printing",
    JobState.PROCESSING_STOPPED: "stopped",
    JobState.COMPLETED: "completed",
    JobState.CANCELED: "canceled",
    JobState.ABORTED: "aborted",
}


def notice(job: Job) -> str:
    """`job 12 (report.pdf) on office: printing`; a job held, stopped or ended also
    says why (its reasons, and its message when it stopped or was aborted)."""
    text = f"job {job.job_id} ({job.job_name}) on {job.printer_name}: {_SAID[job.job_state]}"
    why = reasons([r for r in job.job_state_reasons if r not in _ROUTINE])
    if job.job_state not in (JobState.PENDING, JobState.PROCESSING) and why != "-":
        text += f" ({why})"
    if job.job_state in (JobState.ABORTED, JobState.PROCESSING_STOPPED) and job.job_state_message:
        text += f": {job.job_state_message[:300]}"
    if job.job_state == JobState.PENDING_HELD:
        text += f"; 'cancel {job.job_id}' cancels it"
    return fit(text)


# Reasons every job in that state has: they say nothing to the user.
_ROUTINE = frozenset(
    {
        "job-fetchable",
        "job-queued",
        "job-printing",
        "job-incoming",
        "job-completed-successfully",
        "processing-to-stop-point",
    }
)


class ChatNotices:
    """The chat jobs that have not ended, and the listener that tells their states."""

    def __init__(self, ctx: ServiceContext, send: Send) -> None:
        self.ctx = ctx
        self.send = send
        self.open: dict[int, ChatJob] = {}
        self.attached = False

    def attach(self) -> None:
        self.ctx.job_states.listeners.append(self.job_changed)
        self.attached = True

    def detach(self) -> None:
        if self.attached:
            self.ctx.job_states.listeners.remove(self.job_changed)
            self.attached = False

    async def load(self) -> None:
        """The chat jobs a restart left unfinished: their notices are still to come."""
        self.open.update({chat.job_id: chat for chat in await self.ctx.chat_jobs.unfinished()})

    async def record(self, job: Job, sender: str, address: str) -> None:
        """`job` was shared by `sender` (a full JID) with `address`: from now on its
        states are told there, instead of as JobEvents to its notify-jid."""
        chat = ChatJob(job.job_id, sender, address, self.ctx.now())
        async with self.ctx.db.transaction():
            current = await self.ctx.jobs.get(job.job_id)
            if current is not None and current.notify_jid is not None:
                await self.ctx.jobs.update(current, notify_jid=None)
            await self.ctx.chat_jobs.add(chat)
            self.ctx.db.after_commit(lambda: self.open.__setitem__(chat.job_id, chat))

    def forget(self, job_id: int) -> None:
        """No more notices of this job (its share failed and it was canceled)."""
        self.open.pop(job_id, None)

    def latest(self, bare: str, address: str) -> int | None:
        """The newest unfinished job `bare` shared with `address`, if any."""
        mine = [
            chat.job_id
            for chat in self.open.values()
            if chat.address == address and chat.jid.split("/", 1)[0] == bare
        ]
        return max(mine, default=None)

    def job_changed(self, before: Job | None, after: Job) -> None:
        chat = self.open.get(after.job_id)
        if chat is None or before is None:
            return
        if after.job_state.is_terminal:
            del self.open[after.job_id]
        if after.job_state == before.job_state:
            return
        self.send(chat.jid, chat.address, notice(after))
