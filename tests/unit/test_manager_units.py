"""Manager pieces without a network: the held-jobs file and the state roll-up."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from manager import held_jobs
from manager.drivers.base import DeviceJobStatus, DeviceStatus
from manager.drivers.ipp import _SubmitTurns
from manager.held_jobs import HeldJob, HeldJobs, JournalDamaged, Phase
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
    assert not path.with_name(path.name + ".tmp").exists()


def _job(job_id: int, phase: Phase = Phase.CREATED, **more: object) -> HeldJob:
    return HeldJob(
        job_id, "urn:uuid:d", phase, device_job_id=job_id + 100, number_of_documents=1, **more
    )  # type: ignore[arg-type]


def _records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return data[: data.index(b"\0")].splitlines()


def test_each_change_is_one_appended_record_without_a_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    size = path.stat().st_size
    job = held.put(_job(1))
    job = held.advance(job, phase=Phase.ACKNOWLEDGED)
    held.advance(job, phase=Phase.SENDING, documents=(3, 1), last_reasons=("job-printing",))
    held.put(_job(2))
    held.drop(1)
    held.drop(99)  # not held: nothing written
    held.put(held.get(2))  # type: ignore[arg-type]  # the same again: nothing written
    assert held.compactions == 1  # only the one on opening
    assert path.stat().st_size == size  # appends land in the room written ahead
    assert [json.loads(r) for r in _records(path)][-1] == {"drop": 1}
    assert len(_records(path)) == 5
    reopened = HeldJobs(path)
    assert reopened.get(1) is None
    two = reopened.get(2)
    assert two is not None and two.phase == Phase.CREATED and two.device_job_id == 102
    assert len(_records(path)) == 1  # compacted on opening: one put per held job


def test_compaction_when_the_room_is_used_up(tmp_path: Path) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path, segment_bytes=4096)
    for job_id in range(200):
        job = held.put(_job(job_id))
        job = held.advance(job, phase=Phase.SENT, last_state="processing")
        if job_id % 3:
            held.drop(job_id)
    assert held.compactions > 5
    size = path.stat().st_size
    expected = {j: held.get(j) for j in range(200)}
    reopened = HeldJobs(path, segment_bytes=4096)
    assert {j: reopened.get(j) for j in range(200)} == expected
    assert sum(v is not None for v in expected.values()) == 67
    assert all(v.last_state == "processing" for v in expected.values() if v is not None)
    assert len(_records(path)) == 67
    live = sum(len(r) + 1 for r in _records(path))
    assert size <= 2 * live + 8192  # the room stays about twice what is held


@pytest.mark.parametrize(
    "torn", [b'{"put":{"job_id":5,"outp', b'{"put":{"job_id":5,"out\x00\x00}}\n', b'{"dr']
)
def test_a_torn_last_record_is_ignored(tmp_path: Path, torn: bytes) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    job = held.put(_job(4))
    held.advance(job, phase=Phase.SENDING)
    end = path.read_bytes().index(b"\0")
    with path.open("r+b") as f:  # what a crash in the middle of the next write leaves
        f.seek(end)
        f.write(torn)
    reopened = HeldJobs(path)
    four = reopened.get(4)
    assert four is not None and four.phase == Phase.SENDING and reopened.get(5) is None
    reopened.put(_job(5))  # appends after the good records, not after the torn one
    again = HeldJobs(path)
    assert again.get(5) is not None and again.get(4) == four


def test_an_unreadable_last_line_is_torn_but_one_in_the_middle_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    held.put(_job(1))
    end = path.read_bytes().index(b"\0")
    with path.open("r+b") as f:
        f.seek(end)
        f.write(b'{"put":{"job_id":2,"output_device_uuid"\n')  # whole line, cut JSON
    assert HeldJobs(path).get(1) is not None
    with path.open("r+b") as f:
        f.seek(path.read_bytes().index(b"\0"))
        f.write(b'{"put":{"job_id":2\n{"drop":1}\n')
    with pytest.raises(JournalDamaged, match="record 2"):
        HeldJobs(path)


def test_the_earlier_format_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "held-jobs.json"
    old = {
        "job_id": 9,
        "output_device_uuid": "urn:uuid:d",
        "phase": "sending",
        "device_job_id": 3,
        "number_of_documents": 2,
        "documents_sent": 1,
        "last_state": "processing",
        "last_reasons": ["job-printing"],
    }  # written before `documents` existed
    path.write_text(json.dumps([old]))
    held = HeldJobs(path)
    nine = held.get(9)
    assert nine == HeldJob(
        9, "urn:uuid:d", Phase.SENDING, 3, 2, 1, (), "processing", ("job-printing",)
    )
    assert path.read_bytes().startswith(b'{"put":')
    assert HeldJobs(path).get(9) == nine


def test_a_failed_write_changes_nothing_and_the_next_change_rewrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    job = held.put(_job(1))

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fdatasync", broken)
        with pytest.raises(OSError):
            held.advance(job, phase=Phase.SENDING)
    assert held.get(1) == job  # not durable, so not taken as done
    held.advance(job, phase=Phase.ACKNOWLEDGED)
    assert held.compactions == 2  # the unknown state of the file was replaced whole
    one = HeldJobs(path).get(1)
    assert one is not None and one.phase == Phase.ACKNOWLEDGED

    def no_folder_sync(folder: Path) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:  # a rewrite failing after its rename
        patch.setattr(held_jobs, "_fsync_dir", no_folder_sync)
        patch.setattr(held, "_capacity", 0)  # no room left: the change needs a rewrite
        with pytest.raises(OSError):
            held.advance(job, phase=Phase.SENDING)
    assert held.get(1) == one
    held.put(_job(2))  # not into the file that was replaced
    again = HeldJobs(path)
    assert again.get(2) is not None and again.get(1) is not None


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
