"""simulate_training: both fidelities agree, the breakdown adds up, MFU stays below 1, outputs are sane."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from trnsim.hardware import load_system
from trnsim.models import load_model
from trnsim.parallel import Plan
from trnsim.workloads.training import auto_plans, model_flops_per_token, simulate_training, write_trace
from trnsim.workloads.training.step import AGREEMENT_TOLERANCE


@pytest.fixture(scope="module")
def llama8b():
    return load_model("llama-3.1-8b")


CASES = [
    ("llama-3.1-8b", "p5.48xlarge", Plan(tp=2, pp=2, dp=2, global_batch=32, seq_len=8192, precision="fp8"), None),
    ("llama-3.1-70b", "p5.48xlarge", Plan(tp=8, pp=4, dp=2, global_batch=64, seq_len=4096, vpp=2,
                                          recompute="selective"), 64),
    ("llama-3.1-405b", "trn3-ultraserver-gen2", Plan(tp=8, pp=8, dp=2, global_batch=256, seq_len=8192,
                                                     recompute="full"), 128),
    ("llama-2-7b", "trn1.32xlarge", Plan(tp=4, pp=4, dp=1, global_batch=32, seq_len=4096), 16),
    ("mixtral-8x7b", "p5.48xlarge", Plan(tp=2, pp=2, dp=4, ep=4, global_batch=64, seq_len=4096), 16),
]


@pytest.mark.parametrize("model,system,plan,chips", CASES)
def test_analytic_and_event_driven_agree(model, system, plan, chips):
    a = simulate_training(model, system, plan, chips=chips, check_memory=False)
    d = simulate_training(model, system, plan, chips=chips, check_memory=False, fidelity="detailed")
    assert a.step_time == pytest.approx(d.step_time, rel=AGREEMENT_TOLERANCE)
    assert a.breakdown.total == pytest.approx(a.step_time, rel=1e-9)
    assert 0 < a.mfu < 1
    assert d.timeline is not None and d.timeline.ops


def test_outputs(llama8b):
    sysm = load_system("p5.48xlarge")
    p = Plan(tp=1, pp=1, dp=8, global_batch=64, seq_len=4096, precision="fp8", recompute="full")
    r = simulate_training(llama8b, sysm, p)
    assert r.tokens_per_s == pytest.approx(64 * 4096 / r.step_time)
    assert r.model_flops_per_step == pytest.approx(model_flops_per_token(llama8b, 4096) * 64 * 4096)
    assert r.mfu == pytest.approx(r.model_flops_per_step / (r.step_time * 8 * sysm.chip_.flops("fp8")))
    assert r.memory.fits and r.memory.total < r.memory.capacity
    assert 0 < r.power_w <= sysm.chip_.tdp.si
    assert r.system_power_w > 8 * r.power_w  # hosts and PUE on top of the chips
    assert r.energy_per_step_j == pytest.approx(r.system_power_w * r.step_time)
    assert r.price_per_hour == pytest.approx(sysm.price_per_hour())
    assert r.time_to_train(1e12) == pytest.approx(1e12 / r.tokens_per_s)
    assert r.cost_to_train(1e12) == pytest.approx(r.price_per_hour * r.time_to_train(1e12) / 3600)
    d = r.to_dict(tokens=1e12)
    json.dumps(d)
    assert d["breakdown_s"]["total"] == pytest.approx(d["step_time_s"])
    assert "economics" in d["energy_method"]


def test_more_micro_batches_shrink_the_bubble(llama8b):
    sysm = load_system("p5.48xlarge")
    small = simulate_training(llama8b, sysm, Plan(pp=4, dp=2, global_batch=8, seq_len=4096), check_memory=False)
    big = simulate_training(llama8b, sysm, Plan(pp=4, dp=2, global_batch=64, seq_len=4096), check_memory=False)
    assert small.breakdown.bubble / small.step_time > big.breakdown.bubble / big.step_time


def test_recompute_costs_time_saves_memory(llama8b):
    sysm = load_system("p5.48xlarge")
    base = Plan(tp=2, dp=4, global_batch=32, seq_len=8192)
    n = simulate_training(llama8b, sysm, base, check_memory=False)
    f = simulate_training(llama8b, sysm, base.with_(recompute="full"), check_memory=False)
    assert f.step_time > n.step_time and f.memory.activations < n.memory.activations


@settings(max_examples=25)
@given(tp=st.sampled_from([1, 2, 4, 8]), pp=st.sampled_from([1, 2, 4]), mbs=st.sampled_from([1, 2]),
       seq=st.sampled_from([2048, 8192, 32768]), prec=st.sampled_from(["bf16", "fp8"]),
       rc=st.sampled_from(["none", "selective", "full"]))
def test_mfu_bounded_by_one(tp, pp, mbs, seq, prec, rc):
    m = load_model("llama-3.1-8b")
    plan = Plan(tp=tp, pp=pp, dp=1, micro_batch=mbs, global_batch=mbs * 8, seq_len=seq, precision=prec, recompute=rc)
    r = simulate_training(m, "p5.48xlarge", plan, check_memory=False)
    assert 0 < r.mfu <= 1.0
    assert r.breakdown.compute <= r.step_time * (1 + 1e-9)


def test_trace(tmp_path, llama8b):
    r = simulate_training(llama8b, "p5.48xlarge", Plan(tp=2, pp=2, dp=2, global_batch=16, seq_len=4096),
                          fidelity="detailed", check_memory=False)
    path = write_trace(r, tmp_path / "step.json")
    ev = json.loads(path.read_text())["traceEvents"]
    names = {e["args"]["name"] for e in ev if e.get("name") == "thread_name"}
    assert {"stage 0 compute", "stage 1 compute", "stage 0 tp/cp/ep comm", "pipeline send/recv"} <= names
    assert any(n.endswith("data-parallel comm") for n in names)
    spans = [e for e in ev if e.get("ph") == "X"]
    assert sum(1 for e in spans if e["cat"] in ("fwd", "bwd")) == 2 * 2 * 8
    assert max(e["ts"] + e["dur"] for e in spans) <= r.step_time * 1e6 * 1.001


def test_auto_plans_are_sorted_and_fit(llama8b):
    res = auto_plans(llama8b, load_system("p5.48xlarge"), 8, seq_len=8192, global_batch=32, top=5)
    times = [r.step_time for r in res.results]
    assert times == sorted(times) and len(times) == 5
    assert all(r.memory.fits for r in res.results)
    assert res.evaluated > 20
