"""Server-side SVG charts: pure functions from numbers to SVG text, shared by web pages and reports.

Charts work without JavaScript, carry ``role="img"`` with a title and description for screen
readers, and use presentation attributes only (no inline styles), so a strict CSP allows them.
Pages should also show the numbers as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from alliance.core.instruments import Instrument
from alliance.core.scoring import total_range

# Light band fills, from the best band to the worst.
_BAND_FILLS = ("#e3f2e6", "#eef6dc", "#fdf6d8", "#fde9d4", "#f9dcd9", "#f3d0d6")
_LINE = "#1f4e8c"
_CUTOFF = "#a32a2a"
_TEXT = "#2b2b2b"
_GRID = "#b8b8b8"


@dataclass(frozen=True)
class BandArea:
    lower: float
    upper: float
    label: str
    fill: str


@dataclass(frozen=True)
class Frame:
    """Plot geometry: maps sessions and values to pixels."""

    width: int
    height: int
    x_max: int
    y_min: float
    y_max: float
    left: int = 48
    right: int = 120
    top: int = 16
    bottom: int = 36

    def x(self, session: float) -> float:
        span = max(self.x_max - 1, 1)
        return self.left + (session - 1) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1
        inner = self.height - self.top - self.bottom
        return self.top + (self.y_max - value) / span * inner


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    points: Sequence[tuple[int, float]],
    y_min: float,
    y_max: float,
    bands: Sequence[BandArea] = (),
    cutoff: float | None = None,
    cutoff_label: str = "",
    width: int = 640,
    height: int = 240,
) -> str:
    """A score-per-session line over optional shaded bands and an optional cutoff line."""
    frame = Frame(width, height, max([p[0] for p in points] + [2]), y_min, y_max)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" class="chart">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    parts += _bands(frame, bands)
    parts += _axes(frame)
    if cutoff is not None:
        parts += _cutoff(frame, cutoff, cutoff_label)
    parts += _series(frame, points)
    parts.append("</svg>")
    return "".join(parts)


def _bands(frame: Frame, bands: Sequence[BandArea]) -> list[str]:
    out = []
    x0, x1 = frame.left, frame.width - frame.right
    for band in bands:
        top, bottom = frame.y(band.upper), frame.y(band.lower)
        out.append(
            f'<rect x="{x0}" y="{top:.1f}" width="{x1 - x0}" height="{bottom - top:.1f}" '
            f'fill="{band.fill}"/>'
        )
        out.append(
            f'<text x="{x1 + 6}" y="{(top + bottom) / 2 + 4:.1f}" font-size="11" '
            f'fill="{_TEXT}">{escape(band.label)}</text>'
        )
    return out


def _axes(frame: Frame) -> list[str]:
    x0, x1 = frame.left, frame.width - frame.right
    y0, y1 = frame.y(frame.y_min), frame.y(frame.y_max)
    out = [
        f'<line x1="{x0}" y1="{y0:.1f}" x2="{x1}" y2="{y0:.1f}" stroke="{_GRID}"/>',
        f'<line x1="{x0}" y1="{y0:.1f}" x2="{x0}" y2="{y1:.1f}" stroke="{_GRID}"/>',
    ]
    for value in (frame.y_min, (frame.y_min + frame.y_max) / 2, frame.y_max):
        out.append(
            f'<text x="{x0 - 6}" y="{frame.y(value) + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="{_TEXT}">{_fmt(value)}</text>'
        )
    step = max(1, frame.x_max // 10)
    for session in range(1, frame.x_max + 1, step):
        out.append(
            f'<text x="{frame.x(session):.1f}" y="{y0 + 16:.1f}" font-size="11" '
            f'text-anchor="middle" fill="{_TEXT}">{session}</text>'
        )
    out.append(
        f'<text x="{(x0 + x1) / 2:.1f}" y="{frame.height - 4}" font-size="11" '
        f'text-anchor="middle" fill="{_TEXT}">Session</text>'
    )
    return out


def _cutoff(frame: Frame, cutoff: float, label: str) -> list[str]:
    y = frame.y(cutoff)
    x0, x1 = frame.left, frame.width - frame.right
    return [
        f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="{_CUTOFF}" '
        f'stroke-width="2" stroke-dasharray="6 4"/>',
        f'<text x="{x1 + 6}" y="{y + 4:.1f}" font-size="11" fill="{_CUTOFF}">'
        f"{escape(label or 'cutoff ' + _fmt(cutoff))}</text>",
    ]


def _series(frame: Frame, points: Sequence[tuple[int, float]]) -> list[str]:
    if not points:
        return []
    coords = " ".join(f"{frame.x(s):.1f},{frame.y(v):.1f}" for s, v in points)
    out = [f'<polyline points="{coords}" fill="none" stroke="{_LINE}" stroke-width="2.5"/>']
    for session, value in points:
        out.append(
            f'<circle cx="{frame.x(session):.1f}" cy="{frame.y(value):.1f}" r="4" '
            f'fill="{_LINE}"><title>Session {session}: {_fmt(value)}</title></circle>'
        )
    return out


def severity_bands(instrument: Instrument) -> list[BandArea]:
    """The instrument's severity bands as shaded areas, coloured from best to worst."""
    low, high = total_range(instrument)
    bands = list(instrument.bands)
    areas = []
    for index, band in enumerate(bands):
        upper = bands[index + 1].min if index + 1 < len(bands) else high
        rank = index if not instrument.higher_is_better else len(bands) - 1 - index
        fill = _BAND_FILLS[min(rank, len(_BAND_FILLS) - 1)]
        areas.append(BandArea(max(band.min, low), upper, band.label, fill))
    return areas


def trajectory_chart(
    chart_id: str, instrument: Instrument, points: Sequence[tuple[int, float]]
) -> str:
    """An outcome measure's total per session over its severity bands."""
    low, high = total_range(instrument)
    latest = f" Latest: {_fmt(points[-1][1])} at session {points[-1][0]}." if points else ""
    return line_chart(
        chart_id,
        f"{instrument.short_title} per session",
        f"{instrument.short_title} total for {len(points)} sessions, range {_fmt(low)} to "
        f"{_fmt(high)}, over its severity bands.{latest}",
        points,
        low,
        high,
        bands=severity_bands(instrument),
    )


def alliance_chart(
    chart_id: str, instrument: Instrument, points: Sequence[tuple[int, float]]
) -> str:
    """An alliance measure's score per session with its cutoff line."""
    rules = instrument.alliance
    low, high = total_range(instrument)
    cutoff = rules.cutoff if rules else None
    note = f" The dashed line marks the cutoff {_fmt(cutoff)}." if cutoff is not None else ""
    return line_chart(
        chart_id,
        f"{instrument.short_title} per session",
        f"{instrument.short_title} score for {len(points)} sessions, range {_fmt(low)} to "
        f"{_fmt(high)}.{note}",
        points,
        low,
        high,
        cutoff=cutoff,
    )


def skill_chart(
    chart_id: str, title: str, points: Sequence[tuple[int, float]], good: float | None, y_max: float
) -> str:
    """A transcript skill metric per session (e.g. % open questions) with its 'good' threshold."""
    latest = f" Latest: {_fmt(points[-1][1])} at session {points[-1][0]}." if points else ""
    note = (
        f" The dashed line marks the proficiency threshold {_fmt(good)}."
        if good is not None
        else ""
    )
    return line_chart(
        chart_id,
        f"{title} per session",
        f"{title} for {len(points)} analysed sessions.{latest}{note}",
        points,
        0,
        y_max,
        cutoff=good,
        cutoff_label="good",
    )


_BAND = "#9bb7dd"


def mean_trajectory_chart(
    chart_id: str, instrument: Instrument, points: Sequence[tuple[int, float, float, float]]
) -> str:
    """Many clients' mean outcome score per session, ``(session, mean, ci_low, ci_high)``, over
    the instrument's severity bands, with the 95% interval of each mean as a shaded area."""
    low, high = total_range(instrument)
    frame = Frame(640, 240, max([p[0] for p in points] + [2]), low, high)
    first = f" Session {points[0][0]}: {_fmt(points[0][1])}." if points else ""
    last = f" Session {points[-1][0]}: {_fmt(points[-1][1])}." if len(points) > 1 else ""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" class="chart">',
        f'<title id="{chart_id}-t">Average {escape(instrument.short_title)} per session</title>',
        f'<desc id="{chart_id}-d">Mean {escape(instrument.short_title)} total of the episodes '
        f"shown, per session, with its 95% interval, over the severity bands.{first}{last}</desc>",
    ]
    parts += _bands(frame, severity_bands(instrument))
    parts += _axes(frame)
    if points:
        upper = [f"{frame.x(s):.1f},{frame.y(min(hi, high)):.1f}" for s, _, _, hi in points]
        lower = [f"{frame.x(s):.1f},{frame.y(max(lo, low)):.1f}" for s, _, lo, _ in points]
        outline = " ".join(upper + lower[::-1])
        parts.append(f'<polygon points="{outline}" fill="{_BAND}" fill-opacity="0.5"/>')
    parts += _series(frame, [(s, mean) for s, mean, _, _ in points])
    parts.append("</svg>")
    return "".join(parts)
