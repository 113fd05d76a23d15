"""Online backup and offline restore of the service's state (docs/admin.md)."""
