"""Document data compressed as the IPP ``compression`` attribute says (RFC 8011 §5.4.32).

``gzip`` is RFC 1952 and ``deflate`` RFC 1951 raw deflate (what CUPS and ipptool send);
a zlib-wrapped (RFC 1950) stream is accepted for ``deflate`` too, since HTTP's
"deflate" means that and clients mix the two up. The data is inflated as it streams,
at most ``OUT_CHUNK`` octets per step, so a small compressed body cannot balloon in
memory; a stream that is not what it claims, or that ends early, is the client's error.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

#: compression-supported: what the gateway accepts for data sent with the request.
COMPRESSIONS = ("none", "deflate", "gzip")
OUT_CHUNK = 64 * 1024


class CompressionError(ValueError):
    """The document data is not the compressed stream its compression names."""


def _decompressor(compression: str, head: bytes) -> zlib._Decompress:
    if compression == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    zlib_header = len(head) >= 2 and head[0] & 0x0F == 8 and int.from_bytes(head[:2]) % 31 == 0
    return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)


async def inflate(compression: str, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The uncompressed document data of ``chunks``."""
    if compression == "none":
        async for chunk in chunks:
            yield chunk
        return
    inflater: zlib._Decompress | None = None
    try:
        async for chunk in chunks:
            if inflater is None:
                inflater = _decompressor(compression, chunk)
            if inflater.eof:
                if chunk.strip(b"\0"):
                    raise CompressionError(f"data after the end of the {compression} stream")
                continue
            data = chunk
            while data:
                out = inflater.decompress(data, OUT_CHUNK)
                if out:
                    yield out
                data = inflater.unconsumed_tail
            if inflater.unused_data.strip(b"\0"):
                raise CompressionError(f"data after the end of the {compression} stream")
        while inflater is not None and not inflater.eof:
            out = inflater.decompress(b"", OUT_CHUNK)
            if not out:
                break
            yield out
    except zlib.error as exc:
        raise CompressionError(f"the document is not valid {compression} data: {exc}") from None
    if inflater is None or not inflater.eof:
        raise CompressionError(f"the {compression} stream of the document is incomplete")
