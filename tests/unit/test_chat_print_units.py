"""The pieces of printing from chat clients that need no server: the file share's
origins in the settings, which links are uploads, what a message shares, the notices."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.chatprint.shares import document_format, format_name, shared
from server.chatprint.users import ChatPrint
from server.config import ChatPrintSettings, Settings
from server.context import ServiceContext
from server.documents.uploads import UploadOrigins, file_name


@pytest.mark.parametrize(
    ("entry", "origin"),
    [
        ("upload.example.com", "https://upload.example.com:443"),
        ("Upload.Example.com.:5281", "https://upload.example.com:5281"),
        ("https://example.com:5281/", "https://example.com:5281"),
        ("http://localhost:5280", "http://localhost:5280"),
    ],
)
def test_upload_hosts_are_origins(entry: str, origin: str) -> None:
    assert ChatPrintSettings(upload_hosts=[entry]).upload_hosts == [origin]


@pytest.mark.parametrize(
    "entry",
    [
        "http://upload.example.com",  # in clear off the machine
        "https://example.com/file_share",  # a path
        "https://user:pw@example.com",  # credentials
        "ftp://example.com",
        "https://example.com:99999",
    ],
)
def test_upload_hosts_refuse_what_is_not_a_safe_origin(entry: str) -> None:
    with pytest.raises(ValidationError):
        ChatPrintSettings(upload_hosts=[entry])


def test_only_links_into_the_file_share_are_uploads() -> None:
    origins = UploadOrigins(["https://example.com:5281"])
    assert origins.of("https://example.com:5281/file_share/x/a.pdf") == "https://example.com:5281"
    assert origins.of("https://EXAMPLE.com:5281/upload/a.pdf") == "https://example.com:5281"
    for other in (
        "https://example.com/file_share/x/a.pdf",  # port 443
        "http://example.com:5281/a.pdf",  # not https
        "https://example.com.evil:5281/a.pdf",
        "https://u:p@example.com:5281/a.pdf",
        "not a url",
    ):
        assert origins.of(other) is None, other


def test_a_message_shares_its_links_once_and_keeps_its_words() -> None:
    url = "https://example.com:5281/file_share/x/Report%20Q3.pdf"
    found = shared(f"office {url}", [url])
    assert found.links == [url] and found.words == ["office"]
    assert not found.encrypted_file
    assert shared("aesgcm://example.com/a.pdf#00ff", []).encrypted_file
    assert file_name(url) == "Report Q3.pdf"
    assert file_name("https://example.com/") == "document"
    assert document_format("Report Q3.pdf") == "application/pdf"
    assert document_format("scan") == "application/octet-stream"
    assert format_name(document_format("photo.JPG")) == "JPEG"


def test_a_link_that_names_its_uploader_is_printed_by_that_uploader_only() -> None:
    origins = UploadOrigins(["https://example.com:5443"], owner_in_url="sha1")
    alice = "2d7a2d83a5e4e5a6a7b4bcd2ecb7c4cd3b0b0e6e"  # not alice's: a made-up digest
    own = hashlib.sha1(b"alice@example.com").hexdigest()
    assert origins.uploaded_by(
        f"https://example.com:5443/upload/{own}/r1/a.pdf", "alice@example.com"
    )
    assert not origins.uploaded_by(
        f"https://example.com:5443/upload/{alice}/r1/a.pdf", "alice@example.com"
    )
    assert not origins.uploaded_by(
        f"https://example.com:5443/upload/{own}/%2e%2e/x/r/a.pdf", "alice@example.com"
    )
    assert not origins.uploaded_by("https://example.com:5443/a.pdf", "alice@example.com")
    assert UploadOrigins(["https://example.com:5443"]).uploaded_by(
        "https://example.com:5443/x", "a@b"
    )


async def test_a_huge_word_is_not_echoed_whole(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "database": str(tmp_path / "s.db"),
            "spool_dir": str(tmp_path / "spool"),
            "xmpp": {"component_jid": "print.example.com", "secret": "s", "domain": "example.com"},
        }
    )
    ctx = ServiceContext(settings)
    await ctx.start()
    try:
        front = ChatPrint(ctx, lambda *_: None)
        word = "x" * 100_000
        for body in (word, f"help {word}", f"default {word}"):
            reply = await front.answer(
                "alice@example.com/phone", "print.example.com", body, [], encrypted=False
            )
            assert reply is not None and len(reply) < 400, body[:20]
    finally:
        await ctx.stop()
