"""Server-side SVG charts: valid XML, accessible, bands and cutoff drawn from the instrument."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from alliance.core import charts
from alliance.core.instruments import Instrument

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_trajectory_chart_shades_every_severity_band(phq9: Instrument) -> None:
    svg = parse(charts.trajectory_chart("c1", phq9, [(1, 19), (2, 15), (3, 9)]))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-t c1-d"
    assert svg.find("s:title", NS).text == "PHQ-9 per session"  # type: ignore[union-attr]
    assert "Latest: 9 at session 3" in svg.find("s:desc", NS).text  # type: ignore[union-attr]
    assert len(svg.findall("s:rect", NS)) == len(phq9.bands) == 5
    labels = [t.text for t in svg.findall("s:text", NS)]
    assert {b.label for b in phq9.bands} <= set(labels)
    assert len(svg.findall("s:circle", NS)) == 3
    assert "style=" not in ET.tostring(svg, encoding="unicode")  # strict CSP: no inline styles


def test_worse_scores_sit_higher_on_the_page_for_symptom_measures(phq9: Instrument) -> None:
    svg = parse(charts.trajectory_chart("c", phq9, [(1, 20), (2, 5)]))
    first, second = svg.findall("s:circle", NS)
    assert float(first.get("cy", 0)) < float(second.get("cy", 0))


def test_alliance_chart_draws_its_cutoff(instruments: dict[str, Instrument]) -> None:
    check = instruments["alliance_check"]
    svg = parse(charts.alliance_chart("a", check, [(1, 4.6), (2, 2.8)]))
    dashed = [line for line in svg.findall("s:line", NS) if line.get("stroke-dasharray")]
    assert len(dashed) == 1
    frame = charts.Frame(640, 240, 2, 1, 5)
    assert float(dashed[0].get("y1", 0)) == round(frame.y(4.0), 1)
    assert "cutoff 4" in ET.tostring(svg, encoding="unicode")


def test_charts_escape_text_and_cope_with_no_points(phq9: Instrument) -> None:
    svg = charts.line_chart("x", "<b>&", "desc", [], 0, 27)
    root = parse(svg)
    assert root.find("s:title", NS).text == "<b>&"  # type: ignore[union-attr]
    assert root.find("s:polyline", NS) is None


def test_mean_trajectory_chart_shades_the_interval_around_the_means(phq9: Instrument) -> None:
    points = [(1, 16.0, 14.0, 18.0), (2, 12.5, 10.0, 15.0), (3, 9.0, 6.0, 12.0)]
    svg = parse(charts.mean_trajectory_chart("m", phq9, points))
    assert svg.find("s:title", NS).text == "Average PHQ-9 per session"  # type: ignore[union-attr]
    desc = svg.find("s:desc", NS).text or ""  # type: ignore[union-attr]
    assert "Session 1: 16." in desc and "Session 3: 9." in desc
    band = svg.find("s:polygon", NS)
    assert band is not None and len(band.get("points", "").split()) == 6
    frame = charts.Frame(640, 240, 3, 0, 27)
    assert band.get("points", "").split()[0] == f"{frame.x(1):.1f},{frame.y(18.0):.1f}"
    assert len(svg.findall("s:circle", NS)) == 3
    assert parse(charts.mean_trajectory_chart("e", phq9, [])).find("s:polygon", NS) is None
