"""'Fetchable' has one definition: a job closed while a document's data is still on its
way (a document by reference being fetched) is not fetchable, so it is neither listed
(GetFetchableJobs, the resync answer) nor named in a work notification, and FetchJob
refuses it; once the data is in, it is all three."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from server.jobs import closing
from server.stores.documents import Document
from stanzas import admin_ops as a
from stanzas import device_ops as d
from stanzas.errors import NotFetchable
from stanzas.namespace import qname
from stanzas.states import DocumentState, JobState
from stanzas.states import JobStateReason as R
from tests.handlers.conftest import DEVICE, create_job, register
from tests.handlers.stream import ALICE, MGR1, OPERATOR, Stream


def named_in_pushes(pushes: list[ET.Element], job_id: int) -> bool:
    """Whether a work notification among the pushes names the job as fetchable."""
    for push in pushes:
        for note in push.iter(qname(d.WorkNotification.ELEMENT)):
            if job_id in d.WorkNotification.from_xml(note).fetchable_job_ids:
                return True
    return False


async def close_awaiting_data(stream: Stream, job_id: int) -> None:
    """SendUri's effect without its fetch: the job is closed with one document by
    reference whose data has not arrived."""
    ctx = stream.ctx
    async with ctx.db.transaction():
        job = await ctx.jobs.get(job_id)
        assert job is not None
        await ctx.documents.insert(
            Document(
                job_id=job_id,
                document_number=1,
                document_name="report.pdf",
                document_format="application/pdf",
                document_state=DocumentState.PENDING,
                document_state_reasons=(R.NONE,),
                document_state_message="",
                document_size=0,
                document_digest="",
                spool_name=None,
                last_document=True,
                time_at_creation=ctx.now(),
                document_uri="http://printing.example/report.pdf",
            )
        )
        await closing.close_or_count(ctx, job, True, 1)
    await stream.quiet()


async def listed(stream: Stream) -> list[int]:
    answer, _ = await stream.iq(MGR1, d.GetFetchableJobs(output_device_uuid=DEVICE), "get")
    return [j.job_id for j in d.GetFetchableJobsResponse.from_xml(answer[0]).job]


async def test_a_job_awaiting_its_document_data_is_neither_listed_nor_notified(
    stream: Stream,
) -> None:
    await register(stream, MGR1, DEVICE, "office")
    job_id = await create_job(stream, ALICE, "office")
    await close_awaiting_data(stream, job_id)
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.is_closed and job.job_state == JobState.PENDING
    assert R.JOB_INCOMING in job.job_state_reasons and not job.is_fetchable
    assert await listed(stream) == []
    assert await stream.ctx.jobs.list_fetchable("office") == []
    resync, _ = await stream.iq(MGR1, d.UpdateFetchableJobs(output_device_uuid=DEVICE))
    assert d.UpdateFetchableJobsResponse.from_xml(resync[0]).fetchable_job_ids == []
    # A queue that hands out work again tells its device of every waiting job.
    await stream.iq(OPERATOR, a.PauseService(printer_name="office"))
    _, pushes = await stream.iq(OPERATOR, a.ResumeService(printer_name="office"))
    assert not named_in_pushes(pushes, job_id)
    refused = await stream.refused(MGR1, d.FetchJob(output_device_uuid=DEVICE, job_id=job_id))
    assert refused.status == NotFetchable.status

    # The data arrives: now it is fetchable, listed and announced.
    ctx = stream.ctx
    mark = stream.mark()
    async with ctx.db.transaction():
        document = await ctx.documents.get(job_id, 1)
        assert document is not None
        await ctx.documents.update(document, spool_name="1-1", document_size=3)
        job = await ctx.jobs.get(job_id)
        assert job is not None
        await closing.release_if_complete(ctx, job)
    pushes = await stream.since(mark)  # what the commit set going
    assert named_in_pushes(pushes, job_id)
    assert await listed(stream) == [job_id]
