"""CirrusClient's job events against a session fed raw XML as the socket would: the
service's answer to a new job and the job's next push can arrive in one read, and the
session handles both before the request's coroutine resumes."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

from cirrus.client import CirrusClient, ClientSettings
from stanzas import client_ops as ops
from stanzas.groups import JobStatus
from stanzas.model import Payload
from stanzas.namespace import NS
from stanzas.states import JobState
from stanzas.transport import answer_xml, stanza_xml
from tests.unit.test_session_requests import Wire

SERVICE = "print.localhost"
ME = "alice@localhost/laptop"
CLIENT = "{jabber:client}"
HEADER = (
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    " id='c1' from='localhost' to='localhost' version='1.0'>"
)


class Socket:
    """What a connected session writes on its transport (nothing is read back)."""

    def write(self, data: bytes) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def is_closing(self) -> bool:
        return False

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass


def _client() -> tuple[CirrusClient, Wire]:
    client = CirrusClient(ClientSettings(jid=ME, password="x", service_jid=SERVICE))
    session = client.session
    sent = Wire()
    session.send = sent.send  # type: ignore[method-assign]
    session.connection_made(Socket())  # type: ignore[arg-type]
    session.data_received(HEADER)
    session.online.set()  # as after session_start
    return client, sent


def _job(state: JobState, reasons: list[str]) -> JobStatus:
    return JobStatus(job_id=21, printer_name="office", job_state=state, job_state_reasons=reasons)


def _wire(*stanzas: ET.Element) -> str:
    """Stanzas as one read from the socket."""
    return "".join(ET.tostring(s, encoding="unicode") for s in stanzas)


def _answer(request: ET.Element, payload: Payload) -> ET.Element:
    return answer_xml(request, payload)


def _push(job: JobStatus) -> ET.Element:
    attributes = {"from": SERVICE, "to": ME, "type": "headline"}
    return stanza_xml(
        CLIENT + "message",
        attributes,
        ops.JobEvent(notify_subscribed_event="job-completed", job=job),
    )


async def test_a_push_right_behind_the_answer_to_a_new_job_is_not_lost() -> None:
    client, sent = _client()
    printing = asyncio.create_task(
        client.print_document("office", b"%PDF-1.7", document_name="a.pdf")
    )
    await sent.until(1)
    request = sent[0]
    created = _job(JobState.PENDING, ["job-fetchable"])
    done = _job(JobState.COMPLETED, ["job-completed-successfully"])
    client.session.data_received(
        _wire(_answer(request, ops.PrintJobResponse(job=created)), _push(done))
    )
    job = await printing
    assert job.job_id == 21
    # Nobody followed the job yet when it ended, so the client kept nothing of it and
    # asks; it must not wait on the answer's state (pending) for a push that came.
    waiting = asyncio.create_task(client.wait_for_final(job.job_id))
    await asyncio.wait(
        [waiting, asyncio.create_task(sent.until(2))],
        timeout=2,
        return_when=asyncio.FIRST_COMPLETED,
    )
    if not waiting.done():
        assert len(sent) == 2 and sent[1].find(f".//{{{NS}}}GetJobElements") is not None
        reply = ops.GetJobElementsResponse(job=done)
        client.session.data_received(_wire(_answer(sent[1], reply)))
    final = await asyncio.wait_for(waiting, 2)
    assert final.job_state == JobState.COMPLETED


async def test_a_push_right_behind_the_answer_reaches_a_follower() -> None:
    client, sent = _client()
    creating = asyncio.create_task(client.create_job("office"))
    await sent.until(1)
    created = _job(JobState.PENDING, ["job-incoming"])
    printing = _job(JobState.PROCESSING, ["job-printing"])
    client.session.data_received(
        _wire(_answer(sent[0], ops.CreateJobResponse(job=created)), _push(printing))
    )
    job = await creating
    seen = []
    async with asyncio.timeout(2):
        async for status in client.job_updates(job.job_id):
            seen.append(status.job_state)
            break
    assert seen == [JobState.PROCESSING]  # the push, not the answer's state
    assert len(sent) == 1  # known from the push: nothing asked


async def test_pushes_of_jobs_nobody_created_or_follows_are_kept_nowhere() -> None:
    client, _sent = _client()
    client.session.data_received(_wire(_push(_job(JobState.PROCESSING, ["job-printing"]))))
    assert client._events == {} and client._known == {}
