"""The transform's speed: a 10-page PDF to PWG Raster at 300 dpi, sRGB 8 bit, A4.

    python -m bench.transform [--pages 10] [--runs 3]

Two documents: text pages (a heading and a colour bar, mostly white: what an office
prints) and photo pages (a full-page image on each). Each run is one Transformer
conversion (one Ghostscript process), timed from start to the last byte on disk; the
output is read back with libcups to count its pages. Prints pages/s per run.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
import os
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from manager.drivers.base import DeviceCapabilities, DeviceJobTicket
from manager.transform import Transformer

A4 = (595.28, 841.89)
CAPS = DeviceCapabilities(
    document_format_supported=("image/pwg-raster",),
    pwg_raster_document_resolution_supported=(300,),
    pwg_raster_document_type_supported=("sgray_8", "srgb_8"),
    media_default="iso_a4_210x297mm",
)


def text_pdf(path: Path, pages: int) -> Path:
    ps = ["%!PS", f"<< /PageSize [{A4[0]} {A4[1]}] >> setpagedevice"]
    ps += ["/Helvetica findfont 14 scalefont setfont"]
    for page in range(1, pages + 1):
        for line in range(40):
            ps.append(f"72 {760 - 16 * line} moveto (Page {page}, line {line}: lorem ipsum) show")
        ps += ["1 0 0 setrgbcolor 72 60 300 30 rectfill 0 setgray", "showpage"]
    source = path.with_suffix(".ps")
    source.write_text("\n".join(ps) + "\n")
    _pdfwrite(source, path)
    return path


def photo_pdf(path: Path, pages: int) -> Path:
    import img2pdf
    from PIL import Image

    side = 1200  # a 1200 x 1200 noise image scaled onto each A4 page
    images = []
    for page in range(pages):
        image = path.with_name(f"photo-{page}.jpg")
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(image, quality=85)
        images.append(str(image))
    layout = img2pdf.get_layout_fun((img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297)))
    path.write_bytes(img2pdf.convert(images, layout_fun=layout))
    return path


def _pdfwrite(source: Path, target: Path) -> None:
    subprocess.run(
        ["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
         f"-sOutputFile={target}", str(source)],
        check=True,
    )  # fmt: skip


def raster_pages(path: Path) -> int:
    lib = ctypes.CDLL(ctypes.util.find_library("cups") or "libcups.so.2")
    lib.cupsRasterOpen.restype = ctypes.c_void_p
    lib.cupsRasterOpen.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.cupsRasterReadHeader2.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.cupsRasterReadPixels.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint]
    lib.cupsRasterReadPixels.restype = ctypes.c_uint
    lib.cupsRasterClose.argtypes = [ctypes.c_void_p]
    fd = os.open(path, os.O_RDONLY)
    raster = lib.cupsRasterOpen(fd, 0)
    header = ctypes.create_string_buffer(1796)
    pages = 0
    try:
        while lib.cupsRasterReadHeader2(raster, header):
            (height,) = struct.unpack_from("=I", header.raw, 376)  # cupsHeight
            (line_bytes,) = struct.unpack_from("=I", header.raw, 392)  # cupsBytesPerLine
            line = ctypes.create_string_buffer(line_bytes)
            for _ in range(height):  # every line, decompressed: a whole, valid page
                if lib.cupsRasterReadPixels(raster, line, line_bytes) != line_bytes:
                    raise RuntimeError(f"page {pages + 1} is cut short")
            pages += 1
    finally:
        lib.cupsRasterClose(raster)
        os.close(fd)
    return pages


async def measure(pdf: Path, work: Path, runs: int) -> list[float]:
    ticket = DeviceJobTicket(
        job_name="bench", requesting_user_name="bench", print_color_mode="color"
    )
    rates = []
    for run in range(runs):
        started = time.perf_counter()
        out = await Transformer(work).for_device(pdf, "application/pdf", ticket, CAPS)
        elapsed = time.perf_counter() - started
        assert out is not None
        pages = raster_pages(out.path)
        size = out.path.stat().st_size
        out.path.unlink()
        rates.append(pages / elapsed)
        print(f"  run {run + 1}: {pages} pages in {elapsed:.2f} s = {pages / elapsed:.1f} pages/s"
              f" ({size / 1e6:.1f} MB of PWG Raster)")  # fmt: skip
    return rates


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-transform-") as tmp:
        folder = Path(tmp)
        for name, make in (("text", text_pdf), ("photo", photo_pdf)):
            pdf = make(folder / f"{name}.pdf", args.pages)
            print(f"{name} pages: {args.pages}-page PDF ({pdf.stat().st_size / 1e6:.2f} MB) "
                  "to PWG Raster, 300 dpi sRGB, A4")  # fmt: skip
            rates = sorted(await measure(pdf, folder / "work", args.runs))
            print(f"  median {rates[len(rates) // 2]:.1f} pages/s")


if __name__ == "__main__":
    asyncio.run(main())
