"""CreateJob and PrintJob with an idempotency key (docs/protocol.md, CreateJob): the same
request sent again is answered with the job the first one made, its document not stored
twice; the key is the owner's alone; a key reused for another request is refused."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET

from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas.errors import NotAcceptingJobs, NotPossible
from stanzas.groups import JobTicket
from stanzas.transport import read_xml
from tests.handlers.conftest import DEVICE, register
from tests.handlers.stream import ADMIN, ALICE, BOB, MGR1, SERVICE, Stream, xml_of

DATA = b"%PDF-1.7 one page"
KEY = "6c1f0d7e-2b9a-4f5e-8d3c-a1b2c3d4e5f6"


def print_job(key: str | None = KEY, **changes: object) -> c.PrintJob:
    request = c.PrintJob(
        printer_name="office",
        job_name="report",
        document_format="application/pdf",
        document_digest=hashlib.sha256(DATA).hexdigest(),
        document_data=DATA,
        idempotency_key=key,
    )
    return request.model_copy(update=changes)


async def created(stream: Stream, sender: str, request: c.CreateJob) -> c.CreateJobResponse:
    answer, _ = await stream.iq(sender, request)
    assert answer.get("type") == "result", ET.tostring(answer)
    kind = c.PrintJobResponse if isinstance(request, c.PrintJob) else c.CreateJobResponse
    return kind.from_xml(answer[0])


async def rows(stream: Stream, table: str) -> list[dict[str, object]]:
    return [dict(r) for r in await stream.ctx.db.fetchall(f"SELECT * FROM {table}")]


def spooled(stream: Stream) -> list[str]:
    return sorted(p.name for p in stream.ctx.spool.directory.iterdir())


async def test_a_create_job_sent_again_gets_the_job_the_first_made(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    request = c.CreateJob(printer_name="office", job_name="report", idempotency_key=KEY)
    first = await created(stream, ALICE, request)
    again = await created(stream, ALICE, request)
    assert again.job.job_id == first.job.job_id
    assert again.job.job_uuid == first.job.job_uuid
    assert len(await rows(stream, "jobs")) == 1
    # Without a key, each request is a job of its own, as before.
    plain = c.CreateJob(printer_name="office", job_name="report")
    one, two = await created(stream, ALICE, plain), await created(stream, ALICE, plain)
    assert len({first.job.job_id, one.job.job_id, two.job.job_id}) == 3


async def test_a_print_job_sent_again_stores_its_document_once(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    first = await created(stream, ALICE, print_job())
    files = spooled(stream)
    again = await created(stream, ALICE, print_job())
    assert again.job.job_id == first.job.job_id
    assert len(await rows(stream, "jobs")) == 1
    assert len(await rows(stream, "documents")) == 1
    assert spooled(stream) == files and len(files) == 1


async def test_two_copies_in_one_read_make_one_job(stream: Stream) -> None:
    """A retry that overtakes the first attempt (sent while it is still being handled):
    the unique index decides, and both are answered with the one job."""
    await register(stream, MGR1, DEVICE, "office")
    payload = xml_of(print_job())
    raw = "".join(
        f"<iq type='set' id='p{n}' from='{ALICE}' to='{SERVICE}'>{payload}</iq>" for n in (1, 2)
    )
    out = await stream.feed(raw)
    answers = [s for s in out if s.tag.endswith("}iq")]
    assert sorted(s.get("id") for s in answers) == ["p1", "p2"]
    assert all(s.get("type") == "result" for s in answers), [ET.tostring(s) for s in answers]
    ids = {read_xml(s, c.PrintJobResponse).job.job_id for s in answers}
    assert len(ids) == 1
    assert len(await rows(stream, "jobs")) == 1
    assert len(await rows(stream, "documents")) == 1
    assert len(spooled(stream)) == 1


async def test_the_key_is_the_owners_alone(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    alices = await created(stream, ALICE, print_job())
    bobs = await created(stream, BOB, print_job())
    assert bobs.job.job_id != alices.job.job_id
    assert bobs.job.job_originating_user_name == "bob@localhost"
    owners = sorted(str(r["owner"]) for r in await rows(stream, "jobs"))
    assert owners == ["alice@localhost", "bob@localhost"]


async def test_a_key_used_for_another_request_is_refused(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    first = await created(stream, ALICE, print_job())
    before = await stream.snapshot()
    for other in (
        print_job(job_name="another report"),
        print_job(document_data=b"%PDF-1.7 two", document_digest=None),
        c.CreateJob(printer_name="office", job_name="report", idempotency_key=KEY),
        print_job(job_ticket=JobTicket(copies=2)),
    ):
        error = await stream.refused(ALICE, other)
        assert isinstance(error, NotPossible), error
        assert f"job {first.job.job_id}" in error.message
    assert await stream.snapshot() == before


async def test_the_retry_gets_the_job_even_when_the_queue_refuses_new_ones_by_now(
    stream: Stream,
) -> None:
    await register(stream, MGR1, DEVICE, "office")
    first = await created(stream, ALICE, print_job())
    disabled, _ = await stream.iq(ADMIN, a.DisableService(printer_name="office"))
    assert disabled.get("type") == "result"
    again = await created(stream, ALICE, print_job())
    assert again.job.job_id == first.job.job_id
    # A new key is a new job, which the queue now refuses.
    error = await stream.refused(ALICE, print_job(key="another-key"))
    assert isinstance(error, NotAcceptingJobs)


async def test_the_jobs_events_go_to_the_session_that_asked_again(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    first = await created(stream, ALICE, print_job())
    await created(stream, "alice@localhost/other-laptop", print_job())
    job = await stream.ctx.jobs.get(first.job.job_id)
    assert job is not None and job.notify_jid == "alice@localhost/other-laptop"
