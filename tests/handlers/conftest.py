"""Fixtures of the handler tier: a service over a fake stream (tests/handlers/stream.py),
fresh for each test (`stream`), or one per module (`world`: two devices registered, a
job of alice's on each queue) for the tests that change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import device_ops as d
from tests.handlers.stream import ADMIN, ALICE, MGR1, MGR2, Stream

DEVICE = "urn:uuid:6f1c2a9e-3b7d-4c1e-9a55-0d2b8e4f7a10"  # the stanza fixtures' device
DEVICE2 = "urn:uuid:0c4a8e12-5d6b-4f3a-8e21-9b7c6d5e4f30"


@dataclass
class World:
    stream: Stream
    office_job: int  # alice's, on mgr1's queue
    annex_job: int  # alice's, on mgr2's queue


async def enrollment_code(stream: Stream, queue: str) -> str:
    """A one-time code for the queue, as an administrator asks for it."""
    answer, _ = await stream.iq(ADMIN, a.IssueEnrollmentCode(printer_name=queue))
    assert answer.get("type") == "result"
    return a.IssueEnrollmentCodeResponse.from_xml(answer[0]).enrollment_code


async def register(stream: Stream, sender: str, device: str, queue: str) -> None:
    """The device joins the queue, enrolled with a code an administrator issued."""
    code = await enrollment_code(stream, queue)
    answer, _ = await stream.iq(
        sender,
        d.RegisterDevice(output_device_uuid=device, printer_name=queue, enrollment_code=code),
    )
    assert answer.get("type") == "result"


async def create_job(stream: Stream, sender: str, queue: str) -> int:
    answer, _ = await stream.iq(sender, c.CreateJob(printer_name=queue))
    assert answer.get("type") == "result"
    return c.CreateJobResponse.from_xml(answer[0]).job.job_id


@pytest_asyncio.fixture
async def stream(tmp_path: Path) -> AsyncIterator[Stream]:
    opened = Stream(tmp_path)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    opened = Stream(tmp_path_factory.mktemp("world"))
    await opened.open()
    try:
        await register(opened, MGR1, DEVICE, "office")
        await register(opened, MGR2, DEVICE2, "annex")
        office = await create_job(opened, ALICE, "office")
        annex = await create_job(opened, ALICE, "annex")
        yield World(opened, office, annex)
    finally:
        await opened.close()
