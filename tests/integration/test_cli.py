"""The `cirrus` command, run as a real process against a real Prosody and service."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path

import pytest

from cirrus.stack.local import write_client_config
from manager.drivers.sim import SimDriver
from tests.conftest import Harness
from tests.integration.test_print_flow import SAMPLE

pytestmark = pytest.mark.every_xmpp_server


def write_config(harness: Harness, user: str, **changes: object) -> Path:
    path = harness.tmp / f"{user}.toml"
    return write_client_config(path, harness.client_settings(user), **changes)


async def cirrus(harness: Harness, *args: str, user: str = "alice") -> tuple[int, str, str]:
    return await run_cli("--config", str(write_config(harness, user)), *args)


async def run_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cirrus.cli",
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


async def test_print_run_again_with_its_idempotency_key_makes_no_second_job(
    service, harness: Harness
) -> None:
    sim = SimDriver()
    await harness.manager(sim)
    key = "report-2025-q3"
    for _ in range(2):
        code, out, err = await cirrus(
            harness, "print", str(SAMPLE), "--queue", "office", "--idempotency-key", key
        )
        assert code == 0, err
        assert "job 1 created on queue office" in out.splitlines()[0]
    assert len(sim.jobs) == 1  # printed once
    code, out, err = await cirrus(
        harness,
        "print",
        str(SAMPLE),
        "--queue",
        "office",
        "--copies",
        "3",
        "--idempotency-key",
        key,
    )
    assert code == 2 and out == ""
    assert "client-error-not-possible" in err and "idempotency-key" in err and "job 1" in err


async def test_errors_are_one_line_with_the_status_and_a_hint(service, harness: Harness) -> None:
    await harness.manager(SimDriver())
    code, out, err = await cirrus(harness, "job", "4242")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0
    assert err.startswith("cirrus: client-error-not-found: no job 4242 (hint:")


def one_line(err: str) -> bool:
    return err.endswith("\n") and err.strip().count("\n") == 0 and "Traceback" not in err


async def test_json_is_taken_after_the_subcommand_too(service, harness: Harness) -> None:
    await harness.manager(SimDriver())
    code, out, _ = await cirrus(harness, "print", str(SAMPLE), "--queue", "office", "--json")
    assert code == 0
    job_id = json.loads(_json_objects(out)[-1])["job-id"]
    code, out, err = await cirrus(harness, "job", str(job_id), "--json")
    assert code == 0, err
    assert json.loads(out)["job"]["job-id"] == job_id
    for args in (
        ("jobs", "--history", "--json"),
        ("queues", "--json"),
        ("queue", "office", "--json"),
    ):
        code, out, err = await cirrus(harness, *args)
        assert code == 0, (args, err)
        json.loads(out)
    code, out, _ = await cirrus(harness, "admin", "queues", "--json", user="admin")
    assert code == 0 and "office" in json.dumps(json.loads(out))
    code, out, _ = await cirrus(harness, "--json", "job", str(job_id))  # before it, as before
    assert code == 0 and json.loads(out)["job"]["job-id"] == job_id


async def test_the_jobs_table_ends_with_a_newline(service, harness: Harness) -> None:
    await harness.manager(SimDriver())
    await cirrus(harness, "print", str(SAMPLE), "--queue", "office", "--hold", "--no-wait")
    code, out, _ = await cirrus(harness, "jobs")
    assert code == 0 and "pending-held" in out and out.endswith("\n")
    code, out, _ = await cirrus(harness, "admin", "jobs", "office", user="admin")
    assert code == 0 and out.endswith("\n")


async def test_print_timeout_is_one_line_with_a_hint(service, harness: Harness) -> None:
    await harness.manager(SimDriver())
    code, out, err = await cirrus(
        harness, "print", str(SAMPLE), "--queue", "office", "--hold", "--timeout", "0.5"
    )
    assert code == 2 and "pending-held" in out
    assert one_line(err), err
    assert err.startswith("cirrus: server-error-timeout: job 1 did not reach a final state")
    assert "(hint: the job goes on; follow it with `cirrus job 1`)" in err


async def test_a_refused_admin_command_hints_at_the_role_not_a_jobs_owner(
    service, harness: Harness
) -> None:
    code, out, err = await cirrus(harness, "admin", "pause", "office")
    assert code == 2 and out == ""
    assert one_line(err), err
    assert err.startswith("cirrus: client-error-not-authorized:")
    assert "owner" not in err and "`operators` and `admins`" in err


async def test_no_service_is_one_line_saying_nothing_was_delivered(harness: Harness) -> None:
    code, out, err = await cirrus(harness, "jobs")  # Prosody runs, the service does not
    assert code == 2 and out == ""
    assert one_line(err), err
    assert err.startswith("cirrus: server-error-service-unavailable: the XMPP server bounced it")
    assert "nothing reached the service" in err


async def test_no_xmpp_server_and_bad_configs_are_one_line_each(harness: Harness) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    config = write_config(harness, "alice", port=dead, connect_timeout=1)
    code, _, err = await run_cli("--config", str(config), "jobs")
    assert code == 2 and one_line(err), err
    unreachable = f"could not reach the XMPP server at 127.0.0.1:{dead}"
    assert err.startswith(f"cirrus: server-error-service-unavailable: {unreachable}")
    wrong = write_config(harness, "alice", password="wrong")
    code, _, err = await run_cli("--config", str(wrong), "jobs")
    assert code == 2 and one_line(err) and "refused the credentials" in err, err
    broken = harness.tmp / "broken.toml"
    broken.write_text("jid = [unclosed\n")
    code, _, err = await run_cli("--config", str(broken), "jobs")
    assert code != 0 and one_line(err) and "not valid TOML" in err, err
    code, _, err = await run_cli("--config", str(write_config(harness, "alice", colour=1)), "jobs")
    assert code != 0 and one_line(err) and "unknown setting 'colour'" in err, err


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
