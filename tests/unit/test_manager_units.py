"""Manager pieces without a network: the held-jobs file and the state roll-up."""

from __future__ import annotations

from pathlib import Path

from manager.drivers.base import DeviceJobStatus, DeviceStatus
from manager.held_jobs import HeldJob, HeldJobs, Phase
from manager.status import cloud_report


def test_held_jobs_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    job = held.put(HeldJob(7, "urn:uuid:d", Phase.CREATED, device_job_id=3, number_of_documents=2))
    held.advance(job, phase=Phase.SENDING, documents_sent=1)
    reopened = HeldJobs(path)
    again = reopened.get(7)
    assert again is not None
    assert again.phase == Phase.SENDING and again.documents_sent == 1 and again.device_job_id == 3
    reopened.drop(7)
    assert HeldJobs(path).get(7) is None
    assert not path.with_suffix(".tmp").exists()


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
