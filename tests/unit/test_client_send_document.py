"""CirrusClient.send_document's end-to-end SHA-256 check, with the upload stubbed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cirrus import client as client_module
from cirrus.client import CirrusClient, ClientSettings, Uploaded
from stanzas.errors import DocumentAccessError


class Stubbed(CirrusClient):
    """Consumes the stream as the service would, answering `answer_digest` if set."""

    def __init__(self, answer_digest: str | None = None) -> None:
        super().__init__(ClientSettings(jid="alice@localhost", password="x"))
        self.answer_digest = answer_digest
        self.calls: list[dict[str, Any]] = []
        self.canceled: list[int] = []
        self.received = b""

    async def send_document_stream(  # type: ignore[override]
        self, job_id: int, chunks: AsyncIterator[bytes], **kwargs: Any
    ) -> Uploaded:
        self.calls.append(kwargs)
        self.received = b"".join([c async for c in chunks])
        digest = self.answer_digest or hashlib.sha256(self.received).hexdigest()
        return Uploaded(1, len(self.received), digest, "pending", ["none"])

    async def cancel_job(self, job_id: int, message: str | None = None) -> Any:
        self.canceled.append(job_id)


@pytest.fixture
def document(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(9 * 1024 * 1024 + 123)  # more than two read chunks
    path = tmp_path / "big.pdf"
    path.write_bytes(data)
    return path, data


async def test_a_small_file_sends_its_digest_up_front(document: tuple[Path, bytes]) -> None:
    path, data = document
    client = Stubbed()
    seen: list[int] = []
    uploaded = await client.send_document(7, path, progress=seen.append)
    assert client.received == data and sum(seen) == len(data)
    call = client.calls[0]
    assert call["digest"] == hashlib.sha256(data).hexdigest() and call["size"] == len(data)
    assert call["document_format"] == "application/pdf"
    assert uploaded.digest == call["digest"]


async def test_a_big_file_is_read_once_and_checked_against_the_answer(
    document: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data = document
    monkeypatch.setattr(client_module, "MEASURE_LIMIT", 1024 * 1024)
    reads = 0
    real_open = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += self == path
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    client = Stubbed()
    uploaded = await client.send_document(7, path)
    assert reads == 1
    assert client.received == data
    assert client.calls[0].get("digest") is None and client.calls[0]["size"] == len(data)
    assert uploaded.digest == hashlib.sha256(data).hexdigest()
    assert client.canceled == []


async def test_a_big_file_the_service_got_differently_is_canceled(
    document: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = document
    monkeypatch.setattr(client_module, "MEASURE_LIMIT", 1024 * 1024)
    client = Stubbed(answer_digest="0" * 64)
    with pytest.raises(DocumentAccessError, match="SHA-256"):
        await client.send_document(7, path)
    assert client.canceled == [7]
