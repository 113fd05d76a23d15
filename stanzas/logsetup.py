"""How the three programs (service, manager, gateway) log: a line of text each, or with
`--log-format json` one JSON object each (python-json-logger), for log collectors."""

from __future__ import annotations

import argparse
import logging

from pythonjsonlogger.json import JsonFormatter

TEXT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one object per line (time, level, logger, message, and any extras)",
    )


def configure(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
