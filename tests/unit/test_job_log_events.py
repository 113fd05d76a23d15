"""The event (MSGID) a committed change of a job is logged as: the changes no
handler-tier test of main reaches yet (a queue change, a device giving a job back, a
progress report) are told apart here from the job's two snapshots."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.joblog.recorder import classify
from server.stores.jobs import Job
from stanzas.groups import JobTicket
from stanzas.states import JobState

PENDING = Job(
    job_id=1,
    job_uuid="urn:uuid:00000000-0000-4000-8000-000000000001",
    printer_name="office",
    service_type="print",
    owner="alice@localhost",
    notify_jid=None,
    job_name="report",
    job_ticket=JobTicket(),
    job_priority=50,
    job_state=JobState.PENDING,
    job_state_reasons=(),
    job_state_message="",
    is_closed=True,
    cancel_requested=None,
    output_device_uuid=None,
    output_device_job_id=None,
    output_device_job_state=None,
    job_impressions_completed=0,
    number_of_documents=1,
    time_at_creation=1,
    time_at_processing=None,
    time_at_completed=None,
    is_fetchable=True,
)
HELD = replace(PENDING, output_device_uuid="urn:uuid:dev", output_device_job_id=7)
PRINTING = replace(HELD, job_state=JobState.PROCESSING)


@pytest.mark.parametrize(
    ("before", "after", "event"),
    [
        (None, PENDING, "job-created"),
        (replace(PENDING, is_fetchable=False), PENDING, "job-fetchable"),
        (PENDING, HELD, "job-acknowledged"),
        (HELD, PENDING, "job-returned"),
        (PENDING, replace(PENDING, printer_name="lobby"), "job-redirected"),
        (HELD, PRINTING, "job-state-changed"),
        (PRINTING, replace(PRINTING, job_impressions_completed=2), "job-progress"),
        (PRINTING, replace(PRINTING, job_media_sheets_completed=1), "job-progress"),
        (PRINTING, replace(PRINTING, job_state=JobState.COMPLETED), "job-completed"),
        (PENDING, replace(PENDING, job_state=JobState.CANCELED), "job-completed"),
        (PENDING, replace(PENDING, job_priority=60), "job-updated"),
    ],
)
def test_a_change_is_logged_as_its_event(before: Job | None, after: Job, event: str) -> None:
    assert classify(before, after) == event
