"""Integration tests of ejabberd_config.launcher: a real ejabberd node, real slixmpp,
loopback only. The shared cases reuse test_prosody_launcher's client helpers."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from slixmpp import ComponentXMPP

from ejabberd_config.launcher import (
    EjabberdError,
    EjabberdInstance,
    PortInUseError,
    let_node_enter,
    start_ejabberd,
)
from tests.conftest import run_in_own_loop
from tests.integration.test_prosody_launcher import (
    TIMEOUT,
    _one_shot,
    assert_plaintext_refused,
    close,
    login,
)

pytestmark = pytest.mark.skipif(
    shutil.which("ejabberdctl") is None or shutil.which("openssl") is None,
    reason="needs ejabberd and openssl (make install)",
)

ACCOUNTS = {f"user{i}": f"secret-{i}" for i in range(10)}
COMPONENTS = ("print.localhost", "scan.localhost")


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cx-ejl-", dir="/tmp"))
    let_node_enter(path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def node(folder: Path) -> Iterator[EjabberdInstance]:
    """One node for the tests that only use it (a node takes 1-2 s to start)."""
    inst = run_in_own_loop(start_ejabberd(folder / "shared", components=COMPONENTS))
    run_in_own_loop(inst.create_accounts(ACCOUNTS))
    yield inst
    run_in_own_loop(inst.stop())


@pytest.fixture
async def own_node(folder: Path) -> AsyncIterator[EjabberdInstance]:
    """A node of the test's own, for the tests that stop or restart it."""
    inst = await start_ejabberd(folder / os.urandom(4).hex(), components=COMPONENTS)
    try:
        yield inst
    finally:
        await inst.stop()


async def connect_component(
    inst: EjabberdInstance, name: str, secret: str
) -> tuple[str, ComponentXMPP]:
    """Connect a component to its own listener; returns ('session_start' |
    'stream_error' | 'disconnected', comp)."""
    comp = ComponentXMPP(name, secret, inst.host, inst.component_ports[name])
    comp.enable_direct_tls = False  # XEP-0114 is plaintext (loopback only)
    comp.register_plugin("xep_0030")
    comp.register_plugin("xep_0199")
    outcome = _one_shot(comp, ["session_start", "stream_error", "disconnected"])
    comp.connect()
    return await asyncio.wait_for(outcome, TIMEOUT), comp


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


# ------------------------------------------------------------------ the node is ours


async def test_the_node_is_private_to_its_state_directory(node: EjabberdInstance) -> None:
    assert node.running and node.host == "127.0.0.1"
    assert node.pid is not None
    argv = cmdline(node.pid)
    assert node.node in argv  # its own node name ...
    assert "-start_epmd" in argv and argv[argv.index("-start_epmd") + 1] == "false"
    assert str(node.dist_port) in argv  # ... on its own distribution port, no epmd
    cookie = (node.state_dir / ".erlang.cookie").read_text()
    assert not any(cookie in arg for arg in argv)  # the cookie is never on a command line
    assert oct((node.state_dir / ".erlang.cookie").stat().st_mode & 0o777) == "0o400"
    if os.geteuid() == 0:
        assert Path(f"/proc/{node.pid}").stat().st_uid == (node.state_dir).stat().st_uid != 0
    status = await node.ctl("status")
    assert node.node in status and "is running" in status
    # Every port it listens on is one of ours, on loopback.
    ours = {node.c2s_port, node.dist_port, *node.component_ports.values()}
    assert len(ours) == 2 + len(COMPONENTS)
    for port in ours:
        with socket.create_connection((node.host, port), TIMEOUT):
            pass


# ------------------------------------------------------------------------------ c2s


async def test_client_logs_in_over_tls(node: EjabberdInstance) -> None:
    clients = [await login(node, u, p) for u, p in list(ACCOUNTS.items())[:2]]  # type: ignore[arg-type]
    try:
        assert clients[0].boundjid.bare == node.jid("user0")
        reply = await clients[0].plugin["xep_0199"].send_ping(clients[1].boundjid, timeout=TIMEOUT)
        assert reply["type"] == "result"
    finally:
        for c in clients:
            await close(c)


async def test_wrong_password_is_refused(node: EjabberdInstance) -> None:
    with pytest.raises(AssertionError, match="failed_auth"):
        await login(node, "user0", "not-the-password")  # type: ignore[arg-type]


async def test_plaintext_client_is_refused(node: EjabberdInstance) -> None:
    """Without TLS the node offers no SASL mechanism and rejects a forced PLAIN auth."""
    await assert_plaintext_refused(node, "user0", ACCOUNTS["user0"])  # type: ignore[arg-type]


async def test_a_stanza_above_the_stock_limit_passes(node: EjabberdInstance) -> None:
    """Debian's config caps c2s stanzas at 256 KiB; ours at 512 KiB, as Prosody."""
    name = COMPONENTS[0]
    result, comp = await connect_component(node, name, node.components[name])
    assert result == "session_start"
    got: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    comp.add_event_handler("message", lambda m: got.done() or got.set_result(len(m["body"])))
    client = await login(node, "user2", ACCOUNTS["user2"])  # type: ignore[arg-type]
    try:
        client.send_message(mto=name, mbody="x" * 400_000)
        assert await asyncio.wait_for(got, TIMEOUT) == 400_000
    finally:
        await close(client)
        await close(comp)


# ----------------------------------------------------------------------- components


async def test_each_component_has_its_own_listener(node: EjabberdInstance) -> None:
    assert set(node.components) == set(COMPONENTS)
    assert len(set(node.component_ports.values())) == len(COMPONENTS)
    assert node.component_port == node.component_ports[COMPONENTS[0]]
    connected = [await connect_component(node, n, node.components[n]) for n in COMPONENTS]
    assert [result for result, _ in connected] == ["session_start"] * len(COMPONENTS)
    (_, printer), (_, scanner) = connected
    client = await login(node, "user1", ACCOUNTS["user1"])  # type: ignore[arg-type]
    try:
        reply = await client.plugin["xep_0199"].send_ping(COMPONENTS[0], timeout=TIMEOUT)
        assert reply["from"] == COMPONENTS[0]
        info = await client.plugin["xep_0030"].get_info(jid=COMPONENTS[1], timeout=TIMEOUT)
        assert info["type"] == "result"
        reply = await printer.plugin["xep_0199"].send_ping(
            client.boundjid, ifrom=COMPONENTS[0], timeout=TIMEOUT
        )
        assert reply["type"] == "result"
        # The scanner's connection cannot speak for the printer: its stream is closed.
        closed = _one_shot(scanner, ["stream_error", "disconnected"])
        scanner.send_message(mto=client.boundjid, mbody="spoof", mfrom=COMPONENTS[0])
        assert await asyncio.wait_for(closed, TIMEOUT) in ("stream_error", "disconnected")
    finally:
        await close(client)
        for _, comp in connected:
            comp.abort()


async def test_component_wrong_secret_is_refused(node: EjabberdInstance) -> None:
    result, comp = await connect_component(node, COMPONENTS[0], "wrong-secret")
    try:
        assert result in ("stream_error", "disconnected")
        assert not comp.sessionstarted
    finally:
        comp.abort()


# -------------------------------------------------------------------------- accounts


async def test_bulk_accounts_odd_passwords_and_a_reset(node: EjabberdInstance) -> None:
    accounts = {f"bulk{i}": f"pw-{i}" for i in range(250)}
    accounts["odd"] = "q\"uo\\te ü ]] ' <&>"
    await node.create_accounts(accounts)
    for user in ("bulk249", "odd"):
        await close(await login(node, user, accounts[user]))  # type: ignore[arg-type]
    # An existing account gets the new password (and loses the old one).
    await node.create_accounts({"bulk0": "new-pw", "fresh": "pw-fresh"})
    await close(await login(node, "bulk0", "new-pw"))  # type: ignore[arg-type]
    await close(await login(node, "fresh", "pw-fresh"))  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="failed_auth"):
        await login(node, "bulk0", "pw-0")  # type: ignore[arg-type]
    assert not list(node.state_dir.glob("import-*.xml"))  # the key file is gone


# ------------------------------------------------------------------------- lifecycle


async def test_restart_keeps_ports_secrets_and_accounts(own_node: EjabberdInstance) -> None:
    inst = own_node
    assert await inst.create_account("dave", "pw-dave") == "dave@localhost"
    before = (inst.c2s_port, dict(inst.component_ports), dict(inst.components), inst.pid)
    await close(await login(inst, "dave", "pw-dave"))  # type: ignore[arg-type]

    await inst.restart()
    assert inst.running and inst.pid != before[3]
    assert (inst.c2s_port, inst.component_ports, inst.components) == before[:3]
    await close(await login(inst, "dave", "pw-dave"))  # type: ignore[arg-type]
    result, comp = await connect_component(inst, COMPONENTS[1], inst.components[COMPONENTS[1]])
    assert result == "session_start"
    await close(comp)


async def test_stop_leaves_no_process(own_node: EjabberdInstance) -> None:
    inst = own_node
    pid = inst.pid
    assert pid is not None
    await inst.stop()
    assert not inst.running and inst.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(OSError):
        await asyncio.open_connection(inst.host, inst.c2s_port)
    await inst.stop()  # idempotent
    with pytest.raises(EjabberdError):
        await inst.create_account("eve", "pw")


async def test_bad_input_is_rejected(folder: Path) -> None:
    with pytest.raises(ValueError):
        await start_ejabberd(folder / "bad", accounts={"Bad@User": "x"})
    with pytest.raises(ValueError):
        await start_ejabberd(folder / "bad", domain="not a domain")


async def test_port_in_use_fails_fast(folder: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(PortInUseError):
            await asyncio.wait_for(
                start_ejabberd(folder / "busy", c2s_port=busy.getsockname()[1]), 3 * TIMEOUT
            )


async def test_a_folder_the_node_cannot_enter_is_named(folder: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the node runs as the calling user: every folder of ours is reachable")
    closed = Path(tempfile.mkdtemp(prefix="cx-closed-", dir="/tmp"))  # 0700, root's
    try:
        with pytest.raises(EjabberdError, match=str(closed)):
            await start_ejabberd(closed / "node")
    finally:
        shutil.rmtree(closed, ignore_errors=True)
