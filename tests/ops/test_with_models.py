"""op_time on the ops the model layer produces (all kinds, forward/backward/prefill/decode)."""

import math

import pytest

models = pytest.importorskip("trnsim.models")
from trnsim.hardware import load_chip  # noqa: E402
from trnsim.ops import op_time  # noqa: E402


def _ops(name, phase, batch, seq):
    try:
        spec = models.load_model(name)
        return models.build_ops(spec, phase, batch, seq)
    except Exception as e:  # the model layer is developed in parallel
        pytest.skip(f"model layer: {e}")


@pytest.mark.parametrize("chip", ["h100", "b200", "trn2", "trn3"])
def test_training_step_mfu_plausible(chip):
    c = load_chip(chip)
    fwd = _ops("llama-3.1-8b", "fwd", 2, 4096)
    bwd = _ops("llama-3.1-8b", "bwd", 2, 4096)
    t_f = sum(op_time(o, c).seconds for o in fwd)
    t_b = sum(op_time(o, c).seconds for o in bwd)
    flops = sum(o.flops * o.count for o in fwd + bwd)
    mfu = flops / (t_f + t_b) / c.flops("bf16")
    assert 0.35 < mfu < 0.9, mfu
    assert 1.6 < t_b / t_f < 3.0, t_b / t_f


@pytest.mark.parametrize("chip", ["h100", "trn2"])
@pytest.mark.parametrize("name", ["llama-3.1-8b", "mixtral-8x7b", "deepseek-v3", "gpt-oss-120b", "bert-large"])
def test_every_op_kind_has_a_finite_time(chip, name):
    c = load_chip(chip)
    for phase, batch, seq in (("prefill", 1, 512), ("decode", 32, 2048)):
        if name == "bert-large" and phase == "decode":
            continue
        for o in _ops(name, phase, batch, seq):
            r = op_time(o, c)
            assert r.seconds > 0 and math.isfinite(r.seconds), o
            assert 0 < r.efficiency <= 1, o


def test_decode_is_memory_bound_and_prefill_compute_bound():
    c = load_chip("h100")
    dec = _ops("llama-3.1-8b", "decode", 8, 4096)
    pre = _ops("llama-3.1-8b", "prefill", 4, 4096)
    time_by = lambda ops, bound: sum(op_time(o, c).seconds for o in ops if op_time(o, c).bound == bound)  # noqa: E731
    assert time_by(dec, "memory") > 0.8 * sum(op_time(o, c).seconds for o in dec)
    assert time_by(pre, "compute") > 0.7 * sum(op_time(o, c).seconds for o in pre)
