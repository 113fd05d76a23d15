"""Every operation's parsing, through the component's dispatch: a malformed payload is
answered client-error-bad-request and changes nothing; so is a request whose sender is
not a JID; an element that names no operation is answered
server-error-operation-not-supported; a failure inside a handler
server-error-internal-error. One answer each, nothing else sent."""

from __future__ import annotations

import copy
import types
import typing
import xml.etree.ElementTree as ET

import pytest

from server.handlers import OPERATIONS
from stanzas import client_ops as c
from stanzas.errors import BadRequest, InternalError, OperationNotSupported
from stanzas.model import Payload, ipp_name
from stanzas.namespace import NS, qname
from tests.handlers.conftest import World
from tests.handlers.matrix import admitted
from tests.handlers.stream import ALICE, SERVICE, xml_of
from tests.unit.test_stanzas import MINIMAL

ON_WORLD = pytest.mark.asyncio(loop_scope="module")  # the module's one service

NAMES = sorted(OPERATIONS)


def _is_int(annotation: object) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return int in typing.get_args(annotation)
    return annotation is int


def malformed(request: Payload) -> list[tuple[str, ET.Element]]:
    """(what is wrong, the request as XML) for one operation's request."""
    cls = type(request)
    good = request.to_xml()
    cases = []
    unknown = copy.deepcopy(good)
    ET.SubElement(unknown, qname("no-such-element"))
    cases.append(("an unknown element", unknown))
    required = [name for name, info in cls.model_fields.items() if info.is_required()]
    if required:
        missing = copy.deepcopy(good)
        missing.remove(missing.find(qname(ipp_name(required[0]))))  # type: ignore[arg-type]
        cases.append((f"no {ipp_name(required[0])}", missing))
    numbers = [name for name, info in cls.model_fields.items() if _is_int(info.annotation)]
    if numbers:
        not_a_number = copy.deepcopy(good)
        tag = qname(ipp_name(numbers[0]))
        element = not_a_number.find(tag)
        if element is None:
            element = ET.SubElement(not_a_number, tag)
        element.text = "not-a-number"
        cases.append((f"{ipp_name(numbers[0])} not a number", not_a_number))
    twice = copy.deepcopy(good)
    if len(twice):
        twice.append(copy.deepcopy(twice[0]))
        cases.append((f"{twice[0].tag} twice", twice))
    return cases


def test_every_operation_has_a_request_to_spoil() -> None:
    assert set(NAMES) <= set(MINIMAL)
    assert all(len(malformed(MINIMAL[name])) >= 1 for name in NAMES)


@ON_WORLD
@pytest.mark.parametrize("name", NAMES)
async def test_a_malformed_request_is_a_bad_request(world: World, name: str) -> None:
    sender = admitted(OPERATIONS[name].role.name)
    before = await world.stream.snapshot()
    for what, xml in malformed(MINIMAL[name]):
        error = await world.stream.refused(sender, xml)
        assert error.status == BadRequest.status, (what, error)
    assert await world.stream.snapshot() == before


@ON_WORLD
async def test_an_element_that_names_no_operation_is_not_supported(world: World) -> None:
    error = await world.stream.refused(ALICE, f"<NoSuchOperation xmlns='{NS}'/>")
    assert error.status == OperationNotSupported.status


@ON_WORLD
async def test_a_sender_that_is_not_a_jid_is_a_bad_request(world: World) -> None:
    out = await world.stream.feed(
        f"<iq type='get' id='j1' from='@' to='{SERVICE}'>{xml_of(c.GetServices())}</iq>"
    )
    assert len(out) == 1 and out[0].get("type") == "error" and out[0].get("id") == "j1"
    assert out[0].find(f".//{{{NS}}}ipp-status").text == BadRequest.status  # type: ignore[union-attr]


@ON_WORLD
async def test_a_failure_inside_a_handler_is_an_internal_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken() -> list[object]:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(world.stream.ctx.queues, "list_all", broken)
    error = await world.stream.refused(ALICE, c.GetServices())
    assert error.status == InternalError.status
    assert "fire" not in error.message  # nothing of the inside leaks out
