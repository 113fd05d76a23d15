"""The scanner-driver interface: how the Device Manager drives one Scan Device.

A scan job has no document to hand over: the device produces the documents. So a
scanner driver has one job operation, scan(), which writes the scanned pages in the
output format the ticket asks and returns them; the manager then uploads each with
Put<Service>JobDocumentData (seed 001). Canceling the task that awaits scan() stops the
scan. Names follow IPP Scan (PWG 5100.17) where it has them.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path

from .base import DeviceStatus

PLATEN = "platen"  # the glass
FEEDER = "adf"  # the automatic document feeder (PWG 5100.17 input-source)
COLOR = "color"  # 24-bit sRGB
MONOCHROME = "monochrome"  # 8-bit grey
BI_LEVEL = "bi-level"  # 1 bit, black and white


@dataclass(frozen=True)
class ScannerCapabilities:
    """What the scanner supports (the scan queue's capabilities)."""

    printer_make_and_model: str = ""
    input_source_supported: tuple[str, ...] = (PLATEN,)
    input_color_mode_supported: tuple[str, ...] = (COLOR,)
    input_resolution_supported: tuple[int, ...] = (300,)  # dpi, the same across and down
    input_sides_supported: tuple[str, ...] = ("one-sided",)
    document_format_supported: tuple[str, ...] = ("application/pdf",)
    # The largest area the scanner can scan, in hundredths of millimetres.
    max_width: int = 21_000
    max_height: int = 29_700
    # Defaults, each one of its list.
    input_source_default: str = PLATEN
    input_color_mode_default: str = COLOR
    input_resolution_default: int = 300
    document_format_default: str = "application/pdf"


@dataclass(frozen=True)
class ScanTicket:
    """One scan job's settings, already checked against the capabilities by the service."""

    input_source: str = PLATEN
    input_color_mode: str = COLOR
    input_resolution: int = 300
    input_sides: str = "one-sided"
    document_format: str = "application/pdf"
    # Pages to scan from the feeder (None: until it is empty); the platen scans one.
    number_of_pages: int | None = None
    # The area to scan, in hundredths of millimetres (None: the largest the scanner can).
    width: int | None = None
    height: int | None = None
    document_name: str = "scan"


@dataclass(frozen=True)
class ScannedDocument:
    path: Path
    document_format: str
    pages: int


class ScanFailed(Exception):
    """The scanner could not scan (jammed, empty feeder, cover open …): `reason` is the
    IPP job-state-reason keyword that says why, `message` the scanner's own words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ScanDriver(abc.ABC):
    """One Scan Device. Every method may raise DeviceUnreachable."""

    name: str = "scanner"

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections or resources; called once before anything else."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what start() opened."""

    @abc.abstractmethod
    async def get_capabilities(self) -> ScannerCapabilities: ...

    @abc.abstractmethod
    async def get_status(self) -> DeviceStatus: ...

    @abc.abstractmethod
    async def scan(self, ticket: ScanTicket, workdir: Path) -> list[ScannedDocument]:
        """Scan as the ticket says into files under `workdir`: one document in a
        multi-page format (PDF), or one per page for image formats. Raises ScanFailed."""
