"""100,000 random and mutated messages to the gateway's request handler, in process.

Each must be answered with an IPP response (an error status for anything malformed),
never an exception, an internal error or a hang. The handler runs against an in-memory
stand-in for the service (speed: the real one is exercised by the integration tests).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from gateway.attributes import QueueInfo
from gateway.core import AuthRequired, Gateway, GatewaySettings
from gateway.dispatch import OPERATIONS
from gateway.request import Endpoint
from gateway.sessions import NotAuthenticated, Sessions
from ipp.codec import (
    IppParseError,
    IppRequest,
    IppValue,
    RangeOfInteger,
    Resolution,
    StringWithLanguage,
    decode,
    encode,
)
from ipp.constants import GroupTag, Operation, StatusCode, ValueTag
from stanzas.errors import NotFound, NotPossible
from stanzas.groups import Capabilities, JobStatus, JobTicket, ServiceStatus
from stanzas.states import JobState

MESSAGES = 100_000
URI = "ipp://127.0.0.1:8631/ipp/print/office"
ENDPOINT = Endpoint("ipp", "127.0.0.1", 8631)


class FakeCloud:
    """An in-memory service behind the client-library calls the gateway makes."""

    def __init__(self) -> None:
        self.jobs: dict[int, JobStatus] = {}

    def _job(self, job_id: int) -> JobStatus:
        if job_id not in self.jobs:
            raise NotFound(f"no job {job_id}")
        return self.jobs[job_id]

    async def create_job(
        self, queue: str, *, job_name: str | None = None, ticket: JobTicket | None = None
    ) -> JobStatus:
        job = JobStatus(
            job_id=len(self.jobs) + 1,
            printer_name=queue,
            job_name=job_name,
            job_originating_user_name="alice@localhost",
            job_state=JobState.PENDING,
            job_state_reasons=["job-incoming"],
            time_at_creation=1,
            job_ticket=ticket,
        )
        self.jobs[job.job_id] = job
        return job

    async def send_document_stream(
        self, job_id: int, chunks: AsyncIterator[bytes], **_: Any
    ) -> None:
        self._job(job_id)
        async for _chunk in chunks:
            pass

    async def close_job(self, job_id: int) -> None:
        self._job(job_id)

    async def get_job(self, job_id: int) -> JobStatus:
        return self._job(job_id)

    async def cancel_job(self, job_id: int, message: str | None = None) -> JobStatus:
        job = self._job(job_id)
        if job.job_state.is_terminal:
            raise NotPossible("already ended")
        self.jobs[job_id] = job.model_copy(update={"job_state": JobState.CANCELED})
        return self.jobs[job_id]

    async def get_jobs(self, queue: str | None = None, **_: Any) -> list[JobStatus]:
        return list(self.jobs.values())[-50:]

    async def send_uri(self, job_id: int, uri: str, **_: Any) -> None:
        self._job(job_id)

    async def cancel_my_jobs(
        self, queue: str | None = None, job_ids: Any = None, message: str | None = None
    ) -> None:
        return None

    async def cancel_current_job(
        self, queue: str, job_id: int | None = None, message: str | None = None
    ) -> list[JobStatus]:
        return []

    async def hold_job(self, job_id: int, until: str = "indefinite") -> JobStatus:
        return self._job(job_id)

    async def release_job(self, job_id: int) -> JobStatus:
        return self._job(job_id)

    async def set_job_elements(
        self, job_id: int, ticket: Any = None, delete: Any = None, *, job_name: Any = None
    ) -> JobStatus:
        return self._job(job_id)

    async def resubmit_job(self, job_id: int, overrides: Any = None) -> JobStatus:
        old = self._job(job_id)
        return await self.create_job(old.printer_name or "office", ticket=overrides)

    async def validate_job_ticket(self, queue: str, ticket: JobTicket) -> list[str]:
        return []

    async def stop(self) -> None:
        return None


CAPS = Capabilities(
    printer_make_and_model="Cirrus Virtual Printer",
    document_format_supported=["application/pdf", "image/jpeg", "application/octet-stream"],
    media_supported=["iso_a4_210x297mm", "na_letter_8.5x11in"],
    media_default="iso_a4_210x297mm",
    sides_supported=["one-sided", "two-sided-long-edge"],
    print_color_mode_supported=["auto", "monochrome", "color"],
    print_quality_supported=[3, 4, 5],
    finishings_supported=[3, 4],
    copies_supported=99,
)


def make_gateway() -> tuple[Gateway, FakeCloud]:
    cloud = FakeCloud()

    async def login(user: str, password: str) -> FakeCloud:
        if password == "wrong":
            raise PermissionError(user)
        return cloud

    async def directory(_client: Any, queue: str) -> QueueInfo:
        if queue != "office":
            raise NotFound(f"no queue {queue}")
        return QueueInfo(name=queue, capabilities=CAPS, status=ServiceStatus(printer_state="idle"))

    sessions = Sessions(login, failure_delay=0)  # type: ignore[arg-type]
    settings = GatewaySettings(plain_port=8631, notify_wait_max=0.0)
    gateway = Gateway(settings, sessions, directory, service_account=("bob", "pw"))
    return gateway, cloud


def seeds() -> list[bytes]:
    """A request of every operation, using every value tag somewhere: each once with
    every attribute of every operation (the gateway names those it does not read in
    unsupported-attributes), and once with only what the operation reads."""
    out = []
    for number, op in enumerate(
        [
            Operation.PRINT_JOB,
            Operation.VALIDATE_JOB,
            Operation.CREATE_JOB,
            Operation.SEND_DOCUMENT,
            Operation.CLOSE_JOB,
            Operation.CANCEL_JOB,
            Operation.GET_JOB_ATTRIBUTES,
            Operation.GET_JOBS,
            Operation.GET_PRINTER_ATTRIBUTES,
            Operation.HOLD_JOB,
            Operation.RELEASE_JOB,
            Operation.SET_JOB_ATTRIBUTES,
            Operation.RESUBMIT_JOB,
            Operation.CANCEL_MY_JOBS,
            Operation.CANCEL_CURRENT_JOB,
            Operation.PRINT_URI,
            Operation.SEND_URI,
            Operation.GET_PRINTER_SUPPORTED_VALUES,
            Operation.CREATE_PRINTER_SUBSCRIPTIONS,
            Operation.CREATE_JOB_SUBSCRIPTIONS,
            Operation.GET_NOTIFICATIONS,
            Operation.CANCEL_SUBSCRIPTION,
            Operation.GET_SUBSCRIPTION_ATTRIBUTES,
            Operation.RENEW_SUBSCRIPTION,
            Operation.IDENTIFY_PRINTER,
            Operation.PAUSE_PRINTER,
        ],
        1,
    ):
        req = IppRequest(op, number).operation_attributes(
            printer_uri=URI,
            requesting_user_name="alice",
            job_id=1,
            job_name=StringWithLanguage("report", "en"),
            document_format="application/pdf",
            last_document=True,
            requested_attributes=["all", "media-col-database"],
            which_jobs="all",
            limit=5,
            my_jobs=True,
            document_uri="https://example.org/a.pdf",
            notify_subscription_ids=[1],
            notify_sequence_numbers=[1],
            notify_wait=False,
            notify_job_id=1,
            notify_subscription_id=1,
        )
        req.job_attributes(
            copies=2,
            media="iso_a4_210x297mm",
            sides="two-sided-long-edge",
            print_quality=5,
            finishings=[3, 4],
            page_ranges=[RangeOfInteger(1, 2)],
            printer_resolution=Resolution(300, 300),
            media_col={"media-size": {"x-dimension": 21000, "y-dimension": 29700}},
            job_hold_until="indefinite",
            date_time_at_creation=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
            job_password=b"\x00\x01",
            output_bin=IppValue(ValueTag.NO_VALUE, None),
        )
        sub = req.add_group(GroupTag.SUBSCRIPTION)
        sub.add("notify-pull-method", "ippget")
        sub.add("notify-events", ["job-completed", "printer-state-changed"])
        sub.add("notify-user-data", b"hello")
        sub.add("notify-lease-duration", 60)
        out.append(encode(req) + b"%PDF-1.4 tiny")
        out.append(encode(_only_what_it_reads(req)) + b"%PDF-1.4 tiny")
    return out


def _only_what_it_reads(req: IppRequest) -> IppRequest:
    spec = OPERATIONS.get(req.code)
    if spec is None:
        return req
    clean = IppRequest(Operation(req.code), req.request_id)
    for group in req.groups:
        if group.tag == GroupTag.OPERATION:
            clean.groups[0].attributes[:] = [a for a in group.attributes if spec.reads(a.name)]
        elif group.tag in spec.groups:
            clean.add_group(group.tag).attributes[:] = group.attributes
    return clean


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(7)
        pos = rng.randrange(len(buf) + 1) if buf else 0
        if kind == 0 and buf:  # flip a byte
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif kind == 1:  # insert random bytes
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif kind == 2 and buf:  # delete a run
            del buf[pos : pos + rng.randint(1, 8)]
        elif kind == 3:  # truncate
            del buf[pos:]
        elif kind == 4:  # splice from another seed
            other = rng.choice(pool)
            start = rng.randrange(len(other))
            buf[pos:pos] = other[start : start + rng.randint(1, 40)]
        elif kind == 5 and len(buf) > 9:  # interesting 16-bit lengths and tags
            buf[min(pos, len(buf) - 2) : min(pos, len(buf) - 2) + 2] = rng.choice(
                [b"\x00\x00", b"\x7f\xff", b"\xff\xff", b"\x80\x00", b"\x00\x01"]
            )
        elif buf:  # a delimiter or value tag somewhere
            buf[min(pos, len(buf) - 1)] = rng.choice(
                [0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x0F, 0x10, 0x13, 0x34, 0x37, 0x4A, 0x7F, 0x80]
            )
    return bytes(buf)


async def ask(gateway: Gateway, data: bytes, credentials: Any) -> bytes | None:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    try:
        return await asyncio.wait_for(gateway.handle(reader, credentials, ENDPOINT), 5.0)
    except (AuthRequired, NotAuthenticated):
        return None


async def test_random_and_mutated_requests_get_ipp_answers() -> None:
    gateway, _cloud = make_gateway()
    rng = random.Random(20240505)
    pool = seeds()
    started = time.monotonic()
    statuses: dict[int, int] = {}
    for index in range(MESSAGES):
        choice = index % 10
        if choice == 0:
            data = rng.randbytes(rng.randint(0, 64))
        elif choice == 1:
            data = rng.choice(pool)  # a well-formed one now and then
        else:
            data = mutate(rng, rng.choice(pool), pool)
        credentials = rng.choice([("alice", "pw"), None, ("alice", "wrong")])
        answer = await ask(gateway, data, credentials)
        if answer is None:
            continue  # HTTP 401: no IPP body
        response, _ = decode(answer)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code != StatusCode.SERVER_ERROR_INTERNAL_ERROR, (
            data,
            response.describe(),
        )
        try:
            decode(data)
        except IppParseError:
            assert response.status_code in (
                StatusCode.CLIENT_ERROR_BAD_REQUEST,
                StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE,
            ), (data, response.describe())
    elapsed = time.monotonic() - started
    await gateway.sessions.close()
    assert statuses.get(0, 0) > MESSAGES // 100  # the well-formed ones did work
    print(f"{MESSAGES} messages in {elapsed:.1f} s; statuses: {sorted(statuses.items())}")
