"""The sane driver against SANE's own `test` backend (a real SANE device, through the
real scanimage): capabilities, scans in each output format, feeder batches, failures."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from manager.drivers.base import DeviceUnreachable
from manager.drivers.sane import SaneDriver, parse_options
from manager.drivers.scanner import FEEDER, MONOCHROME, PLATEN, ScanFailed, ScanTicket
from tests.raster_check import pdf_pages

pytestmark = pytest.mark.skipif(
    shutil.which("scanimage") is None, reason="scanimage (Debian sane-utils) is not installed"
)


def sane_test_backend(folder: Path) -> Path:
    """A SANE configuration of our own that enables only the test backend."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dll.conf").write_text("test\n")
    return folder


@pytest.fixture
def scanner(tmp_path: Path) -> SaneDriver:
    return SaneDriver("test", config_dir=sane_test_backend(tmp_path / "sane.d"), scan_timeout=60)


async def test_capabilities_as_the_scanner_reports_them(scanner: SaneDriver) -> None:
    caps = await scanner.get_capabilities()
    assert caps.input_source_supported == (PLATEN, FEEDER)
    assert caps.input_color_mode_supported == ("color", "monochrome")
    assert caps.input_resolution_supported == (75, 100, 150, 200, 300, 600, 1200)
    assert caps.document_format_supported == ("application/pdf", "image/jpeg", "image/png")
    assert (caps.max_width, caps.max_height) == (20_000, 20_000)  # the test backend's 200 mm
    assert caps.printer_make_and_model == "Noname frontend-tester"
    assert (await scanner.get_status()).printer_state == "idle"


async def test_a_color_page_as_pdf(scanner: SaneDriver, tmp_path: Path) -> None:
    ticket = ScanTicket(input_resolution=150, width=10_000, height=5_000)
    [doc] = await scanner.scan(ticket, tmp_path / "job")
    assert doc.document_format == "application/pdf" and doc.pages == 1
    [(width, height)] = pdf_pages(doc.path)
    assert (round(width), round(height)) == (283, 142)  # 100 by 50 mm in points
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == ["scan.pdf"]


async def test_monochrome_jpeg_at_the_asked_resolution(scanner: SaneDriver, tmp_path: Path) -> None:
    from PIL import Image

    ticket = ScanTicket(
        input_color_mode=MONOCHROME, input_resolution=100, document_format="image/jpeg"
    )
    [doc] = await scanner.scan(ticket, tmp_path / "job")
    with Image.open(doc.path) as image:
        assert image.format == "JPEG" and image.mode == "L"
        assert image.size == (787, 787)  # 200 mm at 100 dpi
        assert image.info["dpi"] == (100, 100)


async def test_the_feeder_scans_the_asked_pages(scanner: SaneDriver, tmp_path: Path) -> None:
    ticket = ScanTicket(input_source=FEEDER, input_resolution=75, number_of_pages=3)
    [doc] = await scanner.scan(ticket, tmp_path / "job")
    assert doc.pages == 3 and len(pdf_pages(doc.path)) == 3
    pngs = await scanner.scan(
        ScanTicket(input_source=FEEDER, input_resolution=75, document_format="image/png"),
        tmp_path / "job2",
    )
    # Without a page count the stack is scanned until the feeder is empty (the test
    # backend's feeder holds 10 sheets).
    assert [d.pages for d in pngs] == [1] * 10
    assert all(d.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for d in pngs)


async def test_a_jam_fails_the_scan_with_the_reason(
    scanner: SaneDriver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import manager.drivers.sane as sane

    real = sane.scan_argv

    def jammed(*args: object, **kwargs: object) -> list[str]:
        return [*real(*args, **kwargs), "--read-return-value=SANE_STATUS_JAMMED"]  # type: ignore[arg-type]

    monkeypatch.setattr(sane, "scan_argv", jammed)
    with pytest.raises(ScanFailed) as caught:
        await scanner.scan(ScanTicket(input_resolution=75), tmp_path / "job")
    assert caught.value.reason == "media-jam"
    assert "jammed" in caught.value.message
    assert not (tmp_path / "job" / "pages").exists()


async def test_cancel_stops_the_scan(tmp_path: Path, scanner: SaneDriver) -> None:
    # 1200 dpi colour over the whole area takes the test backend several seconds.
    task = asyncio.create_task(scanner.scan(ScanTicket(input_resolution=1200), tmp_path / "job"))
    while scanner._scanning == 0:  # noqa: ASYNC110 - a status read would race the start
        await asyncio.sleep(0.01)
    assert (await scanner.get_status()).printer_state == "processing"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await scanner.get_status()).printer_state == "idle"


async def test_an_unknown_scanner_is_unreachable(tmp_path: Path) -> None:
    missing = SaneDriver("nosuch:0", config_dir=sane_test_backend(tmp_path / "sane.d"))
    with pytest.raises(DeviceUnreachable, match="nosuch"):
        await missing.get_capabilities()


def test_parse_options_of_a_network_scanner() -> None:
    listing = """
  Standard:
    --resolution 75|150|300|600dpi [300]
    --mode Color|Gray|Lineart [Color]
    --source Flatbed|ADF|ADF Duplex [Flatbed]
  Geometry:
    -x 0..215.9mm [215.9]
    -y 0..297.011mm [297.011]
"""
    opts = parse_options(listing, "Canon MF")
    assert opts.sources == {"platen": "Flatbed", "adf": "ADF", "feeder-duplex": "ADF Duplex"}
    assert opts.modes == {"color": "Color", "monochrome": "Gray", "bi-level": "Lineart"}
    assert opts.resolutions == (75, 150, 300, 600)
    assert (opts.max_width_mm, opts.max_height_mm) == (215.9, 297.011)


def test_the_failure_line_is_found_wherever_scanimage_put_it() -> None:
    from manager.drivers.sane import _last_line

    first = (
        "scanimage failed (exit 6): scanimage: sane_read: Document feeder jammed\n"
        "scanimage: trying to stop scanner"
    )
    assert _last_line(first) == "scanimage: sane_read: Document feeder jammed"
    last = "scanimage failed (exit 6): scanimage: trying to stop scanner\nscanimage: cover open"
    assert _last_line(last) == "scanimage: cover open"
    assert (
        _last_line("scanimage failed (exit 1): no message")
        == "scanimage failed (exit 1): no message"
    )
