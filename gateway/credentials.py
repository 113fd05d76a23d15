"""HTTP Basic credentials checked before they cost a login to the XMPP server.

The gateway checks a password by logging in to Prosody as the user (``gateway.sessions``).
Credentials the XMPP server cannot accept at all are refused here, at once: a user name
that is no XMPP localpart of the gateway's domain (RFC 7622 §3.3, the stringprep
Nodeprep profile Prosody applies, RFC 3920 Appendix A), and a password that SASLprep
(RFC 4013, what SCRAM prepares every password with) prohibits — a NUL, other control
characters, unassigned code points, broken bidirectional text — or that is empty or
longer than ``MAX_PASSWORD`` octets. Such a login could never succeed, and some (a NUL)
sent the client library into a retry loop that burnt seconds of CPU per request.
"""

from __future__ import annotations

import stringprep
import unicodedata
from collections.abc import Callable

#: RFC 7622 §3.3.1: a localpart is 1 to 1023 octets.
MAX_LOCALPART = 1023
#: No SCRAM limit exists; no real password comes near this, and it bounds the work.
MAX_PASSWORD = 1024
#: Characters RFC 3920 Appendix A.5 (Nodeprep) prohibits beyond stringprep's tables.
_NODE_PROHIBITED = frozenset("\"&'/:<>@")

_COMMON_PROHIBITED: tuple[Callable[[str], bool], ...] = (
    stringprep.in_table_c12,  # non-ASCII space
    stringprep.in_table_c21,  # ASCII control (NUL …)
    stringprep.in_table_c22,  # non-ASCII control
    stringprep.in_table_c3,  # private use
    stringprep.in_table_c4,  # non-character code points
    stringprep.in_table_c5,  # surrogates
    stringprep.in_table_c6,  # inappropriate for plain text
    stringprep.in_table_c7,  # inappropriate for canonical representation
    stringprep.in_table_c8,  # change display properties, deprecated
    stringprep.in_table_c9,  # tagging characters
    stringprep.in_table_a1,  # unassigned in Unicode 3.2 (stored strings)
)


class Refused(ValueError):
    """Credentials the XMPP server could never accept."""


def saslprep(password: str) -> str:
    """RFC 4013 SASLprep of a stored string; Refused if it prohibits the password."""
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD:
        raise Refused("the password is too long")
    mapped = "".join(
        " " if stringprep.in_table_c12(c) else c for c in password if not stringprep.in_table_b1(c)
    )
    prepared = unicodedata.normalize("NFKC", mapped)
    _check(prepared, _COMMON_PROHIBITED, "the password")
    if not prepared:
        raise Refused("the password is empty")
    return prepared


def nodeprep(localpart: str) -> str:
    """The Nodeprep form of an XMPP localpart (case-folded); Refused if prohibited."""
    if not localpart or len(localpart.encode("utf-8", "surrogatepass")) > MAX_LOCALPART:
        raise Refused("the user name is empty or too long")
    mapped = "".join(stringprep.map_table_b2(c) for c in localpart if not stringprep.in_table_b1(c))
    prepared = unicodedata.normalize("NFKC", mapped)
    _check(prepared, (stringprep.in_table_c11, *_COMMON_PROHIBITED), "the user name")
    if any(c in _NODE_PROHIBITED for c in prepared):
        raise Refused("the user name has a character XMPP addresses cannot carry")
    if not prepared or len(prepared.encode()) > MAX_LOCALPART:
        raise Refused("the user name is empty or too long")
    return prepared


def bare_jid(user: str, domain: str) -> str:
    """The bare JID of a Basic user name (``alice`` or ``alice@DOMAIN``) of the gateway's
    own domain; Refused for anything else."""
    local, at, host = user.rpartition("@") if "@" in user else (user, "", domain)
    if at and host.lower().rstrip(".") != domain.lower():
        raise Refused("the user name is not an account of this gateway's domain")
    return f"{nodeprep(local)}@{domain.lower()}"


def _check(text: str, tables: tuple[Callable[[str], bool], ...], what: str) -> None:
    for char in text:
        if any(table(char) for table in tables):
            raise Refused(f"{what} has a character SASLprep prohibits (U+{ord(char):04X})")
    # RFC 3454 §6: right-to-left text must be entirely right-to-left at its ends.
    if any(stringprep.in_table_d1(c) for c in text):
        if any(stringprep.in_table_d2(c) for c in text) or not (
            stringprep.in_table_d1(text[0]) and stringprep.in_table_d1(text[-1])
        ):
            raise Refused(f"{what} mixes right-to-left and left-to-right text")
