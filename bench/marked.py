"""Documents that say which submission they are, so that every print maps to one.

A marked document is a header line, ``CIRRUS-CHAOS <key> <size>\\n``, followed by
filler derived from the key alone, up to ``size`` octets. Reading a printed file back,
``identify`` gives the key and whether the bytes are exactly those submitted: a print
cut off halfway (the issue's truncated Send-Document) still names its submission but
is not intact, and a file without a header is nobody's.

The key names the submission attempt (``j<job>a<attempt>``), not the job: a client
that retries after a failure sends a new key, so a print of the attempt it saw fail
is told apart from a second print of the same attempt.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re

MAGIC = b"CIRRUS-CHAOS "
_HEADER = re.compile(rb"^CIRRUS-CHAOS ([A-Za-z0-9_.-]{1,64}) (\d{1,10})\n")
FORMAT = "text/plain"  # accepted by the file driver and by ippeveprinter (-f)


def make(key: str, size: int) -> bytes:
    """The document of submission `key`: `size` octets (at least the header)."""
    header = MAGIC + f"{key} {size}\n".encode()
    left = max(0, size - len(header))
    rng = random.Random(hashlib.sha256(key.encode()).digest())
    filler = base64.b64encode(rng.randbytes(left * 3 // 4 + 3))[:left]
    return header + filler


def identify(data: bytes) -> tuple[str | None, bool]:
    """(key, intact) of a printed file; (None, False) if it carries no header."""
    match = _HEADER.match(data[:100])
    if match is None:
        return None, False
    key, size = match.group(1).decode(), int(match.group(2))
    return key, len(data) == size and data == make(key, size)


def attempt_key(job: int, attempt: int) -> str:
    return f"j{job}a{attempt}"
