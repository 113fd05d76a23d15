"""A queue deleted while another administrative request is working on it (found by the
stanza fuzzer: ShutdownAllServices racing DeleteService ended in sqlite3.IntegrityError,
FOREIGN KEY constraint failed, answered as an internal error). Both requests come in
one read, so the second starts while the first is between its steps: the …AllServices
requests skip a queue that is gone, a request naming it gets not-found, never an
internal error, and no row is left pointing at the deleted queue."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from server.handlers.system_ops import ALL_SERVICES
from stanzas import admin_ops as a
from stanzas.errors import InternalError
from stanzas.model import Payload
from stanzas.transport import error_from_xml, read_xml
from tests.handlers.conftest import DEVICE, DEVICE2, register
from tests.handlers.stream import ADMIN, MGR1, MGR2, SERVICE, Stream, xml_of

PRINT = a.AnyServiceType.PRINT
DELETE = a.DeleteService(service_type=PRINT, printer_name="office")
# Requests that act on a shut-down queue (the only kind DeleteService takes).
ON_DOWN_QUEUES: list[Payload] = [
    *(request() for request in ALL_SERVICES),
    a.ShutdownService(service_type=PRINT, printer_name="office"),
    a.RestartService(service_type=PRINT, printer_name="office"),
    a.StartupService(service_type=PRINT, printer_name="office"),
]


async def both_down(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    await register(stream, MGR2, DEVICE2, "annex")
    for queue in ("annex", "office"):
        answer, _ = await stream.iq(
            ADMIN, a.ShutdownService(service_type=PRINT, printer_name=queue)
        )
        assert answer.get("type") == "result"


def request(key: str, payload: Payload) -> str:
    return f"<iq type='set' id='{key}' from='{ADMIN}' to='{SERVICE}'>{xml_of(payload)}</iq>"


def answer_to(out: list[ET.Element], key: str) -> ET.Element:
    answers = [s for s in out if s.tag.endswith("}iq") and s.get("id") == key]
    assert len(answers) == 1, out
    return answers[0]


@pytest.mark.parametrize("delete_first", [False, True], ids=["delete-second", "delete-first"])
@pytest.mark.parametrize("other", ON_DOWN_QUEUES, ids=lambda p: p.ELEMENT)
async def test_a_queue_deleted_meanwhile_is_never_an_internal_error(
    stream: Stream, other: Payload, delete_first: bool
) -> None:
    await both_down(stream)
    pair = [request("other", other), request("delete", DELETE)]
    out = await stream.feed("".join(reversed(pair) if delete_first else pair))
    for key in ("other", "delete"):
        answer = answer_to(out, key)
        if answer.get("type") == "error":
            error = error_from_xml(answer)
            assert not isinstance(error, InternalError), (key, error.message)
    assert await stream.ctx.db.fetchall("PRAGMA foreign_key_check") == []
    names = [r["printer_name"] for r in await stream.ctx.db.fetchall("SELECT * FROM queues")]
    states = [
        r["printer_name"] for r in await stream.ctx.db.fetchall("SELECT * FROM service_states")
    ]
    assert set(states) <= set(names)


async def test_shutdown_all_skips_the_queue_deleted_between_its_steps(stream: Stream) -> None:
    await both_down(stream)
    # ShutdownAllServices lists annex and office, shuts annex down (a write: it yields),
    # and meanwhile office is deleted: it goes on without office.
    out = await stream.feed(request("all", a.ShutdownAllServices()) + request("delete", DELETE))
    deleted = answer_to(out, "delete")
    assert deleted.get("type") == "result"
    everything = answer_to(out, "all")
    assert everything.get("type") == "result", ET.tostring(everything)
    listed = read_xml(everything, a.ServicesResponse).service
    assert [s.printer_name for s in listed if s.service_type.is_job_service] == ["annex"]
