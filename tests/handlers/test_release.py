"""Release at the device (pull printing, PWG 5100.11 job-release-action) over a fake
stream: a queue that holds every job until its owner releases it offers nothing to any
device; ReleaseJobs names the device, and the job prints there and nowhere else; only the
owner's jobs, only jobs that wait; an ordinary Release-Job does not let it go; a job
nobody releases in time is aborted; the chat bot and the ad-hoc command serve users too."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from server.admin.chat import ChatBot
from server.devices import dispatch
from server.jobs import housekeeping
from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas.groups import JobTicket, QueueConfiguration
from stanzas.states import JobState
from stanzas.states import JobStateReason as R
from tests.handlers.stream import ADMIN, ALICE, BOB, MGR2, Stream
from tests.handlers.test_adhoc import COMMANDS, STANZAS, command
from tests.handlers.test_fan_out import DEVICE, DEVICE2, offers, print_job, two_devices


@pytest.fixture(autouse=True)
def no_race_round(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dispatch, "RACE_DELAY", 3600.0)


async def release_queue(stream: Stream, **config: object) -> tuple[str, str]:
    """Two devices on `office`, which holds every job for release: their names."""
    await two_devices(stream)
    answer, _ = await stream.iq(
        ADMIN,
        a.SetServiceElements(
            printer_name="office",
            configuration=QueueConfiguration(
                job_release_action_default="owner-authorized",
                **config,  # type: ignore[arg-type]
            ),
        ),
    )
    assert answer.get("type") == "result", ET.tostring(answer)
    names = []
    for uuid in (DEVICE, DEVICE2):
        device = await stream.ctx.devices.get(uuid)
        assert device is not None
        names.append(device.name)
    return names[0], names[1]


async def release(
    stream: Stream, sender: str, at: str, job_ids: list[int] | None = None
) -> tuple[ET.Element, list[ET.Element]]:
    return await stream.iq(sender, c.ReleaseJobs(output_device=at, job_ids=job_ids))


async def test_a_held_job_is_offered_to_no_device_until_released_at_one(stream: Stream) -> None:
    _, second = await release_queue(stream)
    job_id, offered = await print_job(stream)
    assert offered == {}
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.PENDING_HELD
    assert R.JOB_RELEASE_WAIT in job.job_state_reasons and not job.is_fetchable

    answer, pushes = await release(stream, ALICE, second, [job_id])
    assert answer.get("type") == "result", ET.tostring(answer)
    response = c.ReleaseJobsResponse.from_xml(answer[0])
    assert response.job_ids == [job_id] and response.output_device == second
    assert offers(pushes) == {DEVICE2: [job_id]}  # there, and nowhere else
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.PENDING and job.is_fetchable
    assert job.job_ticket.output_device == second
    assert R.JOB_RELEASE_WAIT not in job.job_state_reasons
    # The other device may not have it either when it asks.
    fetchable = await dispatch.fetchable_for(stream.ctx, await stream.ctx.devices.get(DEVICE))  # type: ignore[arg-type]
    assert job_id not in [j.job_id for j in fetchable]


async def test_release_without_job_ids_lets_go_every_job_of_the_senders(stream: Stream) -> None:
    first, _ = await release_queue(stream)
    mine = [(await print_job(stream))[0] for _ in range(2)]
    answer, _ = await stream.iq(
        BOB,
        c.PrintJob(
            printer_name="office", document_data=b"%PDF-1.4 bob", document_format="application/pdf"
        ),
    )
    bobs = c.PrintJobResponse.from_xml(answer[0]).job.job_id
    answer, _ = await release(stream, ALICE, first)
    assert c.ReleaseJobsResponse.from_xml(answer[0]).job_ids == mine
    job = await stream.ctx.jobs.get(bobs)
    assert job is not None and job.job_state == JobState.PENDING_HELD  # not Alice's
    answer, _ = await release(stream, ALICE, first)  # nothing left of hers
    assert c.ReleaseJobsResponse.from_xml(answer[0]).job_ids == []


async def test_only_the_owner_releases_and_only_jobs_that_wait(stream: Stream) -> None:
    first, _ = await release_queue(stream)
    job_id, _ = await print_job(stream)
    answer, _ = await release(stream, BOB, first, [job_id])
    assert answer.get("type") == "error" and b"client-error-not-authorized" in ET.tostring(answer)
    answer, _ = await release(stream, ALICE, "nowhere", [job_id])
    assert answer.get("type") == "error" and b"client-error-not-found" in ET.tostring(answer)
    answer, _ = await release(stream, ALICE, first, [job_id])
    assert answer.get("type") == "result"
    answer, _ = await release(stream, ALICE, first, [job_id])  # it no longer waits
    assert answer.get("type") == "error" and b"client-error-not-possible" in ET.tostring(answer)


async def test_an_ordinary_release_job_does_not_let_it_go(stream: Stream) -> None:
    await release_queue(stream)
    job_id, _ = await print_job(stream, JobTicket(job_hold_until="indefinite"))
    answer, pushes = await stream.iq(
        ALICE, c.SetJobElements(job_id=job_id, delete_elements=["job-hold-until"])
    )
    assert answer.get("type") == "result", ET.tostring(answer)
    assert offers(pushes) == {}
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.PENDING_HELD
    assert list(job.job_state_reasons) == [R.JOB_RELEASE_WAIT]


async def test_a_job_nobody_releases_in_time_is_aborted(stream: Stream) -> None:
    await release_queue(stream, job_release_time_out=60)
    job_id, _ = await print_job(stream)
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None
    await housekeeping.sweep(stream.ctx, now=job.time_last_activity + 59)
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.PENDING_HELD
    await housekeeping.sweep(stream.ctx, now=job.time_last_activity + 61)
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.ABORTED
    assert "job-release-time-out" in job.job_state_message


async def test_a_user_releases_in_chat_and_may_run_nothing_else(stream: Stream) -> None:
    _, second = await release_queue(stream)
    job_id, _ = await print_job(stream)
    bot = ChatBot(stream.ctx)
    assert "client-error-not-authorized" in await bot.answer(BOB, f"release {job_id} at {second}")
    reply = await bot.answer(ALICE, f"release {job_id} at {second}")
    assert f"released at {second}: job {job_id}" in reply
    assert "Sorry" in await bot.answer(ALICE, "pause office")
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.job_state == JobState.PENDING
    assert job.job_ticket.output_device == second


async def test_a_user_may_start_the_release_command_but_no_other(stream: Stream) -> None:
    await release_queue(stream)
    out = await stream.feed(command(ALICE, "release"))
    assert out[0].get("type") == "result", ET.tostring(out[0])
    form = out[0].find(f"{{{COMMANDS}}}command")
    assert form is not None and form.get("status") == "executing"
    out = await stream.feed(command(ALICE, "pause"))
    assert out[0].find(f".//{{{STANZAS}}}forbidden") is not None


async def test_a_device_is_not_given_a_job_released_at_another(stream: Stream) -> None:
    first, _ = await release_queue(stream)
    job_id, _ = await print_job(stream)
    await release(stream, ALICE, first, [job_id])
    answer, _ = await stream.iq(MGR2, d.FetchJob(output_device_uuid=DEVICE2, job_id=job_id))
    assert answer.get("type") == "error", ET.tostring(answer)
