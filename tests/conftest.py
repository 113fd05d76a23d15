"""Fixtures for the tiers that need real parts: an XMPP server (Prosody, or ejabberd),
the service, managers, clients.

Everything runs on loopback; every process or connection a fixture starts, it stops.
Every payload the code emits during a test is validated against the XML Schema.

The XMPP server is Prosody, one per test. A module marked `every_xmpp_server` runs
each of its tests twice, on Prosody and on ejabberd. Since an ejabberd node takes 1-2 s
to start and about as long to stop, one node serves the whole module (created with
the module's accounts; see `ejabberd_node`), while each test still gets its own
service, database, managers, devices and client sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from cirrus.client import CirrusClient, ClientSettings
from cirrus.stack.local import SERVICE_JID, manager_config, service_config
from cirrus.stack.xmpp import XMPP_SERVERS, XmppKind, XmppServer, start_xmpp_server
from manager.app import ManagerApp
from manager.config import ManagerSettings
from manager.drivers.base import DeviceDriver
from prosody_config.launcher import start_prosody
from server.app import ServiceApp
from server.config import Settings
from stanzas import transport
from stanzas.admin_ops import IssueEnrollmentCode, IssueEnrollmentCodeResponse

USERS = ("alice", "bob", "admin", "operator", "mgr1", "mgr2")
MANAGER_COMPONENT = "manager.localhost"  # a manager in component mode
T = TypeVar("T")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests of modules marked `every_xmpp_server` run on each server."""
    if "xmpp_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "every_xmpp_server"
    ):
        metafunc.parametrize("xmpp_kind", XMPP_SERVERS)


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


def run_in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to completion in a new event loop in another thread: for
    module-scoped fixtures, set up while a test's own loop may be running."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(coroutine))
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run, name="fixture-loop")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


@dataclass
class SharedNode:
    """An ejabberd node serving the tests of one module, with its accounts."""

    server: XmppServer
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def ejabberd_node() -> Iterator[SharedNode]:
    folder = Path(tempfile.mkdtemp(prefix="cx-ej-", dir="/tmp"))
    passwords = {user: secrets.token_urlsafe(12) for user in USERS}
    server = run_in_own_loop(
        start_xmpp_server(
            "ejabberd",
            folder / "ejabberd",
            components=[SERVICE_JID, MANAGER_COMPONENT],
            accounts=passwords,
        )
    )
    try:
        yield SharedNode(server, passwords)
    finally:
        run_in_own_loop(server.stop())
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def xmpp_kind() -> XmppKind:
    """The XMPP server under test (parametrised in modules marked every_xmpp_server)."""
    return "prosody"


@pytest.fixture
def passwords(xmpp_kind: XmppKind, request: pytest.FixtureRequest) -> dict[str, str]:
    if xmpp_kind == "ejabberd":
        node: SharedNode = request.getfixturevalue("ejabberd_node")
        return node.passwords
    return {user: secrets.token_urlsafe(12) for user in USERS}


@pytest.fixture
async def xmpp(
    xmpp_kind: XmppKind,
    short_tmp: Path,
    passwords: dict[str, str],
    request: pytest.FixtureRequest,
) -> AsyncIterator[XmppServer]:
    if xmpp_kind == "ejabberd":
        node: SharedNode = request.getfixturevalue("ejabberd_node")
        yield node.server
        if not node.server.running:  # a test stopped it (and failed before starting it)
            await node.server.restart()
        return
    instance = await start_prosody(
        short_tmp / "prosody", components=[SERVICE_JID, MANAGER_COMPONENT], accounts=passwords
    )
    try:
        yield instance
    finally:
        await instance.stop()


@pytest.fixture
def prosody(xmpp: XmppServer) -> XmppServer:
    """The name older tests use for the XMPP server (Prosody unless their module is
    marked every_xmpp_server)."""
    return xmpp


def make_service_settings(state: Path, xmpp: XmppServer, **extra: Any) -> Settings:
    config = service_config(
        state,
        xmpp,
        admins=[xmpp.jid("admin")],
        operators=[xmpp.jid("operator")],
        manager_components=[MANAGER_COMPONENT],
        **extra,
    )
    return Settings.model_validate(config)


@pytest.fixture
async def service(short_tmp: Path, xmpp: XmppServer) -> AsyncIterator[ServiceApp]:
    app = ServiceApp(make_service_settings(short_tmp / "service", xmpp))
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@dataclass
class Harness:
    """Builds managers and clients against the running XMPP server; stops them all."""

    tmp: Path
    xmpp: XmppServer
    passwords: dict[str, str]
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    _admin: CirrusClient | None = None  # issues enrolment codes

    @property
    def prosody(self) -> XmppServer:
        """The name older tests use for `xmpp`."""
        return self.xmpp

    def client_settings(self, user: str) -> ClientSettings:
        return ClientSettings(
            jid=self.xmpp.jid(user),
            password=self.passwords[user],
            service_jid=SERVICE_JID,
            host=self.xmpp.host,
            port=self.xmpp.c2s_port,
            ca_file=self.xmpp.ca_file,
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
            self.xmpp,
            jid=self.xmpp.jid(account),
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

    async def enrollment_code(self, queue: str, admin: str = "admin") -> str:
        """A one-time code for the queue, issued by an administrator over XMPP (cirrus
        admin enroll QUEUE): the way a manager is enrolled, in tests as anywhere."""
        if self._admin is None:
            self._admin = await self.client(admin)
        response = await self._admin.session.request(
            IssueEnrollmentCode(printer_name=queue), IssueEnrollmentCodeResponse
        )
        return response.enrollment_code

    async def enrol(self, settings: ManagerSettings) -> ManagerSettings:
        """The settings with an enrolment code for each device that has none."""
        for device in settings.devices:
            if device.enrollment_code is None:
                device.enrollment_code = await self.enrollment_code(device.printer_name)
        return settings

    async def manager(
        self,
        driver: DeviceDriver,
        *,
        account: str = "mgr1",
        queue: str = "office",
        settings: ManagerSettings | None = None,
    ) -> ManagerApp:
        settings = await self.enrol(settings or self.manager_settings(account, queue))
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
    short_tmp: Path, xmpp: XmppServer, passwords: dict[str, str]
) -> AsyncIterator[Harness]:
    h = Harness(short_tmp, xmpp, passwords)
    try:
        yield h
    finally:
        await h.close()
