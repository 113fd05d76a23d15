"""CirrusClient's job events against a session fed raw XML as the socket would: the
service's answer to a new job and the job's next push can arrive in one read, and the
session handles both before the request's coroutine resumes."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest

from cirrus.client import CirrusClient, ClientSettings
from cirrus.output import error_line
from stanzas import client_ops as ops
from stanzas.errors import NotAcceptingJobs, NotDelivered, OutcomeUnknown
from stanzas.groups import JobStatus
from stanzas.model import Payload
from stanzas.namespace import NS
from stanzas.states import JobState
from stanzas.transport import answer_xml, error_xml, stanza_xml
from tests.handlers.stream import FakeTransport
from tests.unit.test_session_requests import Wire, _prosody_bounce

SERVICE = "print.localhost"
ME = "alice@localhost/laptop"
CLIENT = "{jabber:client}"
HEADER = (
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
    " id='c1' from='localhost' to='localhost' version='1.0'>"
)


def _client() -> tuple[CirrusClient, Wire]:
    client = CirrusClient(ClientSettings(jid=ME, password="x", service_jid=SERVICE))
    session = client.session
    sent = Wire()
    session.send = sent.send  # type: ignore[method-assign]
    session.connection_made(FakeTransport())  # type: ignore[arg-type]
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


# --- CreateJob / PrintJob sent again while the outcome is unknown -----------------------


def _key(request: ET.Element) -> str | None:
    found = request.find(f".//{{{NS}}}idempotency-key")
    return None if found is None else found.text


def _bounce(request: ET.Element) -> ET.Element:
    """Prosody's answer for a component that is not connected (the service is down)."""
    return _prosody_bounce(request)


async def test_an_unknown_outcome_is_sent_again_with_the_same_key() -> None:
    client, sent = _client()
    client.session.stopping = True  # no reconnect attempts: the test says when it is back
    creating = asyncio.create_task(client.create_job("office"))
    await sent.until(1)
    client.session._on_disconnected(None)  # the connection went: OutcomeUnknown
    await asyncio.sleep(0.3)
    assert len(sent) == 1  # offline: it waits for the connection
    client.session.online.set()
    await sent.until(2)
    client.session.data_received(_wire(_bounce(sent[1])))  # the service is still down
    await sent.until(3)
    created = _job(JobState.PENDING, ["job-incoming"])
    client.session.data_received(_wire(_answer(sent[2], ops.CreateJobResponse(job=created))))
    job = await asyncio.wait_for(creating, 5)
    assert job.job_id == 21
    keys = {_key(request) for request in sent}
    assert len(keys) == 1 and None not in keys


async def test_time_running_out_after_an_unknown_outcome_leaves_it_unknown() -> None:
    client, sent = _client()
    with client.time_limit(1.0):
        printing = asyncio.create_task(
            client.print_document("office", b"%PDF-1.7", document_name="a.pdf")
        )
        await sent.until(1)
    client.session._fail_answers(OutcomeUnknown, "the service restarted before answering")
    bounced = 1
    while not printing.done():  # every later attempt bounces: the service stays down
        await asyncio.wait(
            [printing, asyncio.create_task(sent.until(bounced + 1))],
            return_when=asyncio.FIRST_COMPLETED,
        )
        if len(sent) > bounced:
            client.session.data_received(_wire(_bounce(sent[bounced])))
            bounced += 1
    with pytest.raises(OutcomeUnknown) as caught:
        printing.result()
    assert caught.value.delivered is None  # not "not delivered", whatever came after
    assert caught.value.idempotency_key == _key(sent[0])
    assert bounced > 1 and len({_key(r) for r in sent}) == 1


async def test_a_first_attempt_not_delivered_or_refused_is_not_sent_again() -> None:
    client, sent = _client()
    creating = asyncio.create_task(client.create_job("office"))
    await sent.until(1)
    client.session.data_received(_wire(_bounce(sent[0])))
    with pytest.raises(NotDelivered):
        await creating
    creating = asyncio.create_task(client.create_job("office"))
    await sent.until(2)
    refusal = error_xml(sent[1], NotAcceptingJobs("queue office is not accepting jobs"))
    client.session.data_received(_wire(refusal))
    with pytest.raises(NotAcceptingJobs):
        await creating
    await asyncio.sleep(0.3)
    assert len(sent) == 2


def test_the_cli_hint_names_the_key_to_run_the_command_again_with() -> None:
    error = OutcomeUnknown("the service went away before answering")
    assert "--idempotency-key" not in error_line(error)
    error.idempotency_key = "k-1"
    line = error_line(error)
    assert "run the same command again with --idempotency-key k-1" in line
