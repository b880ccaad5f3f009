"""Charts drawn on the server as SVG: readable without JavaScript, scaled by the
browser to any width, coloured by CSS classes (shooc.css), and each described by
its <title> and <desc>. Every chart's numbers are also shown as a table on the
page, for screen readers and for people who would rather read.
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


def _svg(width: int, height: int, title: str, desc: str, body: list[str], css: str) -> Markup:
    ident = f"chart-{zlib.crc32((title + desc).encode()):08x}"
    return Markup(
        f'<svg class="chart {css}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
        + "".join(body) + "</svg>")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def horizontal_bars(bars: Sequence[Bar], title: str, desc: str, label_width: int = 230) -> Markup:
    """One bar per row, labelled, longest = the largest value."""
    width, row, top = 720, 30, 6
    plot = width - label_width - 110
    largest = max((b.value for b in bars), default=0) or 1
    body = []
    for i, bar in enumerate(bars):
        y = top + i * row
        length = max(0.0, bar.value / largest * plot)
        body.append(f'<text class="chart-label" x="{label_width - 8}" y="{y + 19}" text-anchor="end">'
                    f'{escape(_shorten(bar.label, 34))}</text>')
        body.append(f'<rect class="chart-bar {bar.css}" x="{label_width}" y="{y + 4}" width="{length:.1f}" '
                    f'height="{row - 10}" rx="3"></rect>')
        value = _number(bar.value) + bar.unit + (f"  {bar.note}" if bar.note else "")
        body.append(f'<text class="chart-value" x="{label_width + length + 6:.1f}" y="{y + 19}">{escape(value)}</text>')
    return _svg(width, top * 2 + row * len(bars), title, desc, body, "chart-bars")


def stacked_bar(parts: Sequence[Bar], title: str, desc: str) -> Markup:
    """One bar of 100%, cut into parts, with a legend under it (wrapping onto more lines)."""
    width = 720
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
        text = f"{part.label}: {_number(part.value)}" + (f" ({part.note})" if part.note else "")
        item_width = 26 + int(len(text) * 7.2)
        if lx and lx + item_width > width:
            lx, ly = 0, ly + 22
        body.append(f'<rect class="chart-bar {part.css}" x="{lx}" y="{ly}" width="14" height="14" rx="2"></rect>'
                    f'<text class="chart-legend" x="{lx + 20}" y="{ly + 12}">{escape(text)}</text>')
        lx += item_width
    return _svg(width, ly + 24, title, desc, body, "chart-stacked")


def weekly(weeks: Sequence[dt.date], bars: Sequence[int], line: Sequence[int], bar_label: str, line_label: str,
           title: str, desc: str) -> Markup:
    """Weekly columns (e.g. registrations) with a line over them (e.g. certificates)."""
    width, height, left, bottom, top = 720, 260, 48, 40, 28
    plot_w, plot_h = width - left - 12, height - top - bottom
    n = max(1, len(weeks))
    largest = max([*bars, *line, 1])
    step = _nice_step(largest)
    ceiling = step * -(-largest // step)
    slot = plot_w / n
    body = []
    for tick in range(0, int(ceiling) + 1, int(step)):
        y = top + plot_h - tick / ceiling * plot_h
        body.append(f'<line class="chart-grid" x1="{left}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}"></line>'
                    f'<text class="chart-axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick:,}</text>')
    for i, value in enumerate(bars):
        h = value / ceiling * plot_h
        x = left + i * slot + slot * 0.15
        body.append(f'<rect class="chart-bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
                    f'height="{h:.1f}"><title>{weeks[i]:%-d %b %Y}: {value:,} {escape(bar_label.lower())}'
                    '</title></rect>')
    if line:
        points = " ".join(f"{left + (i + 0.5) * slot:.1f},{top + plot_h - v / ceiling * plot_h:.1f}"
                          for i, v in enumerate(line))
        body.append(f'<polyline class="chart-line" points="{points}"></polyline>')
    every = max(1, round(n / 8))
    for i in range(0, n, every):
        body.append(f'<text class="chart-axis" x="{left + (i + 0.5) * slot:.1f}" y="{height - bottom + 16}" '
                    f'text-anchor="middle">{weeks[i]:%-d %b}</text>')
    if weeks:
        body.append(f'<text class="chart-axis" x="{left}" y="{height - 6}">weeks beginning {weeks[0]:%Y}'
                    f'{"–" + format(weeks[-1], "%Y") if weeks[-1].year != weeks[0].year else ""}</text>')
    body.append(f'<rect class="chart-bar" x="{left}" y="6" width="12" height="12" rx="2"></rect>'
                f'<text class="chart-legend" x="{left + 18}" y="17">{escape(bar_label)}</text>'
                f'<line class="chart-line" x1="{left + 180}" x2="{left + 204}" y1="12" y2="12"></line>'
                f'<text class="chart-legend" x="{left + 210}" y="17">{escape(line_label)}</text>')
    return _svg(width, height, title, desc, body, "chart-weekly")


def _nice_step(largest: float) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000):
        if largest / step <= 5:
            return step
    return 100000


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
