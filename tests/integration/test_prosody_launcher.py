"""Integration tests of prosody_config.launcher: a real Prosody, real slixmpp, loopback only."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slixmpp import ClientXMPP, ComponentXMPP
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from prosody_config.launcher import (
    PortInUseError,
    ProsodyError,
    ProsodyInstance,
    start_prosody,
)

pytestmark = pytest.mark.skipif(
    shutil.which("prosody") is None or shutil.which("openssl") is None,
    reason="needs prosody and openssl (make install)",
)

TIMEOUT = 10.0
ACCOUNTS = {f"user{i}": f"secret-{i}" for i in range(10)}
STREAM_NS = "http://etherx.jabber.org/streams"
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"


@pytest.fixture
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Short path: the admin unix socket lives in it (sun_path is 108 bytes).
    return tmp_path_factory.mktemp("prosody")


@pytest.fixture
async def prosody(state_dir: Path) -> AsyncIterator[ProsodyInstance]:
    inst = await start_prosody(state_dir, accounts=ACCOUNTS)
    try:
        yield inst
    finally:
        await inst.stop()


def tls_context(inst: ProsodyInstance) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(inst.ca_file))
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _one_shot(xmpp: ClientXMPP | ComponentXMPP, events: list[str]) -> asyncio.Future[str]:
    """A future resolved with the name of the first of `events` that fires."""
    fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    for name in events:

        def handler(_arg: object, name: str = name) -> None:
            if not fut.done():
                fut.set_result(name)

        xmpp.add_event_handler(name, handler)
    return fut


async def login(
    inst: ProsodyInstance, user: str, password: str, ctx: ssl.SSLContext | None = None
) -> ClientXMPP:
    """Log in over STARTTLS with SASL; returns the connected client."""
    client = ClientXMPP(inst.jid(user), password, ssl_context=ctx or tls_context(inst))
    client.enable_direct_tls = False
    client.enable_starttls = True
    client.enable_plaintext = False
    client.register_plugin("xep_0199")
    outcome = _one_shot(client, ["session_start", "failed_auth", "ssl_invalid_chain"])
    client.connect(inst.host, inst.c2s_port)
    result = await asyncio.wait_for(outcome, TIMEOUT)
    if result != "session_start":
        await close(client)
        raise AssertionError(f"login of {user} failed: {result}")
    assert "starttls" in client.features  # the session really runs over TLS
    return client


async def close(xmpp: ClientXMPP | ComponentXMPP) -> None:
    await asyncio.wait_for(xmpp.disconnect(wait=1.0), TIMEOUT)


async def connect_component(
    inst: ProsodyInstance, name: str, secret: str
) -> tuple[str, ComponentXMPP]:
    """Connect a component; returns ('session_start' | 'stream_error' | 'disconnected', comp)."""
    comp = ComponentXMPP(name, secret, inst.host, inst.component_port)
    comp.enable_direct_tls = False  # XEP-0114 is plaintext (loopback only)
    comp.register_plugin("xep_0030")
    comp.register_plugin("xep_0199")
    outcome = _one_shot(comp, ["session_start", "stream_error", "disconnected"])
    comp.connect()
    return await asyncio.wait_for(outcome, TIMEOUT), comp


# --------------------------------------------------------------------------- c2s


async def test_client_logs_in_over_tls(prosody: ProsodyInstance) -> None:
    assert prosody.running
    assert prosody.host == "127.0.0.1"
    ctx = tls_context(prosody)
    clients = [await login(prosody, u, p, ctx) for u, p in list(ACCOUNTS.items())[:2]]
    try:
        assert clients[0].boundjid.bare == prosody.jid("user0")
        # Client-to-client IQ through the server.
        reply = await clients[0].plugin["xep_0199"].send_ping(clients[1].boundjid, timeout=TIMEOUT)
        assert reply["type"] == "result"
    finally:
        for c in clients:
            await close(c)


async def test_wrong_password_and_untrusted_cert_are_refused(prosody: ProsodyInstance) -> None:
    with pytest.raises(AssertionError, match="failed_auth"):
        await login(prosody, "user0", "not-the-password")
    # A context that does not trust the generated certificate must fail TLS.
    untrusted = ssl.create_default_context()  # system CAs only
    client = ClientXMPP(prosody.jid("user0"), ACCOUNTS["user0"], ssl_context=untrusted)
    client.enable_direct_tls = False
    outcome = _one_shot(client, ["session_start", "ssl_invalid_chain"])
    client.add_event_handler("ssl_invalid_chain", lambda _e: client.abort())
    client.connect(prosody.host, prosody.c2s_port)
    try:
        assert await asyncio.wait_for(outcome, TIMEOUT) == "ssl_invalid_chain"
    finally:
        client.abort()


async def test_plaintext_client_is_refused(prosody: ProsodyInstance) -> None:
    """Without TLS the server offers no SASL mechanism and rejects a forced PLAIN auth."""
    await assert_plaintext_refused(prosody, "user0", ACCOUNTS["user0"])


async def assert_plaintext_refused(inst: ProsodyInstance, user: str, password: str) -> None:
    """(Shared with test_ejabberd_launcher.)"""
    client = ClientXMPP(inst.jid(user), password)
    client.enable_direct_tls = False
    client.enable_starttls = False
    client.enable_plaintext = True
    loop = asyncio.get_running_loop()
    features: asyncio.Future[object] = loop.create_future()
    failure: asyncio.Future[object] = loop.create_future()
    session = _one_shot(client, ["session_start"])

    def on_features(stanza: object) -> None:
        if not features.done():
            features.set_result(stanza)

    def on_failure(stanza: object) -> None:
        if not failure.done():
            failure.set_result(stanza)

    client.register_handler(
        Callback("test features", MatchXPath(f"{{{STREAM_NS}}}features"), on_features)
    )
    # Replace slixmpp's own SASL failure handler: it assumes it started the exchange.
    client.remove_handler("SASL Failure")
    client.register_handler(
        Callback("test failure", MatchXPath(f"{{{SASL_NS}}}failure"), on_failure)
    )
    client.connect(inst.host, inst.c2s_port)
    try:
        feats = await asyncio.wait_for(features, TIMEOUT)
        xml = feats.xml  # type: ignore[attr-defined]
        starttls = xml.find(f"{{{TLS_NS}}}starttls")
        assert starttls is not None and starttls.find(f"{{{TLS_NS}}}required") is not None
        assert xml.find(f"{{{SASL_NS}}}mechanisms") is None
        # Try PLAIN anyway (authzid \0 user \0 password, base64).
        blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        client.send_raw(f"<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{blob}</auth>")
        fail = await asyncio.wait_for(failure, TIMEOUT)
        assert fail.xml.find(f"{{{SASL_NS}}}encryption-required") is not None  # type: ignore[attr-defined]
        assert not session.done()
    finally:
        client.abort()


# --------------------------------------------------------------------- components


async def test_component_exchanges_iqs_with_client(prosody: ProsodyInstance) -> None:
    ((name, secret),) = prosody.components.items()
    assert name == "print.localhost" and len(secret) >= 24
    result, comp = await connect_component(prosody, name, secret)
    assert result == "session_start"
    client = await login(prosody, "user1", ACCOUNTS["user1"])
    try:
        # client -> component: ping and disco#info
        reply = await client.plugin["xep_0199"].send_ping(name, timeout=TIMEOUT)
        assert reply["type"] == "result"
        info = await client.plugin["xep_0030"].get_info(jid=name, timeout=TIMEOUT)
        assert info["type"] == "result"
        # component -> client (full JID)
        reply = await comp.plugin["xep_0199"].send_ping(
            client.boundjid, ifrom=name, timeout=TIMEOUT
        )
        assert reply["type"] == "result"
    finally:
        await close(client)
        await close(comp)


async def test_component_wrong_secret_is_refused(prosody: ProsodyInstance) -> None:
    result, comp = await connect_component(prosody, "print.localhost", "wrong-secret")
    try:
        assert result in ("stream_error", "disconnected")
        assert not comp.sessionstarted
    finally:
        comp.abort()


# ------------------------------------------------------------------- lifecycle


async def test_restart_keeps_ports_and_accounts(state_dir: Path) -> None:
    inst = await start_prosody(state_dir, components=["print.localhost", "scan.localhost"])
    try:
        jid = await inst.create_account("dave", "pw-dave")  # while running
        assert jid == "dave@localhost"
        ports = (inst.c2s_port, inst.component_port)
        secrets = dict(inst.components)
        old_pid = inst.pid
        client = await login(inst, "dave", "pw-dave")
        await close(client)

        await inst.restart()
        assert inst.running and inst.pid != old_pid
        assert (inst.c2s_port, inst.component_port) == ports
        assert inst.components == secrets
        client = await login(inst, "dave", "pw-dave")
        await close(client)
        result, comp = await connect_component(inst, "scan.localhost", secrets["scan.localhost"])
        assert result == "session_start"
        await close(comp)
    finally:
        await inst.stop()


async def test_stop_leaves_no_process(state_dir: Path) -> None:
    inst = await start_prosody(state_dir)
    pid = inst.pid
    assert pid is not None and inst.running
    os.kill(pid, 0)  # alive
    await inst.stop()
    assert not inst.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(OSError):
        await asyncio.open_connection(inst.host, inst.c2s_port)
    await inst.stop()  # idempotent
    with pytest.raises(ProsodyError):
        await inst.create_account("eve", "pw")


async def test_bad_input_is_rejected(state_dir: Path) -> None:
    with pytest.raises(ValueError):
        await start_prosody(state_dir, accounts={"Bad@User": "x"})
    with pytest.raises(ValueError):
        await start_prosody(state_dir, domain="not a domain")


async def test_bulk_accounts_and_odd_passwords(prosody: ProsodyInstance) -> None:
    """More than one admin-shell batch; passwords with Lua/XML-special characters."""
    accounts = {f"bulk{i}": f"pw-{i}" for i in range(250)}
    accounts["odd"] = "q\"uo\\te ü ]] ' <&>"
    await prosody.create_accounts(accounts)
    for user in ("bulk249", "odd"):
        client = await login(prosody, user, accounts[user])
        await close(client)


async def test_port_in_use_fails_fast(state_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(PortInUseError):
            await asyncio.wait_for(
                start_prosody(state_dir, c2s_port=busy.getsockname()[1]), TIMEOUT
            )
