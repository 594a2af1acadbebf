"""The kernel predictors on the dev rows: median |error| per category within the 10 % target."""

import statistics

import pytest

from trnsim.validate.registry import NotSupported
from trnsim.validate.rows import load_rows
from trnsim.validate.predictors import kernels

TARGET = 0.10


def _errors(category, fn):
    errs, unsupported = [], []
    for r in load_rows().rows:
        if r.category != category:
            continue
        try:
            p = fn(r)
        except NotSupported as e:
            unsupported.append((r.id, str(e)))
            continue
        errs.append(p.value / r.value - 1)
    return errs, unsupported


@pytest.mark.parametrize("category,fn", [
    ("gemm_microbench", kernels.gemm_efficiency_model),
    ("attention_kernel", kernels.attention_efficiency_model),
])
def test_median_error_within_target(category, fn):
    errs, unsupported = _errors(category, fn)
    assert len(errs) >= 15, unsupported
    med = statistics.median(abs(e) for e in errs)
    assert med <= TARGET, f"{category}: median |error| {med:.3f}"
    # no systematic bias either
    assert abs(statistics.median(errs)) <= TARGET


def test_unsupported_rows_say_why():
    _, unsupported = _errors("gemm_microbench", kernels.gemm_efficiency_model)
    reasons = dict(unsupported)
    for rid, why in reasons.items():
        assert ("catalog" in why) or ("shape" in why) or ("PCIe card" in why), (rid, why)
    ids = {r.id: r for r in load_rows().rows}
    if "GEMM-044" in ids:  # A100 PCIe must not silently map to the SXM part
        assert "GEMM-044" in reasons


def test_predictors_registered():
    from trnsim.validate.registry import predictors_for

    names = {e.name: e.rank for e in predictors_for("gemm_microbench")}
    assert names.get("gemm-efficiency-model") == 10
    names = {e.name: e.rank for e in predictors_for("attention_kernel")}
    assert names.get("attention-efficiency-model") == 10


def test_fp8_trtllm_rows_include_input_quantisation():
    from trnsim.ops.bench import gemm_case

    case = gemm_case("H100", "h100_sxm", {"M": "1024", "N": "1024", "K": "1024", "dtype": "fp8", "framework": "trtllm"},
                     "latency", "us")
    assert [o.kind for o in case.ops] == ["elementwise", "gemm"]
    case = gemm_case("H100", "H100 SXM", {"best_M": "1024", "best_N": "1024", "best_K": "1024", "dtype": "fp8 e4m3fn"},
                     "max_achievable_TFLOPS", "TFLOPS", "torch._scaled_mm max-achievable (MAMF)")
    assert [o.kind for o in case.ops] == ["gemm"]


@pytest.mark.parametrize("text,system,expect", [
    ("H100", "h100_sxm", "h100-sxm"), ("H100", "H100 SXM (H200 same)", "h100-sxm"), ("B200", "b200_sxm", "b200"),
    ("A100", "A100 SXM", "a100-80gb"), ("H200", "H200 SXM", "h200"), ("A100 SXM4 40GB", "", "a100-40gb"),
    ("NVIDIA H100 80GB HBM3", "", "h100-sxm"), ("", "DGX B200", "b200"), ("GB200", "GB200 NVL72", "gb200"),
    ("Trainium2", "trn2.48xlarge", "trainium2"),
])
def test_accelerator_resolver(text, system, expect):
    from trnsim.ops.bench import resolve_accelerator

    assert resolve_accelerator(text, system).name == expect


@pytest.mark.parametrize("text,system", [("A100-PCIe", "A100 PCIe"), ("MI300X", "MI300X"),
                                         ("Gaudi3", "Gaudi 3"), ("H100 NVL", ""), ("H100 PCIe", "")])
def test_accelerator_resolver_refuses(text, system):
    from trnsim.ops.bench import Unsupported, resolve_accelerator

    with pytest.raises(Unsupported):
        resolve_accelerator(text, system)
