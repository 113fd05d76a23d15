"""The operators' deploy commands of `cirrus`: `init` and `doctor` (docs/deploy.md)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from cirrus.deploy import doctor, init

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": init.run,
    "doctor": doctor.run,
}


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init.add_parser(sub)
    doctor.add_parser(sub)
