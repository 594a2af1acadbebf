"""MLPerf serving predictor: deployment rule (offline keeps the smallest TP that holds the weights; latency-bound
scenarios may widen TP within a server when that serves more under the limits)."""

from __future__ import annotations

from trnsim.validate.predictors.serving import mlperf
from trnsim.validate.rows import GroundTruthRow


def _row(scenario: str, metric: str, extra: dict[str, str] | None = None) -> GroundTruthRow:
    cfg = {"scenario": scenario} | (extra or {})
    return GroundTruthRow(id="T-1", category="mlperf_inference", system="8x B200", accelerator="B200",
                          num_accelerators=8, model_or_kernel="Llama 3.1 405B", workload="serve", config=cfg,
                          metric=metric, value=1.0, unit="tokens/s")


def _tp(note: str) -> int:
    return int(note.split("TP")[1].split()[0])


def test_offline_uses_smallest_tp_and_interactive_may_widen():
    off = mlperf(_row("Offline", "output_tokens_per_s_offline"))
    inter = mlperf(_row("Interactive", "output_tokens_per_s_interactive",
                        {"constraint_ttft_p99_ms": "4500", "constraint_tpot_p99_ms": "80"}))
    assert _tp(off.note) == 2
    assert _tp(inter.note) >= _tp(off.note)
    assert 0 < inter.value < off.value  # latency limits cost throughput


def _llama70b_row(extra: dict[str, str]) -> GroundTruthRow:
    cfg = {"scenario": "Offline"} | extra
    return GroundTruthRow(id="T-2", category="mlperf_inference", system="8x H100", accelerator="H100",
                          num_accelerators=8, model_or_kernel="Llama 2 70B", workload="serve", config=cfg,
                          metric="output_tokens_per_s_offline", value=1.0, unit="tokens/s")


def test_rows_stating_an_older_tensorrt_run_at_its_published_software_speed():
    from trnsim.workloads.serving import calibration as cal

    new = mlperf(_llama70b_row({"mlperf_inference": "v5.1", "framework": "TensorRT 10.8, CUDA 12.8"}))
    v41 = mlperf(_llama70b_row({"mlperf_inference": "v4.1", "framework": "TensorRT 10.2.0, CUDA 12.4"}))
    v40 = mlperf(_llama70b_row({"mlperf_inference": "v4.1", "framework": "TensorRT 9.3.0, CUDA 12.2"}))
    other = mlperf(_llama70b_row({"mlperf_inference": "v4.1", "framework": "vLLM 0.4.3"}))
    assert cal.tensorrt_speed("TensorRT 10.2.0, CUDA 12.4") == cal.SOFTWARE_SPEED["mlperf-v4.1"] == 1.27 / 1.6
    # the stated release decides, not the round: a v4.1 partner row on TensorRT 9.3 ran the v4.0 stack
    assert cal.tensorrt_speed("TensorRT 9.3.0, CUDA 12.2") == cal.SOFTWARE_SPEED["mlperf-v4.0"] == 1 / 1.6
    assert cal.tensorrt_speed("TensorRT-LLM v0.5.0 / TensorRT 9.1.0.4") == 1 / 1.6  # older: no faster
    assert cal.tensorrt_speed("TensorRT 10.11, CUDA 12.9") == 1.0
    assert cal.tensorrt_speed("TensorRT-LLM v1.0 (PyTorch backend)") is None  # names no TensorRT release
    assert "kernel speed" in v41.note and "kernel speed" not in new.note
    # slower kernels: fewer tokens/s, by less than the kernel factor (host overheads do not scale)
    assert 0.79 * new.value < v41.value < new.value
    assert v40.value < v41.value
    assert other.value == new.value  # the published gains are TensorRT-LLM's; other engines keep 1.0


def test_kernel_speed_parsing():
    import pytest

    from trnsim.errors import TrnsimError
    from trnsim.workloads.serving import calibration as cal

    assert cal.parse_kernel_speed("0.8") == 0.8 and cal.parse_kernel_speed(1) == 1.0
    assert cal.parse_kernel_speed("MLPerf-v4.1 ") == cal.SOFTWARE_SPEED["mlperf-v4.1"]
    for bad in ("fast", "0", "-1", "nan", "11"):
        with pytest.raises(TrnsimError, match="mlperf-v4.0"):
            cal.parse_kernel_speed(bad)


def test_ttft_queue_constant_is_the_refit_on_the_dev_rows():
    """The fitted constant must follow the model: refit (median over the MLPerf TTFT_p99 rows) and compare."""
    from trnsim.validate.predictors.serving import fit_ttft_queue_iterations
    from trnsim.workloads.serving import calibration as cal

    k = fit_ttft_queue_iterations()
    assert abs(k - cal.TTFT_P99_QUEUE_ITERATIONS) < 0.05, f"refit gives {k:.3f}; update calibration.py"


def test_precision_is_the_stated_narrow_format_else_the_narrowest_the_gpu_runs():
    def row(acc: str, extra: dict[str, str]) -> GroundTruthRow:
        return GroundTruthRow(id="T-3", category="mlperf_inference", system=f"8x {acc}", accelerator=acc,
                              num_accelerators=8, model_or_kernel="Llama 3.1 8B", workload="serve",
                              config={"scenario": "Offline"} | extra, metric="output_tokens_per_s_offline",
                              value=1.0, unit="tokens/s")

    assert " fp4," in mlperf(row("B300", {})).note  # Blackwell Ultra runs NVFP4
    assert " fp8," in mlperf(row("B200", {"weight_dtype": "fp8"})).note  # a stated 8-bit format wins
    assert " fp8," in mlperf(row("H100", {"weight_dtype": "fp16"})).note  # v4.x rows say fp16 but quantised
    assert " fp8," in mlperf(row("H100", {"weight_dtype": "fp4"})).note  # Hopper has no FP4 tensor cores


def test_unknown_model_reason_names_the_row_model():
    import pytest

    from trnsim.validate.registry import NotSupported

    row = GroundTruthRow(id="T-4", category="mlperf_inference", system="8x H100", accelerator="H100",
                         num_accelerators=8, model_or_kernel="Falcon 180B", workload="serve",
                         config={"scenario": "Offline"}, metric="output_tokens_per_s_offline", value=1.0,
                         unit="tokens/s")
    with pytest.raises(NotSupported, match="'Falcon 180B' is not in the model catalog"):
        mlperf(row)
