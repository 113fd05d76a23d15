"""What a chat message shares: links to files, as XEP-0066 out-of-band data and as the
bare URL in the body (Conversations, Dino and Gajim send both, the same URL), and the
words around them (`office https://…` names the queue); which format a file is, from
its name.

End-to-end encrypted messages and files cannot be printed: the service would have to
read them. An OMEMO file share is an `aesgcm://` link (XEP-0454), an encrypted message
carries one of the elements in ENCRYPTED (XEP-0384, XEP-0373, XEP-0027, XEP-0380); both
are recognised, so that the user is told why instead of getting a confusing answer.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field

from server.jobs.tickets import GENERIC_FORMAT

# Elements of end-to-end encrypted messages: OMEMO (legacy and 0.8+), OpenPGP for XMPP,
# legacy OpenPGP, and Explicit Message Encryption.
ENCRYPTED = (
    ("eu.siacs.conversations.axolotl", "encrypted"),
    ("urn:xmpp:omemo:2", "encrypted"),
    ("urn:xmpp:openpgp:0", "openpgp"),
    ("jabber:x:encrypted", "x"),
    ("urn:xmpp:eme:0", "encryption"),
)
OOB_NS = "jabber:x:oob"  # XEP-0066 out-of-band data

_LINK = re.compile(r"^(https?|aesgcm)://\S+$", re.IGNORECASE)

# The standard library's own table (never the machine's /etc/mime.types, so the answer
# is the same everywhere), and what printing needs that it lacks.
_TYPES = mimetypes.MimeTypes()
for _type, _extension in (
    ("text/markdown", ".md"),
    ("text/markdown", ".markdown"),
    ("image/pwg-raster", ".pwg"),
    ("image/urf", ".urf"),
    ("application/vnd.oasis.opendocument.text", ".odt"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
):
    _TYPES.add_type(_type, _extension)

# How replies name formats (people know "PDF", not "application/pdf").
FORMAT_NAMES = {
    "application/pdf": "PDF",
    "application/postscript": "PostScript",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/tiff": "TIFF",
    "image/pwg-raster": "PWG Raster",
    "image/urf": "Apple Raster",
    "text/plain": "text",
    "text/markdown": "Markdown",
    "text/csv": "CSV",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
}


@dataclass
class Shared:
    links: list[str] = field(default_factory=list)  # in order, each once
    words: list[str] = field(default_factory=list)  # the body's other words

    @property
    def encrypted_file(self) -> bool:
        return any(link.lower().startswith("aesgcm://") for link in self.links)


def shared(body: str, oob_urls: list[str]) -> Shared:
    """The links a message shares (its out-of-band URLs, then the body's) and the rest
    of its body's words."""
    found = Shared()
    for url in [*oob_urls, *body.split()]:
        if _LINK.match(url):
            if url not in found.links:
                found.links.append(url)
        elif url not in oob_urls:
            found.words.append(url)
    return found


def document_format(name: str) -> str:
    """The file's MIME type by its name; application/octet-stream when it does not say."""
    guessed, _encoding = _TYPES.guess_type(name, strict=False)
    return guessed or GENERIC_FORMAT


def format_name(mime_type: str) -> str:
    return FORMAT_NAMES.get(mime_type, mime_type)
