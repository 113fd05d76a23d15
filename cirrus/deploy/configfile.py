"""Commented TOML config files: a config is a list of sections, each a list of settings
with the comment an operator reads above it.

A setting without a value is written commented out with its example (usually the
default), so every setting the loader knows is in the file, explained, and one `#` away.
A later setting (a log, quota or metrics section) is one more `Section` in a builder
of `cirrus.deploy.configs`; nothing here changes.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import AoT, Table

WIDTH = 88


@dataclass(frozen=True)
class Setting:
    key: str
    comment: str
    value: Any = None  # None: written commented out, as `# key = example`
    example: Any = None


@dataclass(frozen=True)
class Section:
    """One table (`name`), one entry of an array of tables (`array`), or the top level
    (`name` None: must come first)."""

    name: str | None
    comment: str
    settings: list[Setting] = field(default_factory=list)
    array: bool = False

    def keys(self) -> set[str]:
        return {s.key for s in self.settings}


def _comment_lines(text: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.strip().split("\n"):
        lines += textwrap.wrap(paragraph, WIDTH - 2) or [""]
    return lines


def _add_comment(container: Any, text: str) -> None:
    for line in _comment_lines(text):
        container.add(tomlkit.comment(line))


def _fill(container: Any, settings: Iterable[Setting]) -> None:
    for setting in settings:
        _add_comment(container, setting.comment)
        if setting.value is not None:
            container.add(setting.key, setting.value)
        elif setting.example is not None:
            example = tomlkit.item(setting.example).as_string()
            container.add(tomlkit.comment(f"{setting.key} = {example}"))
        else:
            container.add(tomlkit.comment(f"{setting.key} = …"))
        container.add(tomlkit.nl())


def render(title: str, sections: list[Section]) -> str:
    """The whole file: `title` as a comment header, then each section."""
    doc = tomlkit.document()
    _add_comment(doc, title)
    doc.add(tomlkit.nl())
    arrays: dict[str, AoT] = {}
    for section in sections:
        if section.name is None:
            _add_comment(doc, section.comment)
            doc.add(tomlkit.nl())
            _fill(doc, section.settings)
            continue
        table: Table = tomlkit.table()
        _add_comment(table, section.comment)
        table.add(tomlkit.nl())
        _fill(table, section.settings)
        if section.array:
            if section.name not in arrays:
                arrays[section.name] = tomlkit.aot()
                doc.add(section.name, arrays[section.name])
            arrays[section.name].append(table)
        else:
            doc.add(section.name, table)
    return doc.as_string()


def write_new(path: Path, text: str, *, mode: int = 0o600, force: bool = False) -> Path:
    """Write `text` to `path` with `mode` (0600 by default: configs hold secrets). An
    existing file is kept unless `force`: its secrets may already be in use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)  # O_CREAT's mode is filtered by the umask; an old file kept its own
    return path
