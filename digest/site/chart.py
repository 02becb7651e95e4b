"""The archive index's chart of new papers per digest: bars computed here, drawn as SVG by the template. Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IndexEntry:
    slug: str
    date: dt.date
    count: int
    url: str


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    peak: int
    summary: str


def chart(entries: Sequence[IndexEntry], *, last: int = 60, width: int = 640, height: int = 120) -> Chart:
    """Bars of new papers per digest, oldest on the left, for the last ``last`` digests."""
    recent = list(reversed(entries[:last]))
    peak = max((entry.count for entry in recent), default=0)
    # Slots for at least 30 bars, newest on the right, so a young archive is not one wide block.
    slot = width / max(len(recent), 30)
    offset = width - slot * len(recent)
    bars = []
    for index, entry in enumerate(recent):
        bar_height = max((height - 16) * entry.count / peak, 1) if peak else 0
        bars.append(
            Bar(
                x=round(offset + index * slot + slot * 0.15, 2),
                y=round(height - bar_height, 2),
                width=round(slot * 0.7, 2),
                height=round(bar_height, 2),
                label=f"{entry.date.isoformat()}: {entry.count} new {'paper' if entry.count == 1 else 'papers'}",
            )
        )
    if not recent:
        summary = "No digests yet"
    elif len(recent) == 1:
        summary = f"New papers in the one digest so far: {peak}"
    else:
        summary = (
            f"New papers per digest, {recent[0].date.isoformat()} to {recent[-1].date.isoformat()}"
            f" ({len(recent)} digests, at most {peak})"
        )
    return Chart(width=width, height=height, bars=tuple(bars), peak=peak, summary=summary)
