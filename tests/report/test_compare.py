"""The comparison (`trnsim compare`): default workload end to end, workload-file errors, the HTML in a browser."""

from __future__ import annotations

import json

import pytest
from report_browser import dump_dom

from trnsim.errors import TrnsimError
from trnsim.hardware import load_system
from trnsim.report.compare import price_for, run_comparison
from trnsim.report.workload import load_workload, parse_workload


@pytest.fixture(scope="module")
def report():
    return run_comparison(load_workload())


def test_default_workload_runs_every_system(report):
    assert report.baseline == "trn2-ultraserver"
    for sec in report.sections:
        assert [r.system for r in sec.rows] == report.systems
        for r in sec.rows:
            assert not r.note, r.note  # every system produced a result
    train = {r.system: r.values for r in report.sections[0].rows}
    assert all(0 < v["mfu"] <= 1 for v in train.values())
    # same cluster size everywhere: cluster tokens/s = per-chip x 1152
    for v in train.values():
        assert v["tokens_per_s"] == pytest.approx(1152 * v["tokens_per_s_per_chip"])
    serve = {r.system: r.values for r in report.sections[1].rows}
    for v in serve.values():
        assert v["tpot_p99_ms"] <= 50 and v["ttft_p99_ms"] <= 2000  # the SLO holds in the event simulation


def test_prices_never_invented(report):
    rows = {r.system: r.values for r in report.sections[0].rows}
    assert rows["trn3-ultraserver-gen2"]["usd_per_mtok"] is None  # no published Trn3 price
    assert rows["trn3-ultraserver-gen2"]["breakeven_usd_per_chip_hour"] > 0
    # the baseline's break-even price is its own price
    trn2 = price_for(load_system("trn2-ultraserver"), load_workload())
    assert rows["trn2-ultraserver"]["breakeven_usd_per_chip_hour"] == pytest.approx(trn2.usd_per_chip_hour)


def test_claims_checked(report):
    verdicts = {c.claim: c for c in report.claims}
    assert verdicts["up to 4.4x more compute than Trn2 UltraServers"].checked == pytest.approx(4.36, abs=0.01)
    assert any("energy efficiency" in c.claim and c.checked for c in report.claims)


def test_workload_errors(tmp_path):
    with pytest.raises(TrnsimError, match="nothing to run"):
        parse_workload({"compare": {"systems": ["p5.48xlarge"]}}, "w.toml")
    with pytest.raises(TrnsimError, match="field 'training.chips'"):
        parse_workload({"compare": {"systems": ["p5"]}, "training": {"model": "llama-3-8b", "chips": 0}}, "w.toml")
    with pytest.raises(TrnsimError, match="file not found"):
        load_workload(tmp_path / "none.toml")


def test_compare_cli_small_workload_with_html(cli, tmp_path):
    wl = tmp_path / "w.toml"
    wl.write_text('[compare]\nsystems = ["p5.48xlarge", "trn2.48xlarge"]\n'
                  '[serving]\nmodel = "llama-3.1-8b"\nisl = 512\nosl = 128\nrequests = 200\ntp = [1, 2]\n')
    code, out, err = cli("compare", "--workload", str(wl), "--html", str(tmp_path / "rep"), "--explain")
    assert code == 0, err
    assert "trn2.48xlarge" in out and "Inputs and their sources" in out
    dom = dump_dom(tmp_path / "rep" / "index.html")
    assert 'data-broken-images="0"' in dom and "p5.48xlarge" in dom


def test_default_report_in_browser(report, tmp_path):
    from trnsim.report.html import render

    dom = dump_dom(render(report, tmp_path / "rep"))
    assert 'data-loaded="1"' in dom and 'data-broken-images="0"' in dom
    for s in report.systems:
        assert report.titles[s] in dom


def test_compare_json(cli):
    code, out, _ = cli("compare", "--systems", "trn2-ultraserver,gb200-nvl72", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["systems"] == ["trn2-ultraserver", "gb200-nvl72"]
