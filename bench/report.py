"""The table every benchmark prints: one row per figure, its anchor and the ratio."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Row:
    section: str  # "1 throughput", "3 push", …
    figure: str  # what was measured, with its conditions
    cirrus: str  # Cirrus's figure, formatted
    anchor: str = ""  # what it is compared with
    anchor_value: str = ""
    ratio: float | None = None  # Cirrus / anchor, measured in the same run
    target: str = ""
    met: bool | None = None  # None: no target, or not measurable

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.{digits}f}"
    return f"{text} {unit}".strip()


HEADERS = ("#", "figure", "Cirrus", "anchor", "anchor figure", "ratio", "target", "met")


def table(rows: list[Row]) -> str:
    cells = [
        (
            r.section,
            r.figure,
            r.cirrus,
            r.anchor,
            r.anchor_value,
            "—" if r.ratio is None else f"{r.ratio:.3g}",
            r.target,
            {True: "yes", False: "NO", None: ""}[r.met],
        )
        for r in rows
    ]
    widths = [
        max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(HEADERS)
    ]
    line = "+".join("-" * (w + 2) for w in widths)
    out = [
        " | ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)),
        line,
    ]
    last = None
    for row, c in zip(rows, cells, strict=True):
        if last is not None and row.section.split()[0] != last:
            out.append(line)
        last = row.section.split()[0]
        out.append(" | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))
    return "\n".join(out)
