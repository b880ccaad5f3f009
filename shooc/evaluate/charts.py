"""Charts drawn on the server as SVG: readable without JavaScript, scaled by the
browser to any width, coloured by CSS classes (shooc.css), and each described by
its <title> and <desc>. Every chart's numbers are also shown as a table on the
page, for screen readers and for people who would rather read.

Responsive (issue 18): each chart is drawn twice, 720 units wide for a desktop and
360 units wide for a phone (labels above their bars, legends wrapped to the
narrower width), each an SVG with a viewBox at width 100 %; shooc.css shows the
one that fits (``chart-wide`` above 40rem, ``chart-narrow`` below), so that at any
width the text is drawn at about its own size and nothing is clipped. The one not
shown is ``display: none``, so assistive technology meets each chart once.

The week-by-week chart has a real time axis: each week at its date, so a week with
nothing in it is a gap (no column), not left out with the others closing up. Its
line counts every week, the empty ones at 0.
"""
from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from html import escape
from typing import Sequence

from markupsafe import Markup


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""  # shown after the value, e.g. "12%"
    css: str = ""  # a class for its colour
    unit: str = ""  # right after the number, e.g. "%"


WIDE, NARROW = 720, 360


def _svg(width: int, height: int, title: str, desc: str, body: list[str], css: str) -> Markup:
    variant = "chart-wide" if width > NARROW else "chart-narrow"
    ident = f"chart-{zlib.crc32((title + desc).encode()):08x}-{width}"
    return Markup(
        f'<svg class="chart {css} {variant}" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _pair(wide: Markup, narrow: Markup) -> Markup:
    return Markup(wide + narrow)


def horizontal_bars(bars: Sequence[Bar], title: str, desc: str, label_width: int = 230) -> Markup:
    """One bar per row, labelled, longest = the largest value (a desktop's and a phone's)."""
    return _pair(_horizontal_bars(bars, title, desc, label_width, WIDE),
                 _horizontal_bars(bars, title, desc, 0, NARROW))


def _horizontal_bars(bars: Sequence[Bar], title: str, desc: str, label_width: int, width: int) -> Markup:
    """``label_width`` 0: each label above its bar (narrow), else beside it."""
    above = label_width == 0
    row, top = (44, 4) if above else (30, 6)
    plot = width - label_width - (90 if above else 110)
    largest = max((b.value for b in bars), default=0) or 1
    body = []
    for i, bar in enumerate(bars):
        y = top + i * row
        length = max(0.0, bar.value / largest * plot)
        bar_y = y + (20 if above else 4)
        if above:
            body.append(f'<text class="chart-label" x="0" y="{y + 14}">{escape(_shorten(bar.label, 46))}</text>')
        else:
            body.append(f'<text class="chart-label" x="{label_width - 8}" y="{y + 19}" text-anchor="end">'
                        f'{escape(_shorten(bar.label, 34))}</text>')
        body.append(f'<rect class="chart-bar {bar.css}" x="{label_width}" y="{bar_y}" width="{length:.1f}" '
                    f'height="{20 if above else row - 10}" rx="3"></rect>')
        value = _number(bar.value) + bar.unit + (f"  {bar.note}" if bar.note else "")
        body.append(f'<text class="chart-value" x="{label_width + length + 6:.1f}" y="{bar_y + 15}">'
                    f'{escape(value)}</text>')
    return _svg(width, top * 2 + row * len(bars), title, desc, body, "chart-bars")


def stacked_bar(parts: Sequence[Bar], title: str, desc: str) -> Markup:
    """One bar of 100%, cut into parts, with a legend under it (wrapping onto more lines)."""
    return _pair(_stacked_bar(parts, title, desc, WIDE), _stacked_bar(parts, title, desc, NARROW))


def _stacked_bar(parts: Sequence[Bar], title: str, desc: str, width: int) -> Markup:
    total = sum(p.value for p in parts) or 1
    body, x = [], 0.0
    for part in parts:
        length = part.value / total * width
        if length > 0:
            body.append(f'<rect class="chart-bar {part.css}" x="{x:.2f}" y="4" width="{length:.2f}" height="34">'
                        f'<title>{escape(part.label)}: {_number(part.value)}</title></rect>')
        x += length
    lx, ly = 0, 56
    for part in parts:
        text = _shorten(f"{part.label}: {_number(part.value)}" + (f" ({part.note})" if part.note else ""),
                        int((width - 26) / LEGEND_CHAR))
        item_width = 26 + int(len(text) * LEGEND_CHAR) + 12  # the swatch, the text, a gap
        if lx and lx + item_width > width:
            lx, ly = 0, ly + 22
        body.append(f'<rect class="chart-bar {part.css}" x="{lx}" y="{ly}" width="14" height="14" rx="2"></rect>'
                    f'<text class="chart-legend" x="{lx + 20}" y="{ly + 12}">{escape(text)}</text>')
        lx += item_width
    return _svg(width, ly + 24, title, desc, body, "chart-stacked")


def weekly(weeks: Sequence[dt.date], bars: Sequence[int], line: Sequence[int], bar_label: str, line_label: str,
           title: str, desc: str) -> Markup:
    """Weekly columns (e.g. registrations) with a line over them (e.g. certificates),
    on a time axis: ``weeks`` (each a week's first day, in order) need not be
    consecutive, and a week not given is drawn empty, in its place."""
    return _pair(_weekly(weeks, bars, line, bar_label, line_label, title, desc, WIDE),
                 _weekly(weeks, bars, line, bar_label, line_label, title, desc, NARROW))


WEEK = dt.timedelta(days=7)
LEGEND_CHAR = 7.2  # units a character of the legend's 13px text takes, about


def _weekly(weeks: Sequence[dt.date], bars: Sequence[int], line: Sequence[int], bar_label: str, line_label: str,
            title: str, desc: str, width: int) -> Markup:
    narrow = width <= NARROW
    left, right, bottom = (40, 8, 40) if narrow else (48, 12, 40)
    body = []
    # the legend first, wrapped to the width: it sets where the plot starts
    lx, ly = left, 6
    for text, kind in ((bar_label, "bar"), (line_label, "line")):
        item = 30 + int(len(text) * LEGEND_CHAR)
        if lx > left and lx + item > width - right:
            lx, ly = left, ly + 20
        if kind == "bar":
            body.append(f'<rect class="chart-bar" x="{lx}" y="{ly}" width="12" height="12" rx="2"></rect>')
        else:
            body.append(f'<line class="chart-line" x1="{lx}" x2="{lx + 22}" y1="{ly + 6}" y2="{ly + 6}"></line>')
        body.append(f'<text class="chart-legend" x="{lx + (18 if kind == "bar" else 28)}" y="{ly + 11}">'
                    f'{escape(text)}</text>')
        lx += item + 16
    top = ly + 26
    height = top + (170 if narrow else 192) + bottom
    plot_w, plot_h = width - left - right, height - top - bottom
    start = weeks[0] if weeks else dt.date.today()
    end = (weeks[-1] if weeks else start) + WEEK  # the last week's end
    span = max(1, (end - start).days)

    def x_of(day: dt.date) -> float:
        return left + (day - start).days / span * plot_w

    largest = max([*bars, *line, 1])
    step = _nice_step(largest)
    ceiling = step * -(-largest // step)
    for tick in range(0, int(ceiling) + 1, int(step)):
        y = top + plot_h - tick / ceiling * plot_h
        body.append(f'<line class="chart-grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"></line>'
                    f'<text class="chart-axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:,}</text>')
    slot = 7 / span * plot_w  # a week's width
    for week, value in zip(weeks, bars):
        h = value / ceiling * plot_h
        body.append(f'<rect class="chart-bar" x="{x_of(week) + slot * 0.12:.1f}" y="{top + plot_h - h:.1f}" '
                    f'width="{max(slot * 0.76, 0.8):.1f}" height="{h:.1f}"><title>{week:%-d %b %Y}: {value:,} '
                    f'{escape(bar_label.lower())}</title></rect>')
    if line and weeks:
        counts = dict(zip(weeks, line))
        points, day = [], start
        while day < end:  # every week, those not given at 0
            value = counts.get(day, 0)
            points.append(f"{x_of(day) + slot / 2:.1f},{top + plot_h - value / ceiling * plot_h:.1f}")
            day += WEEK
        body.append(f'<polyline class="chart-line" points="{" ".join(points)}"></polyline>')
    for tick_day in _date_ticks(start, end, 4 if narrow else 8):
        body.append(f'<line class="chart-grid" x1="{x_of(tick_day):.1f}" x2="{x_of(tick_day):.1f}" '
                    f'y1="{top + plot_h}" y2="{top + plot_h + 5}"></line>'
                    f'<text class="chart-axis" x="{x_of(tick_day):.1f}" y="{height - bottom + 18}" '
                    f'text-anchor="middle">{tick_day:%-d %b}</text>')
    if weeks:
        years = f"{start:%Y}" + (f"–{weeks[-1]:%Y}" if weeks[-1].year != start.year else "")
        body.append(f'<text class="chart-axis" x="{left}" y="{height - 6}">weeks, {years}</text>')
    return _svg(width, height, title, desc, body, "chart-weekly")


def _date_ticks(start: dt.date, end: dt.date, most: int) -> list[dt.date]:
    """Days to label on a time axis from ``start`` to ``end``: whole weeks from the
    first, evenly spaced, at most ``most`` of them."""
    weeks = max(1, (end - start).days // 7)
    every = max(1, -(-weeks // most))
    return [start + dt.timedelta(days=7 * n) for n in range(0, weeks, every)]


def _nice_step(largest: float) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000):
        if largest / step <= 5:
            return step
    return 100000


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
