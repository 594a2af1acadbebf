"""The validation harness: CSV parsing, routing to predictors, summaries, bad rows, output files."""

from __future__ import annotations

import csv
import json

import pytest

from trnsim.errors import TrnsimError
from trnsim.validate import load_rows, run_validation, write_results
from trnsim.validate.harness import summarise, RowResult
from trnsim.validate.registry import NotSupported, Prediction, _REGISTRY, register
from trnsim.validate.rows import COLUMNS, parse_config


def _csv(tmp_path, rows, header=COLUMNS):
    p = tmp_path / "rows.csv"
    with p.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return p


def _row(id_, cat="test_cat", metric="m", value="10", unit="ms", config="k=1"):
    return [id_, cat, "sys", "acc", "1", "model", "train", config, metric, value, unit, "src", ""]


@pytest.fixture
def fake_predictor():
    calls = []

    @register("test_cat", name="fake", rank=5)
    def fake(row):
        calls.append(row.id)
        if row.cfg("k") == "skip":
            raise NotSupported("k=skip is not handled")
        if row.cfg("k") == "boom":
            raise RuntimeError("predictor bug")
        return Prediction(float(row.cfg("k")) * 11, "fake method")

    yield calls
    _REGISTRY.pop("test_cat", None)


def test_config_parsing():
    assert parse_config("tp=8; dtype=bf16;overlap=a,b;;flag") == {"tp": "8", "dtype": "bf16", "overlap": "a,b", "flag": ""}


def test_shipped_csv_loads_completely():
    data = load_rows()
    assert len(data.rows) >= 800 and not data.errors
    assert {"nki_kernel", "megatron_mfu", "gpu_collective"} <= {r.category for r in data.rows}


def test_routing_errors_and_summary(tmp_path, fake_predictor):
    p = _csv(tmp_path, [_row("A", config="k=1"), _row("B", config="k=2"), _row("C", config="k=skip"),
                        _row("D", config="k=boom"), _row("E", cat="other_cat")])
    rep = run_validation(p)
    by = {r.id: r for r in rep.results}
    assert by["A"].predicted == pytest.approx(11) and by["A"].error_pct == pytest.approx(10.0)
    assert by["B"].error_pct == pytest.approx(120.0)
    assert by["C"].status == "unsupported" and "k=skip" in by["C"].note
    assert by["D"].status == "error" and "predictor bug" in by["D"].note
    assert by["E"].status == "unsupported" and "no predictor for category 'other_cat'" in by["E"].note
    s = rep.summary("test_cat")
    assert (s.rows, s.predicted, s.unsupported, s.errors) == (4, 2, 1, 1)
    assert s.median_abs_error_pct == pytest.approx(65.0)
    assert set(rep.unsupported_by_category()) == {"test_cat", "other_cat"}


def test_malformed_rows_reported_and_run_goes_on(tmp_path, fake_predictor):
    p = _csv(tmp_path, [_row("A"), _row("BAD", value="fast"), _row("", config="k=1"), _row("C", config="k=3")])
    rep = run_validation(p)
    assert [r.id for r in rep.results] == ["A", "C"]
    assert len(rep.row_errors) == 2
    assert "not a number" in rep.row_errors[0].message and rep.row_errors[0].line == 3


def test_missing_column_is_one_line_error(tmp_path):
    p = _csv(tmp_path, [["x"]], header=("id", "category"))
    with pytest.raises(TrnsimError, match="missing column"):
        load_rows(p)


def test_filters(tmp_path, fake_predictor):
    p = _csv(tmp_path, [_row("A"), _row("B"), _row("E", cat="other_cat")])
    assert [r.id for r in run_validation(p, ids=["B"]).results] == ["B"]
    assert [r.id for r in run_validation(p, categories=["other_cat"]).results] == ["E"]
    with pytest.raises(TrnsimError, match="no rows match"):
        run_validation(p, categories=["nope"])


def test_write_results_csv_json(tmp_path, fake_predictor):
    rep = run_validation(_csv(tmp_path, [_row("A")]))
    out = write_results(rep, tmp_path / "out" / "r.json")
    assert json.loads(out.read_text())["rows"][0]["id"] == "A"
    out = write_results(rep, tmp_path / "r.csv")
    assert next(csv.DictReader(out.open()))["status"] == "ok"
    with pytest.raises(TrnsimError, match="use .csv or .json"):
        write_results(rep, tmp_path / "r.txt")
    assert not list(tmp_path.glob(".*.tmp"))


def test_summarise_bias_and_percentiles():
    rs = [RowResult("x", "c", "m", "u", 1, 1, e, "ok") for e in (-10.0, 20.0, 30.0)]
    s = summarise(rs)[0]
    assert s.median_abs_error_pct == 20.0 and s.bias_pct == 20.0 and s.p90_abs_error_pct == pytest.approx(28.0)


def test_validate_cli_lists_rows_without_predictor(cli, tmp_path):
    p = _csv(tmp_path, [_row("A", cat="mystery_cat")])
    code, out, _ = cli("validate", str(p), "--out", str(tmp_path / "r.csv"))
    assert code == 0
    assert "mystery_cat: 1" in out and (tmp_path / "r.csv").exists()


def test_validate_cli_bad_file(cli, tmp_path):
    code, _, err = cli("validate", str(tmp_path / "nope.csv"))
    assert code == 2 and "file not found" in err


def test_group_by_splits_summaries_and_rejects_unknown_keys(tmp_path, fake_predictor):
    p = _csv(tmp_path, [_row("A", config="k=1;round=v1"), _row("B", config="k=2;round=v1"),
                        _row("C", config="k=3;round=v2"), _row("D", config="k=1")])
    rep = run_validation(p, group_by="round")
    groups = {s.label: s for s in rep.summaries}
    assert set(groups) == {"test_cat / v1", "test_cat / v2", "test_cat / -"}
    assert {s.category for s in rep.summaries} == {"test_cat"}
    v1 = rep.summary("test_cat", "v1")
    assert v1.predicted == 2 and v1.median_abs_error_pct == pytest.approx(65.0)
    assert {r.id: r.group for r in rep.results} == {"A": "v1", "B": "v1", "C": "v2", "D": "-"}
    assert {s.label for s in run_validation(p, group_by="accelerator").summaries} == {"test_cat / acc"}
    with pytest.raises(TrnsimError, match="no selected row has that field or config key"):
        run_validation(p, group_by="rounds")


def test_simulator_rejections_are_declines_with_the_reason(tmp_path):
    """A predictor whose simulator rejects the row's configuration (TrnsimError) declines with that reason, so
    a lower-ranked predictor may answer; the row is 'unsupported', not a predictor 'error'."""
    @register("test_rej", name="strict", rank=1)
    def strict(row):
        raise TrnsimError("tp=3 does not divide 8 heads", "pick a divisor")

    @register("test_rej", name="fallback", rank=9)
    def fallback(row):
        return Prediction(5.0, "fallback")

    try:
        p = _csv(tmp_path, [_row("A", cat="test_rej")])
        r = run_validation(p).results[0]
        assert r.status == "ok" and r.predictor == "fallback"
        _REGISTRY["test_rej"] = [e for e in _REGISTRY["test_rej"] if e.name == "strict"]
        r = run_validation(p).results[0]
        assert r.status == "unsupported" and "strict: tp=3 does not divide 8 heads" in r.note
    finally:
        _REGISTRY.pop("test_rej", None)


def test_cli_group_by_unknown_key_is_one_line(cli):
    code, _out, err = cli("validate", "-c", "nki_kernel", "--group-by", "bogus", "--summary-only")
    assert code == 2 and err.count("\n") == 1 and "no selected row has that field or config key" in err
