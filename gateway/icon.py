"""printer-icons: a small PNG drawn here (no image files shipped, no Pillow needed)."""

from __future__ import annotations

import functools
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


@functools.cache
def printer_icon(size: int = 128) -> bytes:
    """A grey printer with a white sheet on a transparent background (RGBA PNG)."""
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter: none
        for x in range(size):
            fx, fy = x / size, y / size
            if 0.3 <= fx <= 0.7 and 0.1 <= fy <= 0.45:
                pixel = (250, 250, 250, 255)  # the sheet
            elif 0.1 <= fx <= 0.9 and 0.4 <= fy <= 0.8:
                pixel = (90, 110, 130, 255)  # the body
            elif 0.25 <= fx <= 0.75 and 0.8 < fy <= 0.9:
                pixel = (250, 250, 250, 255)  # the output
            else:
                pixel = (0, 0, 0, 0)
            row += bytes(pixel)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )
