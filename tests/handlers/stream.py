"""The service with its XMPP component over a fake stream, no Prosody: raw XML goes in
through the component's parser (`data_received`), and what comes back is exactly what
the component wrote on its transport. slixmpp's own SlixTest (slixmpp/test/slixtest.py,
with its TestTransport) is the model; here the whole service is real (the store on a
SQLite file, the state machines, the notifier, the administrators' plugin), only the
socket is not.
"""

from __future__ import annotations

import asyncio
import itertools
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from server.app import ServiceApp
from server.config import Settings
from server.transport.component import ServiceComponent
from stanzas.errors import CloudImagingError, xmpp_condition
from stanzas.model import Payload
from stanzas.namespace import STANZA_ERRORS_NS
from stanzas.transport import error_from_xml

SERVICE = "print.localhost"
ACCEPT = "jabber:component:accept"
HEADER = (
    f"<stream:stream xmlns='{ACCEPT}' xmlns:stream='http://etherx.jabber.org/streams'"
    f" id='s1' from='{SERVICE}'>"
)

# Who asks: (full JID). mgr1 and mgr2 are the accounts of one device each.
ALICE = "alice@localhost/laptop"
BOB = "bob@localhost/phone"
MGR1 = "mgr1@localhost/dev"
MGR2 = "mgr2@localhost/dev"
OPERATOR = "operator@localhost/desk"
ADMIN = "admin@localhost/desk"
STRANGER = "mallory@elsewhere.example/x"  # an account of another server
COMPONENT = "manager.localhost"  # a trusted manager component


def settings(state: Path) -> Settings:
    return Settings.model_validate(
        {
            "xmpp": {"secret": "s", "component_jid": SERVICE, "domain": "localhost"},
            "database": state / "service.db",
            "spool_dir": state / "spool",
            "admins": [ADMIN.split("/")[0]],
            "operators": [OPERATOR.split("/")[0]],
            "manager_components": [COMPONENT],
            "auto_approve_devices": True,
            "sqlite_synchronous": "OFF",  # durability is the store tests' subject, not this
        }
    )


class FakeTransport:
    """Keeps what the stream writes (slixmpp's TestTransport, without a socket)."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def is_closing(self) -> bool:
        return False

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass


def parse(data: bytes) -> ET.Element:
    """One stanza as the component wrote it (in the stream's namespace)."""
    return ET.fromstring(f"<s xmlns='{ACCEPT}'>{data.decode()}</s>")[0]


def xml_of(payload: Payload | ET.Element | str) -> str:
    if isinstance(payload, str):
        return payload
    element = payload if isinstance(payload, ET.Element) else payload.to_xml()
    return ET.tostring(element, encoding="unicode")


class Stream:
    def __init__(self, state: Path) -> None:
        self.app = ServiceApp(settings(state))
        self.ctx = self.app.service
        self.transport = FakeTransport()
        self.component = ServiceComponent(self.ctx)
        self._ids = itertools.count(1)
        self._sender: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """The service started, the component's stream opened and its handshake accepted
        (session_start: the service announces its restart to every device)."""
        await self.app.start_core()
        self.app.plug_component(self.component)
        self._sender = asyncio.ensure_future(self.component.run_filters())
        self.component.connection_made(self.transport)  # type: ignore[arg-type]
        self.component.data_received(HEADER)
        self.component.data_received("<handshake/>")
        await self.quiet()
        self.transport.written.clear()

    async def close(self) -> None:
        self.component.stopping = True
        self.app.unplug_component(self.component)
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        await self.app.stop()

    async def quiet(self) -> None:
        """Until everything the input set going has finished: the answers, the service's
        follow-up work (pushes after commits), slixmpp's handlers and its send queue."""
        me = asyncio.current_task()
        while True:
            busy = [
                t
                for t in asyncio.all_tasks()
                if t is not me and t is not self._sender and not t.done()
            ]
            if busy:
                await asyncio.wait(busy)
                continue
            if (
                self.component.waiting_queue.qsize()
                or self.component.waiting_queue._unfinished_tasks
            ):  # type: ignore[attr-defined]
                await self.component.waiting_queue.join()
                continue
            return

    def mark(self) -> int:
        return len(self.transport.written)

    async def since(self, mark: int) -> list[ET.Element]:
        """Once all is quiet: every stanza written since `mark`."""
        await self.quiet()
        return [parse(data) for data in self.transport.written[mark:]]

    async def feed(self, raw: str) -> list[ET.Element]:
        """Raw XML into the component; every stanza it wrote because of it."""
        mark = self.mark()
        self.component.data_received(raw)
        return await self.since(mark)

    async def iq(
        self, sender: str, payload: Payload | ET.Element | str, kind: str = "set"
    ) -> tuple[ET.Element, list[ET.Element]]:
        """An IQ request: (its one answer, the other stanzas written meanwhile)."""
        key = f"q{next(self._ids)}"
        out = await self.feed(
            f"<iq type='{kind}' id='{key}' from='{sender}' to='{SERVICE}'>{xml_of(payload)}</iq>"
        )
        answers = [s for s in out if s.tag == f"{{{ACCEPT}}}iq" and s.get("id") == key]
        assert len(answers) == 1, f"{len(answers)} answers to {key}: {out}"
        answer = answers[0]
        expected = {"type": answer.get("type"), "id": key, "to": sender, "from": SERVICE}
        assert answer.attrib == expected, answer.attrib
        return answer, [s for s in out if s is not answer]

    async def refused(self, sender: str, payload: Payload | ET.Element | str) -> CloudImagingError:
        """The error an IQ request is answered with (it must be one); nothing else sent."""
        answer, others = await self.iq(sender, payload)
        assert others == [], others
        assert answer.get("type") == "error", ET.tostring(answer)
        error = error_from_xml(answer)
        # The XMPP error is the one the IPP status maps to (stanzas/errors.py).
        details = answer.find(f"{{{ACCEPT}}}error")
        assert details is not None
        condition, error_type = xmpp_condition(error.status)
        assert details.get("type") == error_type
        assert details.find(f"{{{STANZA_ERRORS_NS}}}{condition}") is not None
        return error

    async def snapshot(self) -> list[Any]:
        rows: list[Any] = []
        for table in (
            "jobs",
            "documents",
            "queues",
            "devices",
            "service_states",
            "job_schedule",
            "alert_subscriptions",
            "system_elements",
            "queue_devices",
            "enrollment_codes",
            "user_groups",
        ):
            rows += sorted(tuple(r) for r in await self.ctx.db.fetchall(f"SELECT * FROM {table}"))
        return rows
