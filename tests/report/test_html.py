"""The HTML report renders self-contained and loads in a real browser."""

from __future__ import annotations

import re

from report_browser import dump_dom

from trnsim.report.claims import catalog_claims
from trnsim.report.html import render
from trnsim.report.model import Column, ComparisonReport, Curve, ExplainItem, Section, SystemRow


def _report() -> ComparisonReport:
    systems = {"trn2-ultraserver": "Trn2 UltraServer", "trn3-ultraserver-gen2": "Trn3 Gen2 UltraServer"}
    sec = Section("serving", "Serving", [Column("tok_s_chip", "tokens/s per chip"), Column("usd_per_mtok", "$/Mtok", better="lower")],
                  [SystemRow(s, t, {"tok_s_chip": 100.0 * (i + 1), "usd_per_mtok": 2.0 / (i + 1)}) for i, (s, t) in enumerate(systems.items())])
    return ComparisonReport(
        name="test comparison", baseline="trn2-ultraserver", systems=list(systems), titles=systems,
        sections=[sec],
        curves=[Curve(s, t, [10, 20, 40], [50 * (i + 1), 80 * (i + 1), 90 * (i + 1)]) for i, (s, t) in enumerate(systems.items())],
        breakdowns={s: {"compute": 1.0 + i, "bubble": 0.2} for i, s in enumerate(systems)},
        claims=catalog_claims(),
        explain=[ExplainItem("trn2-ultraserver", "HBM bandwidth", "2.9 TB/s", "N3 (published)")],
        assumptions=["Trn3 price assumed"],
    )


def test_render_self_contained(tmp_path):
    path = render(_report(), tmp_path / "rep")
    text = path.read_text()
    assert text.count("data:image/png;base64,") == 3  # curve, breakdown, $/Mtok bars (no energy data: no bar)
    assert "2.00x" in text and "Trn3 Gen2 UltraServer" in text and "consistent" in text
    assert not re.search(r"src=['\"](?!data:)", text)  # nothing loaded from outside the file
    assert sorted(p.name for p in (tmp_path / "rep").glob("*.png")) == [
        "serving_usd_per_mtok.png", "step_breakdown.png", "throughput_latency.png"]


def test_report_loads_in_headless_chromium(tmp_path):
    path = render(_report(), tmp_path / "rep")
    dom = dump_dom(path)
    assert 'data-loaded="1"' in dom and 'data-broken-images="0"' in dom
    for title in ("Trn2 UltraServer", "Trn3 Gen2 UltraServer"):
        assert title in dom
