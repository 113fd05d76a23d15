"""How sessions and the service take stanzas straight from the parser: answers matched
to their requests by id and sender, pushes only from the service, error answers that
carry the IPP status both ways. The end-to-end flows are in tests/integration."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest

from stanzas import device_ops as ops
from stanzas.errors import NotFetchable, ServiceUnavailable, Timeout
from stanzas.groups import JobTicket
from stanzas.session import ServiceSession
from stanzas.states import JobState
from stanzas.transport import answer_xml, error_from_xml, error_xml, read_xml

SERVICE = "cirrus.localhost"
CLIENT = "{jabber:client}"
DEVICE = "urn:uuid:00000000-0000-4000-8000-0000000000d1"


def _session() -> ServiceSession:
    session = ServiceSession("m0@localhost/dev", "secret", service_jid=SERVICE)
    session.online.set()  # as after session_start; nothing is connected
    return session


def _answer(key: str, sender: str, payload: ops.FetchJobResponse) -> ET.Element:
    request = ET.Element(CLIENT + "iq", {"id": key, "from": "m0@localhost/dev", "to": sender})
    return answer_xml(request, payload)


def _job() -> ops.FetchJobResponse:
    return ops.FetchJobResponse(
        job_id=7,
        job_uuid="urn:uuid:00000000-0000-4000-8000-000000000007",
        job_name="a",
        job_originating_user_name="alice",
        job_state=JobState.PENDING,
        job_state_reasons=["job-fetchable"],
        number_of_documents=1,
        job_ticket=JobTicket(),
    )


async def test_an_answer_from_the_service_reaches_its_request() -> None:
    session = _session()
    waiter: asyncio.Future[ET.Element] = asyncio.get_running_loop().create_future()
    session._answers["k1"] = waiter
    session._spawn_event(_answer("k1", SERVICE, _job()))
    assert waiter.done()
    assert read_xml(waiter.result(), ops.FetchJobResponse).job_id == 7
    assert "k1" not in session._answers


async def test_an_answer_with_our_id_from_anyone_else_is_not_taken() -> None:
    session = _session()
    waiter: asyncio.Future[ET.Element] = asyncio.get_running_loop().create_future()
    session._answers["k1"] = waiter
    session._spawn_event(_answer("k1", "mallory@localhost/x", _job()))
    assert not waiter.done()
    assert session._answers["k1"] is waiter  # the real answer can still come


async def test_a_request_without_an_answer_times_out_and_is_forgotten() -> None:
    session = _session()
    with pytest.raises(Timeout, match="FetchJob"):
        await session.request(
            ops.FetchJob(output_device_uuid=DEVICE, job_id=1),
            ops.FetchJobResponse,
            timeout=0.01,
        )
    assert session._answers == {}


async def test_losing_the_stream_fails_waiting_requests_at_once() -> None:
    session = _session()
    session.stopping = True  # no reconnect from the test
    waiter: asyncio.Future[ET.Element] = asyncio.get_running_loop().create_future()
    session._answers["k1"] = waiter
    session._on_disconnected(None)
    with pytest.raises(ServiceUnavailable):
        waiter.result()
    assert session._answers == {}


async def test_only_the_service_pushes() -> None:
    session = _session()
    seen: list[str] = []
    session.service_messages.append(lambda element: seen.append(element.tag))
    note = ops.WorkNotification(output_device_uuid=DEVICE, fetchable_job_ids=[3])
    for sender in ("mallory@localhost/x", SERVICE, f"{SERVICE}/anything"):
        message = ET.Element(CLIENT + "message", {"from": sender, "type": "headline"})
        message.append(note.to_xml())
        session._spawn_event(message)
    assert seen == [note.to_xml().tag] * 2  # the service's, by bare JID; not mallory's


def test_an_error_answer_round_trips_the_ipp_status_and_job_ids() -> None:
    request = ET.Element(
        "{jabber:component:accept}iq",
        {"id": "q", "type": "set", "from": "m0@localhost/dev", "to": SERVICE},
    )
    error = NotFetchable("job 3 is taken", job_ids=[3, 4])
    reply = error_xml(request, error)
    assert (reply.get("type"), reply.get("id"), reply.get("to"), reply.get("from")) == (
        "error",
        "q",
        "m0@localhost/dev",
        SERVICE,
    )
    back = error_from_xml(reply)
    assert isinstance(back, NotFetchable)
    assert (back.status, back.message, back.job_ids) == (error.status, "job 3 is taken", [3, 4])
