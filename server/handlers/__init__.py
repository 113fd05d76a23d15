"""Operation handlers: device operations and client operations, one function each."""

from server.handlers import client_ops, device_ops
from server.handlers.registry import OPERATIONS, Operation

__all__ = ["OPERATIONS", "Operation", "client_ops", "device_ops"]
