"""Manager pieces without a network: the state roll-up and the IPP submission turns
(the held-jobs journal: test_held_jobs.py)."""

from __future__ import annotations

import asyncio

from manager.drivers.base import DeviceJobStatus, DeviceStatus
from manager.drivers.ipp import IppDriver, _Job, _SubmitTurns
from manager.status import cloud_report


def test_processing_on_a_stopped_printer_is_processing_stopped() -> None:
    state, reasons, message = cloud_report(
        DeviceJobStatus(1, "processing", ("job-printing",)),
        DeviceStatus("stopped", ("media-empty-error",), "Load paper in tray 1"),
    )
    assert state == "processing-stopped"
    assert "printer-stopped" in reasons and "job-printing" in reasons
    assert "media-empty-error" in message and "Load paper" in message


def test_device_reasons_that_are_not_keywords_are_dropped() -> None:
    state, reasons, _ = cloud_report(
        DeviceJobStatus(1, "completed", ("Bad Reason!", "job-completed-successfully")), None
    )
    assert state == "completed"
    assert reasons == ["job-completed-successfully"]


def test_queued_on_the_device_reads_as_pending_job_queued() -> None:
    state, reasons, _ = cloud_report(DeviceJobStatus(1, "pending", ("none",)), DeviceStatus("idle"))
    assert (state, reasons) == ("pending", ["job-queued"])


async def test_submission_turns_pass_in_order_and_a_forgotten_one_expires() -> None:
    turns = _SubmitTurns(lease=0.3)
    first = await turns.take()
    order: list[str] = []

    async def waiter(name: str) -> int:
        turn = await turns.take()
        order.append(name)
        return turn

    second = asyncio.create_task(waiter("second"))
    await asyncio.sleep(0.05)
    third = asyncio.create_task(waiter("third"))
    await asyncio.sleep(0.05)
    assert not second.done() and not third.done()
    turns.give_back(first)
    second_turn = await second
    turns.give_back(first)  # a stale turn gives nothing back
    await asyncio.sleep(0.05)
    assert not third.done()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with turns.in_use(second_turn):  # a holder inside a driver call keeps its turn
        await asyncio.sleep(0.5)
        assert not third.done()
    third_turn = await third  # idle for the lease: taken over
    assert 0.25 <= loop.time() - started - 0.5 < 1.0
    assert order == ["second", "third"] and turns.holder == third_turn
    turns.give_back(second_turn)  # the one that lost it cannot give back the new turn
    assert turns.holder == third_turn
    turns.give_back(third_turn)
    assert turns.holder is None


def test_a_job_split_over_device_jobs_reports_their_summed_counts() -> None:
    """A multi-document job on a single-document printer is several device jobs; the
    impressions and sheets the manager reports are theirs added up (for the job log)."""
    job = _Job(ticket=None, device_ids=[3, 4], last_sent=True)
    parts = [
        DeviceJobStatus(3, "completed", job_impressions_completed=2, job_media_sheets_completed=1),
        DeviceJobStatus(4, "completed", job_impressions_completed=3, job_media_sheets_completed=2),
    ]
    combined = IppDriver._combine(3, job, parts)
    assert combined.job_state == "completed"
    assert (combined.job_impressions_completed, combined.job_media_sheets_completed) == (5, 3)
