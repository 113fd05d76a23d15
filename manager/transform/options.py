"""How a document is rendered for a device: resolution, colour, sides and page size,
chosen from what the ticket asks and what the device says it supports."""

from __future__ import annotations

import re
from dataclasses import dataclass

from manager.drivers.base import DeviceCapabilities, DeviceJobTicket

from .formats import PCLXL, POSTSCRIPT, PWG_RASTER, URF

# PWG 5101.1 self-describing media names end in the size: iso_a4_210x297mm, na_letter_8.5x11in.
_MEDIA_SIZE = re.compile(r"_(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)(mm|in)$")
_URF_RESOLUTIONS = re.compile(r"^RS(\d+(?:-\d+)*)$")
_MONOCHROME = frozenset({"monochrome", "bi-level", "process-monochrome", "process-bi-level"})
_DUPLEX = frozenset({"two-sided-long-edge", "two-sided-short-edge"})
DEFAULT_RESOLUTION = 300
PREFERRED_RESOLUTION = 300  # print-quality normal (or none asked): the supported one nearest this


@dataclass(frozen=True)
class RenderOptions:
    resolution: int = DEFAULT_RESOLUTION  # dots per inch, the same across and down
    color: bool = True  # sRGB 8 bit; False: sGray 8 bit
    sides: str = "one-sided"  # one-sided | two-sided-long-edge | two-sided-short-edge
    page_points: tuple[float, float] | None = None  # page width, height; None: the document's

    @property
    def duplex(self) -> bool:
        return self.sides in _DUPLEX


def media_points(media: str | None) -> tuple[float, float] | None:
    """The page size in PostScript points from a PWG media keyword, None if it names none."""
    match = _MEDIA_SIZE.search(media or "")
    if match is None:
        return None
    unit = 72 / 25.4 if match.group(3) == "mm" else 72.0
    return (round(float(match.group(1)) * unit, 2), round(float(match.group(2)) * unit, 2))


def urf_resolutions(urf_supported: tuple[str, ...]) -> tuple[int, ...]:
    for keyword in urf_supported:
        match = _URF_RESOLUTIONS.match(keyword)
        if match:
            return tuple(int(r) for r in match.group(1).split("-"))
    return ()


def resolutions_for(target: str, caps: DeviceCapabilities) -> tuple[int, ...]:
    if target == PWG_RASTER:
        return caps.pwg_raster_document_resolution_supported
    if target == URF:
        return urf_resolutions(caps.urf_supported)
    if target in (PCLXL, POSTSCRIPT):
        return caps.printer_resolution_supported
    return ()


def choose_resolution(supported: tuple[int, ...], print_quality: int | None) -> int:
    """Draft (3) takes the lowest the device supports, high (5) the highest, normal the
    one nearest 300 dpi."""
    if not supported:
        return DEFAULT_RESOLUTION
    if print_quality == 3:
        return min(supported)
    if print_quality == 5:
        return max(supported)
    return min(supported, key=lambda r: (abs(r - PREFERRED_RESOLUTION), -r))


def color_supported(target: str, caps: DeviceCapabilities) -> bool:
    if target == PWG_RASTER and caps.pwg_raster_document_type_supported:
        return any(t.startswith("srgb") for t in caps.pwg_raster_document_type_supported)
    if target == URF and caps.urf_supported:
        return any(k in ("SRGB24", "RGB24", "ADOBERGB24") for k in caps.urf_supported)
    modes = set(caps.print_color_mode_supported)
    return not modes or "color" in modes or modes == {"auto"}


def render_options(target: str, ticket: DeviceJobTicket, caps: DeviceCapabilities) -> RenderOptions:
    """What the ticket asks, as far as the device supports it; what it does not is
    replaced by the device's default (a printer prints what it can rather than nothing)."""
    resolution = choose_resolution(resolutions_for(target, caps), ticket.print_quality)
    wants_gray = (ticket.print_color_mode or caps.print_color_mode_default) in _MONOCHROME
    sides = ticket.sides or caps.sides_default or "one-sided"
    if sides not in caps.sides_supported:
        sides = "one-sided"
    return RenderOptions(
        resolution=resolution,
        color=color_supported(target, caps) and not wants_gray,
        sides=sides,
        page_points=media_points(ticket.media or caps.media_default),
    )
