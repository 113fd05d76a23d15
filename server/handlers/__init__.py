"""Operation handlers, one function each, grouped by what they act on."""

from server.handlers import (  # administration
    admin_ops,
    device_admin_ops,
    device_ops,
    document_ops,
    job_ops,
    queue_ops,
    system_ops,
)
from server.handlers.registry import OPERATIONS, Operation

__all__ = [
    "OPERATIONS",
    "Operation",
    "admin_ops",
    "device_admin_ops",
    "device_ops",
    "document_ops",
    "job_ops",
    "queue_ops",
    "system_ops",
]
