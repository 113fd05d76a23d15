"""How the three programs (service, manager, gateway) log: a line of text each, or with
`--log-format json` one JSON object each (python-json-logger), for log collectors."""

from __future__ import annotations

import argparse
import logging
from typing import Any

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


class _Json(JsonFormatter):
    """JSON lines whose string fields are at most `max_field` characters (None: any)."""

    def __init__(self, max_field: int | None) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
        self.max_field = max_field

    def process_log_record(self, log_record: dict[str, Any]) -> dict[str, Any]:
        limit = self.max_field
        if limit is not None:
            for key, value in log_record.items():
                if isinstance(value, str) and len(value) > limit:
                    left_out = len(value) - limit
                    log_record[key] = f"{value[:limit]}... [{left_out} characters left out]"
        return log_record


def configure(
    level: str,
    fmt: str = "text",
    *,
    text_formatter: type[logging.Formatter] = logging.Formatter,
    max_field: int | None = None,
) -> None:
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(_Json(max_field))
    else:
        handler.setFormatter(text_formatter(TEXT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
