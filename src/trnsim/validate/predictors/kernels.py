"""Predictors for ``gemm_microbench`` and ``attention_kernel`` rows through :func:`trnsim.ops.op_time`.

Each row becomes the ops its benchmark runs (:mod:`trnsim.ops.bench`: a GEMM, plus the dynamic input
quantisation that TensorRT-LLM's fp8 ``Linear`` performs; one FlashAttention-style attention op) on
the catalog chip its accelerator names; the summed time is converted to the row's metric (latency,
TFLOPS, GB/s). GPU efficiencies are the fitted ones of ``trnsim/ops/data/gpu_efficiency.toml``
(fit: ``python -m trnsim.ops.fit``); Trainium ones come from the utilisation tables.

Rows whose accelerator is not in the catalog (GH200, A100 PCIe, AMD, Gaudi) or whose config has no
shape raise :class:`NotSupported` with the reason.
"""

from __future__ import annotations

from trnsim.errors import TrnsimError
from trnsim.ops import op_time
from trnsim.ops.bench import Case, Unsupported, attention_case, gemm_case
from trnsim.validate.registry import NotSupported, Prediction, register
from trnsim.validate.rows import GroundTruthRow


def _predict(case: Case, kind: str) -> Prediction:
    times = [op_time(op, case.chip) for op in case.ops]
    total = sum(t.seconds for t in times)
    main = times[-1]
    value = case.to_metric(total)
    extra = f"; + {times[0].per_call_s * 1e6:.1f} us input quantisation" if len(times) > 1 else ""
    note = (f"{case.note} on {case.chip.name}: {main.bound}-bound, efficiency {main.efficiency:.3f}, "
            f"{main.achieved_tflops:.0f} TFLOPS{extra}; source {main.source}")
    family = "fitted GPU efficiency" if case.chip.family == "gpu" else "Trainium utilisation table"
    return Prediction(value, f"{kind} roofline x {family} (trnsim.ops)", note)


@register("gemm_microbench", name="gemm-efficiency-model", rank=10)
def gemm_efficiency_model(row: GroundTruthRow) -> Prediction:
    try:
        case = gemm_case(row.accelerator, row.system, row.config, row.metric, row.unit, row.model_or_kernel)
        return _predict(case, "GEMM")
    except (Unsupported, TrnsimError) as e:
        raise NotSupported(str(e)) from None


@register("attention_kernel", name="attention-efficiency-model", rank=10)
def attention_efficiency_model(row: GroundTruthRow) -> Prediction:
    try:
        case = attention_case(row.accelerator, row.system, row.config, row.metric, row.unit, row.model_or_kernel)
        return _predict(case, "attention")
    except (Unsupported, TrnsimError) as e:
        raise NotSupported(str(e)) from None
