"""Sweeps: spec validation, Pareto fronts, identical results from every executor, retry, resume."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trnsim.errors import TrnsimError
from trnsim.search import InProcess, LocalProcesses, evaluator, pareto_front, run_sweep, spec_from_dict
from trnsim.search.runner import journal_path

SYSTEMS = ["trn2-ultraserver", "trn3-ultraserver-gen2", "p5.48xlarge", "gb200-nvl72", "not-a-system"]


def hw_spec(**kw):
    d = {"sweep": {"kind": "hardware", "batch_size": 3},
         "axes": {"system": SYSTEMS, "dtype": ["bf16", "fp8", "mxfp8"], "price_per_chip_hour": [2.0, 5.0]},
         "objectives": {"peak_pflops": "max", "pflops_per_usd_hour": "max"}}
    d.update(kw)
    return spec_from_dict(d)


def test_spec_errors_are_one_line():
    with pytest.raises(TrnsimError, match="axis 'tp' has no values"):
        spec_from_dict({"axes": {"tp": []}})
    with pytest.raises(TrnsimError, match="unknown field"):
        spec_from_dict({"axess": {}})
    with pytest.raises(TrnsimError, match="objectives.x"):
        spec_from_dict({"objectives": {"x": "biggest"}})


def test_hardware_sweep_prunes_with_reasons_and_finds_front():
    res = run_sweep(hw_spec())
    assert len(res.rows) == 5 * 3 * 2 == hw_spec().size
    assert [r["index"] for r in res.rows] == list(range(30))
    # unknown system: 3 dtypes x 2 prices; no mxfp8 peak on trn2-ultraserver, p5, gb200: 3 x 2 prices
    assert sum(res.pruned.values()) == 6 + 6
    assert any("unknown system" in k for k in res.pruned)
    best = res.best["peak_pflops"]
    assert best["system"] == "trn3-ultraserver-gen2" and best["dtype"] == "mxfp8"
    # front rows are not dominated by any valid row
    ok = res.ok
    for f in res.front:
        assert not any(o["peak_pflops"] >= f["peak_pflops"] and o["pflops_per_usd_hour"] >= f["pflops_per_usd_hour"]
                       and (o["peak_pflops"] > f["peak_pflops"] or o["pflops_per_usd_hour"] > f["pflops_per_usd_hour"])
                       for o in ok)


def test_constraints_prune():
    res = run_sweep(hw_spec(constraints={"min": {"peak_pflops": 100.0}}))
    assert all(r["peak_pflops"] >= 100 for r in res.ok)
    assert any(k.startswith("constraint peak_pflops >=") for k in res.pruned)


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=25),
       st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_pareto_matches_brute_force(points, senses):
    rows = [{"a": a, "b": b, "c": c} for a, b, c in points]
    obj = dict(zip("abc", ["max" if s else "min" for s in senses]))
    got = set(pareto_front(rows, obj))
    sign = np.array([1 if s else -1 for s in senses])
    v = np.array(points) * sign  # maximise all
    want = {i for i in range(len(v)) if not any(np.all(v[j] >= v[i]) and np.any(v[j] > v[i]) for j in range(len(v)))}
    # equal points: both kept by brute force; ours keeps all of them too
    assert got == want


def test_processes_equal_inprocess():
    a = run_sweep(hw_spec())
    b = run_sweep(hw_spec(), LocalProcesses(workers=2))
    assert a.rows == b.rows


_MARK = {"path": ""}


@evaluator("test-crashy")
def _crashy(cfg):
    if cfg["x"] == 3 and not os.path.exists(_MARK["path"]):
        open(_MARK["path"], "w").close()
        os._exit(17)  # kill the worker process mid-batch
    return {"y": cfg["x"] * 2}


def test_killed_worker_loses_only_its_batch_which_is_retried(tmp_path):
    _MARK["path"] = str(tmp_path / "crashed-once")
    spec = spec_from_dict({"sweep": {"kind": "test-crashy", "batch_size": 2}, "axes": {"x": list(range(10))}})
    res = run_sweep(spec, LocalProcesses(workers=2))
    assert (tmp_path / "crashed-once").exists()
    assert [r["y"] for r in res.rows] == [2 * x for x in range(10)]


def test_interrupted_sweep_resumes_from_journal(tmp_path):
    out = tmp_path / "res.csv"
    spec = hw_spec()
    calls = itertools.count()

    def stop_after_two(done, total):
        if next(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, out=out, progress=stop_after_two)
    assert journal_path(out).exists() and not out.exists()
    res = run_sweep(spec, out=out)
    assert res.resumed == 6  # two batches of 3
    assert out.exists() and not journal_path(out).exists()
    assert res.rows == run_sweep(spec).rows


def test_parquet_output(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "r.parquet"
    run_sweep(hw_spec(), out=out)
    assert pq.read_table(out).num_rows == 30


def test_ray_executor_matches_local():
    ray = pytest.importorskip("ray")
    from trnsim.search import RayExecutor

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        res = run_sweep(hw_spec(), RayExecutor())
    finally:
        ray.shutdown()
    assert res.rows == run_sweep(hw_spec(), InProcess()).rows


def test_search_cli(cli, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nkind = "hardware"\n[axes]\nsystem = ["p5.48xlarge", "trn2-ultraserver"]\n'
                    '[objectives]\npeak_pflops = "max"\n')
    code, out, err = cli("search", str(spec), "--executor", "inprocess", "--out", str(tmp_path / "r.csv"))
    assert code == 0, err
    assert "Pareto front" in out and (tmp_path / "r.csv").exists()
    code, _, err = cli("search", str(tmp_path / "missing.toml"))
    assert code == 2 and "file not found" in err
