"""The pieces of printing from chat clients that need no server: the file share's
origins in the settings, which links are uploads, what a message shares, the notices."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from server.chatprint.shares import document_format, format_name, shared
from server.config import ChatPrintSettings
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
