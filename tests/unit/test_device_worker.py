"""DeviceWorker and JobRunner over an in-memory service (tests/unit/fake_device_service.py)
and the sim or file driver: the resync against an acknowledgement in flight, the device
given back while the service is slow or away, the settling of a cut-off send, and what
the worker keeps per job."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from manager.device_worker import DeviceWorker
from manager.drivers.base import DeviceDriver, DeviceJobTicket
from manager.drivers.file import ENDED_KEPT, FileDriver
from manager.drivers.sim import SimDriver
from manager.held_jobs import HeldJob, HeldJobs
from manager.job_phase import Phase
from stanzas import device_ops as ops
from stanzas.errors import ServiceUnavailable, Timeout
from stanzas.states import JobState
from tests.unit import fake_device_service
from tests.unit.fake_device_service import BODY, FakeDeviceService

UUID = "urn:uuid:0b7e1f52-3c1d-4e4f-8a5b-6c7d8e9f0a1b"
WAIT = 10.0

MakeWorker = Callable[..., Awaitable[DeviceWorker]]


@pytest.fixture
async def make_worker(tmp_path: Path) -> AsyncIterator[MakeWorker]:
    made: list[DeviceWorker] = []

    async def make(
        service: FakeDeviceService, driver: DeviceDriver, **options: object
    ) -> DeviceWorker:
        worker = DeviceWorker(
            output_device_uuid=UUID,
            printer_name="p",
            driver=driver,
            session=service,
            held=HeldJobs(tmp_path / "held.json"),
            spool_dir=tmp_path / "spool",
            http_ssl=None,
            status_interval=0.05,
            **options,  # type: ignore[arg-type]
        )
        await worker.start()
        worker.registered.set()
        made.append(worker)
        return worker

    yield make
    for worker in made:
        await worker.stop()
        await worker.held.close()


async def until(condition: Callable[[], bool], sim: SimDriver) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():
            await sim.wait_for_change(0.05)


async def test_a_resync_lists_a_job_whose_acknowledgement_is_in_flight(
    make_worker: MakeWorker,
) -> None:
    service = FakeDeviceService()
    job = service.add(1)
    sim = SimDriver()
    worker = await make_worker(service, sim)
    answer = service.hold[ops.AcknowledgeJob] = asyncio.Event()

    worker.start_job(1)
    await asyncio.wait_for(service.seen(ops.AcknowledgeJob).wait(), WAIT)  # bound; answer due
    await worker.resync()  # e.g. the service came back and asked for one
    answer.set()

    assert await asyncio.wait_for(job.done, WAIT) == JobState.COMPLETED
    [resync] = service.sent(ops.UpdateFetchableJobs)
    assert [h.job_id for h in resync.job] == [1]  # listed, so the service kept it bound
    assert service.refusals == []  # no FetchDocument refused under the runner's feet
    assert len(service.sent(ops.FetchJob)) == 1
    assert [j.state for j in sim.jobs.values()] == ["completed"]


async def test_an_acknowledgement_waits_for_a_resync_on_its_way(make_worker: MakeWorker) -> None:
    """Sent while the resync's listing is unanswered, it could overtake it at the service
    and be undone by it: it goes out after the answer."""
    service = FakeDeviceService()
    job = service.add(1)
    worker = await make_worker(service, SimDriver())
    listing = service.hold[ops.UpdateFetchableJobs] = asyncio.Event()
    resync = asyncio.create_task(worker.resync())
    await asyncio.wait_for(service.seen(ops.UpdateFetchableJobs).wait(), WAIT)

    sim = worker.driver
    assert isinstance(sim, SimDriver)
    worker.start_job(1)
    await until(lambda: worker.held.get(1) is not None, sim)  # the device job recorded
    for _ in range(50):  # every step the runner could take without the answer
        await asyncio.sleep(0)
    assert service.sent(ops.AcknowledgeJob) == []
    listing.set()
    await resync
    assert await asyncio.wait_for(job.done, WAIT) == JobState.COMPLETED


async def test_a_slow_acknowledgement_gives_the_device_back(make_worker: MakeWorker) -> None:
    service = FakeDeviceService()
    job = service.add(1)
    sim = SimDriver()
    worker = await make_worker(service, sim, device_hold=0.05)
    answer = service.hold[ops.AcknowledgeJob] = asyncio.Event()

    worker.start_job(1)
    await until(lambda: getattr(worker.held.get(1), "device_job_id", 0) is None, sim)
    held = worker.held.get(1)
    assert held is not None and held.phase == Phase.CREATED
    assert sim.jobs[1].state == "canceled"
    answer.set()  # the service answers after all: the job goes on, on a new device job

    assert await asyncio.wait_for(job.done, WAIT) == JobState.COMPLETED
    assert [(j.state, j.byte_count) for j in sim.jobs.values()] == [
        ("canceled", 0),
        ("completed", len(BODY)),
    ]
    [update, *_] = [u for u in service.sent(ops.UpdateJobState) if u.job_state.is_terminal]
    assert update.output_device_job_id == 2


async def test_a_service_away_gives_the_device_back_and_the_job_is_taken_again(
    make_worker: MakeWorker,
) -> None:
    service = FakeDeviceService()
    job = service.add(1)
    sim = SimDriver()
    worker = await make_worker(service, sim)
    service.fail[ops.AcknowledgeJob] = ServiceUnavailable("bounced")

    worker.start_job(1)
    await until(lambda: 1 in sim.jobs and sim.jobs[1].state == "canceled", sim)
    # at once, not after device_hold: the retry's resync settles the job and it comes back
    assert await asyncio.wait_for(job.done, WAIT) == JobState.COMPLETED
    assert [j.state for j in sim.jobs.values()] == ["canceled", "completed"]
    assert len(service.sent(ops.FetchJob)) == 2


async def test_a_timeout_keeps_the_device_job_for_the_resync(make_worker: MakeWorker) -> None:
    service = FakeDeviceService()
    service.add(1)
    sim = SimDriver()
    worker = await make_worker(service, sim)
    service.fail[ops.AcknowledgeJob] = Timeout("no answer")
    service.hold[ops.UpdateFetchableJobs] = asyncio.Event()  # the retry's resync waits

    worker.start_job(1)
    await asyncio.wait_for(service.seen(ops.FetchJob).wait(), WAIT)
    await until(lambda: service.sent(ops.AcknowledgeJob) != [] and not worker._runners, sim)
    held = worker.held.get(1)
    assert held is not None and held.phase == Phase.CREATED and held.device_job_id == 1
    assert sim.jobs[1].state == "pending"


async def test_resyncs_asked_for_together_are_one(make_worker: MakeWorker) -> None:
    service = FakeDeviceService()
    worker = await make_worker(service, SimDriver())
    for _ in range(5):  # e.g. five jobs cut off by a service that went away
        worker.spawn_resync()
    await asyncio.wait_for(asyncio.gather(*worker._background), WAIT)
    assert len(service.sent(ops.UpdateFetchableJobs)) == 1
    worker.spawn_resync()  # asked for after it started: another one
    await asyncio.wait_for(asyncio.gather(*worker._background), WAIT)
    assert len(service.sent(ops.UpdateFetchableJobs)) == 2


async def _cut_off(
    make_worker: MakeWorker, sim: SimDriver, *, octets: int = len(BODY)
) -> tuple[DeviceWorker, FakeDeviceService]:
    """A worker that restarts on a journal that says: document 1 was being handed to
    device job 1 (sim.jobs[1], set up by the caller)."""
    service = FakeDeviceService()
    job = service.add(1)
    job.bound, job.output_device_job_id = True, 1
    worker = await make_worker(service, sim)
    await worker.held.put(
        HeldJob(1, UUID, Phase.SENDING, device_job_id=1, number_of_documents=1, octets=octets)
    )
    await worker.resync()
    return worker, service


async def _sim_job(sim: SimDriver, data: bytes | None) -> None:
    job_id = await sim.create_job(DeviceJobTicket(job_name="job 1", requesting_user_name="ann"))
    if data is not None:

        async def body() -> AsyncIterator[bytes]:
            yield data

        await sim.send_document(job_id, body(), "application/pdf", "d.pdf", True)
        await until(lambda: sim.jobs[job_id].is_terminal, sim)


async def test_a_cut_off_send_the_device_never_got_is_sent_again(make_worker: MakeWorker) -> None:
    sim = SimDriver()
    await _sim_job(sim, None)  # created, the document never arrived
    _, service = await _cut_off(make_worker, sim)
    assert await asyncio.wait_for(service.jobs[1].done, WAIT) == JobState.COMPLETED
    assert [(j.state, j.byte_count) for j in sim.jobs.values()] == [
        ("canceled", 0),
        ("completed", len(BODY)),
    ]


async def test_a_cut_off_send_the_device_got_whole_is_followed(make_worker: MakeWorker) -> None:
    sim = SimDriver()
    await _sim_job(sim, BODY)
    _, service = await _cut_off(make_worker, sim)
    assert await asyncio.wait_for(service.jobs[1].done, WAIT) == JobState.COMPLETED
    assert len(sim.jobs) == 1 and len(service.sent(ops.FetchJob)) == 0


async def test_a_truncated_copy_is_never_reported_completed(make_worker: MakeWorker) -> None:
    sim = SimDriver()
    long_body = BODY * 4  # 5 K octets, of which the device got 2
    await _sim_job(sim, long_body[:1500])
    _, service = await _cut_off(make_worker, sim, octets=len(long_body))
    assert await asyncio.wait_for(service.jobs[1].done, WAIT) == JobState.ABORTED
    [final] = [u for u in service.sent(ops.UpdateJobState) if u.job_state.is_terminal]
    assert final.job_state_message is not None and "only 2 of 5 K octets" in final.job_state_message
    assert len(sim.jobs) == 1


async def test_what_the_worker_keeps_per_job_stays_bounded(
    make_worker: MakeWorker, tmp_path: Path
) -> None:
    """Issue 11, defect 9: a manager runs for months; nothing it keeps may grow with the
    number of jobs it has printed (0.8 KiB a job before: the file driver's job table)."""
    service = FakeDeviceService()
    driver = FileDriver(tmp_path / "out")
    worker = await make_worker(service, driver)

    async def run(first: int, count: int) -> None:
        for start in range(first, first + count, 200):  # 200 in flight at a time
            await run_batch(start, 200)

    async def run_batch(first: int, count: int) -> None:
        jobs = [service.add(job_id) for job_id in range(first, first + count)]
        for job in jobs:
            if job.job_id % 97 == 0:  # now and then a failure that passes, and a cancel
                service.fail[ops.FetchDocument] = ServiceUnavailable("bounced")
            worker.start_job(job.job_id)
            if job.job_id % 89 == 0:
                service.cancel(job.job_id)
                await worker.cancel(job.job_id)
        await asyncio.wait_for(asyncio.gather(*(j.done for j in jobs)), 60)
        for job in jobs:
            del service.jobs[job.job_id]
        service.calls.clear()
        await asyncio.wait_for(worker.idle.wait(), WAIT)

    await run(1, 600)  # warm-up: caches, the journal's room, the driver's ended jobs
    tracemalloc.start()
    try:
        await run(601, 400)  # what is kept from now on is traced (and what replaces it)
        gc.collect()
        before = tracemalloc.take_snapshot()
        await run(1001, 1200)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()

    # Counted in memory blocks: a table that doubles its room once (the interpreter's
    # own, too) is one block, whatever its size; what is kept per job is several. Not
    # counted: the fake service, and log records (pytest keeps them for its report).
    ignored = [tracemalloc.Filter(False, f) for f in (fake_device_service.__file__, "*/logging/*")]
    diff = after.filter_traces(ignored).compare_to(before.filter_traces(ignored), "filename")
    kept = sum(stat.count_diff for stat in diff)
    assert kept < 1200 // 2, f"{kept} memory blocks kept for 1,200 jobs"  # 10,948 before
    assert worker._jobs == {} and worker._runners == {} and worker._attempts == {}
    assert worker._retries == {} and worker.side.cancels == set()
    assert worker.held.for_device(UUID) == []
    assert len(driver._jobs) <= ENDED_KEPT and len(driver._ended) <= ENDED_KEPT
