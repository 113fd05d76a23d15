"""The operation registry: one handler per IPP operation, as PAPPL's ``ipp_<operation>``.

Handlers are grouped by the object they act on (``job_ops``, ``printer_ops``,
``subscription_ops``) and registered with ``@operation``. Each receives a ``Request``
(``gateway.request``: the decoded message, the identity, the target queue and job, the
document stream) and fills ``request.response``; failures are raised as
``IppStatusError`` or the service's ``CloudImagingError`` and turned into IPP statuses
in one place (``gateway.core``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ipp.constants import Operation

from .cloud import has
from .request import Request

Handler = Callable[[Request], Awaitable[None]]


@dataclass(frozen=True)
class OperationSpec:
    operation: Operation
    handler: Handler
    needs: tuple[str, ...] = ()  # client-library methods it relies on
    public: bool = False  # allowed without credentials (printer description reads)
    job_target: bool = False  # needs job-id (or a job-uri)
    document: bool = False  # the request carries document data

    def available(self, client: object) -> bool:
        return all(has(client, name) for name in self.needs)


OPERATIONS: dict[int, OperationSpec] = {}


def operation(
    op: Operation,
    *,
    needs: tuple[str, ...] = (),
    public: bool = False,
    job_target: bool = False,
    document: bool = False,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if op in OPERATIONS:
            raise RuntimeError(f"two handlers for {op.keyword}")
        OPERATIONS[op] = OperationSpec(op, handler, needs, public, job_target, document)
        return handler

    return register


def supported_operations(client: object) -> list[int]:
    """operations-supported for a session of this client type."""
    return sorted(int(op) for op, spec in OPERATIONS.items() if spec.available(client))
