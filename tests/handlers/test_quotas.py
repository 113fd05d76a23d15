"""Accounting and quotas over the handler tier: usage by user and queue from the jobs
that ended, a job over its quota held (account-limit-reached) or refused as the queue
says, and released when an administrator raises the quota or the period resets."""

from __future__ import annotations

from typing import Any

from server.admin.chat import ChatBot
from server.jobs import housekeeping
from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas import operating_ops as o
from stanzas.groups import JobTicket, QueueConfiguration
from stanzas.states import JobState
from stanzas.states import JobStateReason as R
from tests.handlers.conftest import DEVICE, register
from tests.handlers.stream import ADMIN, ALICE, BOB, MGR1, OPERATOR, Stream
from tests.handlers.test_job_log import records
from tests.joblog_format import PWG_SD_ID

PDF = b"%PDF-1.4 quota\n" * 10


async def printed(stream: Stream, sender: str, impressions: int, sheets: int) -> int:
    """A job of `sender` printed to its end on office, with these counts."""
    answer, _ = await stream.iq(
        sender,
        c.PrintJob(printer_name="office", document_format="application/pdf", document_data=PDF),
    )
    job_id = c.PrintJobResponse.from_xml(answer[0]).job.job_id
    await finish(stream, job_id, impressions, sheets)
    return job_id


async def finish(stream: Stream, job_id: int, impressions: int, sheets: int) -> None:
    device = {"output_device_uuid": DEVICE, "job_id": job_id}
    await stream.iq(MGR1, d.FetchJob(**device))
    await stream.iq(MGR1, d.AcknowledgeJob(**device, output_device_job_id=job_id))
    answer, _ = await stream.iq(
        MGR1,
        d.UpdateJobState(
            **device,
            job_state=JobState.COMPLETED,
            job_impressions_completed=impressions,
            job_media_sheets_completed=sheets,
        ),
    )
    assert d.UpdateJobStateResponse.from_xml(answer[0]).job_state == JobState.COMPLETED


async def job_of(stream: Stream, job_id: int) -> Any:
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None
    return job


async def create(stream: Stream, sender: str = ALICE) -> c.CreateJobResponse:
    answer, _ = await stream.iq(sender, c.CreateJob(printer_name="office"))
    assert answer.get("type") == "result", answer
    return c.CreateJobResponse.from_xml(answer[0])


async def set_quota(stream: Stream, **values: Any) -> o.QuotasResponse:
    answer, _ = await stream.iq(ADMIN, o.SetQuota(**values))
    assert answer.get("type") == "result", answer
    return o.QuotasResponse.from_xml(answer[0])


async def test_usage_sums_the_ended_jobs_by_user_and_by_queue(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    await printed(stream, ALICE, impressions=3, sheets=2)
    await printed(stream, ALICE, impressions=4, sheets=4)
    await printed(stream, BOB, impressions=1, sheets=1)
    await create(stream, BOB)  # not ended: not in the usage yet
    answer, _ = await stream.iq(OPERATOR, o.GetUsage(), "get")
    usage = o.UsageResponse.from_xml(answer[0])
    rows = {r.name: r for r in usage.usage}
    assert set(rows) == {"alice@localhost", "bob@localhost"}
    alice = rows["alice@localhost"]
    assert (alice.jobs, alice.documents, alice.impressions, alice.sheets) == (2, 2, 7, 6)
    assert alice.octets == 2 * len(PDF)
    answer, _ = await stream.iq(OPERATOR, o.GetUsage(usage_by=o.UsageBy.QUEUE), "get")
    (office,) = o.UsageResponse.from_xml(answer[0]).usage
    assert (office.name, office.jobs, office.impressions) == ("office", 3, 8)
    # A period before any of it: nothing.
    answer, _ = await stream.iq(OPERATOR, o.GetUsage(since=1, until=2), "get")
    assert o.UsageResponse.from_xml(answer[0]).usage == []
    # Users may not read it.
    error = await stream.refused(ALICE, o.GetUsage())
    assert error.status == "client-error-not-authorized"


async def test_over_its_quota_a_job_is_held_then_released_when_the_quota_is_raised(
    stream: Stream,
) -> None:
    await register(stream, MGR1, DEVICE, "office")
    await printed(stream, ALICE, impressions=5, sheets=5)
    quotas = await set_quota(
        stream,
        subject_kind="user",
        subject="alice@localhost",
        quota_period="monthly",
        impression_limit=5,
    )
    (status,) = quotas.quota
    assert (status.impressions_used, status.impression_limit) == (5, 5)
    held = (await create(stream)).job
    assert held.job_state == JobState.PENDING_HELD
    assert R.ACCOUNT_LIMIT_REACHED in held.job_state_reasons
    assert "5 of 5 impressions" in (held.job_state_message or "")
    other = (await create(stream, BOB)).job  # bob has no quota
    assert other.job_state == JobState.PENDING
    raised = await set_quota(
        stream,
        subject_kind="user",
        subject="alice@localhost",
        quota_period="monthly",
        impression_limit=50,
    )
    assert raised.released_job_ids == [held.job_id]
    job = await job_of(stream, held.job_id)
    assert (
        job.job_state == JobState.PENDING and R.ACCOUNT_LIMIT_REACHED not in job.job_state_reasons
    )
    events = [r.event for r in records(stream) if r.params.get("JobID") == str(held.job_id)]
    assert events == ["job-created", "job-state-changed"]


async def test_a_queue_that_refuses_says_why_and_creates_nothing(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    await stream.iq(
        ADMIN,
        a.SetServiceElements(
            printer_name="office",
            configuration=QueueConfiguration(quota_exceeded_action="refuse-job"),
        ),
    )
    await set_quota(
        stream, subject_kind="user", subject="alice@localhost", quota_period="daily", job_limit=1
    )
    first = (await create(stream)).job
    assert first.job_state == JobState.PENDING  # the first of one
    before = await stream.snapshot()
    error = await stream.refused(ALICE, c.CreateJob(printer_name="office"))
    assert error.status == "client-error-not-possible"
    assert "1 of 1 jobs" in error.message and "quota" in error.message
    assert await stream.snapshot() == before
    refused = [r for r in records(stream) if r.event == "job-refused"]
    assert len(refused) == 1 and refused[0].params["UserName"] == "alice@localhost"
    assert PWG_SD_ID in refused[0].line


async def test_a_held_job_is_released_when_its_period_resets(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    await printed(stream, ALICE, impressions=2, sheets=2)
    await set_quota(
        stream,
        subject_kind="user",
        subject="alice@localhost",
        quota_period="daily",
        impression_limit=2,
    )
    held = (await create(stream)).job
    assert held.job_state == JobState.PENDING_HELD
    await housekeeping.sweep(stream.ctx)  # the same day: still held
    assert (await job_of(stream, held.job_id)).job_state == JobState.PENDING_HELD
    quotas = stream.ctx.quotas
    tomorrow = stream.ctx.clock() + 86400 + 3600
    quotas.clock = lambda: tomorrow
    assert quotas.due()
    await housekeeping.sweep(stream.ctx)
    job = await job_of(stream, held.job_id)
    assert job.job_state == JobState.PENDING
    assert job.job_state_message == "released: within the quota again"


async def test_the_owner_cannot_release_a_quota_hold(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    await set_quota(
        stream, subject_kind="user", subject="alice@localhost", quota_period="weekly", job_limit=1
    )
    await create(stream)
    held = (await create(stream)).job
    # Releasing it as a ticket hold would be: it stays held over the quota.
    await stream.iq(
        ALICE, c.SetJobElements(job_id=held.job_id, job_ticket=JobTicket(job_hold_until="no-hold"))
    )
    job = await job_of(stream, held.job_id)
    assert job.job_state == JobState.PENDING_HELD
    assert R.ACCOUNT_LIMIT_REACHED in job.job_state_reasons
    answer, _ = await stream.iq(
        ADMIN,
        o.DeleteQuota(subject_kind="user", subject="alice@localhost", quota_period="weekly"),
    )
    assert o.QuotasResponse.from_xml(answer[0]).released_job_ids == [held.job_id]


async def test_the_chat_bot_sets_quotas_and_answers_usage_as_csv(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    await printed(stream, ALICE, impressions=3, sheets=2)
    bot = ChatBot(stream.ctx)
    answer = await bot.answer(ADMIN, "quota alice@localhost monthly jobs 3 impressions 10")
    assert "alice@localhost" in answer and "1 of 3" in answer and "3 of 10" in answer
    answer = await bot.answer(OPERATOR, "usage by queue csv")
    assert answer.splitlines()[1:] == [
        "```",
        "QUEUE,JOBS,DOCUMENTS,IMPRESSIONS,SHEETS,OCTETS",
        f"office,1,1,3,2,{len(PDF)}",
        "```",
    ]
    answer = await bot.answer(OPERATOR, "quota alice@localhost monthly jobs 30")
    assert "for administrators" in answer
    answer = await bot.answer(ADMIN, "quota alice@localhost yearly jobs 3")
    assert answer.startswith("usage: period is one of daily, weekly, monthly")


class StaffGroups:
    """Groups as issue 13's will answer them: alice and bob are staff, bob also ops."""

    groups = {"staff": ["alice@localhost", "bob@localhost"], "ops": ["bob@localhost"]}

    async def groups_of(self, user: str) -> list[str]:
        return [g for g, members in self.groups.items() if user in members]

    async def all_groups(self) -> dict[str, list[str]]:
        return self.groups


async def test_a_group_quota_counts_every_member_and_usage_goes_by_group(stream: Stream) -> None:
    groups = StaffGroups()
    stream.ctx.groups = stream.ctx.quotas.groups = groups
    await register(stream, MGR1, DEVICE, "office")
    await printed(stream, ALICE, impressions=2, sheets=1)
    await printed(stream, BOB, impressions=3, sheets=3)
    await set_quota(
        stream, subject_kind="group", subject="staff", quota_period="weekly", job_limit=3
    )
    third = (await create(stream, ALICE)).job  # the group's third job: within the quota
    assert third.job_state == JobState.PENDING
    held = (await create(stream, BOB)).job  # the fourth: over it, whoever sends it
    assert held.job_state == JobState.PENDING_HELD
    assert "group staff has used 3 of 3 jobs" in (held.job_state_message or "")
    answer, _ = await stream.iq(OPERATOR, o.GetUsage(usage_by=o.UsageBy.GROUP), "get")
    rows = {r.name: (r.jobs, r.impressions) for r in o.UsageResponse.from_xml(answer[0]).usage}
    assert rows == {"staff": (2, 5), "ops": (1, 3)}
