"""Enrolment codes: an administrator issues a one-time code for a queue, the manager's
config carries it, RegisterDevice presents it, and the device joins the queue (issue 11).

A code is 120 random bits (`secrets`), shown as six groups of four base32 letters; the
service keeps only its SHA-256 (a code has too much entropy for a slow hash to matter).
It is bound to one queue, used at most once (a conditional UPDATE: of two registrations
presenting it only one gets it) and expires (24 hours unless the administrator says).
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from server.context import Caller, ServiceContext
from server.stores.enrollment import EnrollmentCode

CODE_BYTES = 15  # 120 bits: 24 base32 characters
LIFETIME = 24 * 3600  # seconds, when the administrator names no expiry
LONGEST = 365 * 24 * 3600


def new_code() -> str:
    letters = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")
    return "-".join(letters[i : i + 4] for i in range(0, len(letters), 4))


def code_hash(code: str) -> str:
    """As typed: case, spaces and dashes do not matter."""
    normal = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normal.encode("ascii", "replace")).hexdigest()


async def issue(
    ctx: ServiceContext, caller: Caller, printer_name: str, expires: int | None
) -> tuple[str, EnrollmentCode]:
    """A new code for the queue (the code itself is returned once, and never stored)."""
    now = ctx.now()
    code = new_code()
    record = EnrollmentCode(
        code_hash=code_hash(code),
        printer_name=printer_name,
        issued_by=caller.bare,
        time_issued=now,
        time_expires=expires if expires is not None else now + LIFETIME,
    )
    await ctx.enrollment.insert(record)
    return code, record


async def redeem(
    ctx: ServiceContext, code: str, printer_name: str, output_device_uuid: str
) -> bool:
    """Whether the code enrols this device in this queue (and is now used up)."""
    used = await ctx.enrollment.redeem(code_hash(code), printer_name, output_device_uuid, ctx.now())
    return used is not None
