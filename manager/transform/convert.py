"""The converters: each step of a plan is one run of Ghostscript, cups-filters'
texttopdf or img2pdf, from a file to a file (never the document in memory)."""

from __future__ import annotations

import contextlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from manager.drivers.base import DeviceCapabilities, DeviceJobTicket
from manager.tools import ToolFailed, run_tool

from .formats import PCLXL, PDF, POSTSCRIPT, PWG_RASTER, URF, Step, Tool, plan
from .options import RenderOptions, render_options

DEFAULT_TIMEOUT = 300.0  # seconds one step may take
_CUPS_FILTERS = Path("/usr/lib/cups/filter")
_EXTENSIONS = {PDF: "pdf", POSTSCRIPT: "ps", PCLXL: "pxl", PWG_RASTER: "pwg", URF: "urf"}
# Ghostscript's cups-raster colour spaces (cups_cspace_t): sGray and sRGB, the two
# every IPP Everywhere and AirPrint printer takes.
_SGRAY, _SRGB = 18, 19
_MARGINS = (18.0, 36.0)  # points left/right and top/bottom for text pages


class TransformFailed(ToolFailed):
    """The document could not be converted (no way to the device, bad input, time-out)."""


@dataclass(frozen=True)
class Converted:
    path: Path
    document_format: str


class Transformer:
    """Converts documents for one device into a format it accepts."""

    def __init__(self, workdir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.workdir = workdir
        self.timeout = timeout

    def clear(self) -> None:
        """Remove what a run cut off left behind (call before any conversion starts)."""
        if self.workdir.is_dir():
            for leftover in self.workdir.iterdir():
                leftover.unlink(missing_ok=True)

    async def for_device(
        self,
        source: Path,
        document_format: str,
        ticket: DeviceJobTicket,
        caps: DeviceCapabilities,
    ) -> Converted | None:
        """The document in a format the device takes; None when it takes it as it is.
        Raises TransformFailed when no transform reaches the device, or one fails."""
        steps = plan(document_format, caps.document_format_supported)
        if steps is None:
            raise TransformFailed(
                f"{document_format} cannot be converted into any format the device accepts "
                f"({', '.join(caps.document_format_supported)})"
            )
        if not steps:
            return None
        options = render_options(steps[-1].target, ticket, caps)
        return await self.convert(source, document_format, steps, options, title=ticket.job_name)

    async def convert(
        self,
        source: Path,
        document_format: str,
        steps: tuple[Step, ...],
        options: RenderOptions,
        *,
        title: str = "",
    ) -> Converted:
        """Run the steps in turn; intermediate files are removed, the last one is the
        caller's to remove."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        current, current_format = source, document_format
        try:
            for number, step in enumerate(steps, 1):
                target = (
                    self.workdir / f"{source.name}.{number}.{_EXTENSIONS.get(step.target, 'out')}"
                )
                try:
                    await self._run(step, current, target, options, title)
                except BaseException:
                    target.unlink(missing_ok=True)
                    raise
                if current != source:
                    current.unlink(missing_ok=True)
                current, current_format = target, step.target
        except BaseException:
            if current != source:
                current.unlink(missing_ok=True)
            raise
        return Converted(current, current_format)

    async def _run(
        self, step: Step, source: Path, target: Path, options: RenderOptions, title: str
    ) -> None:
        if step.tool == Tool.GHOSTSCRIPT:
            argv = ghostscript_argv(step.target, source, target, options)
        elif step.tool == Tool.IMG2PDF:
            argv = img2pdf_argv(source, target, options)
        else:
            await self._texttopdf(source, target, options, title)
            return
        await run_tool(argv, timeout=self.timeout, error=TransformFailed)

    async def _texttopdf(
        self, source: Path, target: Path, options: RenderOptions, title: str
    ) -> None:
        # Without a PPD texttopdf lays text out on US Letter; a PPD of one page size
        # (the ticket's medium) is how it is told another.
        ppd = target.with_suffix(".ppd")
        ppd.write_text(page_size_ppd(options.page_points or (612.0, 792.0)))
        try:
            argv = [texttopdf_path(), "1", "cirrus", title or source.name, "1", "", str(source)]
            # CHARSET: without it texttopdf reads the text as US-ASCII.
            env = {"PPD": str(ppd), "CHARSET": "utf-8"}
            await run_tool(
                argv, timeout=self.timeout, stdout=target, env=env, error=TransformFailed
            )
        finally:
            with contextlib.suppress(OSError):
                ppd.unlink()


def ghostscript_argv(
    target_format: str, source: Path, target: Path, options: RenderOptions
) -> list[str]:
    gs = shutil.which("gs")
    if gs is None:
        raise TransformFailed("Ghostscript (gs) is not installed (Debian: ghostscript)")
    # -sstdout: its error reports go to stderr, where run_tool keeps them.
    argv = [gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sstdout=%stderr"]
    argv.append(f"-sOutputFile={target}")
    if target_format in (PWG_RASTER, URF):
        argv += [
            "-sDEVICE=" + ("pwgraster" if target_format == PWG_RASTER else "appleraster"),
            f"-r{options.resolution}",
            f"-dcupsColorSpace={_SRGB if options.color else _SGRAY}",
            "-dcupsBitsPerColor=8",
        ]
    elif target_format == PCLXL:
        argv += [
            "-sDEVICE=" + ("pxlcolor" if options.color else "pxlmono"),
            f"-r{options.resolution}",
        ]
    elif target_format == POSTSCRIPT:
        argv += ["-sDEVICE=ps2write"]
    elif target_format == PDF:
        argv += ["-sDEVICE=pdfwrite"]
    else:
        raise TransformFailed(f"Ghostscript does not write {target_format}")
    if options.duplex:
        argv += ["-dDuplex=true", f"-dTumble={str(options.sides.endswith('short-edge')).lower()}"]
    if options.page_points is not None:
        width, height = options.page_points
        argv += [
            f"-dDEVICEWIDTHPOINTS={width:g}",
            f"-dDEVICEHEIGHTPOINTS={height:g}",
            "-dFIXEDMEDIA",
            "-dPDFFitPage",
            "-dPSFitPage",
        ]
    return [*argv, "-f", str(source)]


def img2pdf_argv(source: Path, target: Path, options: RenderOptions) -> list[str]:
    argv = [sys.executable, "-m", "img2pdf", str(source), "-o", str(target)]
    if options.page_points is not None:
        width, height = options.page_points
        argv += ["--pagesize", f"{width:g}ptx{height:g}pt", "--fit", "into"]
    return argv


def texttopdf_path() -> str:
    found = shutil.which("texttopdf") or str(_CUPS_FILTERS / "texttopdf")
    if not Path(found).exists():
        raise TransformFailed("texttopdf is not installed (Debian: cups-filters)")
    return found


def page_size_ppd(points: tuple[float, float]) -> str:
    """A PPD that names one page size and its printable area, for texttopdf."""
    width, height = points
    side, top = _MARGINS
    lines = [
        '*PPD-Adobe: "4.3"',
        '*FormatVersion: "4.3"',
        '*FileVersion: "1.0"',
        "*LanguageVersion: English",
        "*LanguageEncoding: ISOLatin1",
        '*PCFileName: "CIRRUS.PPD"',
        '*Manufacturer: "Cirrus"',
        '*Product: "(Cirrus)"',
        '*ModelName: "Cirrus text layout"',
        '*ShortNickName: "Cirrus text layout"',
        '*NickName: "Cirrus text layout"',
        '*PSVersion: "(3010.000) 0"',
        "*ColorDevice: True",
        "*OpenUI *PageSize: PickOne",
        "*DefaultPageSize: Page",
        '*PageSize Page: ""',
        "*CloseUI: *PageSize",
        "*DefaultPageRegion: Page",
        '*PageRegion Page: ""',
        "*DefaultImageableArea: Page",
        f'*ImageableArea Page: "{side:g} {top:g} {width - side:g} {height - top:g}"',
        "*DefaultPaperDimension: Page",
        f'*PaperDimension Page: "{width:g} {height:g}"',
    ]
    return "\n".join(lines) + "\n"
