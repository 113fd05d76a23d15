"""The transform with the real converters (Ghostscript, texttopdf, img2pdf): what they
write is read back with CUPS's raster reader and pikepdf."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from manager.drivers.base import DeviceCapabilities, DeviceJobTicket
from manager.transform import Transformer, TransformFailed
from manager.transform.formats import PCLXL, PDF, POSTSCRIPT, PWG_RASTER, URF
from tests.documents import make_image, make_pdf, make_postscript
from tests.raster_check import PWG_SYNC, URF_SYNC, pdf_pages, read_raster

A4 = (595.28, 841.89)
EVERYWHERE = DeviceCapabilities(
    document_format_supported=(PWG_RASTER, "image/jpeg"),
    pwg_raster_document_resolution_supported=(150, 300),
    pwg_raster_document_type_supported=("sgray_8", "srgb_8"),
    sides_supported=("one-sided", "two-sided-long-edge", "two-sided-short-edge"),
    print_color_mode_supported=("auto", "monochrome", "color"),
    media_default="iso_a4_210x297mm",
)
URF_ONLY = DeviceCapabilities(
    document_format_supported=(URF,),
    urf_supported=("V1.4", "W8", "SRGB24", "RS300-600", "DM1"),
    media_default="na_letter_8.5x11in",
)


def ticket(**fields: object) -> DeviceJobTicket:
    return DeviceJobTicket(job_name="notes", requesting_user_name="alice", **fields)  # type: ignore[arg-type]


async def test_pdf_to_pwg_raster_at_the_tickets_resolution_and_color(tmp_path: Path) -> None:
    source = make_pdf(tmp_path / "doc.pdf", pages=3)
    out = await Transformer(tmp_path / "work").for_device(
        source, PDF, ticket(print_quality=5), EVERYWHERE
    )
    assert out is not None and out.document_format == PWG_RASTER
    raster = read_raster(out.path)
    assert raster.sync == PWG_SYNC
    assert len(raster.pages) == 3
    page = raster.pages[0]
    assert (page.x_resolution, page.y_resolution) == (300, 300)
    assert (page.width, page.height) == (2480, 3508)  # A4 at 300 dpi
    assert (page.color_space, page.bits_per_pixel) == (19, 24)  # sRGB 8 bit
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == [out.path.name]


async def test_monochrome_duplex_draft(tmp_path: Path) -> None:
    source = make_pdf(tmp_path / "doc.pdf", pages=2)
    out = await Transformer(tmp_path / "work").for_device(
        source,
        PDF,
        ticket(print_color_mode="monochrome", sides="two-sided-short-edge", print_quality=3),
        EVERYWHERE,
    )
    assert out is not None
    pages = read_raster(out.path).pages
    assert len(pages) == 2
    assert (pages[0].x_resolution, pages[0].color_space, pages[0].bits_per_pixel) == (150, 18, 8)
    assert pages[0].duplex and pages[0].tumble


async def test_pdf_to_apple_raster(tmp_path: Path) -> None:
    source = make_pdf(tmp_path / "doc.pdf", pages=2)
    out = await Transformer(tmp_path / "work").for_device(source, PDF, ticket(), URF_ONLY)
    assert out is not None and out.document_format == URF
    raster = read_raster(out.path)
    assert raster.sync == URF_SYNC
    assert len(raster.pages) == 2
    assert (raster.pages[0].width, raster.pages[0].height) == (2550, 3300)  # Letter, 300 dpi


@pytest.mark.parametrize(
    ("target", "magic"), [(POSTSCRIPT, b"%!PS"), (PCLXL, b") HP-PCL XL"), (PDF, b"%PDF")]
)
async def test_page_description_languages(tmp_path: Path, target: str, magic: bytes) -> None:
    if target == PDF:
        source, source_format = make_postscript(tmp_path / "doc.ps", pages=2), POSTSCRIPT
    else:
        source, source_format = make_pdf(tmp_path / "doc.pdf", pages=2), PDF
    caps = DeviceCapabilities(document_format_supported=(target,))
    out = await Transformer(tmp_path / "work").for_device(source, source_format, ticket(), caps)
    assert out is not None and out.document_format == target
    assert magic in out.path.read_bytes()[:200]  # PCL XL after its PJL header
    if target == PDF:
        assert len(pdf_pages(out.path)) == 2


async def test_images_to_pdf_and_raster(tmp_path: Path) -> None:
    jpeg = make_image(tmp_path / "photo.jpg", "JPEG")
    pdf_device = DeviceCapabilities(document_format_supported=(PDF,))
    out = await Transformer(tmp_path / "work").for_device(
        jpeg, "image/jpeg", ticket(media="iso_a4_210x297mm"), pdf_device
    )
    assert out is not None and out.document_format == PDF
    assert pdf_pages(out.path) == [pytest.approx(A4, abs=0.5)]
    png = make_image(tmp_path / "drawing.png", "PNG")
    raster = await Transformer(tmp_path / "work2").for_device(
        png, "image/png", ticket(), EVERYWHERE
    )
    assert raster is not None and len(read_raster(raster.path).pages) == 1
    assert [p.name for p in (tmp_path / "work2").iterdir()] == [raster.path.name]


async def test_text_is_laid_out_on_the_tickets_medium(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(
        "# Notes\n\n" + "".join(f"- item {i}: Grüße, naïve café\n" for i in range(150))
    )
    pdf_device = DeviceCapabilities(document_format_supported=(PDF,))
    out = await Transformer(tmp_path / "work").for_device(
        notes, "text/markdown", ticket(media="iso_a4_210x297mm"), pdf_device
    )
    assert out is not None
    pages = pdf_pages(out.path)
    assert len(pages) >= 2  # 152 lines do not fit one page
    assert pages[0] == pytest.approx(A4, abs=0.5)
    urf = await Transformer(tmp_path / "work2").for_device(
        notes, "text/plain; charset=utf-8", ticket(), URF_ONLY
    )
    assert urf is not None and len(read_raster(urf.path).pages) == len(pages)


async def test_a_document_nothing_reaches_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "x.pages"
    source.write_bytes(b"PK\x03\x04")
    with pytest.raises(TransformFailed, match="cannot be converted"):
        await Transformer(tmp_path / "work").for_device(
            source, "application/vnd.apple.pages", ticket(), EVERYWHERE
        )


async def test_a_damaged_document_fails_with_the_tools_message(tmp_path: Path) -> None:
    source = tmp_path / "bad.ps"
    source.write_text("%!PS\n/undefinedthing load exec\n")
    with pytest.raises(TransformFailed, match="gs failed") as caught:
        await Transformer(tmp_path / "work").for_device(source, POSTSCRIPT, ticket(), EVERYWHERE)
    assert "undefined" in str(caught.value)
    assert list((tmp_path / "work").iterdir()) == []


async def test_a_runaway_document_is_stopped_at_the_time_limit(tmp_path: Path) -> None:
    source = tmp_path / "loop.ps"
    source.write_text("%!PS\n{ } loop\n")
    started = time.monotonic()
    with pytest.raises(TransformFailed, match="longer than 1 s"):
        await Transformer(tmp_path / "work", timeout=1.0).for_device(
            source, POSTSCRIPT, ticket(), EVERYWHERE
        )
    assert time.monotonic() - started < 5
    assert list((tmp_path / "work").iterdir()) == []
