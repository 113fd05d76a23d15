"""SimDriver: the in-memory printer the manager tests and benchmarks drive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from manager.drivers import make_driver
from manager.drivers.base import (
    DeviceJobStatus,
    DeviceJobTicket,
    DeviceRejected,
    DeviceUnreachable,
)
from manager.drivers.file import FileDriver
from manager.drivers.ipp import IppDriver
from manager.drivers.sim import ChangeNotifier, SimDriver

TICKET = DeviceJobTicket(job_name="report", requesting_user_name="ann", copies=2)


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def until(
    sim: SimDriver, job_id: int, done: Callable[[DeviceJobStatus], bool], limit: float = 5.0
) -> DeviceJobStatus:
    """Follow a job as the manager does (get_job, wait_for_change) until ``done``."""
    async with asyncio.timeout(limit):
        while True:
            status = await sim.get_job(job_id)
            assert status is not None
            if done(status):
                return status
            await sim.wait_for_change(limit)


async def print_one(sim: SimDriver, *parts: bytes, fmt: str = "application/pdf") -> int:
    job_id = await sim.create_job(TICKET)
    await sim.send_document(job_id, chunks(*parts), fmt, "report.pdf", True)
    return job_id


async def test_job_completes_and_is_recorded() -> None:
    sim = SimDriver(keep_data=True)
    job_id = await sim.create_job(TICKET)
    assert job_id == 1
    status = await sim.get_job(job_id)
    assert status is not None and status.job_state == "pending"
    assert status.job_state_reasons == ("job-incoming",)
    await sim.send_document(job_id, chunks(b"%PDF", b"-1.7"), "application/pdf", "a.pdf", False)
    await sim.send_document(job_id, chunks(b"page2"), "image/jpeg", "b.jpg", True)
    final = await until(sim, job_id, lambda s: s.is_terminal)
    assert final.job_state == "completed"
    assert final.job_state_reasons == ("job-completed-successfully",)
    assert final.job_impressions_completed == 4  # 2 documents x 2 copies
    job = sim.jobs[job_id]
    assert job.name == "report" and job.byte_count == 13
    assert [(d.name, d.format, d.size) for d in job.documents] == [
        ("a.pdf", "application/pdf", 8),
        ("b.jpg", "image/jpeg", 5),
    ]
    assert job.documents[0].data == b"%PDF-1.7"
    assert sim.printed() == [job]
    await sim.close()


async def test_job_ids_increase() -> None:
    sim = SimDriver(first_job_id=100)
    ids = [await sim.create_job(TICKET) for _ in range(3)]
    assert ids == [100, 101, 102]


async def test_speed_shows_processing_then_completed() -> None:
    sim = SimDriver(speed=0.2)
    job_id = await print_one(sim, b"x" * 10)
    processing = await until(sim, job_id, lambda s: s.job_state == "processing")
    assert processing.job_state_reasons == ("job-printing",)
    assert (await sim.get_status()).printer_state == "processing"
    loop = asyncio.get_running_loop()
    started = loop.time()
    await until(sim, job_id, lambda s: s.job_state == "completed")
    assert loop.time() - started >= 0.1
    assert (await sim.get_status()).printer_state == "idle"
    await sim.close()


async def test_jobs_print_one_at_a_time_in_order() -> None:
    sim = SimDriver(speed=0.05)
    first = await print_one(sim, b"1")
    second = await print_one(sim, b"2")
    await until(sim, first, lambda s: s.job_state == "processing")
    status = await sim.get_job(second)
    assert status is not None and status.job_state == "pending"
    await until(sim, second, lambda s: s.job_state == "completed")
    assert sim.jobs[first].state == "completed"
    await sim.close()


async def test_stop_and_resume() -> None:
    sim = SimDriver(speed=0.2)
    job_id = await print_one(sim, b"data")
    await until(sim, job_id, lambda s: s.job_state == "processing")
    sim.stop("media-empty", "Load paper")
    printer = await sim.get_status()
    assert printer.printer_state == "stopped"
    assert printer.printer_state_reasons == ("media-empty",)
    assert printer.printer_state_message == "Load paper"
    stopped = await sim.get_job(job_id)
    assert stopped is not None and stopped.job_state == "processing-stopped"
    assert stopped.job_state_reasons == ("printer-stopped",)
    # it does not finish while stopped
    with pytest.raises(TimeoutError):
        await until(sim, job_id, lambda s: s.is_terminal, limit=0.4)
    sim.resume()
    assert (await sim.get_status()).printer_state in ("processing", "idle")
    final = await until(sim, job_id, lambda s: s.is_terminal)
    assert final.job_state == "completed"
    await sim.close()


async def test_job_sent_while_stopped_waits() -> None:
    sim = SimDriver.from_spec("stopped=door-open")
    job_id = await print_one(sim, b"data")
    pending = await until(sim, job_id, lambda s: s.job_state_reasons == ("printer-stopped",))
    assert pending.job_state == "pending"
    sim.resume()
    assert (await until(sim, job_id, lambda s: s.is_terminal)).job_state == "completed"
    await sim.close()


async def test_reject_next_create_and_send() -> None:
    sim = SimDriver()
    sim.reject_next("server-error-not-accepting-jobs", "go away")
    with pytest.raises(DeviceRejected) as info:
        await sim.create_job(TICKET)
    assert info.value.status == "server-error-not-accepting-jobs"
    assert info.value.message == "go away"
    job_id = await sim.create_job(TICKET)  # only the next one
    sim.reject_next(message="bad PDF")
    with pytest.raises(DeviceRejected) as info:
        await sim.send_document(job_id, chunks(b"x"), "application/pdf", "a.pdf", True)
    assert info.value.status == "client-error-document-format-not-supported"
    status = await sim.get_job(job_id)
    assert status is not None and status.job_state == "aborted"
    assert status.job_state_message == "bad PDF"


async def test_unsupported_format_is_rejected() -> None:
    sim = SimDriver.from_spec("formats=application/pdf|image/jpeg")
    job_id = await sim.create_job(TICKET)
    with pytest.raises(DeviceRejected) as info:
        await sim.send_document(job_id, chunks(b"x"), "text/plain", "a.txt", True)
    assert info.value.status == "client-error-document-format-not-supported"
    assert "application/pdf" in (await sim.get_capabilities()).document_format_supported


async def test_abort_next() -> None:
    sim = SimDriver()
    sim.abort_next("Paper jam")
    job_id = await print_one(sim, b"data")
    final = await until(sim, job_id, lambda s: s.is_terminal)
    assert final.job_state == "aborted"
    assert final.job_state_message == "Paper jam"
    second = await print_one(sim, b"data")
    assert (await until(sim, second, lambda s: s.is_terminal)).job_state == "completed"
    await sim.close()


async def test_cancel() -> None:
    sim = SimDriver(speed=10)
    job_id = await print_one(sim, b"data")
    await until(sim, job_id, lambda s: s.job_state == "processing")
    await sim.cancel_job(job_id)
    status = await until(sim, job_id, lambda s: s.is_terminal, limit=1.0)
    assert status.job_state == "canceled"
    await sim.cancel_job(job_id)  # already terminal: nothing happens
    await sim.cancel_job(999)  # unknown: nothing happens
    assert (await sim.get_job(job_id)).job_state == "canceled"  # type: ignore[union-attr]
    with pytest.raises(DeviceRejected):
        await sim.send_document(job_id, chunks(b"x"), "application/pdf", "a.pdf", True)
    pending = await sim.create_job(TICKET)
    await sim.cancel_job(pending)
    assert sim.jobs[pending].state == "canceled"
    await sim.close()


async def test_unknown_job_and_not_found() -> None:
    sim = SimDriver()
    assert await sim.get_job(42) is None
    with pytest.raises(DeviceRejected) as info:
        await sim.send_document(42, chunks(b"x"), "application/pdf", "a.pdf", True)
    assert info.value.status == "client-error-not-found"


async def test_unreachable() -> None:
    sim = SimDriver()
    sim.unreachable = True
    for call in (
        sim.get_status(),
        sim.get_capabilities(),
        sim.create_job(TICKET),
        sim.get_job(1),
        sim.cancel_job(1),
    ):
        with pytest.raises(DeviceUnreachable):
            await call
    sim.unreachable = False
    assert (await sim.get_status()).printer_state == "idle"


async def test_not_accepting() -> None:
    sim = SimDriver.from_spec("accepting=false")
    assert not (await sim.get_status()).printer_is_accepting_jobs
    with pytest.raises(DeviceRejected):
        await sim.create_job(TICKET)


async def test_wait_for_change_wakes_at_once() -> None:
    sim = SimDriver()
    await sim.get_status()
    loop = asyncio.get_running_loop()
    waiter = asyncio.create_task(sim.wait_for_change(30))
    await asyncio.sleep(0)
    started = loop.time()
    sim.stop()
    await asyncio.wait_for(waiter, 1)
    assert loop.time() - started < 0.5


async def test_wait_for_change_does_not_lose_a_change() -> None:
    """A change between get_job and wait_for_change must not cost a full timeout."""
    sim = SimDriver()
    job_id = await sim.create_job(TICKET)
    await sim.get_job(job_id)  # the caller looks ...
    await sim.cancel_job(job_id)  # ... something changes before it waits ...
    async with asyncio.timeout(1):
        await sim.wait_for_change(30)  # ... so it returns at once
    # and once it has been told, it waits again (no busy loop)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await sim.wait_for_change(0.05)
    assert loop.time() - started >= 0.04


async def test_wait_for_change_timeout() -> None:
    sim = SimDriver()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await sim.wait_for_change(0.05)
    assert 0.04 <= loop.time() - started < 1


async def test_notifier_without_observation_waits_for_next_change() -> None:
    notifier = ChangeNotifier()
    notifier.notify()
    task = asyncio.create_task(notifier.wait(5))
    await asyncio.sleep(0.01)
    assert not task.done()
    notifier.notify()
    await asyncio.wait_for(task, 1)


def test_from_spec() -> None:
    sim = SimDriver.from_spec("speed=0.5, keep=yes, first_job_id=7; model=Test Box")
    assert sim.speed == 0.5 and sim.keep_data and sim.make_and_model == "Test Box"
    assert SimDriver.from_spec("").speed == 0
    for bad in ("speed", "colour=red", "speed=fast", "keep=maybe"):
        with pytest.raises(ValueError):
            SimDriver.from_spec(bad)


def test_make_driver(tmp_path: object) -> None:
    sim = make_driver("sim:speed=0.1")
    assert isinstance(sim, SimDriver) and sim.speed == 0.1
    assert isinstance(make_driver("sim:"), SimDriver)
    ipp = make_driver("ipp:ipp://127.0.0.1:8631/ipp/print")
    assert isinstance(ipp, IppDriver) and ipp.printer_uri == "ipp://127.0.0.1:8631/ipp/print"
    assert isinstance(make_driver("ipps://printer.local/ipp/print"), IppDriver)
    folder = make_driver(f"file:{tmp_path}")
    assert isinstance(folder, FileDriver) and str(folder.folder) == str(tmp_path)
    assert str(make_driver("file:///var/spool/x").folder) == "/var/spool/x"  # type: ignore[attr-defined]
    for bad in ("nothing", "lpd:printer", "ipp:", "file:"):
        with pytest.raises(ValueError):
            make_driver(bad)


async def test_a_wait_cancelled_as_a_change_comes_is_cancelled() -> None:
    """A worker stopping while a device job is canceled cancels its watcher just as the
    change notifies it: the cancel must not be lost (asyncio.wait_for loses it on 3.11,
    and the watcher then waited forever)."""
    changes = ChangeNotifier()
    waiter = asyncio.create_task(changes.wait(10))
    await asyncio.sleep(0)  # waiting now
    changes.notify()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_sheets_are_counted_as_the_sides_use_the_paper() -> None:
    sim = SimDriver()
    one = await print_one(sim, b"%PDF")
    duplex = await sim.create_job(
        DeviceJobTicket(
            job_name="d", requesting_user_name="ann", copies=3, sides="two-sided-long-edge"
        )
    )
    await sim.send_document(duplex, chunks(b"%PDF"), "application/pdf", "d.pdf", True)
    simplex = await until(sim, one, lambda s: s.is_terminal)
    both = await until(sim, duplex, lambda s: s.is_terminal)
    assert (simplex.job_impressions_completed, simplex.job_media_sheets_completed) == (2, 2)
    assert (both.job_impressions_completed, both.job_media_sheets_completed) == (3, 2)
