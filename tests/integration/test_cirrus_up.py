"""`cirrus up` as a newcomer runs it: a real process starting the whole stack. What it
prints lets them try the user's side and each of the administrator's front ends
(cirrus admin, chat, XEP-0050), with the configs it wrote."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cirrus.client import CirrusClient, ClientSettings
from tests.integration.admin_support import ChatInbox
from tests.integration.test_cli import run_cli

READY = "Ctrl-C stops everything."
COMMANDS = "http://jabber.org/protocol/commands"


@pytest.fixture
async def cirrus_up(short_tmp: Path) -> AsyncIterator[tuple[Path, str]]:
    """`cirrus up --device sim`, until it says it is up: (state folder, what it printed)."""
    state = short_tmp / "up"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cirrus.cli",
        "up",
        "--device",
        "sim",
        "--state-dir",
        str(state),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    printed: list[str] = []
    try:
        async with asyncio.timeout(120):
            while READY not in "".join(printed):
                line = await proc.stdout.readline()
                assert line, "".join(printed)
                printed.append(line.decode())
        yield state, "".join(printed)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)  # as Ctrl-C: it stops what it started
            try:
                await asyncio.wait_for(proc.communicate(), 60)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()


def settings_of(path: Path) -> ClientSettings:
    values = tomllib.loads(path.read_text())
    return ClientSettings(**{**values, "ca_file": Path(values["ca_file"])})


async def test_up_prints_and_writes_a_user_and_an_administrator_config_that_work(
    cirrus_up: tuple[Path, str],
) -> None:
    state, printed = cirrus_up
    user_config, admin_config = state / "client.toml", state / "admin.toml"
    assert f"export CIRRUS_CONFIG={user_config}" in printed
    assert f"cirrus --config {admin_config} admin queues" in printed
    admin = settings_of(admin_config)
    assert admin.jid == "admin@localhost"
    chat = re.search(r"log in to (\S+) as (\S+)\s+\(password (\S+);", printed)
    assert chat is not None
    assert chat.groups() == (f"{admin.host}:{admin.port}", admin.jid, admin.password)
    assert f"send `help` to {admin.service_jid}" in printed
    assert f"ad-hoc commands of {admin.service_jid}" in printed
    assert oct(admin_config.stat().st_mode & 0o777) == "0o600"  # it holds a password

    # Each front end, as printed: the user's CLI, cirrus admin, chat, XEP-0050.
    code, out, err = await run_cli("--config", str(user_config), "queues")
    assert code == 0 and "office" in out, err
    code, out, err = await run_cli("--config", str(admin_config), "admin", "queues")
    assert code == 0 and "office" in out, err
    client = CirrusClient(admin)
    await client.start()
    try:
        inbox = ChatInbox(client, admin.service_jid)
        assert "pause QUEUE" in await inbox.ask("help")
        items = await client.session.plugin["xep_0030"].get_items(
            jid=admin.service_jid, node=COMMANDS
        )
        assert len(items["disco_items"]["items"]) > 5  # an administrator sees them all
    finally:
        await client.stop()
