"""The chat bot's commands for everyone who prints (server/chatprint/), declared once
with the user role and apart from the administrative commands: `cirrus admin` and the
XEP-0050 ad-hoc commands serve only those (the `cirrus` command has print, jobs and
cancel of its own).

Sharing a file is not a command to type: a message whose body or XEP-0066 data is a
link to the file prints it, on the queue the message names (`office LINK`), the queue
whose address it was sent to (office@print.example.com), or the sender's default queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from admin_commands.declarations import Arg, Declared, Kind, Role

QUEUE = Arg("queue", Kind.QUEUE, "the queue (printer-name)")


@dataclass(frozen=True)
class UserCommand(Declared):
    name: str
    summary: str  # one line: help lists it
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()
    example: str = ""
    role: Role = Role.USER


USER_COMMANDS: tuple[UserCommand, ...] = (
    UserCommand(
        "print",
        "print a file you shared (sharing it here does the same)",
        args=(
            Arg("queue", Kind.QUEUE, "the queue (default: your default queue)", required=False),
            Arg("link", Kind.LINK, "the link your chat client sent for the file"),
        ),
        example="print office https://upload.example.com/file_share/x1/report.pdf",
    ),
    UserCommand(
        "default",
        "show or set the queue your files print on (off: none)",
        args=(Arg("queue", Kind.QUEUE, "the queue, or off", required=False),),
        example="default office",
    ),
    UserCommand("queues", "the queues you may print on", aliases=("printers",)),
    UserCommand("jobs", "your jobs that have not ended", aliases=("my-jobs",)),
    UserCommand(
        "cancel",
        "cancel a job of yours (default: the last one you shared here)",
        args=(Arg("job", Kind.JOB, "the job id", required=False),),
        example="cancel 42",
    ),
)

USER_BY_NAME: dict[str, UserCommand] = {
    **{alias: cmd for cmd in USER_COMMANDS for alias in cmd.aliases},
    **{cmd.name: cmd for cmd in USER_COMMANDS},
}
