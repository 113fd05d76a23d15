"""--log-format json: one JSON object per line, for all three programs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from stanzas import logsetup

ROOT = Path(__file__).parents[2]


def test_json_lines_carry_time_level_logger_and_message(capsys: pytest.CaptureFixture[str]) -> None:
    logsetup.configure("INFO", "json")
    try:
        logging.getLogger("server.test").info("job %s done", 7)
        try:
            raise ValueError("bad")
        except ValueError:
            logging.getLogger("server.test").exception("it failed")
    finally:
        logsetup.configure("WARNING", "text")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert {k: first[k] for k in ("level", "logger", "message")} == {
        "level": "INFO",
        "logger": "server.test",
        "message": "job 7 done",
    }
    assert "time" in first
    assert second["level"] == "ERROR" and "ValueError: bad" in second["exc_info"]


@pytest.mark.parametrize("program", ["server", "manager", "gateway"])
def test_every_program_takes_the_option(program: str) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", program, "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    ).stdout
    assert "--log-format {text,json}" in shown


def test_a_bounded_json_record_stays_one_short_line(capsys: pytest.CaptureFixture[str]) -> None:
    logsetup.configure("INFO", "json", max_field=100)
    try:
        logging.getLogger("gateway.clients").info("peer sent %s", "x\n" * 5000)
    finally:
        logsetup.configure("WARNING", "text")
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert len(line) < 400 and record["message"].endswith("characters left out]")
