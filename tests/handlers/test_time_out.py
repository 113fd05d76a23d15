"""The multiple-operation time-out goes through the job state machine like every other
change: the job closes with what arrived, and its owner hears why in the same JobEvent."""

from __future__ import annotations

import hashlib

from server.jobs import housekeeping
from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas.groups import QueueConfiguration
from stanzas.namespace import qname
from tests.handlers.conftest import DEVICE, create_job, register
from tests.handlers.stream import ADMIN, ALICE, MGR1, Stream

DATA = b"%PDF-1.7 one page"


async def test_a_timed_out_job_is_closed_and_its_owner_told_why(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    configure = a.SetServiceElements(
        printer_name="office", configuration=QueueConfiguration(multiple_operation_time_out=60)
    )
    assert (await stream.iq(ADMIN, configure))[0].get("type") == "result"
    job_id = await create_job(stream, ALICE, "office")
    send = c.SendDocument(
        job_id=job_id,
        document_format="application/pdf",
        last_document=False,
        document_data=DATA,
        document_size=len(DATA),
        document_digest=hashlib.sha256(DATA).hexdigest(),
    )
    assert (await stream.iq(ALICE, send))[0].get("type") == "result"
    mark = stream.mark()
    await housekeeping.sweep(stream.ctx, now=stream.ctx.now() + 61)
    pushes = await stream.since(mark)
    events = [
        c.JobEvent.from_xml(e) for push in pushes for e in push.iter(qname(c.JobEvent.ELEMENT))
    ]
    assert [(e.job.job_id, e.job.job_state_reasons) for e in events] == [
        (job_id, ["job-fetchable"])
    ]
    message = events[0].job.job_state_message or ""
    assert "multiple-operation-time-out: process-job" in message
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.is_closed and job.is_fetchable
    assert job.job_state_message == message
