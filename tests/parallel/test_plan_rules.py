"""Plan rules: every impossible plan is explained in one line."""
import pytest

from trnsim.errors import TrnsimError
from trnsim.hardware import load_system
from trnsim.models import load_model
from trnsim.models.spec import ModelSpec
from trnsim.parallel import OutOfMemoryError, Plan, PlanError


@pytest.fixture(scope="module")
def llama8b():
    return load_model("llama-3.1-8b")


@pytest.fixture(scope="module")
def p5():
    return load_system("p5.48xlarge")


def _err(plan, model, system, chips=None):
    with pytest.raises(PlanError) as e:
        plan.validate(model, system, chips=chips)
    msg = str(e.value)
    assert "\n" not in msg and isinstance(e.value, TrnsimError)
    return msg


def test_valid_plan_passes(llama8b, p5):
    p = Plan(tp=2, pp=2, dp=2, global_batch=16, seq_len=4096)
    assert p.validate(llama8b, p5) is p
    assert p.chips == 8 and p.num_micro_batches == 8 and p.seq_parallel


def test_tp_must_divide_heads(llama8b, p5):
    msg = _err(Plan(tp=3, dp=1, seq_len=4095 * 3 + 3), llama8b, p5)
    assert "tp=3 does not divide the 32 attention heads" in msg and "use tp in" in msg


def test_pp_must_divide_layers():
    m = ModelSpec.gpt(1024, 9, 16, vocab=32000, seq_len=2048)
    msg = _err(Plan(pp=4, dp=2, seq_len=2048), m, load_system("p5.48xlarge"))
    assert "pp=4 does not divide the 9 layers" in msg


def test_uneven_split_counting_embedding_and_loss_is_allowed():
    m = load_model("llama-3.1-405b")  # 126 layers: 128 / 8 with embedding and loss as layers (NeMo)
    Plan(tp=8, pp=8, dp=1, seq_len=8192).validate(m, load_system("p5.48xlarge"), chips=64, check_memory=False)


def test_ep_without_experts(llama8b, p5):
    assert "has no experts" in _err(Plan(dp=8, ep=2), llama8b, p5)


def test_tp_crossing_scale_up_domain(llama8b, p5):
    msg = _err(Plan(tp=16, dp=1, seq_len=4096), llama8b, p5, chips=16)
    assert "crosses the scale-up domain" in msg


def test_chip_count_mismatch(llama8b, p5):
    assert "chips were given" in _err(Plan(tp=2, dp=2), llama8b, p5, chips=8)


def test_global_batch_multiple(llama8b, p5):
    assert "not a multiple of micro_batch x dp" in _err(Plan(dp=8, micro_batch=2, global_batch=20), llama8b, p5)


def test_interleaved_needs_pp_and_micro_batches(llama8b, p5):
    assert "needs pp > 1" in _err(Plan(dp=8, vpp=2), llama8b, p5)
    assert "multiple of pp" in _err(Plan(pp=4, dp=2, vpp=2, global_batch=6), llama8b, p5)


def test_zero3_with_pipeline(llama8b, p5):
    assert "zero=3/FSDP" in _err(Plan(pp=2, dp=4, zero=3), llama8b, p5)


def test_precision_support():
    m = load_model("llama-3.1-8b")
    assert "not supported by a100" in _err(Plan(dp=8, precision="fp8"), m, load_system("p4d.24xlarge"))
    assert "mxfp8" in _err(Plan(dp=8, precision="mxfp8"), m, load_system("p5.48xlarge"))


def test_out_of_memory_is_explained_with_breakdown(p5):
    m = load_model("llama-3.1-70b")
    with pytest.raises(OutOfMemoryError) as e:
        Plan(tp=1, dp=8, seq_len=8192).validate(m, p5)
    msg = str(e.value)
    assert "GiB per chip" in msg and "weights" in msg and "activations" in msg and "\n" not in msg
    assert e.value.breakdown.total > e.value.breakdown.capacity


def test_problems_lists_all(llama8b, p5):
    probs = Plan(tp=3, pp=5, dp=1, ep=2).problems(llama8b, p5)
    assert len(probs) >= 3
