"""The operation registry: one handler per IPP operation, as PAPPL's ``ipp_<operation>``.

Handlers are grouped by the object they act on (``job_ops``, ``printer_ops``,
``subscription_ops``) and registered with ``@operation``. Each receives a ``Request``
(``gateway.request``: the decoded message, the identity, the target queue and job, the
document stream) and fills ``request.response``; failures are raised as
``IppStatusError`` or the service's ``CloudImagingError`` and turned into IPP statuses
in one place (``gateway.core``).

Each registration names the operation attributes its handler reads (``attributes``)
and the other groups it reads (``groups``): whatever else a request carries is
answered in the unsupported-attributes group with
successful-ok-ignored-or-substituted-attributes (RFC 8011 §4.1.7), never dropped
silently (``unread_attributes``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from ipp.codec import IppAttribute, IppValue
from ipp.constants import GroupTag, Operation, ValueTag

from .cloud import has
from .request import Request

#: Operation attributes every operation takes (RFC 8011 §4.1.4-4.1.6; requesting-user-uri
#: PWG 5100.13): the identity comes from authentication, the name is then advisory.
COMMON_ATTRIBUTES = frozenset(
    {
        "attributes-charset",
        "attributes-natural-language",
        "printer-uri",
        "requesting-user-name",
        "requesting-user-uri",
    }
)
#: ... and those of operations on one job.
JOB_TARGET_ATTRIBUTES = frozenset({"job-id", "job-uri"})

Handler = Callable[[Request], Awaitable[None]]


@dataclass(frozen=True)
class OperationSpec:
    operation: Operation
    handler: Handler
    needs: tuple[str, ...] = ()  # client-library methods it relies on
    public: bool = False  # allowed without credentials (printer description reads)
    job_target: bool = False  # needs job-id (or a job-uri)
    document: bool = False  # the request carries document data
    attributes: frozenset[str] = frozenset()  # operation attributes beyond the common ones
    groups: frozenset[int] = frozenset()  # other groups it reads (job, subscription …)

    def available(self, client: object) -> bool:
        return all(has(client, name) for name in self.needs)

    def reads(self, name: str) -> bool:
        """Whether the handler reads operation attribute ``name``."""
        return (
            name in COMMON_ATTRIBUTES
            or name in self.attributes
            or (self.job_target and name in JOB_TARGET_ATTRIBUTES)
        )

    def unread_attributes(self, request: Request) -> list[IppAttribute]:
        """What the request carries that this operation does not read, as RFC 8011 §4.1.7
        returns it: an attribute it does not support at all with the out-of-band value
        'unsupported'."""
        out = []
        for group in request.message.groups:
            if group.tag == GroupTag.OPERATION:
                names = [
                    a.name
                    for a in group.attributes
                    if not self.reads(a.name) and a.name not in request.taken
                ]
            elif group.tag in self.groups:
                continue
            else:
                names = group.names()
            out += [IppAttribute(n, [IppValue(ValueTag.UNSUPPORTED, None)]) for n in names]
        return out


OPERATIONS: dict[int, OperationSpec] = {}


def operation(
    op: Operation,
    *,
    needs: tuple[str, ...] = (),
    public: bool = False,
    job_target: bool = False,
    document: bool = False,
    attributes: Iterable[str] = (),
    groups: Iterable[int] = (),
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if op in OPERATIONS:
            raise RuntimeError(f"two handlers for {op.keyword}")
        OPERATIONS[op] = OperationSpec(
            op,
            handler,
            needs,
            public,
            job_target,
            document,
            frozenset(attributes),
            frozenset(groups),
        )
        return handler

    return register


def supported_operations(client: object) -> list[int]:
    """operations-supported for a session of this client type."""
    return sorted(int(op) for op, spec in OPERATIONS.items() if spec.available(client))
