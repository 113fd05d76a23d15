"""Devices: the registration policy (registration.py) and how a device's reports about
its jobs become the service's view of them (reports.py)."""
