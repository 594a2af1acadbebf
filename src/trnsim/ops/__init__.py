"""Operator cost models per chip: ``op_time(op, chip) -> OpTime``.

* GPUs: roofline with size-dependent efficiency fitted to the dev microbenchmark rows
  (:mod:`trnsim.ops.gpu`, constants in ``data/gpu_efficiency.toml``; refit with
  ``python -m trnsim.ops.fit --write``).
* Trainium/Inferentia: roofline scaled by a utilisation table per chip
  (:mod:`trnsim.ops.trainium`, ``data/trainium_efficiency.toml``; regenerate with
  ``python -m trnsim.ops.calibrate_trainium --write``).

Per-chip constants are resolved once and cached, so a call is a handful of float operations.
"""

from __future__ import annotations

from typing import Iterable

from trnsim.errors import TrnsimError
from trnsim.hardware.specs import ChipSpec
from trnsim.models.op import Op
from trnsim.ops.result import OpTime
from trnsim.ops.shapes import attention_op, attention_work, gemm_op, norm_dtype, quantize_op

__all__ = ["OpTime", "op_time", "ops_time", "gemm_op", "attention_op", "quantize_op", "attention_work",
           "chip_model", "clear_cache"]

_MODELS: dict[int, tuple[ChipSpec, object]] = {}
_KINDS = ("gemm", "moe_gemm", "attention", "norm", "elementwise", "softmax", "embedding")


def chip_model(chip: ChipSpec):
    """The cached per-chip cost model (GpuChipModel or TrainiumChipModel)."""
    hit = _MODELS.get(id(chip))
    if hit is not None and hit[0] is chip:
        return hit[1]
    if chip.family == "gpu":
        from trnsim.ops.gpu import GpuChipModel, default_params
        model: object = GpuChipModel(chip, default_params())
    else:
        from trnsim.ops.trainium import TrainiumChipModel, default_tables
        model = TrainiumChipModel(chip, default_tables())
    _MODELS[id(chip)] = (chip, model)
    return model


def clear_cache() -> None:
    """Forget resolved per-chip models and loaded tables (after regenerating a data file)."""
    from trnsim.ops.gpu import default_params
    from trnsim.ops.trainium import default_tables

    _MODELS.clear()
    default_params.cache_clear()
    default_tables.cache_clear()


def op_time(op: Op, chip: ChipSpec) -> OpTime:
    """Time of ``op`` (all ``op.count`` instances) on ``chip``, with the efficiency used and its source."""
    if op.kind not in _KINDS:
        raise TrnsimError(f"op {op.name!r}: unknown kind {op.kind!r}", f"use one of {', '.join(_KINDS)}")
    if op.flops < 0 or op.bytes < 0:
        raise TrnsimError(f"op {op.name!r}: negative flops or bytes")
    if op.dtype not in _OK_DTYPES:
        op = _with_dtype(op)
    return chip_model(chip).time(op)  # type: ignore[attr-defined]


def ops_time(ops: Iterable[Op], chip: ChipSpec) -> float:
    """Sum of the times of ``ops`` on ``chip`` (seconds)."""
    m = chip_model(chip)
    return sum(m.time(o if o.dtype in _OK_DTYPES else _with_dtype(o)).seconds for o in ops)  # type: ignore[attr-defined]


_OK_DTYPES = frozenset({"fp32", "tf32", "bf16", "fp16", "fp8", "int8", "mxfp8", "mxfp4", "fp4", "nvfp4", "int4"})


def _with_dtype(op: Op) -> Op:
    from dataclasses import replace

    return replace(op, dtype=norm_dtype(op.dtype))
