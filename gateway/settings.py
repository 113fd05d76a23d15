"""The gateway's own settings that the request handlers read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GatewaySettings:
    domain: str = "localhost"  # XMPP domain of the users (alice → alice@domain)
    plain_port: int | None = None  # ipp:// listener, if any
    tls_port: int | None = None  # ipps:// listener, if any
    anonymous_queues: frozenset[str] = frozenset()  # requesting-user-name printing allowed
    operators: frozenset[str] = frozenset()  # bare JIDs that see every job's events
    uuid_seed: str = "cirrus-gateway"
    notify_wait_max: float = 30.0  # longest a Get-Notifications with notify-wait waits
    queue_poll: float = 5.0  # seconds between reads of queues printer subscriptions watch
