"""The job log (seed 000 "Logging", PWG 5110.3 over RFC 5424): every transaction of one
job's life is one record, in order, each once, naming who caused it; a device's request
that changed nothing is a record of its own, a refused one too."""

from __future__ import annotations

import hashlib

from server.jobs import housekeeping
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas.states import JobState
from tests.handlers.conftest import DEVICE, create_job, register
from tests.handlers.stream import ALICE, BOB, MGR1, MGR2, Stream, xml_of
from tests.joblog_format import Record, of_job, read

PDF = b"%PDF-1.4 one page\n" * 40


def records(stream: Stream) -> list[Record]:
    stream.ctx.job_log.flush()
    return read(stream.ctx.settings.job_log_file())


async def print_one(stream: Stream) -> int:
    """A job's whole life, as a manager drives it."""
    await register(stream, MGR1, DEVICE, "office")
    job_id = await create_job(stream, ALICE, "office")
    digest = hashlib.sha256(PDF).hexdigest()
    await stream.iq(
        ALICE,
        c.SendDocument(
            job_id=job_id,
            document_format="application/pdf",
            document_size=len(PDF),
            document_digest=digest,
            document_data=PDF,
        ),
    )
    device = {"output_device_uuid": DEVICE, "job_id": job_id}
    await stream.iq(MGR1, d.FetchJob(**device))
    await stream.iq(MGR1, d.AcknowledgeJob(**device, output_device_job_id=7))
    await stream.iq(MGR1, d.FetchDocument(**device, document_number=1, document_data_accepted=True))
    await stream.iq(MGR1, d.AcknowledgeDocument(**device, document_number=1))
    await stream.iq(MGR1, d.UpdateJobState(**device, job_state=JobState.PROCESSING))
    await stream.iq(
        MGR1,
        d.UpdateJobState(
            **device,
            job_state=JobState.COMPLETED,
            job_impressions_completed=3,
            job_media_sheets_completed=2,
        ),
    )
    return job_id


async def test_every_transaction_of_a_job_is_one_record_in_order(stream: Stream) -> None:
    job_id = await print_one(stream)
    life = of_job(records(stream), job_id)
    assert [r.event for r in life] == [
        "job-created",
        "document-received",
        "job-fetchable",
        "job-fetched",
        "job-acknowledged",
        "document-fetched",
        "document-acknowledged",
        "job-state-changed",
        "job-completed",
    ]
    by_event = {r.event: r for r in life}
    created = by_event["job-created"].params
    assert created["Operation"] == "CreateJob" and created["UserName"] == "alice@localhost"
    assert created["JobOriginatingUserName"] == "alice@localhost"
    assert created["ServiceName"] == "office" and created["JobState"] == "pending"
    received = by_event["document-received"].params
    assert received["Operation"] == "SendDocument"
    assert received["DocumentOctets"] == str(len(PDF))
    assert received["DocumentFormat"] == "application/pdf"
    fetched = by_event["document-fetched"].params
    assert fetched["DocumentAccess"] == "inline" and fetched["StatusCode"] == "successful-ok"
    assert by_event["job-acknowledged"].params["DeviceUUID"] == DEVICE
    assert by_event["job-acknowledged"].params["OutputDeviceJobID"] == "7"
    done = by_event["job-completed"]
    assert done.params["Operation"] == "UpdateJobState"
    assert done.params["UserName"] == "mgr1@localhost"
    assert done.params["JobState"] == "completed"
    assert done.params["JobImpressionsCompleted"] == "3"
    assert done.params["JobMediaSheetsCompleted"] == "2"
    assert done.params["JobKOctets"] == "1"  # 720 octets, rounded up
    assert done.params["NumberOfDocuments"] == "1"
    # lpr (6) and informational (6): PRI 54; the service's own name as APP-NAME.
    assert {r.pri for r in life} == {54}
    assert {r.app for r in life} == {"cirrus-service"}


async def test_device_requests_without_a_job_are_records_too(stream: Stream) -> None:
    await print_one(stream)
    events = [r.event for r in records(stream) if "JobID" not in r.params]
    assert "device-registered" in events


async def test_a_refused_device_request_is_a_warning(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    job_id = await create_job(stream, ALICE, "office")  # incoming: not fetchable yet
    await stream.refused(MGR1, d.FetchJob(output_device_uuid=DEVICE, job_id=job_id))
    await stream.refused(MGR2, d.FetchJob(output_device_uuid=DEVICE, job_id=job_id))
    refused = [r for r in of_job(records(stream), job_id) if r.event == "job-fetched"]
    assert [r.params["StatusCode"] for r in refused] == [
        "client-error-not-fetchable",
        "client-error-not-authorized",
    ]
    assert [r.params["UserName"] for r in refused] == ["mgr1@localhost", "mgr2@localhost"]
    assert {r.pri for r in refused} == {6 * 8 + 4}  # lpr, warning


async def test_a_cancel_names_its_user(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    job_id = await create_job(stream, ALICE, "office")
    await stream.iq(ALICE, c.CancelJob(job_id=job_id))
    done = [r for r in of_job(records(stream), job_id) if r.event == "job-completed"]
    assert len(done) == 1
    assert done[0].params["Operation"] == "CancelJob"
    assert done[0].params["JobState"] == "canceled"
    assert done[0].params["UserName"] == "alice@localhost"


async def test_the_services_own_change_names_the_service(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    job_id = await create_job(stream, ALICE, "office")  # no document ever comes
    await housekeeping.sweep(stream.ctx, now=stream.ctx.now() + 3600)
    done = [r for r in of_job(records(stream), job_id) if r.event == "job-completed"]
    assert [(r.params["Operation"], r.params["UserName"]) for r in done] == [
        ("-", "print.localhost")
    ]
    assert done[0].params["JobState"] == "aborted" and done[0].pri == 6 * 8 + 4


async def test_a_group_commit_names_each_members_own_request(stream: Stream) -> None:
    """Requests that commit together (one member's task runs every member's after-commit
    callbacks) are each recorded with their own operation and user."""
    await register(stream, MGR1, DEVICE, "office")
    senders = [ALICE, BOB, ALICE, BOB, ALICE, BOB]
    jobs = [await create_job(stream, who, "office") for who in senders]
    raw = "".join(
        f"<iq type='set' id='g{job}' from='{who}' to='print.localhost'>"
        f"{xml_of(c.CancelJob(job_id=job))}</iq>"
        for job, who in zip(jobs, senders, strict=True)
    )
    commits = 0
    hop = stream.ctx.db._hop

    async def counted(sql: str) -> None:
        nonlocal commits
        commits += sql == "COMMIT"
        await hop(sql)

    stream.ctx.db._hop = counted  # type: ignore[method-assign]
    await stream.feed(raw)  # one read: the six are dispatched together
    assert commits < len(jobs)  # some of them did commit together
    ended = [r for r in records(stream) if r.event == "job-completed"]
    assert len(ended) == 6
    for record in ended:
        assert record.params["Operation"] == "CancelJob"
        assert record.params["UserName"] == record.params["JobOriginatingUserName"]
