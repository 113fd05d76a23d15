"""Scan end to end: a user's scan ticket through Prosody and the service to a manager
whose scanner is SANE's own test backend (through the real scanimage); the scanned
documents come back over PutJobDocumentData and the HTTPS byte path, and the owner
(only the owner, or an administrator) retrieves them; also through `cirrus scan`."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from pathlib import Path

import pytest

from manager.drivers.sane import SaneDriver
from stanzas.errors import AttributesNotSupported, NotAuthorized, NotPossible
from stanzas.groups import JobTicket
from stanzas.states import JobState, ServiceType
from tests.conftest import Harness
from tests.integration.test_cli import cirrus
from tests.integration.test_sane_driver import sane_test_backend
from tests.raster_check import pdf_pages

pytestmark = pytest.mark.skipif(
    shutil.which("scanimage") is None, reason="scanimage (Debian sane-utils) is not installed"
)
WAIT = 60


async def scanner_manager(harness: Harness, tmp: Path, queue: str = "scanner") -> SaneDriver:
    driver = SaneDriver("test", config_dir=sane_test_backend(tmp / "sane.d"), scan_timeout=60)
    settings = harness.manager_settings(queue=queue, driver="sane:test")
    await harness.manager(driver, queue=queue, settings=settings)  # type: ignore[arg-type]
    return driver


async def test_scan_to_the_cloud_and_back(service, harness: Harness, short_tmp: Path) -> None:  # type: ignore[no-untyped-def]
    await scanner_manager(harness, short_tmp)
    queue = await service.service.queues.get("scanner")
    assert queue is not None and queue.service_type == "scan"
    assert queue.capabilities.input_source_supported == ["platen", "adf"]
    assert 300 in (queue.capabilities.input_resolution_supported or [])

    alice = await harness.client("alice")
    ticket = JobTicket(
        input_source="adf",
        input_color_mode="color",
        input_resolution=150,
        number_of_pages=3,
        document_format="application/pdf",
    )
    job = await alice.create_job(
        "scanner", job_name="receipts", ticket=ticket, service_type=ServiceType.SCAN
    )
    assert job.unsupported_elements is None
    added = await alice.add_hardcopy_document(job.job_id)
    assert added.document_number == 1
    states = [s async for s in alice.job_updates(job.job_id, timeout=WAIT)]
    final = states[-1]
    assert final.job_state == JobState.COMPLETED, states
    assert JobState.PROCESSING in [s.job_state for s in states]
    assert final.job_impressions_completed == 3

    [document] = (await alice.get_documents(job.job_id)).document
    assert document.document_format == "application/pdf"
    out = short_tmp / "receipts.pdf"
    size = await alice.download_document(job.job_id, document.document_number, out)
    assert size == out.stat().st_size == document.document_size
    assert len(pdf_pages(out)) == 3
    stored = await service.service.documents.get(job.job_id, 1)
    assert (
        stored is not None
        and stored.document_digest == hashlib.sha256(out.read_bytes()).hexdigest()
    )

    # Only the owner and administrators read it: not another user, not an operator.
    for user in ("bob", "operator"):
        other = await harness.client(user)
        with pytest.raises(NotAuthorized):
            await other.get_document_data(job.job_id, 1)
    admin = await harness.client("admin")
    assert (await admin.get_document_data(job.job_id, 1)).document_size == size


async def test_a_ticket_the_scanner_cannot_do_is_refused(
    service, harness: Harness, short_tmp: Path
) -> None:  # type: ignore[no-untyped-def]
    await scanner_manager(harness, short_tmp)
    alice = await harness.client("alice")
    with pytest.raises(AttributesNotSupported, match="input-color-mode=bi-level"):
        await alice.create_job(
            "scanner",
            ticket=JobTicket(input_color_mode="bi-level"),
            service_type=ServiceType.SCAN,
            mandatory=["input-color-mode"],
        )
    dropped = await alice.create_job(
        "scanner", ticket=JobTicket(input_source="film-reader"), service_type=ServiceType.SCAN
    )
    assert dropped.unsupported_elements == ["input-source"]
    with pytest.raises(NotPossible, match="takes hardcopy"):
        await alice.send_document_data(dropped.job_id, b"%PDF-1.4", document_name="x.pdf")


async def test_cirrus_scan_writes_the_file(service, harness: Harness, short_tmp: Path) -> None:  # type: ignore[no-untyped-def]
    await scanner_manager(harness, short_tmp)
    out = short_tmp / "page.jpg"
    code, printed, err = await cirrus(
        harness, "scan", "--queue", "scanner", "--resolution", "100",
        "--color-mode", "monochrome", "--format", "image/jpeg", "-o", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "processing" in printed and "completed" in printed and f"wrote {out}" in printed
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    code, listing, err = await cirrus(harness, "jobs", "--history")
    assert code == 0, err
    assert "scanner" in listing
    # The scanner's capabilities, reported like a printer's.
    code, shown, err = await cirrus(harness, "queue", "scanner")
    assert code == 0, err
    assert "input-source-supported: ['platen', 'adf']" in shown


async def test_scan_jobs_in_the_admin_commands(service, harness: Harness, short_tmp: Path) -> None:  # type: ignore[no-untyped-def]
    """The chat bot and cirrus admin act on a scan queue as on a print queue: the
    command's queue names its service."""
    from tests.integration.admin_support import ChatInbox

    await scanner_manager(harness, short_tmp)
    alice = await harness.client("alice")
    admin = ChatInbox(await harness.client("admin"))
    assert (await admin.ask("pause scanner")).startswith("scanner: stopped (paused)")
    job = await alice.create_job("scanner", job_name="held scan", service_type=ServiceType.SCAN)
    await alice.add_hardcopy_document(job.job_id)
    jobs = await admin.ask("jobs scanner")
    row = jobs.split("```")[1].strip().splitlines()[2]
    assert row.split()[0] == str(job.job_id)
    code, out, err = await cirrus(harness, "admin", "jobs", "scanner", user="operator")
    assert code == 0, err
    assert str(job.job_id) in out
    assert (await admin.ask("resume scanner")).startswith("scanner: ")
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.COMPLETED


async def test_cancel_stops_a_scan_in_progress(service, harness: Harness, short_tmp: Path) -> None:  # type: ignore[no-untyped-def]
    driver = await scanner_manager(harness, short_tmp)
    alice = await harness.client("alice")
    # 1200 dpi colour over the test backend's whole area: seconds of scanning.
    ticket = JobTicket(input_resolution=1200, input_color_mode="color")
    job = await alice.create_job("scanner", ticket=ticket, service_type=ServiceType.SCAN)
    await alice.add_hardcopy_document(job.job_id)
    async for status in alice.job_updates(job.job_id, timeout=WAIT):
        if status.job_state == JobState.PROCESSING:
            break
    # The manager reports processing just before it starts scanimage.
    for _ in range(500):
        if driver._scanning:
            break
        await asyncio.sleep(0.01)  # no event says scanimage has started
    assert driver._scanning == 1
    await alice.cancel_job(job.job_id)
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.CANCELED
    assert driver._scanning == 0  # scanimage was stopped, not left to finish
    assert (await alice.get_documents(job.job_id)).document == []
