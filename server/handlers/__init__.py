"""Operation handlers, one function each, grouped by what they act on: jobs, documents,
queues (client operations), devices (the managers' operations), one queue and every
queue or the system (administration), devices (administration). Importing the package
registers every handler in `OPERATIONS` (registry.py)."""

from server.handlers import (
    device_admin_ops,
    device_ops,
    document_ops,
    job_ops,
    operating_ops,
    queue_admin_ops,
    queue_ops,
    system_ops,
)
from server.handlers.registry import OPERATIONS, Operation

__all__ = [
    "OPERATIONS",
    "Operation",
    "device_admin_ops",
    "device_ops",
    "document_ops",
    "job_ops",
    "operating_ops",
    "queue_admin_ops",
    "queue_ops",
    "system_ops",
]
