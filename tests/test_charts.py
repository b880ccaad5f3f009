"""The evaluators' SVG charts (shooc/evaluate/charts.py): responsive (a 720- and a
360-unit drawing, each at width 100 % with a viewBox, legends wrapped to fit), and
the week-by-week chart on a real time axis."""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

from shooc.evaluate import charts

SVG = "{http://www.w3.org/2000/svg}"


def drawings(markup: str) -> dict[str, ET.Element]:
    found = {}
    for svg in re.findall(r"<svg.*?</svg>", markup, re.S):
        root = ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
        variant = "wide" if "chart-wide" in root.get("class", "") else "narrow"
        found[variant] = root
    return found


def test_every_chart_comes_wide_and_narrow_at_full_width_with_a_viewbox() -> None:
    bars = [charts.Bar("Registered", 300), charts.Bar("1. The mentor's role and what it asks of you", 120, "40%")]
    for markup in (charts.horizontal_bars(bars, "T", "D"), charts.stacked_bar(bars, "T", "D"),
                   charts.weekly([dt.date(2026, 1, 5)], [3], [1], "Registrations", "Certificates", "T", "D")):
        both = drawings(markup)
        assert set(both) == {"wide", "narrow"}
        assert both["wide"].get("viewBox").startswith("0 0 720 ") and both["narrow"].get("viewBox").startswith("0 0 360 ")
        assert {svg.get("width") for svg in both.values()} == {"100%"}
        ids = [svg.get("aria-labelledby") for svg in both.values()]
        assert len(set(ids)) == 2  # no id used twice on the page


def test_the_narrow_bars_put_each_label_above_its_bar_and_nothing_beyond_the_edge() -> None:
    bars = [charts.Bar("Closed without finishing their workbooks", 9000, "90%"), charts.Bar("Withdrew", 1000, "10%")]
    narrow = drawings(charts.horizontal_bars(bars, "T", "D"))["narrow"]
    labels = [t for t in narrow.iter(f"{SVG}text") if t.get("class") == "chart-label"]
    assert [float(t.get("x")) for t in labels] == [0.0, 0.0]
    for rect in narrow.iter(f"{SVG}rect"):
        assert float(rect.get("x")) + float(rect.get("width")) <= 360 - 80  # room for its value after it


def test_the_stacked_legend_wraps_so_that_every_entry_shows_on_a_phone() -> None:
    parts = [charts.Bar("Completed", 5900, "59%"), charts.Bar("Still inside their window", 2100, "21%"),
             charts.Bar("Closed without finishing", 1500, "15%"), charts.Bar("Withdrew", 500, "5%")]
    narrow = drawings(charts.stacked_bar(parts, "T", "D"))["narrow"]
    width = float(narrow.get("viewBox").split()[2])
    height = float(narrow.get("viewBox").split()[3])
    legend = [t for t in narrow.iter(f"{SVG}text") if t.get("class") == "chart-legend"]
    assert [t.text.split(":")[0] for t in legend] == [p.label for p in parts]  # every entry, the largest too
    for text in legend:
        assert float(text.get("x")) + len(text.text) * charts.LEGEND_CHAR <= width + 1
        assert float(text.get("y")) < height
    assert len({t.get("y") for t in legend}) > 1  # wrapped onto more lines


def test_the_weekly_chart_has_a_time_axis_with_gaps_for_empty_weeks() -> None:
    weeks = [dt.date(2026, 1, 5), dt.date(2026, 1, 12), dt.date(2026, 2, 9)]  # four empty weeks between
    wide = drawings(charts.weekly(weeks, [10, 20, 30], [0, 1, 2], "Registrations", "Certificates", "T", "D"))["wide"]
    columns = [r for r in wide.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    xs = [float(r.get("x")) for r in columns]
    first_step, second_step = xs[1] - xs[0], xs[2] - xs[1]
    assert abs(second_step - 4 * first_step) < 0.5  # 28 days after the second, drawn 4 weeks on
    line = next(wide.iter(f"{SVG}polyline"))
    points = line.get("points").split()
    assert len(points) == 6  # every week from 5 January to 9 February, the empty ones at 0
    baseline = float(points[0].split(",")[1])  # the first week's 0 certificates
    assert all(float(p.split(",")[1]) == baseline for p in points[2:5])
    ticks = [t.text for t in wide.iter(f"{SVG}text") if t.get("class") == "chart-axis" and t.text and " " in t.text
             and t.text[0].isdigit() and t.get("text-anchor") == "middle"]
    assert ticks[0] == "5 Jan" and "9 Feb" in ticks
