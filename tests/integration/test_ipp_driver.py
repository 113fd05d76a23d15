"""IppDriver and IppClient against a real ippeveprinter started by the launcher.

Each test starts its own printer (about 0.1 s) and stops it, with its dbus-daemon.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from cirrus.stack.ippeveprinter import IppEvePrinter, start_ippeveprinter
from ipp.client import IppClient, IppError, IppTransportError
from ipp.constants import StatusCode
from manager.device_worker import DeviceWorker
from manager.drivers.base import (
    DeviceJobStatus,
    DeviceJobTicket,
    DeviceRejected,
    DeviceUnreachable,
)
from manager.drivers.ipp import IppDriver
from manager.held_jobs import HeldJobs
from stanzas import device_ops as ops
from stanzas.states import JobState
from tests.unit.fake_device_service import FakeDeviceService

pytestmark = pytest.mark.skipif(
    shutil.which("ippeveprinter") is None or shutil.which("dbus-daemon") is None,
    reason="needs ippeveprinter (cups-ipp-utils) and dbus-daemon",
)

TICKET = DeviceJobTicket(job_name="cirrus-test", requesting_user_name="ann")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
async def printer(tmp_path: Path) -> AsyncIterator[IppEvePrinter]:
    """An instant printer (-c /bin/true) on a free loopback port."""
    eve = await start_ippeveprinter(tmp_path / "printer", command="/bin/true")
    try:
        yield eve
    finally:
        await eve.stop()
    assert not eve.running


@pytest.fixture
async def driver(printer: IppEvePrinter) -> AsyncIterator[IppDriver]:
    drv = IppDriver(printer.uri)
    await drv.start()
    try:
        yield drv
    finally:
        await drv.close()


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def follow(
    drv: IppDriver, job_id: int, done: Callable[[DeviceJobStatus], bool] = lambda s: s.is_terminal
) -> DeviceJobStatus:
    async with asyncio.timeout(15):
        while True:
            status = await drv.get_job(job_id)
            assert status is not None
            if done(status):
                return status
            await drv.wait_for_change(1.0)


async def test_capabilities_and_status(printer: IppEvePrinter, driver: IppDriver) -> None:
    caps = await driver.get_capabilities()
    assert caps.printer_make_and_model == "Cirrus Virtual Printer"
    assert "application/pdf" in caps.document_format_supported
    assert "iso_a4_210x297mm" in caps.media_supported
    assert caps.media_default in caps.media_supported
    assert caps.sides_supported == ("one-sided",)
    assert set(caps.print_quality_supported) == {3, 4, 5}
    assert caps.copies_max == 999
    status = await driver.get_status()
    assert status.printer_state == "idle"
    assert status.printer_is_accepting_jobs


async def test_create_send_follow_to_completed(printer: IppEvePrinter, driver: IppDriver) -> None:
    ticket = DeviceJobTicket(
        job_name="quarterly", requesting_user_name="ann", media="iso_a4_210x297mm", print_quality=5
    )
    job_id = await driver.create_job(ticket)
    await driver.send_document(job_id, chunks(PDF), "application/pdf", "q.pdf", True)
    final = await follow(driver, job_id)
    assert final.job_state == "completed"
    assert final.job_id == job_id
    files = [p for p in printer.output_files() if p.suffix == ".pdf"]
    assert [p.name for p in files] == [f"{job_id}-quarterly.pdf"]
    assert files[0].read_bytes() == PDF
    async with IppClient(printer.uri) as client:
        job = await client.get_job_attributes(job_id)
    assert job.first("media") == "iso_a4_210x297mm"
    assert job.first("job-originating-user-name") == "ann"


async def test_cancel(driver: IppDriver) -> None:
    job_id = await driver.create_job(TICKET)
    await driver.cancel_job(job_id)
    status = await follow(driver, job_id)
    assert status.job_state == "canceled"
    await driver.cancel_job(job_id)  # already terminal: client-error-not-possible is ignored
    with pytest.raises(DeviceRejected):
        await driver.send_document(job_id, chunks(PDF), "application/pdf", "x.pdf", True)


async def test_cancel_of_completed_job_is_ignored(driver: IppDriver) -> None:
    job_id = await driver.create_job(TICKET)
    await driver.send_document(job_id, chunks(PDF), "application/pdf", "x.pdf", True)
    assert (await follow(driver, job_id)).job_state == "completed"
    await driver.cancel_job(job_id)
    assert (await follow(driver, job_id)).job_state == "completed"


async def test_not_found(driver: IppDriver) -> None:
    assert await driver.get_job(424242) is None
    await driver.cancel_job(424242)  # nothing to cancel: no error


async def test_unsupported_attribute_is_dropped(printer: IppEvePrinter, driver: IppDriver) -> None:
    # this ippeveprinter is simplex (no -2): sides=two-sided-long-edge is not supported
    ticket = DeviceJobTicket(
        job_name="duplex",
        requesting_user_name="ann",
        sides="two-sided-long-edge",
        media="iso_a4_210x297mm",
    )
    job_id = await driver.create_job(ticket)
    await driver.send_document(job_id, chunks(PDF), "application/pdf", "d.pdf", True)
    assert (await follow(driver, job_id)).job_state == "completed"
    async with IppClient(printer.uri) as client:
        job = await client.get_job_attributes(job_id)
    assert job.first("media") == "iso_a4_210x297mm"  # kept
    assert job.first("sides", "one-sided") == "one-sided"  # dropped


async def test_document_format_rejected(driver: IppDriver) -> None:
    job_id = await driver.create_job(TICKET)
    with pytest.raises(DeviceRejected) as info:
        await driver.send_document(
            job_id, chunks(b"??"), "application/x-not-a-format", "x.bin", True
        )
    # ippeveprinter answers client-error-attributes-or-values-not-supported here
    assert info.value.status in (
        "client-error-document-format-not-supported",
        "client-error-attributes-or-values-not-supported",
    )
    assert "document-format" in info.value.message
    await driver.cancel_job(job_id)


async def test_multiple_documents_on_a_single_document_printer(
    printer: IppEvePrinter, driver: IppDriver
) -> None:
    job_id = await driver.create_job(TICKET)
    await driver.send_document(job_id, chunks(PDF), "application/pdf", "one.pdf", False)
    between = await driver.get_job(job_id)
    assert between is not None and not between.is_terminal  # more documents are coming
    await driver.send_document(job_id, chunks(b"page two"), "text/plain", "two.txt", True)
    final = await follow(driver, job_id)
    assert final.job_state == "completed"
    assert final.job_id == job_id
    printed = [p for p in printer.output_files() if p.suffix != ".prn"]  # .prn: command output
    assert [p.stem for p in printed] == [f"{job_id}-cirrus-test", f"{job_id + 1}-cirrus-test"]
    assert [p.read_bytes() for p in printed] == [PDF, b"page two"]


async def test_busy_printer_is_retried_then_unreachable(tmp_path: Path) -> None:
    # without -c, ippeveprinter spends seconds on each job: the printer stays busy
    slow = await start_ippeveprinter(tmp_path / "slow")
    try:
        drv = IppDriver(slow.uri, busy_timeout=0.3)
        first = await drv.create_job(TICKET)
        await drv.send_document(first, chunks(PDF), "application/pdf", "a.pdf", True)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(DeviceUnreachable, match="server-error-busy"):
            await drv.create_job(TICKET)
        assert 0.25 <= loop.time() - started < 3
        await drv.cancel_job(first)
        await drv.close()
    finally:
        await slow.stop()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_printer() -> None:
    drv = IppDriver(f"ipp://127.0.0.1:{_closed_port()}/ipp/print")
    for call in (
        drv.get_status(),
        drv.get_capabilities(),
        drv.create_job(TICKET),
        drv.get_job(1),
        drv.cancel_job(1),
    ):
        with pytest.raises(DeviceUnreachable):
            await call
    await drv.close()


async def test_client_operations(printer: IppEvePrinter) -> None:
    async with IppClient(printer.uri, requesting_user_name="bob") as client:
        attrs = await client.get_printer_attributes(["printer-name", "printer-state"])
        assert attrs.first("printer-name") == "Cirrus Test Printer"
        job_id = await client.print_job(PDF, "application/pdf", "direct")
        async with asyncio.timeout(10):
            while (await client.get_job_attributes(job_id)).first("job-state") != 9:  # noqa: ASYNC110
                await asyncio.sleep(0.02)  # IPP has no push here: polling is the protocol
        jobs = await client.get_jobs("completed", ["job-id", "job-name"])
        assert job_id in [j.first("job-id") for j in jobs]
        with pytest.raises(IppError) as info:
            await client.get_job_attributes(99999)
        assert info.value.status_code == StatusCode.CLIENT_ERROR_NOT_FOUND
        assert info.value.status_name == "client-error-not-found"
        with pytest.raises(IppError) as info:
            await client.cancel_job(job_id)
        assert info.value.status_name == "client-error-not-possible"
    async with IppClient(f"ipp://127.0.0.1:{_closed_port()}/ipp/print") as client:
        with pytest.raises(IppTransportError):
            await client.get_printer_attributes()


async def test_launcher_stop_is_idempotent_and_reports_failures(tmp_path: Path) -> None:
    eve = await start_ippeveprinter(tmp_path / "p", command="/bin/true", name="Second")
    assert eve.uri == f"ipp://127.0.0.1:{eve.port}/ipp/print"
    assert eve.spool_dir.is_dir()
    await eve.stop()
    await eve.stop()
    assert not eve.running
    from cirrus.stack.ippeveprinter import IppEvePrinterError

    with pytest.raises(IppEvePrinterError, match=r"exited|listener"):
        # the port is taken by a listening socket: ippeveprinter cannot bind it
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            await start_ippeveprinter(tmp_path / "q", port=busy.getsockname()[1], ready_timeout=5)


async def test_one_submission_at_a_time(printer: IppEvePrinter, driver: IppDriver) -> None:
    first = await driver.create_job(TICKET)
    second = asyncio.create_task(driver.create_job(TICKET))
    await asyncio.sleep(0.3)
    assert not second.done()  # waits for the first job's last document, not the printer
    await driver.send_document(first, chunks(PDF, 1024), "application/pdf", "a.pdf", True)
    async with asyncio.timeout(10):
        second_id = await second
    third = asyncio.create_task(driver.create_job(TICKET))
    await asyncio.sleep(0.2)
    assert not third.done()
    await driver.cancel_job(second_id)  # a canceled job gives its turn back too
    async with asyncio.timeout(10):
        third_id = await third
    await driver.send_document(third_id, chunks(PDF, 1024), "application/pdf", "c.pdf", True)
    assert (await follow(driver, first)).job_state == "completed"
    assert (await follow(driver, second_id)).job_state == "canceled"
    assert (await follow(driver, third_id)).job_state == "completed"


async def test_a_refused_document_gives_the_turn_back(driver: IppDriver) -> None:
    first = await driver.create_job(TICKET)
    first_turn = driver._turns.holder
    second = asyncio.create_task(driver.create_job(TICKET))
    with pytest.raises(DeviceRejected):
        await driver.send_document(first, chunks(b"??"), "application/x-not-a-format", "x", True)
    await asyncio.sleep(0.1)
    assert driver._turns.holder not in (None, first_turn)  # the second job's Create-Job
    await driver.cancel_job(first)  # ippeveprinter stays busy with the refused job until then
    async with asyncio.timeout(10):
        second_id = await second
    await driver.send_document(second_id, chunks(PDF, 1024), "application/pdf", "b.pdf", True)
    assert (await follow(driver, second_id)).job_state == "completed"


async def test_a_job_waiting_for_the_service_does_not_hold_the_printer(
    printer: IppEvePrinter, driver: IppDriver, tmp_path: Path
) -> None:
    """Issue 11, defect 6: a job whose AcknowledgeJob answer is slow in coming (the
    service died) held the submission turn and its empty device job kept ippeveprinter
    busy, so the next job waited for the 30 s time-out. The empty device job is given
    back after device_hold; the next job prints meanwhile, the slow one once it is
    answered."""
    service = FakeDeviceService()
    slow, quick = service.add(1, PDF), service.add(2, PDF)
    answer = asyncio.Event()
    service.on_call = lambda req: (
        service.hold.setdefault(ops.AcknowledgeJob, answer)
        if isinstance(req, ops.FetchJob) and req.job_id == 1
        else None
    )
    worker = DeviceWorker(
        output_device_uuid="urn:uuid:0b7e1f52-3c1d-4e4f-8a5b-6c7d8e9f0a1b",
        printer_name="p",
        driver=driver,
        session=service,
        held=HeldJobs(tmp_path / "held.json"),
        spool_dir=tmp_path / "spool",
        http_ssl=None,
        device_hold=0.2,
    )
    await worker.start()
    try:
        worker.start_job(1)
        await asyncio.wait_for(service.seen(ops.AcknowledgeJob).wait(), 10)
        service.hold.pop(ops.AcknowledgeJob)  # only job 1's answer is held
        worker.start_job(2)
        assert await asyncio.wait_for(quick.done, 10) == JobState.COMPLETED
        assert not slow.done.done()
        answer.set()
        assert await asyncio.wait_for(slow.done, 10) == JobState.COMPLETED
    finally:
        await worker.stop()
        await worker.held.close()
    printed = [p for p in printer.output_files() if p.suffix != ".prn"]
    assert [p.read_bytes() for p in printed] == [PDF, PDF]
    async with IppClient(printer.uri) as client:
        ended = await client.get_jobs("completed", ["job-id", "job-state"])
    # the slow job's first, empty device job was canceled; then each job printed once
    assert sorted((j.first("job-id"), j.first("job-state")) for j in ended) == [
        (1, 7),
        (2, 9),
        (3, 9),
    ]
