"""Fixtures for the tiers that need real parts: Prosody, the service, managers, clients.

Everything runs on loopback; every process or connection a fixture starts, it stops.
Every payload the code emits during a test is validated against the XML Schema.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cirrus.client import CirrusClient, ClientSettings
from cirrus.stack.local import SERVICE_JID, manager_config, service_config
from manager.app import ManagerApp
from manager.config import ManagerSettings
from manager.drivers.base import DeviceDriver
from prosody_config.launcher import ProsodyInstance, start_prosody
from server.app import ServiceApp
from server.config import Settings
from stanzas import transport

USERS = ("alice", "bob", "admin", "operator", "mgr1", "mgr2")
MANAGER_COMPONENT = "manager.localhost"  # a manager in component mode


@pytest.fixture(autouse=True)
def schema_checked_wire() -> Iterator[list[Any]]:
    """Validate every payload this process emits against docs/cirrus-cloud-imaging.xsd."""
    try:
        from tests.schema_check import validate_payload
    except ImportError:  # the schema helper is optional for the pure unit tiers
        yield []
        return
    emitted: list[Any] = []

    def check(element: Any) -> None:
        validate_payload(element)
        emitted.append(element)

    transport.EMIT_OBSERVERS.append(check)
    try:
        yield emitted
    finally:
        transport.EMIT_OBSERVERS.remove(check)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short path: Prosody's admin socket path must stay under ~100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="cx-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def passwords() -> dict[str, str]:
    return {user: secrets.token_urlsafe(12) for user in USERS}


@pytest.fixture
async def prosody(short_tmp: Path, passwords: dict[str, str]) -> AsyncIterator[ProsodyInstance]:
    instance = await start_prosody(
        short_tmp / "prosody", components=[SERVICE_JID, MANAGER_COMPONENT], accounts=passwords
    )
    try:
        yield instance
    finally:
        await instance.stop()


def make_service_settings(state: Path, prosody: ProsodyInstance, **extra: Any) -> Settings:
    config = service_config(
        state,
        prosody,
        admins=[prosody.jid("admin")],
        operators=[prosody.jid("operator")],
        manager_components=[MANAGER_COMPONENT],
        **extra,
    )
    return Settings.model_validate(config)


@pytest.fixture
async def service(short_tmp: Path, prosody: ProsodyInstance) -> AsyncIterator[ServiceApp]:
    app = ServiceApp(make_service_settings(short_tmp / "service", prosody))
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@dataclass
class Harness:
    """Builds managers and clients against the running Prosody; stops them all."""

    tmp: Path
    prosody: ProsodyInstance
    passwords: dict[str, str]
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    def client_settings(self, user: str) -> ClientSettings:
        return ClientSettings(
            jid=self.prosody.jid(user),
            password=self.passwords[user],
            service_jid=SERVICE_JID,
            host=self.prosody.host,
            port=self.prosody.c2s_port,
            ca_file=self.prosody.ca_file,
        )

    async def client(self, user: str = "alice") -> CirrusClient:
        client = CirrusClient(self.client_settings(user))
        await client.start()
        self._stack.push_async_callback(client.stop)
        return client

    def manager_settings(
        self,
        account: str = "mgr1",
        queue: str = "office",
        driver: str = "sim:",
        device_uuid: str | None = None,
        state: str | None = None,
    ) -> ManagerSettings:
        config = manager_config(
            self.tmp / (state or f"manager-{account}-{queue}"),
            self.prosody,
            jid=self.prosody.jid(account),
            password=self.passwords[account],
            devices=[
                {
                    "output_device_uuid": device_uuid or uuid.uuid4().urn,
                    "printer_name": queue,
                    "driver": driver,
                }
            ],
            status_interval=0.5,
        )
        return ManagerSettings.model_validate(config)

    async def manager(
        self,
        driver: DeviceDriver,
        *,
        account: str = "mgr1",
        queue: str = "office",
        settings: ManagerSettings | None = None,
    ) -> ManagerApp:
        settings = settings or self.manager_settings(account, queue)
        device = settings.devices[0].output_device_uuid
        app = ManagerApp(settings, drivers={device: driver})
        await app.start()
        self._stack.push_async_callback(app.stop)
        await app.synced.wait()
        return app

    async def close(self) -> None:
        await self._stack.aclose()


@pytest.fixture
async def harness(
    short_tmp: Path, prosody: ProsodyInstance, passwords: dict[str, str]
) -> AsyncIterator[Harness]:
    h = Harness(short_tmp, prosody, passwords)
    try:
        yield h
    finally:
        await h.close()
