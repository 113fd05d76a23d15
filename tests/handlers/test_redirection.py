"""Remedial redirection over a fake stream: a device's abort for a reason the queue lists
sends the job to the queue's other devices (ticket unchanged, reasons and message say
so, the submitter hears it); not for other reasons, not a partly printed job, not more
than redirect-max times, never back to a device that gave it up; a device offline
longer than redirect-time that never got the job's data loses it to the others."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from server.devices import dispatch, redirection
from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas.groups import JobTicket, QueueConfiguration
from stanzas.namespace import qname
from stanzas.states import JobState
from tests.handlers.stream import ADMIN, MGR1, MGR2, Stream
from tests.handlers.test_fan_out import DEVICE, DEVICE2, offers, print_job, take, two_devices


@pytest.fixture(autouse=True)
def no_race_round(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatch, "RACE_DELAY", 3600.0)


async def configure(stream: Stream, **config: object) -> None:
    answer, _ = await stream.iq(
        ADMIN,
        a.SetServiceElements(printer_name="office", configuration=QueueConfiguration(**config)),  # type: ignore[arg-type]
    )
    assert answer.get("type") == "result", ET.tostring(answer)


def events(pushes: list[ET.Element]) -> list[c.JobEvent]:
    return [c.JobEvent.from_xml(e) for p in pushes for e in p.iter(qname(c.JobEvent.ELEMENT))]


async def taken_by_first(stream: Stream, ticket: JobTicket | None = None) -> tuple[int, str, str]:
    """A job, taken by the device it is offered to: (job, its device, the other)."""
    job_id, offered = await print_job(stream, ticket)
    ((device, _ids),) = offered.items()
    await take(stream, MGR1 if device == DEVICE else MGR2, device, job_id)
    return job_id, device, DEVICE2 if device == DEVICE else DEVICE


def sender_of(device: str) -> str:
    return MGR1 if device == DEVICE else MGR2


async def abort(
    stream: Stream, device: str, job_id: int, reasons: list[str], impressions: int = 0
) -> list[ET.Element]:
    answer, pushes = await stream.iq(
        sender_of(device),
        d.UpdateJobState(
            output_device_uuid=device,
            job_id=job_id,
            job_state=JobState.ABORTED,
            job_state_reasons=reasons,
            job_state_message="Paper jam in tray 2",
            job_impressions_completed=impressions,
        ),
    )
    assert answer.get("type") == "result"
    return pushes


async def test_an_abort_the_queue_redirects_goes_to_another_device(stream: Stream) -> None:
    await two_devices(stream)
    await configure(stream, redirect_reasons=["media-jam"])
    ticket = JobTicket(copies=2, sides="one-sided")
    job_id, first, other = await taken_by_first(stream, ticket)
    pushes = await abort(stream, first, job_id, ["aborted-by-system", "media-jam-error"])
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.PENDING and job.is_fetchable
    assert job.output_device_uuid is None and job.redirect_count == 1
    assert job.job_ticket == ticket  # the user's intent unchanged
    assert redirection.JOB_REDIRECTED in job.job_state_reasons
    assert "redirected" in job.job_state_message and "media-jam" in job.job_state_message
    # The submitter hears it, and the other device is offered the job.
    (event,) = [e for e in events(pushes) if e.job.job_id == job_id]
    assert redirection.JOB_REDIRECTED in event.job.job_state_reasons
    assert offers(pushes) == {other: [job_id]}
    # The device that gave it up may not take it back.
    refused = await stream.refused(
        sender_of(first), d.FetchJob(output_device_uuid=first, job_id=job_id)
    )
    assert "gave job" in refused.message
    await take(stream, sender_of(other), other, job_id)
    answer, _ = await stream.iq(
        sender_of(other),
        d.UpdateJobState(output_device_uuid=other, job_id=job_id, job_state=JobState.COMPLETED),
    )
    assert answer.get("type") == "result"
    done = await stream.ctx.jobs.get(job_id)
    assert done is not None and done.job_state == JobState.COMPLETED
    assert done.output_device_assigned == ("office" if other == DEVICE else "office-2")


async def test_what_is_not_redirected_ends_aborted(stream: Stream) -> None:
    await two_devices(stream)
    await configure(stream, redirect_reasons=["media-jam"], redirect_max=1)
    # A reason the queue does not list.
    job_id, first, _other = await taken_by_first(stream)
    await abort(stream, first, job_id, ["aborted-by-system", "document-format-error"])
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.ABORTED
    # A job partly printed.
    job_id, first, _other = await taken_by_first(stream)
    await abort(stream, first, job_id, ["media-jam"], impressions=3)
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.ABORTED
    # Redirected once (redirect-max 1): the second abort stands.
    job_id, first, other = await taken_by_first(stream)
    await abort(stream, first, job_id, ["media-jam"])
    await take(stream, sender_of(other), other, job_id)
    await abort(stream, other, job_id, ["media-jam"])
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.ABORTED and job.redirect_count == 1


async def test_a_partly_printed_job_is_redirected_where_the_queue_allows_it(
    stream: Stream,
) -> None:
    await two_devices(stream)
    await configure(stream, redirect_reasons=["media-jam"], redirect_partial=True)
    job_id, first, _other = await taken_by_first(stream)
    await abort(stream, first, job_id, ["media-jam"], impressions=3)
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.PENDING
    assert job.job_impressions_completed == 0  # the next device prints it whole


async def test_a_device_offline_too_long_loses_a_job_it_never_got_the_data_of(
    stream: Stream,
) -> None:
    await two_devices(stream)
    await configure(stream, redirect_time=60)
    job_id, first, other = await taken_by_first(stream)
    fetched_id, fetched_by, _ = await taken_by_first(stream)
    answer, _ = await stream.iq(
        sender_of(fetched_by),
        d.FetchDocument(
            output_device_uuid=fetched_by,
            job_id=fetched_id,
            document_number=1,
            document_data_accepted=True,
        ),
    )
    assert answer.get("type") == "result"
    ctx = stream.ctx
    now = ctx.now()
    for uuid in (DEVICE, DEVICE2):  # both went away a while ago
        device = await ctx.devices.get(uuid)
        assert device is not None
        await ctx.devices.update(device, time_offline=now - 30)
    await redirection.offline_sweep(ctx, now)
    assert (await ctx.jobs.get(job_id)).output_device_uuid == first  # type: ignore[union-attr]
    mark = stream.mark()
    await redirection.offline_sweep(ctx, now + 40)  # 70 s offline
    moved = await ctx.jobs.get(job_id)
    assert moved is not None and moved.output_device_uuid is None and moved.is_fetchable
    assert "offline" in moved.job_state_message and moved.redirected_from == (first,)
    # The one whose data it fetched may be printing: it stays.
    kept = await ctx.jobs.get(fetched_id)
    assert kept is not None and kept.output_device_uuid == fetched_by
    assert [e.job.job_id for e in events(await stream.since(mark))] == [job_id]
    assert other  # the other device is offline too: the job waits for it
