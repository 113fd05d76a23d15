"""Every chat reply fits an 80-column terminal and a phone held sideways: no line over 80
characters, for every command, with data as long as real data gets (long queue, job and
account names, many printer-state reasons, long messages). Tables wrap their long
cells; `help` is names and one-line summaries, `help COMMAND` the details."""

from __future__ import annotations

import hashlib

from admin_commands.declarations import BY_NAME, COMMANDS, Command, Kind
from server.admin.chat import ChatBot
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas.groups import JobTicket, ServiceStatus
from stanzas.states import PrinterState
from tests.handlers.conftest import DEVICE, DEVICE2, register
from tests.handlers.stream import ADMIN, ALICE, MGR1, OPERATOR, Stream

WIDTH = 80
LONG_QUEUE = "annex-2nd-floor-east-wing-colour"
LONG_ACCOUNT = "annex-floor2-colour-printer-manager@localhost/device"
LONG_USER = "alexandra.konstantinopoulou@localhost/laptop"
DATA = b"%PDF-1.7 one page"
REASONS = [
    "media-empty-error",
    "toner-low-report",
    "door-open-error",
    "marker-supply-low-warning",
    "input-tray-missing-error",
]


def too_wide(reply: str) -> list[str]:
    return [line for line in reply.splitlines() if len(line) > WIDTH]


async def realistic(stream: Stream) -> dict[str, int]:
    """Two devices (one with a long account and queue name, one reporting every reason
    at once), a pending one, and jobs with long names in several states."""
    await register(stream, MGR1, DEVICE, "office")
    await register(stream, LONG_ACCOUNT, DEVICE2, LONG_QUEUE)
    report = d.UpdateServiceState(
        output_device_uuid=DEVICE2,
        status=ServiceStatus(
            printer_state=PrinterState.STOPPED,
            printer_state_reasons=REASONS,
            printer_state_message="Tray 2 is empty and the front door is open: load A4 paper"
            " and close the door to continue printing the jobs that wait",
        ),
    )
    answer, _ = await stream.iq(LONG_ACCOUNT, report)
    assert answer.get("type") == "result"
    jobs: dict[str, int] = {}
    for label, sender, queue, ticket in (
        ("long", LONG_USER, LONG_QUEUE, JobTicket()),
        ("held", ALICE, "office", JobTicket(job_hold_until="indefinite")),
        ("plain", ALICE, "office", JobTicket(copies=2, finishings=[4])),
    ):
        answer, _ = await stream.iq(
            sender,
            c.PrintJob(
                printer_name=queue,
                job_name="Quarterly report - final version for the board meeting, with the "
                "appendices and the auditors' letter (v3).pdf",
                job_ticket=ticket,
                document_format="application/pdf",
                document_digest=hashlib.sha256(DATA).hexdigest(),
                document_data=DATA,
            ),
        )
        assert answer.get("type") == "result", answer
        jobs[label] = c.PrintJobResponse.from_xml(answer[0]).job.job_id
    return jobs


def words_for(command: Command, jobs: dict[str, int]) -> list[str]:
    words = [command.name]
    for arg in command.args:
        if arg.keyword:
            words.append(arg.keyword)
        words += {
            Kind.QUEUE: [LONG_QUEUE],
            Kind.JOB: [str(jobs["long"])],
            Kind.JOBS: [str(jobs["long"])],
            Kind.DEVICE: [LONG_QUEUE],
            Kind.TIME: ["+2h"],
            Kind.FLAG: [arg.name],
            Kind.SETTINGS: [
                "printer-location='Building 2, second floor, east wing, beside the kitchen'"
            ],
            Kind.EVENTS: ["on"],
            Kind.NAME: ["accounts-payable.team-lead@finance.example.org"],
            Kind.COUNT: ["500"],
            Kind.CHOICE: [(arg.choices or ("",))[-1]],
        }[arg.kind]
    return words


async def test_every_reply_fits_80_columns(stream: Stream) -> None:
    jobs = await realistic(stream)
    bot = ChatBot(stream.ctx)
    asked = ["help", "?", "help nonsense", "frobnicate office", "promote", "set office x=1"]
    asked += [f"help {command.name}" for command in COMMANDS]
    # Every command: first those that look, then those that change things; the last
    # ones shut the queues down and delete one.
    asked += [" ".join(words_for(command, jobs)) for command in COMMANDS]
    wide = {}
    for body in asked:
        reply = await bot.answer(ADMIN, body)
        assert reply
        if too_wide(reply):
            wide[body] = too_wide(reply)
    refusal = await bot.answer(LONG_USER, "help")
    if too_wide(refusal):
        wide["(refusal)"] = too_wide(refusal)
    operator_help = await bot.answer(OPERATOR, "help")
    if too_wide(operator_help):
        wide["help (operator)"] = too_wide(operator_help)
    assert wide == {}, "\n".join(f"{k!r}:\n  " + "\n  ".join(v) for k, v in wide.items())


async def test_help_is_one_line_a_command_and_help_command_the_details(stream: Stream) -> None:
    bot = ChatBot(stream.ctx)
    short = await bot.answer(ADMIN, "help")
    listed = [line for line in short.splitlines() if line.split(" ", 1)[0] in BY_NAME]
    assert [line.split(" ", 1)[0] for line in listed] == [c.name for c in COMMANDS]
    # One line each: nothing between the commands' lines but the next command.
    body = short.split("```")[1].strip().splitlines()[2:]
    assert body == listed
    details = await bot.answer(ADMIN, "help restart")
    assert "restart QUEUE [paused] [not-accepting]" in details and "example:" in details
