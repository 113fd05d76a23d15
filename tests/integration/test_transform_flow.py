"""Transform at the edge, end to end: real ippeveprinters without PDF (an IPP Everywhere
profile taking PWG Raster and JPEG, and one taking Apple Raster only) behind a manager;
a PDF (and a markdown file) printed through Cirrus arrives at the printer as a valid
raster stream, read back page by page with CUPS's raster reader; and CUPS printing
through the IPP gateway to such a queue works."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cirrus.stack.ippeveprinter import IppEvePrinter, start_ippeveprinter
from gateway.app import GatewayApp
from manager.drivers import make_driver
from stanzas.states import JobState
from tests.conftest import Harness
from tests.documents import make_pdf
from tests.integration import test_gateway_cups
from tests.integration.test_cli import cirrus
from tests.integration.test_gateway_cups import Cupsd
from tests.integration.test_gateway_ipptool import directory_for, gateway_config
from tests.raster_check import PWG_SYNC, URF_SYNC, read_raster

pytestmark = pytest.mark.skipif(
    shutil.which("ippeveprinter") is None or shutil.which("gs") is None,
    reason="needs ippeveprinter (cups-ipp-utils) and Ghostscript",
)
WAIT = 60.0
cupsd = test_gateway_cups.cupsd  # the private cupsd fixture
EVERYWHERE_WITHOUT_PDF = ("image/pwg-raster", "image/jpeg")


async def raster_printer(folder: Path, formats: tuple[str, ...]) -> IppEvePrinter:
    return await start_ippeveprinter(folder, command="/bin/true", formats=formats, color=True)


@pytest.fixture
async def pwg_printer(short_tmp: Path) -> AsyncIterator[IppEvePrinter]:
    printer = await raster_printer(short_tmp / "pwg", EVERYWHERE_WITHOUT_PDF)
    try:
        yield printer
    finally:
        await printer.stop()


async def ipp_manager(harness: Harness, printer: IppEvePrinter, queue: str = "office") -> Path:
    """A manager for the printer; returns its state folder."""
    settings = harness.manager_settings(queue=queue, driver=f"ipp:{printer.uri}")
    await harness.manager(make_driver(settings.devices[0].driver), queue=queue, settings=settings)
    return settings.state_dir


def received(printer: IppEvePrinter) -> list[Path]:
    """The documents the printer was sent (its spool also holds the print command's
    empty .prn output next to each)."""
    return [p for p in printer.output_files() if p.suffix != ".prn"]


async def test_a_pdf_arrives_as_pwg_raster(
    service, harness: Harness, pwg_printer: IppEvePrinter, short_tmp: Path
) -> None:  # type: ignore[no-untyped-def]
    state = await ipp_manager(harness, pwg_printer)
    queue = await service.service.queues.get("office")
    assert queue is not None
    formats = queue.capabilities.document_format_supported or []
    # The printer's own formats, then what the transforms reach: the queue's real reach.
    assert formats[:3] == ["application/octet-stream", "image/jpeg", "image/pwg-raster"]
    assert {"application/pdf", "application/postscript", "text/plain", "text/markdown"} <= set(
        formats
    )

    alice = await harness.client("alice")
    pdf = make_pdf(short_tmp / "report.pdf", pages=3)
    job = await alice.print_files("office", [pdf], job_name="report")
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.COMPLETED, final
    [printed] = received(pwg_printer)
    raster = read_raster(printed)
    assert raster.sync == PWG_SYNC
    assert len(raster.pages) == 3
    assert {(p.x_resolution, p.bits_per_pixel) for p in raster.pages} == {(300, 24)}
    assert list((state / "transform").iterdir()) == []  # the converted file went with the job


async def test_cirrus_print_notes_md_prints_as_text(
    service, harness: Harness, pwg_printer: IppEvePrinter, short_tmp: Path
) -> None:  # type: ignore[no-untyped-def]
    await ipp_manager(harness, pwg_printer)
    notes = short_tmp / "notes.md"
    notes.write_text("# Notes\n\n" + "".join(f"- point {i}\n" for i in range(120)))
    code, out, err = await cirrus(harness, "print", "--queue", "office", str(notes))
    assert code == 0, err
    assert "completed" in out
    [printed] = received(pwg_printer)
    # 122 lines at texttopdf's 6 lines an inch, 60 a page on the printer's Letter: 3 pages
    assert len(read_raster(printed).pages) == 3


async def test_a_pdf_arrives_as_apple_raster(service, harness: Harness, short_tmp: Path) -> None:  # type: ignore[no-untyped-def]
    printer = await raster_printer(short_tmp / "urf", ("image/urf",))
    try:
        await ipp_manager(harness, printer)
        alice = await harness.client("alice")
        pdf = make_pdf(short_tmp / "report.pdf", pages=2)
        job = await alice.print_files("office", [pdf], job_name="report")
        final = await alice.wait_for_final(job.job_id, timeout=WAIT)
        assert final.job_state == JobState.COMPLETED, final
        [printed] = received(printer)
        raster = read_raster(printed)
        assert raster.sync == URF_SYNC
        assert len(raster.pages) == 2
        assert raster.pages[0].x_resolution == 600  # the printer's only resolution (RS600)
    finally:
        await printer.stop()


async def test_a_document_nothing_converts_is_refused_at_the_service(
    service, harness: Harness, pwg_printer: IppEvePrinter, short_tmp: Path
) -> None:  # type: ignore[no-untyped-def]
    from stanzas.errors import DocumentFormatNotSupported

    await ipp_manager(harness, pwg_printer)
    alice = await harness.client("alice")
    job = await alice.create_job("office")
    pages = short_tmp / "x.pages"
    pages.write_bytes(b"PK\x03\x04 not a printable document")
    with pytest.raises(DocumentFormatNotSupported):
        await alice.send_document(job.job_id, pages, document_format="application/vnd.apple.pages")


async def test_cups_prints_through_the_gateway_to_a_raster_only_queue(
    service,
    harness: Harness,
    pwg_printer: IppEvePrinter,
    cupsd: Cupsd,
    short_tmp: Path,
) -> None:  # type: ignore[no-untyped-def]
    await ipp_manager(harness, pwg_printer)
    app = GatewayApp(gateway_config(harness), directory=directory_for(service))
    await app.start()
    try:
        user = f"alice:{harness.passwords['alice']}@"
        uri = app.uri("office").replace("://", f"://{user}", 1)
        await cupsd.run("lpadmin", "-p", "cloud", "-E", "-v", uri, "-m", "everywhere")
        pdf = make_pdf(short_tmp / "cups.pdf", pages=2)
        out = await cupsd.run("lp", "-d", "cloud", "-t", "cups report", str(pdf))
        assert "request id is cloud-" in out
        alice = await harness.client("alice")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        final = None
        while loop.time() < deadline and final is None:
            done = [
                j for j in await alice.get_jobs("office", which="all") if j.job_state.is_terminal
            ]
            final = done[0] if done else None
            if final is None:
                await app.gateway.subscriptions.wait(min(2.0, deadline - loop.time()))
        assert final is not None, cupsd.log_tail()
        assert final.job_state == JobState.COMPLETED, (final, cupsd.log_tail())
        [printed] = received(pwg_printer)
        raster = read_raster(printed)
        assert raster.sync == PWG_SYNC and len(raster.pages) == 2
    finally:
        await app.stop()
