"""Document bytes on disk: streamed in with a running SHA-256, committed by rename."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiofiles
import aiofiles.os

from stanzas.errors import BadRequest, DocumentAccessError


@dataclass(frozen=True)
class SpooledFile:
    name: str
    size: int
    digest: str  # SHA-256, lowercase hex


class DocumentTooLarge(BadRequest):
    status = "client-error-request-entity-too-large"


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def prepare(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Leftovers of uploads cut off by a crash: never committed, never referenced.
        for leftover in self.directory.glob("incoming-*"):
            leftover.unlink(missing_ok=True)

    def path(self, name: str) -> Path:
        if "/" in name or name.startswith("."):
            raise ValueError(f"bad spool name {name!r}")
        return self.directory / name

    async def receive(
        self,
        chunks: AsyncIterator[bytes],
        *,
        prefix: str,
        max_size: int,
        expected_size: int | None = None,
        expected_digest: str | None = None,
    ) -> SpooledFile:
        """Write a stream to the spool; fsynced and renamed into place only if it is whole."""
        token = secrets.token_hex(8)
        incoming = self.directory / f"incoming-{token}"
        digest = hashlib.sha256()
        size = 0
        try:
            async with aiofiles.open(incoming, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_size:
                        raise DocumentTooLarge(f"document is larger than {max_size} octets")
                    digest.update(chunk)
                    await out.write(chunk)
                await out.flush()
                os.fsync(out.fileno())
            hexdigest = digest.hexdigest()
            if expected_size is not None and size != expected_size:
                raise DocumentAccessError(f"received {size} octets, expected {expected_size}")
            if expected_digest is not None and hexdigest != expected_digest:
                raise DocumentAccessError("SHA-256 of the received data does not match")
            name = f"{prefix}-{token}"
            await aiofiles.os.rename(incoming, self.directory / name)
            return SpooledFile(name=name, size=size, digest=hexdigest)
        except BaseException:
            incoming.unlink(missing_ok=True)
            raise

    def discard(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)
