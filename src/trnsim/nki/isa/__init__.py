"""``nki.isa``: the NeuronCore instruction set (destination-passing API of NKI >= 0.2)."""

from __future__ import annotations

from typing import Any

from trnsim.nki import runtime
from trnsim.nki.isa import core as _core
from trnsim.nki.isa.core import IsaError
from trnsim.nki.isa.dma import (Register, dma_compute, dma_copy, dma_transpose, register_alloc, register_load,
                                register_move, register_store)
from trnsim.nki.isa.enums import dge_mode, dma_engine, engine, matmul_perf_mode, nc_version, oob_mode, reduce_cmd
from trnsim.nki.isa.mx import nc_matmul_mx, quantize_mx
from trnsim.nki.isa.gpsimd import (affine_select, iota, local_gather, nc_n_gather, sequence_bounds,
                                   tensor_partition_reduce)
from trnsim.nki.isa.gpsimd_select import nonzero_with_count, topk
from trnsim.nki.isa.prng import rand2, rand_get_state, rand_set_state, rng, set_rng_seed
from trnsim.nki.isa.scalar import activate2, activation, activation_reduce
from trnsim.nki.isa.tensor_engine import nc_matmul
from trnsim.nki.isa.vector import (exponential, memset, reciprocal, scalar_tensor_tensor, tensor_copy,
                                   tensor_copy_predicated, tensor_reduce, tensor_scalar, tensor_tensor,
                                   tensor_tensor_scan)
from trnsim.nki.isa.vector_misc import (bn_aggr, bn_stats, dropout, max8, nc_find_index8, nc_match_replace8,
                                        nc_stream_shuffle, nc_transpose, range_select, select_reduce,
                                        tensor_scalar_cumulative, tensor_scalar_reduce)
from trnsim.nki.tensor import NkiTensor


def get_nc_version() -> nc_version:
    c = runtime.current_or_none()
    v = c.version if c is not None else {"trn1": 2, "trn2": 3, "trn3": 4}[runtime.default_target()]
    return nc_version(v)


def get_nc_sub_version() -> int:
    return 0


def assign(view: NkiTensor, value: NkiTensor) -> None:
    """``t[...] = tile``: a copy (DMA when either side is in HBM, else Vector tensor_copy).

    A smaller (old-API masked) value fills the leading region of the view."""
    if (view.ndim == value.ndim and view.shape != value.shape
            and all(a <= b for a, b in zip(value.shape, view.shape))):
        view = view[tuple(slice(0, n) for n in value.shape)]
    if not view.on_chip or not value.on_chip:
        dma_copy(dst=view, src=value, _allow_psum=True)
    else:
        tensor_copy(dst=view, src=value)


def assign_scalar(view: NkiTensor, value: Any) -> None:
    memset(dst=view, value=value)


def accumulate_into(t: NkiTensor, other: Any) -> NkiTensor:
    """``t += x`` (old API): a deferred matmul accumulates into PSUM; otherwise a Vector add."""
    hook = getattr(other, "accumulate_into", None)
    if hook is not None:
        hook(t)
        return t
    if isinstance(other, NkiTensor) or _core.MATERIALIZE is not None:
        other = _core.tensor(other, "tensor_tensor", "data2") if not isinstance(other, (int, float)) else other
    if isinstance(other, NkiTensor):
        tensor_tensor(dst=t, data1=t, data2=other, op="add")
    else:
        tensor_scalar(dst=t, data=t, op0="add", operand0=other)
    return t


def __getattr__(name: str) -> Any:
    if name in ("sendrecv", "core_barrier"):
        def _unsupported(*a: Any, **k: Any) -> Any:
            _core.fail(name, "not implemented by the trnsim NKI simulator yet")
        return _unsupported
    raise AttributeError(name)


__all__ = [
    "IsaError", "Register", "activate2", "activation", "activation_reduce", "affine_select", "bn_aggr", "bn_stats",
    "dge_mode", "dma_compute", "dma_copy", "dma_engine", "dma_transpose", "dropout", "engine", "exponential",
    "get_nc_version", "iota", "local_gather", "matmul_perf_mode", "max8", "memset", "nc_find_index8",
    "nc_match_replace8", "nc_matmul", "nc_n_gather", "sequence_bounds", "nc_matmul_mx", "quantize_mx", "nc_stream_shuffle", "nc_transpose", "nc_version", "oob_mode",
    "range_select", "reciprocal", "reduce_cmd", "register_alloc", "register_load", "register_move",
    "register_store", "scalar_tensor_tensor", "select_reduce", "tensor_copy", "tensor_copy_predicated",
    "tensor_partition_reduce", "tensor_reduce", "tensor_scalar", "tensor_scalar_cumulative",
    "tensor_scalar_reduce", "tensor_tensor", "tensor_tensor_scan",
    "nonzero_with_count", "rand2", "rand_get_state", "rand_set_state", "rng", "set_rng_seed", "topk",
]
