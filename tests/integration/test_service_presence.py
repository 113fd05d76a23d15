"""The admin bot online in a roster-based client (issue 16 item 10): real XMPP clients
with rosters (slixmpp's, and aioxmpp's for one check) subscribe to the service's
presence through Prosody and ejabberd, which route a component's presence each their
own way: the subscription is approved for operators and administrators only, a new
login's probe is answered, the status line follows the jobs, and the service's stop
and start show."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from slixmpp import ClientXMPP

from cirrus.stack.local import SERVICE_JID
from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas.session import tls_context
from tests.conftest import Harness, make_service_settings
from tests.integration.test_print_flow import SAMPLE

pytestmark = pytest.mark.every_xmpp_server
WAIT = 20.0
Seen = tuple[str, str | None]  # (presence type, status) from the service


class RosterClient:
    """A plain slixmpp client that keeps a roster, as mcabber or Gajim would."""

    def __init__(self, harness: Harness, user: str) -> None:
        settings = harness.client_settings(user)
        self.xmpp = ClientXMPP(
            f"{settings.jid}/roster", settings.password, ssl_context=tls_context(settings.ca_file)
        )
        self.xmpp.enable_direct_tls = False
        self.xmpp.enable_starttls = True
        self.xmpp.enable_plaintext = False
        self.address = (settings.host, settings.port)
        self.seen: asyncio.Queue[Seen] = asyncio.Queue()
        self.xmpp.add_event_handler("presence", self._on_presence)

    def _on_presence(self, presence: Any) -> None:
        if presence["from"].bare == SERVICE_JID:
            self.seen.put_nowait((presence["type"], presence["status"] or None))

    async def start(self, *, announce: bool = True) -> None:
        online = asyncio.Event()
        self.xmpp.add_event_handler("session_start", lambda _: online.set(), disposable=True)
        self.xmpp.connect(*self.address)
        await asyncio.wait_for(online.wait(), WAIT)
        await self.xmpp.get_roster()
        if announce:
            self.xmpp.send_presence()  # initial presence: the server probes our contacts

    async def stop(self) -> None:
        await asyncio.wait_for(self.xmpp.disconnect(wait=1.0), WAIT)

    def subscription(self) -> str:
        return str(self.xmpp.client_roster[SERVICE_JID]["subscription"])

    async def until(self, wanted: Callable[[Seen], bool]) -> Seen:
        async with asyncio.timeout(WAIT):
            while True:
                got = await self.seen.get()
                if wanted(got):
                    return got

    async def forget_the_service(self) -> None:
        """A clean roster (ejabberd's node serves the whole module)."""
        if SERVICE_JID in self.xmpp.client_roster:
            with contextlib.suppress(Exception):
                await self.xmpp.del_roster_item(SERVICE_JID)


@contextlib.asynccontextmanager
async def roster_client(harness: Harness, user: str) -> AsyncIterator[RosterClient]:
    client = RosterClient(harness, user)
    await client.start()
    await client.forget_the_service()
    try:
        yield client
    finally:
        await client.forget_the_service()
        await client.stop()


def available(line: str) -> Callable[[Seen], bool]:
    return lambda seen: seen == ("available", line)


async def test_an_administrator_sees_the_bot_online_and_its_status(harness: Harness) -> None:
    settings = make_service_settings(harness.tmp / "service", harness.xmpp)
    service = ServiceApp(settings)
    await service.start()
    try:
        await harness.manager(SimDriver())
        alice = await harness.client("alice")
        async with roster_client(harness, "admin") as admin:
            admin.xmpp.send_presence(pto=SERVICE_JID, ptype="subscribe")
            await admin.until(available("1 queue, 0 jobs active"))
            assert admin.subscription() in ("to", "both")  # the server's roster push came first

            # The line follows the jobs: a held job stays active.
            held = await alice.create_job("office", job_name="held")
            await admin.until(available("1 queue, 1 job active"))
            await alice.cancel_job(held.job_id)
            await admin.until(available("1 queue, 0 jobs active"))

            # A later login: the server probes the service, which answers.
            await admin.stop()
            again = RosterClient(harness, "admin")
            await again.start()
            try:
                await again.until(available("1 queue, 0 jobs active"))
            finally:
                await again.stop()
            await admin.start()
            await admin.until(available("1 queue, 0 jobs active"))  # probed too

            # The service stops, and starts again.
            await service.stop()
            await admin.until(lambda seen: seen[0] == "unavailable")
            service = ServiceApp(settings)
            await service.start()
            await admin.until(available("1 queue, 0 jobs active"))

            # Unsubscribing ends it.
            admin.xmpp.send_presence(pto=SERVICE_JID, ptype="unsubscribe")
            await admin.until(lambda seen: seen[0] == "unavailable")
            assert await service.service.presence_subscribers.all() == []
            job = await alice.print_files("office", [SAMPLE])
            await alice.wait_for_final(job.job_id, timeout=WAIT)
            await asyncio.sleep(1.5)  # past the service's look after a change
            assert admin.seen.empty(), admin.seen.get_nowait()
    finally:
        await harness.close()
        await service.stop()


async def test_a_user_who_is_no_operator_is_refused(service: ServiceApp, harness: Harness) -> None:
    async with roster_client(harness, "alice") as alice:
        alice.xmpp.send_presence(pto=SERVICE_JID, ptype="subscribe")
        assert await alice.until(lambda seen: True) == ("unsubscribed", None)
        assert await service.service.presence_subscribers.all() == []
        assert alice.subscription() in ("none", "remove")


async def test_aioxmpp_sees_the_bot_online(service: ServiceApp, harness: Harness) -> None:
    """Another library's roster and presence services (aioxmpp)."""
    aioxmpp = pytest.importorskip("aioxmpp")
    import OpenSSL.SSL

    await harness.manager(SimDriver())
    settings = harness.client_settings("operator")

    def context() -> OpenSSL.SSL.Context:
        ctx = OpenSSL.SSL.Context(OpenSSL.SSL.TLS_CLIENT_METHOD)
        ctx.load_verify_locations(str(settings.ca_file))
        ctx.set_verify(OpenSSL.SSL.VERIFY_PEER, lambda *args: bool(args[-1]))
        return ctx

    security = aioxmpp.security_layer.SecurityLayer(
        context,
        aioxmpp.security_layer._NullVerifier,  # the context above checks the chain
        True,
        (aioxmpp.security_layer.PasswordSASLProvider(_password(settings.password)),),
    )
    client = aioxmpp.Client(
        aioxmpp.JID.fromstr(f"{settings.jid}/aioxmpp"),
        security,
        override_peer=[(settings.host, settings.port, aioxmpp.connector.STARTTLSConnector())],
    )
    roster = client.summon(aioxmpp.RosterClient)
    presence = client.summon(aioxmpp.PresenceClient)
    announce = client.summon(aioxmpp.PresenceServer)
    service_jid = aioxmpp.JID.fromstr(SERVICE_JID)
    online: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    def on_available(full_jid: Any, stanza: Any) -> None:
        if full_jid.bare() == service_jid and not online.done():
            online.set_result(stanza.status.any() if stanza.status else None)

    presence.on_available.connect(on_available)
    async with client.connected():
        announce.set_presence(aioxmpp.PresenceState(True))  # available: presence reaches us
        roster.subscribe(service_jid)
        line = await asyncio.wait_for(online, WAIT)
        assert line == "1 queue, 0 jobs active"
        stanza = presence.get_stanza(service_jid)
        assert stanza is not None and stanza.type_ == aioxmpp.PresenceType.AVAILABLE
        roster.unsubscribe(service_jid)
        with contextlib.suppress(Exception):
            await roster.remove_entries([service_jid])


def _password(secret: str) -> Callable[[Any, int], Any]:
    async def provide(_jid: Any, _attempt: int) -> str | None:
        return secret if _attempt == 0 else None

    return provide
