"""The transform's choices: which chain of converters, which target, which options."""

from __future__ import annotations

import pytest

from manager.drivers.base import DeviceCapabilities, DeviceJobTicket
from manager.transform.convert import ghostscript_argv, page_size_ppd
from manager.transform.formats import (
    JPEG,
    PCLXL,
    PDF,
    POSTSCRIPT,
    PWG_RASTER,
    URF,
    Tool,
    plan,
    reachable,
)
from manager.transform.options import (
    RenderOptions,
    choose_resolution,
    media_points,
    render_options,
    urf_resolutions,
)

EVERYWHERE_NO_PDF = (PWG_RASTER, JPEG)


def targets(steps: tuple | None) -> list[str] | None:
    return None if steps is None else [s.target for s in steps]


@pytest.mark.parametrize(
    ("source", "accepted", "expected"),
    [
        (PDF, (PDF,), []),  # taken as it is
        ("application/PDF", (PDF,), []),
        (PDF, EVERYWHERE_NO_PDF, [PWG_RASTER]),
        (PDF, (URF,), [URF]),
        (PDF, (PWG_RASTER, URF), [PWG_RASTER]),  # the IPP Everywhere raster first
        (PDF, (POSTSCRIPT,), [POSTSCRIPT]),
        (PDF, (PCLXL,), [PCLXL]),
        (POSTSCRIPT, (PDF, PWG_RASTER), [PDF]),  # PDF keeps the printer's own rendering
        (JPEG, (PDF,), [PDF]),
        (JPEG, EVERYWHERE_NO_PDF, []),
        ("image/png", EVERYWHERE_NO_PDF, [PDF, PWG_RASTER]),
        ("text/markdown", (PDF,), [PDF]),
        ("text/x-python; charset=utf-8", (URF,), [PDF, URF]),
        ("application/vnd.apple.pages", (PDF, PWG_RASTER), None),
        (PDF, ("image/jpeg",), None),  # one JPEG cannot hold a document's pages
    ],
)
def test_plan_chooses_the_shortest_chain_to_the_preferred_target(
    source: str, accepted: tuple[str, ...], expected: list[str] | None
) -> None:
    assert targets(plan(source, accepted)) == expected


def test_the_tools_of_a_plan() -> None:
    steps = plan("text/plain", (PWG_RASTER,))
    assert steps is not None
    assert [s.tool for s in steps] == [Tool.TEXTTOPDF, Tool.GHOSTSCRIPT]


def test_reachable_lists_the_device_formats_first_then_what_transforms_add() -> None:
    reach = reachable(EVERYWHERE_NO_PDF)
    assert reach[:2] == EVERYWHERE_NO_PDF
    assert {PDF, POSTSCRIPT, "image/png", "text/plain", "text/markdown"} <= set(reach)
    assert len(reach) == len(set(reach))
    assert reachable(("application/vnd.apple.pages",)) == ("application/vnd.apple.pages",)


@pytest.mark.parametrize(
    ("media", "points"),
    [
        ("iso_a4_210x297mm", (595.28, 841.89)),
        ("na_letter_8.5x11in", (612.0, 792.0)),
        ("custom_max_1000x1000mm", (2834.65, 2834.65)),
        ("roll-1", None),
        (None, None),
    ],
)
def test_media_points(media: str | None, points: tuple[float, float] | None) -> None:
    assert media_points(media) == points


def test_resolution_follows_print_quality_within_what_the_device_supports() -> None:
    assert choose_resolution((150, 300, 600), 3) == 150
    assert choose_resolution((150, 300, 600), 4) == 300
    assert choose_resolution((150, 300, 600), 5) == 600
    assert choose_resolution((150, 600), None) == 150  # nearest 300, the lower on a tie
    assert choose_resolution((), 5) == 300
    assert urf_resolutions(("V1.4", "W8", "SRGB24", "RS300-600", "DM1")) == (300, 600)


def test_render_options_from_ticket_and_device() -> None:
    caps = DeviceCapabilities(
        document_format_supported=(PWG_RASTER,),
        pwg_raster_document_resolution_supported=(150, 300),
        pwg_raster_document_type_supported=("sgray_8", "srgb_8"),
        sides_supported=("one-sided", "two-sided-long-edge"),
        media_default="na_letter_8.5x11in",
    )
    ticket = DeviceJobTicket(
        job_name="j", requesting_user_name="u", print_quality=5, sides="two-sided-long-edge"
    )
    assert render_options(PWG_RASTER, ticket, caps) == RenderOptions(
        resolution=300, color=True, sides="two-sided-long-edge", page_points=(612.0, 792.0)
    )
    gray = DeviceJobTicket(
        job_name="j",
        requesting_user_name="u",
        print_color_mode="monochrome",
        sides="two-sided-short-edge",  # the device cannot: printed one-sided
        media="iso_a4_210x297mm",
    )
    options = render_options(PWG_RASTER, gray, caps)
    assert (options.color, options.sides, options.page_points) == (
        False,
        "one-sided",
        (595.28, 841.89),
    )
    gray_only = DeviceCapabilities(urf_supported=("W8", "RS300"))
    assert not render_options(URF, ticket, gray_only).color


def test_ghostscript_command_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    options = RenderOptions(
        resolution=600, color=False, sides="two-sided-short-edge", page_points=(595.28, 841.89)
    )
    argv = ghostscript_argv(URF, tmp_path / "in.pdf", tmp_path / "out.urf", options)
    assert "-sDEVICE=appleraster" in argv and "-r600" in argv
    assert "-dcupsColorSpace=18" in argv and "-dTumble=true" in argv
    assert "-dDEVICEWIDTHPOINTS=595.28" in argv and "-dFIXEDMEDIA" in argv
    assert argv[-2:] == ["-f", str(tmp_path / "in.pdf")]
    pcl = ghostscript_argv(PCLXL, tmp_path / "in.pdf", tmp_path / "o", RenderOptions(color=True))
    assert "-sDEVICE=pxlcolor" in pcl and not any(a.startswith("-dDuplex") for a in pcl)


def test_page_size_ppd_names_the_size_and_margins() -> None:
    ppd = page_size_ppd((595.28, 841.89))
    assert '*PaperDimension Page: "595.28 841.89"' in ppd
    assert '*ImageableArea Page: "18 36 577.28 805.89"' in ppd
