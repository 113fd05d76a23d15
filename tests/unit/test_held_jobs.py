"""The held-jobs journal: replay, compaction, torn records, and its group commit."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from manager import held_jobs
from manager.held_jobs import HeldJob, HeldJobs, JournalDamaged, Phase


async def test_held_jobs_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    job = await held.put(
        HeldJob(7, "urn:uuid:d", Phase.CREATED, device_job_id=3, number_of_documents=2)
    )
    await held.advance(job, phase=Phase.SENDING, documents_sent=1)
    reopened = HeldJobs(path)
    again = reopened.get(7)
    assert again is not None
    assert again.phase == Phase.SENDING and again.documents_sent == 1 and again.device_job_id == 3
    await reopened.drop(7)
    assert HeldJobs(path).get(7) is None
    assert not path.with_name(path.name + ".tmp").exists()


def _job(job_id: int, phase: Phase = Phase.CREATED, **more: object) -> HeldJob:
    return HeldJob(
        job_id,
        "urn:uuid:d",
        phase,
        device_job_id=job_id + 100,
        number_of_documents=1,
        **more,  # type: ignore[arg-type]
    )


def _records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return data[: data.index(b"\0")].splitlines()


async def test_each_change_is_one_appended_record_without_a_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    size = path.stat().st_size
    job = await held.put(_job(1))
    job = await held.advance(job, phase=Phase.ACKNOWLEDGED)
    await held.advance(job, phase=Phase.SENDING, documents=(3, 1), last_reasons=("job-printing",))
    await held.put(_job(2))
    await held.drop(1)
    await held.drop(99)  # not held: nothing written
    await held.put(held.get(2))  # type: ignore[arg-type]  # the same again: nothing written
    assert held.compactions == 1  # only the one on opening
    assert path.stat().st_size == size  # appends land in the room written ahead
    assert [json.loads(r) for r in _records(path)][-1] == {"drop": 1}
    assert len(_records(path)) == 5
    reopened = HeldJobs(path)
    assert reopened.get(1) is None
    two = reopened.get(2)
    assert two is not None and two.phase == Phase.CREATED and two.device_job_id == 102
    assert len(_records(path)) == 1  # compacted on opening: one put per held job


async def test_compaction_when_the_room_is_used_up(tmp_path: Path) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path, segment_bytes=4096)
    for job_id in range(200):
        job = await held.put(_job(job_id))
        job = await held.advance(job, phase=Phase.SENT, last_state="processing")
        if job_id % 3:
            await held.drop(job_id)
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
async def test_a_torn_last_record_is_ignored(tmp_path: Path, torn: bytes) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    job = await held.put(_job(4))
    await held.advance(job, phase=Phase.SENDING)
    end = path.read_bytes().index(b"\0")
    with path.open("r+b") as f:  # what a crash in the middle of the next write leaves
        f.seek(end)
        f.write(torn)
    reopened = HeldJobs(path)
    four = reopened.get(4)
    assert four is not None and four.phase == Phase.SENDING and reopened.get(5) is None
    await reopened.put(_job(5))  # appends after the good records, not after the torn one
    again = HeldJobs(path)
    assert again.get(5) is not None and again.get(4) == four


async def test_an_unreadable_last_line_is_torn_but_one_in_the_middle_is_damage(
    tmp_path: Path,
) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    await held.put(_job(1))
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


async def test_a_failed_write_changes_nothing_and_the_next_change_rewrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    job = await held.put(_job(1))

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fdatasync", broken)
        with pytest.raises(OSError):
            await held.advance(job, phase=Phase.SENDING)
    assert held.get(1) == job  # not durable, so not taken as done
    await held.advance(job, phase=Phase.ACKNOWLEDGED)
    assert held.compactions == 2  # the unknown state of the file was replaced whole
    one = HeldJobs(path).get(1)
    assert one is not None and one.phase == Phase.ACKNOWLEDGED

    def no_folder_sync(folder: Path) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:  # a rewrite failing after its rename
        patch.setattr(held_jobs, "_fsync_dir", no_folder_sync)
        patch.setattr(held, "_capacity", 0)  # no room left: the change needs a rewrite
        with pytest.raises(OSError):
            await held.advance(job, phase=Phase.SENDING)
    assert held.get(1) == one
    await held.put(_job(2))  # not into the file that was replaced
    again = HeldJobs(path)
    assert again.get(2) is not None and again.get(1) is not None


class GatedSync:
    """os.fdatasync that counts its calls and, while `held` is set, waits for a release:
    a sync under way for as long as a test needs."""

    def __init__(self) -> None:
        self.real = os.fdatasync
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, fd: int) -> None:
        self.calls += 1
        self.entered.set()
        assert self.release.wait(5)
        self.real(fd)

    def hold(self) -> None:
        self.entered.clear()
        self.release.clear()

    async def entered_sync(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, 5)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> GatedSync:
    gate = GatedSync()
    monkeypatch.setattr(os, "fdatasync", gate)
    return gate


async def test_concurrent_changes_share_one_sync(tmp_path: Path, gate: GatedSync) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    jobs = await asyncio.gather(*(held.put(_job(i)) for i in range(20)))
    assert gate.calls == 1 and held.syncs == 1
    assert [held.get(i) for i in range(20)] == jobs
    assert len(_records(path)) == 20
    await asyncio.gather(*(held.advance(j, phase=Phase.SENT) for j in jobs), held.drop(3))
    assert gate.calls == 2
    reopened = HeldJobs(path)
    assert reopened.get(3) is None and reopened.get(4) == held.get(4)
    assert {j.phase for j in reopened.for_device("urn:uuid:d")} == {Phase.SENT}
    await held.close()


async def test_changes_asked_for_during_a_sync_wait_and_go_out_together(
    tmp_path: Path, gate: GatedSync
) -> None:
    held = HeldJobs(tmp_path / "held.json")
    gate.hold()
    first = asyncio.create_task(held.put(_job(1)))
    await gate.entered_sync()
    # The event loop runs on while the disk is busy; nothing shows before it is durable.
    later = [asyncio.create_task(held.put(_job(i))) for i in range(2, 12)]
    await asyncio.sleep(0.05)
    assert not first.done() and not any(t.done() for t in later)
    assert held.get(1) is None and held.get(2) is None
    gate.release.set()
    await first
    await asyncio.gather(*later)
    assert gate.calls == 2  # one for the first change, one for the ten asked for meanwhile
    assert all(held.get(i) is not None for i in range(1, 12))
    await held.close()


async def test_a_failed_sync_fails_every_waiter_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    jobs = await asyncio.gather(*(held.put(_job(i)) for i in range(5)))

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fdatasync", broken)
        results = await asyncio.gather(
            *(held.advance(j, phase=Phase.SENDING) for j in jobs[:4]),
            held.drop(4),
            held.put(_job(9)),
            return_exceptions=True,
        )
    assert all(isinstance(r, OSError) for r in results)
    assert [held.get(i) for i in range(5)] == jobs and held.get(9) is None
    # The same change asked again is written again: it never became durable.
    await held.advance(jobs[0], phase=Phase.SENDING)
    assert held.compactions == 2  # the file, in an unknown state, was replaced whole
    reopened = HeldJobs(path)
    assert reopened.get(0) is not None and reopened.get(0).phase == Phase.SENDING  # type: ignore[union-attr]
    assert [reopened.get(i) for i in range(1, 5)] == jobs[1:] and reopened.get(9) is None
    await held.close()


async def test_put_then_drop_of_one_job_keep_their_order(tmp_path: Path, gate: GatedSync) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    await asyncio.gather(held.put(_job(1)), held.drop(1))  # one batch
    assert gate.calls == 1 and held.get(1) is None
    # A drop asked for while the put is still being written is not skipped as "not
    # held": it follows the put in the next batch.
    gate.hold()
    put = asyncio.create_task(held.put(_job(2)))
    await gate.entered_sync()
    drop = asyncio.create_task(held.drop(2))
    await asyncio.sleep(0.01)
    gate.release.set()
    await asyncio.gather(put, drop)
    assert gate.calls == 3 and held.get(2) is None
    # The other way round: dropped, then held again.
    job = await held.put(_job(3))
    again = HeldJob(3, "urn:uuid:d", Phase.SENT, device_job_id=7, number_of_documents=1)
    await asyncio.gather(held.drop(3), held.put(again))
    assert held.get(3) == again != job
    await held.close()
    reopened = HeldJobs(path)
    assert reopened.get(1) is None and reopened.get(2) is None and reopened.get(3) == again


async def test_the_same_change_again_waits_for_the_first_to_be_durable(
    tmp_path: Path, gate: GatedSync
) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    gate.hold()
    first = asyncio.create_task(held.put(_job(1)))
    await gate.entered_sync()
    second = asyncio.create_task(held.put(_job(1)))
    await asyncio.sleep(0.02)
    assert not second.done()  # not returned before the record is durable
    gate.release.set()
    await asyncio.gather(first, second)
    assert gate.calls == 1 and len(_records(path)) == 1
    await held.close()


async def test_a_cancelled_caller_does_not_cancel_the_batch(
    tmp_path: Path, gate: GatedSync
) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    gate.hold()
    cancelled = asyncio.create_task(held.put(_job(1)))
    await gate.entered_sync()
    other = asyncio.create_task(held.put(_job(2)))
    await asyncio.sleep(0)
    cancelled.cancel()
    gate.release.set()
    await other
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await held.synced()
    # Asked for before the cancel: it is written, and shown once durable.
    assert held.get(1) is not None and held.get(2) is not None
    assert HeldJobs(path).get(1) is not None
    await held.close()


async def test_finish_records_the_last_state_and_drops_in_one_sync(
    tmp_path: Path, gate: GatedSync
) -> None:
    path = tmp_path / "held.json"
    held = HeldJobs(path)
    job = await held.put(_job(1, Phase.SENT))
    await held.finish(replace(job, last_state="completed"))
    assert gate.calls == 2 and held.get(1) is None
    records = [json.loads(r) for r in _records(path)]
    assert records[-2]["put"]["last_state"] == "completed" and records[-1] == {"drop": 1}
    await held.close()
    await held.close()  # a second close does nothing
    assert HeldJobs(path).get(1) is None


async def test_synced_waits_for_every_change_already_asked_for(
    tmp_path: Path, gate: GatedSync
) -> None:
    held = HeldJobs(tmp_path / "held.json")
    await held.synced()  # nothing under way: at once
    gate.hold()
    first = asyncio.create_task(held.put(_job(1)))
    await gate.entered_sync()
    second = asyncio.create_task(held.put(_job(2)))  # waits for the next batch
    await asyncio.sleep(0)
    synced = asyncio.create_task(held.synced())
    await asyncio.sleep(0.02)
    assert not synced.done()
    gate.release.set()
    await synced
    assert held.get(1) is not None and held.get(2) is not None
    await asyncio.gather(first, second)
    await held.close()
    with pytest.raises(RuntimeError, match="closed"):
        await held.put(_job(3))
