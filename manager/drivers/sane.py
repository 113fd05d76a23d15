"""A driver for scanners through SANE, with Debian's scanimage (sane-utils).

Any SANE backend works: sane-airscan for eSCL/AirScan network scanners, vendor
backends for USB ones, and SANE's own `test` backend, which the tests use as the
device (it produces real images with the options set). Spec: ``sane:DEVICE``, the
device name as ``scanimage -L`` lists it (``sane:test``, ``sane:airscan:e0:Canon …``).

* Capabilities come from ``scanimage -d DEVICE -A``: --source, --mode and --resolution
  (a list, or a range offered as the usual resolutions inside it), the scan area from
  -x and -y.
* A scan is one scanimage run (``--batch`` for the feeder), killed on cancel and after
  ``scan_timeout`` seconds. Pages come out as PNG; img2pdf puts them into a PDF (colour
  and grey pages as JPEG first, as scanners' own PDFs do), Pillow makes JPEGs.
* SANE's status words (jammed, cover open, out of documents) become ScanFailed with the
  IPP printer-state-reason keyword.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from manager.tools import ToolFailed, run_tool

from .base import DeviceStatus, DeviceUnreachable
from .scanner import (
    BI_LEVEL,
    COLOR,
    FEEDER,
    MONOCHROME,
    PLATEN,
    ScanDriver,
    ScanFailed,
    ScannedDocument,
    ScannerCapabilities,
    ScanTicket,
)

__all__ = ["SaneDriver"]

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
OUTPUT_FORMATS = (PDF, JPEG, PNG)
COMMON_RESOLUTIONS = (75, 100, 150, 200, 300, 600, 1200)
JPEG_QUALITY = 85
_OPTION = re.compile(r"^\s+(-{1,2}[\w-]+)(?:\[=\(.*\)\])?\s+(.*?)\s+\[(.*)\]\s*$")
_RANGE = re.compile(r"^(\d+(?:\.\d+)?)\.\.(\d+(?:\.\d+)?)([a-z]*)")
# SANE's names for sources and modes vary by backend; these say which is which.
_FEEDER_SOURCE = re.compile(r"adf|feeder", re.IGNORECASE)
_PLATEN_SOURCE = re.compile(r"flatbed|platen|glass", re.IGNORECASE)
_DUPLEX_SOURCE = re.compile(r"duplex", re.IGNORECASE)
_MODES = {COLOR: re.compile(r"^colou?r$", re.I), MONOCHROME: re.compile(r"^gr[ae]y", re.I),
          BI_LEVEL: re.compile(r"^(lineart|binary|black ?& ?white|halftone)$", re.I)}  # fmt: skip
# sane_strstatus() words in scanimage's messages → printer-state-reasons (RFC 8011).
_FAILURES = (
    ("jammed", "media-jam"),
    ("cover open", "cover-open"),
    ("out of documents", "media-empty"),
    ("device busy", "other"),
)


@dataclass(frozen=True)
class _SaneOptions:
    """The SANE option values that stand for each of our keywords."""

    sources: dict[str, str]  # platen / feeder / feeder-duplex → SANE --source value
    modes: dict[str, str]  # color / monochrome / bi-level → SANE --mode value
    resolutions: tuple[int, ...]
    max_width_mm: float | None
    max_height_mm: float | None
    model: str


class SaneDriver(ScanDriver):
    name = "sane"

    def __init__(
        self,
        device: str,
        *,
        config_dir: Path | None = None,
        scan_timeout: float = 600.0,
        query_timeout: float = 30.0,
    ) -> None:
        self.device = device
        self.config_dir = config_dir
        self.scan_timeout = scan_timeout
        self.query_timeout = query_timeout
        self._options: _SaneOptions | None = None
        self._scanning = 0

    @classmethod
    def from_spec(cls, rest: str) -> SaneDriver:
        if not rest:
            raise ValueError("driver spec sane:DEVICE: missing device name (scanimage -L)")
        return cls(rest)

    # --- the scanner's options ----------------------------------------------------------
    def _env(self) -> Mapping[str, str]:
        return {"SANE_CONFIG_DIR": str(self.config_dir)} if self.config_dir else {}

    async def _scanimage(self, *args: str) -> str:
        """scanimage's output for a query (never a scan)."""
        exe = _scanimage_path()
        proc = await asyncio.create_subprocess_exec(
            exe,
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **self._env()},
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(self.query_timeout):
                out, err = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise DeviceUnreachable(f"scanimage {' '.join(args)} did not answer") from None
        if proc.returncode != 0:
            raise DeviceUnreachable(
                f"scanner {self.device}: {err.decode(errors='replace').strip()[-500:]}"
            )
        return out.decode(errors="replace")

    async def _read_options(self) -> _SaneOptions:
        if self._options is None:
            listing = await self._scanimage("-f", "%d\t%v %m%n")
            # A backend's name alone (`test`) opens its first device (`test:0`).
            names = (self.device, f"{self.device}:0")
            model = next(
                (
                    line.split("\t", 1)[1]
                    for line in listing.splitlines()
                    if line.split("\t", 1)[0] in names
                ),
                "",
            )
            self._options = parse_options(await self._scanimage("-d", self.device, "-A"), model)
        return self._options

    async def get_capabilities(self) -> ScannerCapabilities:
        opts = await self._read_options()
        sources = tuple(s for s in (PLATEN, FEEDER) if s in opts.sources) or (PLATEN,)
        modes = tuple(m for m in (COLOR, MONOCHROME, BI_LEVEL) if m in opts.modes) or (COLOR,)
        resolutions = opts.resolutions or (300,)
        sides = ("one-sided", "two-sided-long-edge") if "feeder-duplex" in opts.sources else ()
        return ScannerCapabilities(
            printer_make_and_model=opts.model or f"SANE {self.device}",
            input_source_supported=sources,
            input_color_mode_supported=modes,
            input_resolution_supported=resolutions,
            input_sides_supported=sides or ("one-sided",),
            document_format_supported=OUTPUT_FORMATS,
            max_width=round((opts.max_width_mm or 210) * 100),
            max_height=round((opts.max_height_mm or 297) * 100),
            input_source_default=sources[0],
            input_color_mode_default=COLOR if COLOR in modes else modes[0],
            input_resolution_default=min(resolutions, key=lambda r: abs(r - 300)),
        )

    async def get_status(self) -> DeviceStatus:
        await self._read_options()  # DeviceUnreachable when the scanner is gone
        if self._scanning:
            return DeviceStatus("processing")
        return DeviceStatus("idle")

    # --- scanning -------------------------------------------------------------------------
    async def scan(self, ticket: ScanTicket, workdir: Path) -> list[ScannedDocument]:
        opts = await self._read_options()
        workdir.mkdir(parents=True, exist_ok=True)
        pages_dir = workdir / "pages"
        pages_dir.mkdir(exist_ok=True)
        self._scanning += 1
        try:
            await self._run_scan(opts, ticket, pages_dir)
            pages = sorted(pages_dir.glob("page-*.png"))
            if not pages:
                raise ScanFailed("media-empty", "the scanner produced no page")
            return await _encode(pages, ticket, workdir)
        finally:
            self._scanning -= 1
            shutil.rmtree(pages_dir, ignore_errors=True)

    async def _run_scan(self, opts: _SaneOptions, ticket: ScanTicket, pages_dir: Path) -> None:
        argv = scan_argv(_scanimage_path(), self.device, opts, ticket, pages_dir)
        try:
            await run_tool(argv, timeout=self.scan_timeout, env=self._env(), error=ToolFailed)
        except ToolFailed as exc:
            text = str(exc)
            reason = next((r for word, r in _FAILURES if word in text.lower()), "other")
            if any(pages_dir.glob("page-*.png")) and "out of documents" in text.lower():
                return  # the feeder ran out after some pages: that is the end of the stack
            raise ScanFailed(reason, _last_line(text)) from exc


def scan_argv(
    exe: str, device: str, opts: _SaneOptions, ticket: ScanTicket, pages_dir: Path
) -> list[str]:
    argv = [exe, "-d", device, "--format=png", f"--resolution={ticket.input_resolution}"]
    mode = opts.modes.get(ticket.input_color_mode)
    if mode:
        argv.append(f"--mode={mode}")
    feeder = ticket.input_source == FEEDER
    source_key = "feeder-duplex" if feeder and ticket.input_sides != "one-sided" else (
        FEEDER if feeder else PLATEN
    )  # fmt: skip
    source = opts.sources.get(source_key) or opts.sources.get(ticket.input_source)
    if source:
        argv.append(f"--source={source}")
    for flag, asked, limit in (
        ("-x", ticket.width, opts.max_width_mm),
        ("-y", ticket.height, opts.max_height_mm),
    ):
        if limit is not None:
            size = limit if asked is None else min(asked / 100, limit)
            argv += [flag, f"{size:g}"]
    if feeder:
        argv.append(f"--batch={pages_dir}/page-%04d.png")
        if ticket.number_of_pages:
            argv.append(f"--batch-count={ticket.number_of_pages}")
    else:
        argv.append(f"--output-file={pages_dir}/page-0001.png")
    return argv


def parse_options(text: str, model: str = "") -> _SaneOptions:
    """The options of `scanimage -d DEVICE -A` that a scan ticket sets."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _OPTION.match(line)
        if match and match.group(1) not in values:
            values[match.group(1)] = match.group(2)
    sources: dict[str, str] = {}
    for value in _choices(values.get("--source", "")):
        if _FEEDER_SOURCE.search(value):
            key = "feeder-duplex" if _DUPLEX_SOURCE.search(value) else FEEDER
            sources.setdefault(key, value)
        elif _PLATEN_SOURCE.search(value):
            sources.setdefault(PLATEN, value)
    modes: dict[str, str] = {}
    for value in _choices(values.get("--mode", "")):
        for keyword, pattern in _MODES.items():
            if pattern.search(value):
                modes.setdefault(keyword, value)
    return _SaneOptions(
        sources=sources,
        modes=modes,
        resolutions=_resolutions(values.get("--resolution", "")),
        max_width_mm=_range_max(values.get("-x", "")),
        max_height_mm=_range_max(values.get("-y", "")),
        model=model,
    )


def _choices(spec: str) -> list[str]:
    return [c.strip() for c in spec.split("|") if c.strip()] if "|" in spec or spec else []


def _resolutions(spec: str) -> tuple[int, ...]:
    match = _RANGE.match(spec)
    if match:
        low, high = float(match.group(1)), float(match.group(2))
        return tuple(r for r in COMMON_RESOLUTIONS if low <= r <= high)
    return tuple(int(v) for v in re.findall(r"\d+", spec.split("dpi")[0]))


def _range_max(spec: str) -> float | None:
    match = _RANGE.match(spec)
    return float(match.group(2)) if match else None


def _last_line(text: str) -> str:
    """scanimage's own words for the failure: the line with SANE's status in it (it may
    be followed by "trying to stop scanner"), else its last message."""
    lines = [ln[ln.find("scanimage:") :].strip() for ln in text.splitlines() if "scanimage:" in ln]
    telling = [ln for ln in lines if any(word in ln.lower() for word, _ in _FAILURES)]
    return (telling or lines or text.strip().splitlines()[-1:] or [text])[-1][:500]


def _scanimage_path() -> str:
    found = shutil.which("scanimage")
    if found is None:
        raise DeviceUnreachable("scanimage is not installed (Debian: sane-utils)")
    return found


# --- the pages in the asked format -----------------------------------------------------------
async def _encode(pages: list[Path], ticket: ScanTicket, workdir: Path) -> list[ScannedDocument]:
    name = ticket.document_name
    if ticket.document_format == PNG:
        outs = [workdir / f"{name}-{i}.png" for i in range(1, len(pages) + 1)]
        for page, out in zip(pages, outs, strict=True):
            page.replace(out)
        return [ScannedDocument(out, PNG, 1) for out in outs]
    if ticket.document_format == JPEG:
        outs = [workdir / f"{name}-{i}.jpg" for i in range(1, len(pages) + 1)]
        for page, out in zip(pages, outs, strict=True):
            await asyncio.to_thread(_to_jpeg, page, out, ticket.input_resolution)
        return [ScannedDocument(out, JPEG, 1) for out in outs]
    if ticket.document_format != PDF:
        raise ScanFailed("other", f"{ticket.document_format} is not an output format")
    images = pages
    if ticket.input_color_mode != BI_LEVEL:  # JPEG pages, as scanners' own PDFs have
        images = [page.with_suffix(".jpg") for page in pages]
        for page, image in zip(pages, images, strict=True):
            await asyncio.to_thread(_to_jpeg, page, image, ticket.input_resolution)
    out = workdir / f"{name}.pdf"
    # img2pdf in its own process, like the transform's converters: it reads whole images.
    argv = [sys.executable, "-m", "img2pdf", *map(str, images), "-o", str(out)]
    try:
        await run_tool(argv, timeout=300.0)
    except ToolFailed as exc:
        raise ScanFailed("other", str(exc)) from exc
    return [ScannedDocument(out, PDF, len(pages))]


def _to_jpeg(page: Path, out: Path, dpi: int) -> None:
    from PIL import Image

    with Image.open(page) as image:
        converted = image.convert("L" if image.mode in ("1", "L", "I;16") else "RGB")
        converted.save(out, "JPEG", quality=JPEG_QUALITY, dpi=(dpi, dpi))
