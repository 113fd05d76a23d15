"""Printing from an ordinary chat client (issue 16 item 14): a plain slixmpp client, not
the cirrus library, shares a file the way Conversations, Dino or Gajim do, an XEP-0363
upload to the XMPP server's own file share (Prosody's mod_http_file_share, ejabberd's
mod_http_upload, both over HTTPS) and a chat message with its link (the body and
XEP-0066 out-of-band data); the service fetches the upload and prints it on the sim
device, and the job's states and `cancel` come and go in the same conversation."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from slixmpp import JID, ClientXMPP

from cirrus.stack.local import SERVICE_JID
from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas.session import tls_context
from stanzas.states import JobState
from tests.conftest import Harness, make_service_settings
from tests.integration.admin_support import admin_client, pause, resume
from tests.integration.test_print_flow import SAMPLE

pytestmark = pytest.mark.every_xmpp_server
WAIT = 30.0


class ChatClient:
    """A chat client: uploads to the server's file share, sends links, reads replies."""

    def __init__(self, harness: Harness, user: str) -> None:
        settings = harness.client_settings(user)
        self.ssl = tls_context(settings.ca_file)
        self.xmpp = ClientXMPP(f"{settings.jid}/phone", settings.password, ssl_context=self.ssl)
        self.xmpp.enable_direct_tls = False
        self.xmpp.enable_starttls = True
        self.xmpp.enable_plaintext = False
        for plugin in ("xep_0030", "xep_0066", "xep_0363"):
            self.xmpp.register_plugin(plugin)
        self.address = (settings.host, settings.port)
        upload = harness.xmpp.upload_service
        assert upload is not None
        self.upload_service = JID(upload)
        self.replies: asyncio.Queue[str] = asyncio.Queue()
        self.xmpp.add_event_handler("message", self._on_message)

    def _on_message(self, message: Any) -> None:
        if message["type"] == "chat" and message["from"].bare == SERVICE_JID:
            self.replies.put_nowait(message["body"])

    async def start(self) -> None:
        online = asyncio.Event()
        self.xmpp.add_event_handler("session_start", lambda _: online.set(), disposable=True)
        self.xmpp.connect(*self.address)
        await asyncio.wait_for(online.wait(), WAIT)
        self.xmpp.send_presence()

    async def stop(self) -> None:
        await asyncio.wait_for(self.xmpp.disconnect(wait=1.0), WAIT)

    async def upload(self, name: str, data: bytes, content_type: str) -> str:
        """XEP-0363: a slot from the file share, the PUT; the GET URL to share."""
        slot_iq = await self.xmpp.plugin["xep_0363"].request_slot(
            self.upload_service, name, len(data), content_type, timeout=WAIT
        )
        slot = slot_iq["http_upload_slot"]
        headers = {"Content-Type": content_type}
        headers.update({h["name"]: h["value"] for h in slot["put"]["headers"]})
        async with aiohttp.ClientSession() as http:
            async with http.put(
                slot["put"]["url"], data=data, headers=headers, ssl=self.ssl
            ) as response:
                assert response.status < 300, await response.text()
        return str(slot["get"]["url"])

    def share(self, url: str, words: str = "") -> None:
        """As a chat client shares a file: the link as the body, and as XEP-0066 data."""
        message = self.xmpp.make_message(
            mto=SERVICE_JID, mbody=f"{words} {url}".strip(), mtype="chat"
        )
        message["oob"]["url"] = url
        message.send()

    def say(self, text: str) -> None:
        self.xmpp.send_message(mto=SERVICE_JID, mbody=text, mtype="chat")

    async def ask(self, text: str) -> str:
        self.say(text)
        return await self.next()

    async def next(self) -> str:
        return await asyncio.wait_for(self.replies.get(), WAIT)

    async def until(self, wanted: Callable[[str], bool]) -> str:
        async with asyncio.timeout(WAIT):
            while True:
                text = await self.replies.get()
                if wanted(text):
                    return text


@contextlib.asynccontextmanager
async def chat_client(harness: Harness, user: str = "alice") -> AsyncIterator[ChatClient]:
    client = ChatClient(harness, user)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


def job_id_of(reply: str) -> int:
    assert reply.startswith("job "), reply
    return int(reply.split()[1])


async def test_a_shared_file_prints_and_its_states_come_back(
    service: ServiceApp, harness: Harness
) -> None:
    sim = SimDriver(keep_data=True)
    await harness.manager(sim)
    data = SAMPLE.read_bytes()
    async with chat_client(harness) as alice:
        url = await alice.upload("report.pdf", data, "application/pdf")
        alice.share(url, "office")
        created = await alice.next()
        job_id = job_id_of(created)
        assert created.startswith(f"job {job_id} on office: report.pdf (PDF)")
        assert url not in created
        done = await alice.until(lambda text: text.endswith(": completed"))
        assert done == f"job {job_id} (report.pdf) on office: completed"

        job = await service.service.jobs.get(job_id)
        assert job is not None and job.job_state == JobState.COMPLETED
        assert job.owner == harness.xmpp.jid("alice")
        (printed,) = sim.printed()
        (document,) = printed.documents
        assert document.sha256 == hashlib.sha256(data).hexdigest()
        # The link alone, with the default queue set by chat, prints there too.
        assert await alice.ask("default office") == "your default queue: office"
        again = await alice.upload("notes.txt", b"hello\n", "text/plain")
        alice.share(again)
        second = job_id_of(await alice.next())
        await alice.until(lambda text: text == f"job {second} (notes.txt) on office: completed")


async def test_cancel_in_the_same_conversation(service: ServiceApp, harness: Harness) -> None:
    await harness.manager(SimDriver())
    operator = await admin_client(harness)
    await pause(operator)  # the job waits, so there is time to cancel it
    async with chat_client(harness) as alice:
        url = await alice.upload("long.pdf", SAMPLE.read_bytes(), "application/pdf")
        alice.share(url, "office")
        job_id = job_id_of(await alice.next())
        jobs = await alice.ask("jobs")
        assert str(job_id) in jobs and "long.pdf" in jobs
        # A waiting job ends at once: its notice is the answer.
        canceled = await alice.ask("cancel")
        assert canceled == f"job {job_id} (long.pdf) on office: canceled (job-canceled-by-user)"

        job = await service.service.jobs.get(job_id)
        assert job is not None and job.job_state == JobState.CANCELED
    # Another user may not cancel alice's job from chat either.
    async with chat_client(harness, "bob") as bob:
        refused = await bob.ask(f"cancel {job_id}")
        assert refused.startswith("error:") and "client-error-" in refused


async def test_only_the_file_shares_links_are_fetched(
    service: ServiceApp, harness: Harness
) -> None:
    sim = SimDriver()
    await harness.manager(sim)
    async with chat_client(harness) as alice:
        # The service's own HTTPS endpoint, a loopback host, another port: none is the
        # XMPP server's file share, so none is fetched and no job is made.
        for link in (
            f"{service.service.public_url}/documents/1",
            "http://127.0.0.1:9/secret.pdf",
            f"https://{harness.xmpp.domain}:{harness.xmpp.c2s_port}/x.pdf",
            "aesgcm://localhost/file_share/x/y.pdf#00",
        ):
            alice.share(link, "office")
            answer = await alice.next()
            assert "nothing was done" in answer, (link, answer)
        refused = " ".join((await alice.ask("pause office")).split())  # lines fit 80 columns
        assert refused == (
            f"Sorry, 'pause' is for the service's operators and administrators, and "
            f"{harness.xmpp.jid('alice')} is neither, so nothing was done. Send 'help' for "
            "what you can do here."
        )
        # On the file share, but no such upload: the job is aborted, naming the file,
        # never the link (a capability).
        origin = harness.xmpp.upload_origin
        if harness.xmpp.upload_owner_in_url == "sha1":  # ejabberd: its links name the owner
            owner = hashlib.sha1(harness.xmpp.jid("alice").encode()).hexdigest()
            missing = f"{origin}/upload/{owner}/nothing/missing.pdf"
        else:
            missing = f"{origin}/file_share/00000000-0000-0000-0000-000000000000/missing.pdf"
        alice.share(missing, "office")
        job_id = job_id_of(await alice.next())
        aborted = await alice.until(lambda text: "aborted" in text)
        assert aborted.startswith(f"job {job_id} (missing.pdf) on office: aborted")
        assert "the shared file missing.pdf" in aborted and missing not in aborted
    assert sim.printed() == []


async def test_where_links_name_their_uploader_only_the_uploader_prints_them(
    service: ServiceApp, harness: Harness
) -> None:
    sim = SimDriver()
    await harness.manager(sim)
    async with chat_client(harness) as alice:
        url = await alice.upload("private.pdf", SAMPLE.read_bytes(), "application/pdf")
    async with chat_client(harness, "bob") as bob:
        bob.share(url, "office")
        answer = await bob.next()
        if harness.xmpp.upload_owner_in_url == "sha1":  # ejabberd's mod_http_upload
            assert "someone else's upload, so nothing was done" in " ".join(answer.split())
            assert await service.service.jobs.get(1) is None
        else:  # Prosody's links do not say whose they are (docs/admin.md)
            assert answer.startswith("job ")
            await bob.until(lambda text: text.endswith(": completed"))


async def test_a_shared_file_over_the_size_limit_is_not_printed(
    harness: Harness,
) -> None:
    settings = make_service_settings(harness.tmp / "small", harness.xmpp)
    settings.chat_print.max_size = 1000
    service = ServiceApp(settings)
    await service.start()
    try:
        sim = SimDriver()
        await harness.manager(sim)
        async with chat_client(harness) as alice:
            url = await alice.upload(
                "big.pdf", SAMPLE.read_bytes() + b"\n" * 2000, "application/pdf"
            )
            alice.share(url, "office")
            job_id = job_id_of(await alice.next())
            aborted = await alice.until(lambda text: "aborted" in text)
            assert aborted.startswith(f"job {job_id} (big.pdf) on office: aborted")
            assert "larger than 1000 octets" in aborted
        assert sim.printed() == []
    finally:
        await harness.close()
        await service.stop()


async def test_another_librarys_chat_client_prints_a_shared_file(
    service: ServiceApp, harness: Harness
) -> None:
    """aioxmpp's XEP-0363 slot request and XEP-0066 element, as a third-party client
    sends them (a different library's stanzas, not slixmpp's)."""
    aioxmpp = pytest.importorskip("aioxmpp")
    httpupload = pytest.importorskip("aioxmpp.httpupload")
    misc = pytest.importorskip("aioxmpp.misc")
    import OpenSSL.SSL

    sim = SimDriver(keep_data=True)
    await harness.manager(sim)
    settings = harness.client_settings("bob")
    tls = tls_context(settings.ca_file)

    def context() -> OpenSSL.SSL.Context:
        ctx = OpenSSL.SSL.Context(OpenSSL.SSL.TLS_CLIENT_METHOD)
        ctx.load_verify_locations(str(settings.ca_file))
        ctx.set_verify(OpenSSL.SSL.VERIFY_PEER, lambda *args: bool(args[-1]))
        return ctx

    async def password(_jid: Any, attempt: int) -> str | None:
        return settings.password if attempt == 0 else None

    security = aioxmpp.security_layer.SecurityLayer(
        context,
        aioxmpp.security_layer._NullVerifier,  # the context above checks the chain
        True,
        (aioxmpp.security_layer.PasswordSASLProvider(password),),
    )
    client = aioxmpp.Client(
        aioxmpp.JID.fromstr(f"{settings.jid}/aioxmpp"),
        security,
        override_peer=[(settings.host, settings.port, aioxmpp.connector.STARTTLSConnector())],
    )
    service_jid = aioxmpp.JID.fromstr(SERVICE_JID)
    replies: asyncio.Queue[str] = asyncio.Queue()

    def on_message(message: Any) -> None:
        if message.from_.bare() == service_jid and message.body:
            replies.put_nowait(message.body.any())

    data = b"%!PS-Adobe-3.0\n%%EOF\n" + bytes(range(256)) * 8
    dispatcher = client.summon(aioxmpp.dispatcher.SimpleMessageDispatcher)
    dispatcher.register_callback(aioxmpp.MessageType.CHAT, service_jid, on_message)
    async with client.connected():
        upload = harness.xmpp.upload_service
        assert upload is not None
        slot = await httpupload.request_slot(
            client, aioxmpp.JID.fromstr(upload), "poster.ps", len(data), "application/postscript"
        )
        headers = {"Content-Type": "application/postscript", **dict(slot.put.headers.items())}
        async with aiohttp.ClientSession() as http:
            async with http.put(slot.put.url, data=data, headers=headers, ssl=tls) as response:
                assert response.status < 300
        message = aioxmpp.Message(type_=aioxmpp.MessageType.CHAT, to=service_jid)
        message.body[None] = f"office {slot.get.url}"
        oob = misc.OOBExtension()
        oob.url = slot.get.url
        message.xep0066_oob = oob
        await client.send(message)
        created = await asyncio.wait_for(replies.get(), WAIT)
        job_id = job_id_of(created)
        assert created.startswith(f"job {job_id} on office: poster.ps (PostScript)")
        async with asyncio.timeout(WAIT):
            while (text := await replies.get()) != f"job {job_id} (poster.ps) on office: completed":
                assert "aborted" not in text, text
    (printed,) = sim.printed()
    assert printed.documents[0].sha256 == hashlib.sha256(data).hexdigest()
    assert printed.documents[0].format == "application/postscript"


async def test_a_chat_jobs_notices_survive_a_restart_of_the_service(harness: Harness) -> None:
    settings = make_service_settings(harness.tmp / "service", harness.xmpp)
    service = ServiceApp(settings)
    await service.start()
    try:
        await harness.manager(SimDriver())
        operator = await admin_client(harness)
        await pause(operator)
        async with chat_client(harness) as alice:
            url = await alice.upload("later.pdf", SAMPLE.read_bytes(), "application/pdf")
            alice.share(url, "office")
            job_id = job_id_of(await alice.next())
            await service.stop()
            service = ServiceApp(settings)
            await service.start()
            await resume(operator)
            done = await alice.until(lambda text: text.endswith(": completed"))
            assert done == f"job {job_id} (later.pdf) on office: completed"
    finally:
        await harness.close()
        await service.stop()
