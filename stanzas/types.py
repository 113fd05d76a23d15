"""Value syntaxes of IPP (RFC 8011 §5.1) as constrained pydantic types."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

# keyword: US-ASCII lowercase, digits, '-', '_', '.' (RFC 8011 §5.1.4); media names use '_'.
Keyword = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-zA-Z0-9._-]{0,254}$")]
# name: up to 255 octets (§5.1.3); text: up to 1023 octets (§5.1.2).
# Characters XML 1.0 cannot carry are refused, so nothing we accept breaks what we emit.
_XML_CHARS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*$"
Name = Annotated[str, StringConstraints(max_length=255, pattern=_XML_CHARS)]
Text = Annotated[str, StringConstraints(max_length=1023, pattern=_XML_CHARS)]
# printer-name of a queue: also a file-name-safe, URI-path-safe token (the gateway's
# ipp://host/ipp/print/NAME), so no spaces, slashes or leading punctuation.
QueueName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$")]
# A device's own name (output-device-assigned, `cirrus release 12 --at lobby`, the node of
# its release command in an XMPP URI): the same safe token as a queue's.
DeviceName = QueueName
# A bare JID (user@domain), or a component's domain: no whitespace, so a list of them
# is one xs:list element.
BareJid = Annotated[str, StringConstraints(pattern=r"^[^\s@/]+@[^\s@/]+$|^[^\s@/]+$")]
# A group of users (the service's own groups, for queue permissions): a keyword.
GroupName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
# An enrolment code as typed from a manager's config: base32 letters, dashes, spaces.
EnrollmentCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z2-7][A-Za-z2-7 -]{7,63}$")]
Uri = Annotated[str, StringConstraints(max_length=1023, pattern=r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")]
MimeType = Annotated[str, StringConstraints(max_length=255, pattern=r"^[\w.+-]+/[\w.+-]+$")]
# job-id / document-number: integer(1:MAX) (§5.3.2).
JobId = Annotated[int, Field(ge=1, le=2**31 - 1)]
DocumentNumber = Annotated[int, Field(ge=1, le=2**31 - 1)]
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
Octets = Annotated[int, Field(ge=0, le=2**63 - 1)]
# output-device-uuid, job-uuid: urn:uuid:… (RFC 4122 URN, PWG 5100.18).
UuidUrn = Annotated[
    str,
    StringConstraints(
        pattern=r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ),
]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# A client's idempotency key for CreateJob / PrintJob: an opaque token it chose (a UUID,
# base64url …), unique among its own jobs; letters, digits and ._:~+/=- only.
IdempotencyKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:~+/=-]{1,128}$")]
# Epoch seconds: the time-at-* attributes (RFC 8011 §5.3.14), in seconds since 1970.
EpochSeconds = Annotated[int, Field(ge=0, le=2**40)]

# Document bytes carried in the stanza itself (xs:base64Binary), for small documents:
# one round trip instead of an upload or download slot plus an HTTPS request. Bigger
# ones take the HTTPS byte path; 64 KiB is 87,384 characters of base64, well inside
# Prosody's 256 KiB c2s stanza limit.
INLINE_DOCUMENT_MAX = 64 * 1024


def _from_base64(value: object) -> object:
    if isinstance(value, str):
        try:
            # base64Binary allows whitespace between characters; nothing else is skipped.
            return base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not base64 data") from None
    return value


DocumentData = Annotated[
    bytes, BeforeValidator(_from_base64), Field(max_length=INLINE_DOCUMENT_MAX)
]
