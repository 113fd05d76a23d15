"""The command declarations every front end serves: each builds a valid request from its
example, the chat syntax parses as documented, answers render, and docs/admin.md
documents every command in all three forms."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from admin_commands import render
from admin_commands.declarations import (
    BY_NAME,
    COMMANDS,
    Kind,
    UsageError,
    build,
    parse_time,
    parse_words,
)
from server.admin.chat import command_help, help_text, unknown
from stanzas import admin_ops as a
from stanzas.registry import PAYLOADS
from tests.unit import admin_payloads
from tests.unit.test_stanzas import CAPABILITIES, JOB, STATUS, TICKET

ADMIN_MD = Path(__file__).resolve().parents[2] / "docs" / "admin.md"


def test_names_and_aliases_are_unique() -> None:
    names = [c.name for c in COMMANDS] + [alias for c in COMMANDS for alias in c.aliases]
    assert len(names) == len(set(names))
    assert "help" not in names


@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_every_command_builds_a_protocol_request(command) -> None:  # type: ignore[no-untyped-def]
    words = shlex.split(command.example)[1:] if command.example else []
    if not command.example:
        words = [
            "office" if arg.kind == Kind.QUEUE else "7" for arg in command.args if arg.required
        ]
    request = build(command, parse_words(command, words))
    assert request.ELEMENT in PAYLOADS
    assert command.response.ELEMENT in PAYLOADS


def test_chat_syntax() -> None:
    promote = BY_NAME["promote"]
    assert parse_words(promote, ["44", "after", "41"]) == {"job": 44, "after": 41}
    restart = BY_NAME["restart"]
    assert parse_words(restart, ["office", "paused"]) == {"queue": "office", "paused": True}
    cancel = BY_NAME["cancel-jobs"]
    assert parse_words(cancel, ["office", "3", "4"]) == {"queue": "office", "jobs": [3, 4]}
    settings = parse_words(BY_NAME["set"], ["office", "printer-info=Colour", "printer-location="])
    request = build(BY_NAME["set"], settings)
    assert isinstance(request, a.SetServiceElements)
    assert request.description == a.DescriptionChange(printer_info="Colour")
    assert request.delete_elements == ["printer-location"]
    for words, command in ((["after"], promote), (["x"], promote), ([], BY_NAME["pause"])):
        with pytest.raises(UsageError):
            parse_words(command, words)
    with pytest.raises(UsageError, match="cannot set"):
        build(BY_NAME["set"], {"queue": "office", "settings": {"printer-name": "x"}})
    with pytest.raises(UsageError, match="true or false"):
        build(BY_NAME["set"], {"queue": "office", "settings": {"auto-approve-devices": "maybe"}})


def test_times() -> None:
    now = 1_732_291_200.0
    assert parse_time("+30m", now) == int(now) + 1800
    assert parse_time("1732300000", now) == 1_732_300_000
    at = parse_time("00:00", now)
    assert now < at <= now + 86_400
    with pytest.raises(UsageError):
        parse_time("soon", now)


def test_help_and_suggestions() -> None:
    operator_help = help_text([], operator=True, admin=False)
    assert "pause QUEUE" in operator_help and "delete QUEUE" not in operator_help
    assert "delete QUEUE" in help_text([], operator=True, admin=True)
    assert "example: promote 44 after 41" in command_help(BY_NAME["promote"])
    assert "Did you mean 'resume'?" in unknown("resum")
    assert "Did you mean" not in unknown("xyzzy")


def test_every_answer_renders() -> None:
    full = admin_payloads.full(TICKET, CAPABILITIES, STATUS, JOB)
    for command in COMMANDS:
        payload = full.get(command.response.ELEMENT)
        if payload is None:
            continue  # a client_ops answer, rendered from its own fixture below
        assert command.render(payload).text()
    table = render.services(a.ServicesResponse(service=[full["ServicesResponse"].service[0]]))
    assert table.table is not None
    lines = table.table.aligned().splitlines()
    assert lines[0].startswith("QUEUE") and set(lines[1]) <= {"-", " "}


def test_admin_md_documents_every_command_in_all_three_forms() -> None:
    text = ADMIN_MD.read_text(encoding="utf-8")
    for command in COMMANDS:
        heading = re.search(rf"^### `{re.escape(command.name)}`", text, re.MULTILINE)
        assert heading, f"no section for {command.name}"
        section = text[heading.end() :].split("\n### ", 1)[0]
        assert f"cirrus admin {command.name}" in section, command.name
        assert "ad-hoc" in section.lower(), command.name
        assert "chat" in section.lower(), command.name
