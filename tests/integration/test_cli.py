"""The `cirrus` command, run as a real process against a real Prosody and service."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from cirrus.stack import toml
from manager.drivers.sim import SimDriver
from tests.conftest import Harness
from tests.integration.test_print_flow import SAMPLE

pytestmark = pytest.mark.every_xmpp_server


async def cirrus(harness: Harness, *args: str, user: str = "alice") -> tuple[int, str, str]:
    settings = harness.client_settings(user)
    config = toml.write(
        harness.tmp / f"{user}.toml",
        {
            "jid": settings.jid,
            "password": settings.password,
            "service_jid": settings.service_jid,
            "host": settings.host,
            "port": settings.port,
            "ca_file": str(settings.ca_file),
        },
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cirrus.cli",
        "--config",
        str(config),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_print_follows_the_job_live_to_completed(service, harness: Harness) -> None:
    await harness.manager(SimDriver())
    code, out, _ = await cirrus(harness, "print", str(SAMPLE), "--queue", "office", "--copies", "2")
    assert code == 0, out
    lines = out.splitlines()
    assert "job 1 created on queue office" in lines[0]
    assert any("pending (job-fetchable)" in line for line in lines)
    assert "completed (job-completed-successfully)" in lines[-1]


async def test_json_output_and_job_listing(service, harness: Harness, tmp_path: Path) -> None:
    await harness.manager(SimDriver())
    code, out, _ = await cirrus(harness, "--json", "print", str(SAMPLE), "--queue", "office")
    assert code == 0
    states = [json.loads(chunk) for chunk in _json_objects(out)]
    assert states[-1]["job-state"] == "completed"
    code, out, _ = await cirrus(harness, "--json", "jobs", "--history")
    assert code == 0 and json.loads(out)[0]["job-id"] == states[-1]["job-id"]
    code, out, _ = await cirrus(harness, "job", str(states[-1]["job-id"]))
    assert code == 0 and "document 1: sample.pdf" in out
    code, out, _ = await cirrus(harness, "queues")
    assert code == 0 and "office" in out and "accepting" in out
    code, out, _ = await cirrus(harness, "queue", "office")
    assert code == 0 and "media-supported" in out
    code, out, _ = await cirrus(
        harness, "validate", "--queue", "office", "--media", "na_foolscap_8.5x13in"
    )
    assert code == 1 and "media" in out


async def test_hold_release_and_cancel_mine(service, harness: Harness) -> None:
    await harness.manager(SimDriver())
    code, out, _ = await cirrus(
        harness, "print", str(SAMPLE), "--queue", "office", "--hold", "--no-wait"
    )
    assert code == 0 and "pending-held" in out
    code, out, _ = await cirrus(harness, "release", "1")
    assert code == 0 and "job 1: pending" in out
    code, out, _ = await cirrus(
        harness, "print", str(SAMPLE), "--queue", "office", "--hold", "--no-wait"
    )
    code, out, _ = await cirrus(harness, "cancel", "--mine")
    assert code == 0 and "canceled: 2" in out


async def test_errors_are_one_line_with_the_status_and_a_hint(service, harness: Harness) -> None:
    await harness.manager(SimDriver())
    code, out, err = await cirrus(harness, "job", "4242")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0
    assert err.startswith("cirrus: client-error-not-found: no job 4242 (hint:")


def _json_objects(text: str) -> list[str]:
    """Split a stream of pretty-printed JSON objects."""
    objects, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth, start = depth + 1, (i if depth == 0 else start)
        elif ch == "}":
            depth -= 1
            if depth == 0:
                objects.append(text[start : i + 1])
    return objects
