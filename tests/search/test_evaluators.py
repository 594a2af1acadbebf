"""The training and serving sweep kinds: real simulations, pruning reasons that can be counted."""

from __future__ import annotations

import pytest

from trnsim.search import run_sweep, spec_from_dict
from trnsim.search.eval_training import prune_reason
from trnsim.search.evaluators import Pruned, get_evaluator
from trnsim.workloads.training import simulate_training


def test_training_evaluator_matches_simulate_training():
    from trnsim.hardware import load_system
    from trnsim.models import load_model
    from trnsim.parallel.plan import Plan

    ev = get_evaluator("training")
    cfg = {"model": "llama-3.1-70b", "system": "trn2-ultraserver", "chips": 1024, "tp": 8, "pp": 4,
           "seq": 8192, "global_batch": 1024, "precision": "fp8"}
    m = ev(cfg)
    assert m["dp"] == 32
    ref = simulate_training(load_model("llama-3.1-70b"), load_system("trn2-ultraserver"),
                            Plan(tp=8, pp=4, dp=32, global_batch=1024, seq_len=8192, precision="fp8"), chips=1024)
    assert m["step_time_s"] == pytest.approx(ref.step_time)
    assert m["tokens_per_s_per_chip"] == pytest.approx(ref.tokens_per_s / 1024)


def test_training_evaluator_prunes_with_reasons():
    ev = get_evaluator("training")
    base = {"model": "llama-3.1-70b", "system": "trn2-ultraserver", "chips": 1024, "seq": 8192, "global_batch": 1024}
    with pytest.raises(Pruned, match="does not divide 1024 chips"):
        ev({**base, "tp": 3})
    with pytest.raises(Pruned, match="needs .* GiB per chip"):
        ev({**base, "tp": 1, "pp": 1})
    assert prune_reason("impossible plan (tp3 pp1 dp64 mbs1 z1): tp=3 does not divide x; y (and 3 more: z)") == \
        "impossible plan: tp=3 does not divide x"


@pytest.mark.parametrize("kind", ["training", "serving"])
def test_missing_key_and_unknown_name_are_told_apart(kind):
    from trnsim.search.executors import run_batch

    cfgs = [{"system": "trn2-ultraserver"}, {"model": "no-such-model", "system": "trn2-ultraserver"}]
    rows = run_batch(kind, {}, {}, (0, list(enumerate(cfgs))))[1]
    assert [r["status"] for r in rows] == ["pruned", "pruned"]
    assert rows[0]["reason"] == "missing key 'model'"
    assert rows[1]["reason"].startswith("unknown model 'no-such-model'")


def test_serving_sweep_finds_slo_limited_rate():
    spec = spec_from_dict({"sweep": {"kind": "serving"},
                           "fixed": {"model": "llama-3.1-8b", "isl": 1024, "osl": 128, "slo_tpot_ms": 30},
                           "axes": {"system": ["p5.48xlarge", "trn2.48xlarge"], "tp": [1, 2]},
                           "objectives": {"out_tok_s_per_chip": "max"}})
    res = run_sweep(spec)
    assert len(res.ok) == 4
    assert all(r["tpot_ms"] <= 30 for r in res.ok)
    assert res.best["out_tok_s_per_chip"]["out_tok_s_per_chip"] == max(r["out_tok_s_per_chip"] for r in res.ok)


def test_serving_sweep_kernel_speed_axis():
    ev = get_evaluator("serving")
    cfg = {"model": "llama-3.1-8b", "system": "p5.48xlarge", "tp": 1, "isl": 1024, "osl": 128, "batch": 64}
    fast, slow = ev(cfg), ev(cfg | {"kernel_speed": 0.8})
    assert slow["tpot_ms"] > fast["tpot_ms"] and slow["out_tok_s"] < fast["out_tok_s"]


def test_plan_auto_on_an_executor_matches_in_process():
    from trnsim.hardware import load_system
    from trnsim.models import load_model
    from trnsim.search import LocalProcesses
    from trnsim.workloads.training import auto_plans

    m, s = load_model("llama-3.1-8b"), load_system("trn2.48xlarge")
    a = auto_plans(m, s, 16, seq_len=4096, global_batch=256, precision="bf16")
    b = auto_plans(m, s, 16, seq_len=4096, global_batch=256, precision="bf16", executor=LocalProcesses(workers=2))
    assert [r.plan for r in a.results] == [r.plan for r in b.results]
    assert a.evaluated == b.evaluated


def test_points_are_crossed_with_axes():
    spec = spec_from_dict({"sweep": {"kind": "hardware"}, "points": [{"dtype": "bf16"}, {"dtype": "fp8"}],
                           "axes": {"system": ["p5.48xlarge", "trn2.48xlarge"]}})
    assert spec.size == 4
    assert [(c["dtype"], c["system"]) for c in spec.configs()] == [
        ("bf16", "p5.48xlarge"), ("bf16", "trn2.48xlarge"), ("fp8", "p5.48xlarge"), ("fp8", "trn2.48xlarge")]


def test_finalists_are_rechecked_event_driven(cli, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nkind = "serving"\n[fixed]\nmodel = "llama-3.1-8b"\nisl = 512\nosl = 64\nslo_tpot_ms = 30\n'
                    '[axes]\nsystem = ["p5.48xlarge"]\ntp = [1, 2]\n[objectives]\nout_tok_s_per_chip = "max"\n')
    code, out, err = cli("search", str(spec), "--executor", "inprocess", "--finalists", "1", "--json")
    assert code == 0, err
    import json

    front = json.loads(out)["front"]
    assert "event_tpot_p99_ms" in front[0] and 0 <= front[0]["event_slo_attainment"] <= 1
