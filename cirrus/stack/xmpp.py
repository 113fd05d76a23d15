"""The XMPP server of a stack: Prosody (the default) or ejabberd, behind one interface.

Everything else (the stack, the service and manager configs, the test fixtures, the
benchmarks) asks only for an `XmppServer`, so it runs unchanged on either server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal, Protocol, get_args

XmppKind = Literal["prosody", "ejabberd"]
XMPP_SERVERS: tuple[XmppKind, ...] = get_args(XmppKind)


class XmppServer(Protocol):
    """What prosody_config.launcher.ProsodyInstance and
    ejabberd_config.launcher.EjabberdInstance both are."""

    domain: str
    host: str
    c2s_port: int  # STARTTLS required, SASL SCRAM
    component_port: int  # the first component's
    components: dict[str, str]  # component domain -> secret
    state_dir: Path
    ca_file: Path  # the self-signed certificate clients must trust (PEM)
    cert_file: Path  # the same certificate and its key (the service's HTTPS endpoint)
    key_file: Path

    @property
    def upload_service(self) -> str | None:
        """The XEP-0363 file share's JID (upload.DOMAIN), None if there is none."""
        ...

    @property
    def upload_owner_in_url(self) -> str:
        """sha1 if its links carry the uploader's hashed bare JID, else none."""
        ...

    @property
    def upload_origin(self) -> str | None:
        """https://host:port of the file share's URLs (the service fetches from it)."""
        ...

    @property
    def component_ports(self) -> Mapping[str, int]:
        """The port each component connects to (one for all on Prosody, one per
        component on ejabberd)."""
        ...

    @property
    def running(self) -> bool: ...

    @property
    def pid(self) -> int | None: ...

    def jid(self, user: str) -> str: ...

    def summary(self) -> str: ...

    async def create_account(self, user: str, password: str) -> str: ...

    async def create_accounts(self, accounts: Mapping[str, str]) -> None: ...

    async def restart(self) -> None: ...

    async def stop(self) -> None: ...


async def start_xmpp_server(
    kind: XmppKind,
    state_dir: Path,
    *,
    components: Iterable[str],
    accounts: Mapping[str, str] | None = None,
    log_level: str = "info",
) -> XmppServer:
    """Start a private loopback server of `kind` with its state in `state_dir`.

    ejabberd runs as its own user: the folder holding `state_dir` is opened to that
    user's group (search only) so that the node can reach its state."""
    if kind == "prosody":
        from prosody_config.launcher import start_prosody

        return await start_prosody(
            state_dir, components=components, accounts=accounts, log_level=log_level
        )
    if kind == "ejabberd":
        from ejabberd_config.launcher import let_node_enter, start_ejabberd

        state_dir.parent.mkdir(parents=True, exist_ok=True)
        let_node_enter(state_dir.parent)
        return await start_ejabberd(
            state_dir,
            components=components,
            accounts=accounts,
            log_level="warning" if log_level == "warn" else log_level,  # ejabberd's word
        )
    raise ValueError(f"unknown XMPP server {kind!r} (one of {', '.join(XMPP_SERVERS)})")
