"""Reading what a transform wrote, with the readers printers' own software uses: CUPS's
raster reader (libcups, through ctypes) for PWG Raster and Apple Raster, pikepdf for PDF.
A stream that libcups cannot read page by page to the end fails here."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from dataclasses import dataclass
from pathlib import Path

PWG_SYNC = b"RaS2"
URF_SYNC = b"UNIRAST\x00"
_HEADER_SIZE = 1796  # sizeof(cups_page_header2_t)
_READ = 0  # CUPS_RASTER_READ


@dataclass(frozen=True)
class RasterPage:
    x_resolution: int
    y_resolution: int
    width: int  # pixels
    height: int
    bits_per_color: int
    bits_per_pixel: int
    color_space: int  # cups_cspace_t: 18 sGray, 19 sRGB
    duplex: bool
    tumble: bool


@dataclass(frozen=True)
class Raster:
    sync: bytes
    pages: list[RasterPage]


def _libcups() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("cups") or "libcups.so.2")
    lib.cupsRasterOpen.restype = ctypes.c_void_p
    lib.cupsRasterOpen.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.cupsRasterReadHeader2.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.cupsRasterReadHeader2.restype = ctypes.c_uint
    lib.cupsRasterReadPixels.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint]
    lib.cupsRasterReadPixels.restype = ctypes.c_uint
    lib.cupsRasterClose.argtypes = [ctypes.c_void_p]
    return lib


def read_raster(path: Path) -> Raster:
    """Every page header of a PWG or Apple raster stream, each page's pixels read whole."""
    with path.open("rb") as f:
        head = f.read(8)
    sync = URF_SYNC if head == URF_SYNC else head[:4]
    lib = _libcups()
    fd = os.open(path, os.O_RDONLY)
    raster = lib.cupsRasterOpen(fd, _READ)
    pages: list[RasterPage] = []
    try:
        header = ctypes.create_string_buffer(_HEADER_SIZE)
        while lib.cupsRasterReadHeader2(raster, header):
            raw = header.raw
            duplex, xres, yres = struct.unpack_from("=III", raw, 272)
            (tumble,) = struct.unpack_from("=I", raw, 368)
            width, height = struct.unpack_from("=II", raw, 372)
            bpc, bpp, bpl, _order, cspace = struct.unpack_from("=IIIII", raw, 384)
            line = ctypes.create_string_buffer(bpl)
            for row in range(height):
                if lib.cupsRasterReadPixels(raster, line, bpl) != bpl:
                    raise AssertionError(f"{path}: page {len(pages) + 1} ends at line {row}")
            pages.append(
                RasterPage(xres, yres, width, height, bpc, bpp, cspace, bool(duplex), bool(tumble))
            )
    finally:
        lib.cupsRasterClose(raster)
        os.close(fd)
    return Raster(sync, pages)


def pdf_pages(path: Path) -> list[tuple[float, float]]:
    """Each page's size in points, as pikepdf reads the PDF."""
    import pikepdf

    with pikepdf.open(path) as pdf:
        return [
            (
                float(p.mediabox[2]) - float(p.mediabox[0]),
                float(p.mediabox[3]) - float(p.mediabox[1]),
            )
            for p in pdf.pages
        ]
