"""What the devices printed: the file driver's folders and ippeveprinter's recordings.

The `file` driver puts each document in its folder (hidden names are its own work
files). ippeveprinter runs its ``-c`` command once per document it prints; the
recorder written here copies the document's bytes into a folder under a name of its
own (written to a hidden file first, then renamed, so a half-copied file is never
counted), which makes duplicates and truncated documents visible: ippeveprinter
itself deletes its spool files unless told to keep them, and names them after its
own job ids.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench import marked

RECORDER = """#!/bin/sh
# ippeveprinter -c: keep a copy of every document printed (bench.chaos, bench.soak).
set -e
tmp="{folder}/.$$.part"
cat "$1" > "$tmp"
mv "$tmp" "{folder}/$(date +%s%N)-$$"
"""


def write_recorder(script: Path, folder: Path) -> Path:
    """An executable recorder script that copies each printed document into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(RECORDER.format(folder=folder.resolve()))
    script.chmod(0o755)
    return script.resolve()


@dataclass(frozen=True)
class Print:
    """One document a device printed."""

    path: str
    key: str | None  # the submission it carries (bench.marked), None if none
    intact: bool  # exactly the bytes submitted
    size: int


def scan(folders: Iterable[Path]) -> list[Print]:
    """Every printed document in these folders (hidden files left out)."""
    prints = []
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            continue
        for name in names:
            path = folder / name
            if name.startswith(".") or not path.is_file():
                continue
            data = path.read_bytes()
            key, intact = marked.identify(data)
            prints.append(Print(str(path), key, intact, len(data)))
    return prints
