"""The authorization matrix as the handler tier expects it: whom each role admits, among
everyone the tier sends requests as. The roles themselves are declared with each
operation (server/handlers/roles.py); the tier checks every operation against this."""

from __future__ import annotations

from stanzas import admin_ops, client_ops, device_ops, operating_ops
from stanzas.model import Payload
from tests.handlers.stream import ADMIN, ALICE, BOB, COMPONENT, MGR1, MGR2, OPERATOR, STRANGER

EVERYONE = (ALICE, BOB, MGR1, MGR2, OPERATOR, ADMIN, STRANGER, COMPONENT)
USERS = frozenset({ALICE, BOB, OPERATOR, ADMIN})  # this server's accounts that are no devices

ADMITTED: dict[str, frozenset[str]] = {
    "client": USERS,
    "registrant": USERS | {MGR1, MGR2, COMPONENT},
    "device": frozenset({MGR1}),  # the requests name the device mgr1 registered
    "registered-device": frozenset({MGR1}),
    "operator": frozenset({OPERATOR, ADMIN}),
    "admin": frozenset({ADMIN}),
}


def admitted(role: str) -> str:
    """Someone the role admits (for requests that must get past it)."""
    return sorted(ADMITTED[role])[0]


# Seed 001 reserves Tables 2 and 3 to operators and administrators; these (configuration,
# the set of queues and devices) Cirrus keeps to administrators.
ADMIN_ONLY = frozenset(
    {
        "SetServiceElements",
        "SetSystemElements",
        "StartupService",
        "DeleteService",
        "RestartAllServices",
        "StartupAllServices",
        "ShutdownAllServices",
        "ApproveDevice",
        "RemoveDevice",
        "SetQuota",
        "DeleteQuota",
        "Backup",
    }
)


def expected_role(request: type[Payload]) -> str:
    """The role an operation must be registered with, from where the seeds put it."""
    if request.__module__ == client_ops.__name__:
        return "client"
    if request.__module__ in (admin_ops.__name__, operating_ops.__name__):
        return "admin" if request.ELEMENT in ADMIN_ONLY else "operator"
    assert request.__module__ == device_ops.__name__, request
    if request is device_ops.RegisterDevice:
        return "registrant"
    return "registered-device" if request is device_ops.DeregisterDevice else "device"
