"""What the administration tests share: an operator's or administrator's client, a way to
await a queue's state without sleeping, and a chat inbox on a client's XMPP session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from slixmpp.xmlstream import StanzaBase

from cirrus.admin_client import AdminClient
from cirrus.client import CirrusClient
from manager.app import ManagerApp
from server.app import ServiceApp
from server.stores.queue_states import QueueState
from stanzas import admin_ops as a
from stanzas import device_ops as d
from tests.conftest import Harness

WAIT = 30.0


async def admin_client(harness: Harness, user: str = "operator") -> AdminClient:
    return AdminClient(await harness.client(user))


async def pause(admin: AdminClient, queue: str = "office") -> a.ServiceSummary:
    return (await admin.call(a.PauseService(printer_name=queue), a.ServiceResponse)).service


async def resume(admin: AdminClient, queue: str = "office") -> a.ServiceSummary:
    return (await admin.call(a.ResumeService(printer_name=queue), a.ServiceResponse)).service


class QueueWatch:
    """Awaits a queue's service state as the service's one change function records it."""

    def __init__(self, service: ServiceApp) -> None:
        self.states = service.service.queue_states
        self.changed = asyncio.Event()
        self.states.listeners.append(self._on_change)

    def close(self) -> None:
        self.states.listeners.remove(self._on_change)

    def _on_change(self, _before: QueueState, _after: QueueState) -> None:
        self.changed.set()

    async def until(
        self, queue: str, predicate: Callable[[QueueState], bool], timeout: float = WAIT
    ) -> QueueState:
        async def wait() -> QueueState:
            while True:
                self.changed.clear()
                state = await self.states.get(queue)
                if predicate(state):
                    return state
                await self.changed.wait()

        return await asyncio.wait_for(wait(), timeout)


def device_of(manager: ManagerApp) -> str:
    return manager.settings.devices[0].output_device_uuid


async def fetchable(harness: Harness, manager: ManagerApp, account: str = "mgr1") -> list[int]:
    """What the device would be handed (GetFetchableJobs from its manager's account)."""
    session = (await harness.client(account)).session
    response = await session.request(
        d.GetFetchableJobs(output_device_uuid=device_of(manager)), d.GetFetchableJobsResponse
    )
    return [job.job_id for job in response.job]


class ChatInbox:
    """The chat messages a client's session receives from the service."""

    def __init__(self, client: CirrusClient, service_jid: str = "print.localhost") -> None:
        self.session = client.session
        self.service_jid = service_jid
        self.messages: asyncio.Queue[str] = asyncio.Queue()
        self.session.add_event_handler("message", self._on_message)

    def _on_message(self, message: StanzaBase) -> None:
        if message["type"] == "chat" and message["from"].bare == self.service_jid:
            self.messages.put_nowait(message["body"])

    def say(self, text: str) -> None:
        self.session.send_message(mto=self.service_jid, mbody=text, mtype="chat")

    async def ask(self, text: str) -> str:
        self.say(text)
        return await self.next()

    async def next(self, timeout: float = WAIT) -> str:
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def until(self, predicate: Callable[[str], bool], timeout: float = WAIT) -> str:
        async def wait() -> str:
            while True:
                text = await self.messages.get()
                if predicate(text):
                    return text

        return await asyncio.wait_for(wait(), timeout)


def reasons(summary: a.ServiceSummary) -> set[str]:
    return set(summary.service_state_reasons) - {"none"}
