"""Which document formats turn into which, and so what a device can take after transforms.

A step is one run of one tool (manager/transform/convert.py). A plan is the shortest
chain of steps from the job's format to one the device accepts; among plans of equal
length the target is chosen by TARGET_PREFERENCE (PDF keeps the device's own rendering,
then the IPP Everywhere raster, Apple's raster, then page description languages).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PDF = "application/pdf"
POSTSCRIPT = "application/postscript"
PCLXL = "application/vnd.hp-pclxl"  # PCL 6 (PCL XL), what Ghostscript's pxlcolor writes
PWG_RASTER = "image/pwg-raster"  # PWG 5102.4
URF = "image/urf"  # Apple Raster
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
TEXT_ANY = "text/*"  # any text/* document is laid out as plain text

# The text formats a queue lists as reachable; any other text/* travels the same way.
TEXT_FORMATS = ("text/plain", "text/markdown", "text/csv")
TARGET_PREFERENCE = (PDF, PWG_RASTER, URF, POSTSCRIPT, PCLXL)
# What a queue advertises it can take when the transforms reach a device format.
SOURCE_FORMATS = (PDF, POSTSCRIPT, JPEG, PNG, TIFF, *TEXT_FORMATS)


class Tool(StrEnum):
    GHOSTSCRIPT = "ghostscript"  # gs: PDF/PostScript in, raster or PDL out
    TEXTTOPDF = "texttopdf"  # cups-filters: text laid out on pages
    IMG2PDF = "img2pdf"  # images wrapped losslessly into PDF pages


@dataclass(frozen=True)
class Step:
    source: str  # a MIME type, or TEXT_ANY
    target: str
    tool: Tool


STEPS: tuple[Step, ...] = (
    Step(TEXT_ANY, PDF, Tool.TEXTTOPDF),
    *(Step(image, PDF, Tool.IMG2PDF) for image in (JPEG, PNG, TIFF)),
    *(
        Step(source, target, Tool.GHOSTSCRIPT)
        for source in (PDF, POSTSCRIPT)
        for target in (PDF, PWG_RASTER, URF, POSTSCRIPT, PCLXL)
        if source != target
    ),
)


def base_type(document_format: str) -> str:
    """The MIME type without parameters, lower case (text/plain;charset=utf-8 → text/plain)."""
    return document_format.split(";", 1)[0].strip().lower()


def _matches(step_source: str, document_format: str) -> bool:
    if step_source == TEXT_ANY:
        return document_format.startswith("text/")
    return step_source == document_format


def plan(document_format: str, accepted: tuple[str, ...] | list[str]) -> tuple[Step, ...] | None:
    """The steps that turn `document_format` into one of `accepted`: () when the device
    takes it as it is, None when nothing reaches the device."""
    source = base_type(document_format)
    targets = {base_type(a) for a in accepted}
    if source in targets:
        return ()
    frontier: list[tuple[str, tuple[Step, ...]]] = [(source, ())]
    seen = {source}
    while frontier:
        reached: list[tuple[str, tuple[Step, ...]]] = []
        for current, path in frontier:
            for step in STEPS:
                if _matches(step.source, current) and step.target not in seen:
                    reached.append((step.target, (*path, step)))
        done = [(fmt, path) for fmt, path in reached if fmt in targets]
        if done:
            return min(done, key=lambda item: _preference(item[0]))[1]
        seen.update(fmt for fmt, _ in reached)
        frontier = reached
    return None


def _preference(document_format: str) -> int:
    try:
        return TARGET_PREFERENCE.index(document_format)
    except ValueError:
        return len(TARGET_PREFERENCE)


def reachable(accepted: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Every format a device taking `accepted` can print after transforms: its own
    first, in its order, then the ones the transforms add."""
    own = tuple(dict.fromkeys(accepted))
    extra = tuple(f for f in SOURCE_FORMATS if f not in own and plan(f, own) is not None)
    return own + extra
