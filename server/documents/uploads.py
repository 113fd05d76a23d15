"""The XMPP server's file share (XEP-0363: Prosody's mod_http_file_share, ejabberd's
mod_http_upload), whose uploads the service fetches when a user shares a file with it
from a chat client (server/chatprint/).

Its links are fetched by reference like any other (server/documents/by_reference.py),
with two differences: the file share's host may be on a private network, so its
configured origins (settings.chat_print.upload_hosts) are not vetted by address (every
other host still is, and no redirect is followed away from it), and its certificate
may come from the organisation's own CA (chat_print.ca_file). An upload's URL is a
capability (whoever holds it can download the file), so messages name the file, never
the URL.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from urllib.parse import unquote, urlsplit

from yarl import URL

from server.documents.uri_fetch import origin


class UploadOrigins:
    """The file share's origins, as settings.chat_print normalised them."""

    def __init__(
        self, origins: list[str], ca_file: Path | None = None, owner_in_url: str = "none"
    ) -> None:
        self.origins = frozenset(origins)
        self.ca_file = ca_file
        self.owner_in_url = owner_in_url
        self._ssl_context: ssl.SSLContext | None = None

    def __bool__(self) -> bool:
        return bool(self.origins)

    def of(self, uri: str) -> str | None:
        """The origin of `uri` if it is a link into the file share, else None."""
        try:
            url = URL(uri)
            if not url.raw_host or url.raw_user is not None or url.raw_password is not None:
                return None
            found = origin(url)
        except (ValueError, TypeError):
            return None
        return found if found in self.origins else None

    def uploaded_by(self, uri: str, bare_jid: str) -> bool:
        """Whether a link into the file share is `bare_jid`'s own upload, as far as the
        link tells (with owner_in_url "none", every link passes)."""
        if self.owner_in_url == "none":
            return True
        segments = urlsplit(uri).path.split("/")
        if any(unquote(part) in (".", "..") for part in segments):
            return False  # a dot segment could step out of the owner's folder
        owner = hashlib.sha1(bare_jid.lower().encode(), usedforsecurity=False).hexdigest()
        return len(segments) >= 4 and segments[-3].lower() == owner

    def ssl_context(self) -> ssl.SSLContext:
        """The system's CAs and chat_print.ca_file (made once, when first needed)."""
        if self._ssl_context is None:
            context = ssl.create_default_context()
            if self.ca_file is not None:
                context.load_verify_locations(cafile=str(self.ca_file))
            self._ssl_context = context
        return self._ssl_context


def file_name(uri: str) -> str:
    """The file's name as the link gives it (its last path segment, decoded), at most
    255 characters; "document" if it names none."""
    try:
        path = urlsplit(uri).path
    except ValueError:
        return "document"
    name = unquote(path.rstrip("/").rsplit("/", 1)[-1]).strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:255] or "document"
