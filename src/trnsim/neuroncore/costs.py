"""Per-instruction durations from the published NKI cost formulas (nki.md §3.2-3.4).

``duration(ins, p, state)`` returns ``(seconds, flops)`` for a compute instruction on its engine.
N is the free size (elements per partition) of the main input. All constants come from
:class:`~trnsim.neuroncore.params.CoreParams` (MIN_II, static overhead, MM_INIT_LATENCY,
GPSIMD_START, MIN_II_DYNAMIC, perf-mode ratios, fp32 matmul slowdown, LoadStationary speedup).
"""

from __future__ import annotations

from typing import Any

from trnsim.neuroncore.params import CoreParams
from trnsim.nki.trace import Access, Instruction

_BF16 = frozenset({"bfloat16", "float16", "bf16", "fp16"})
_FP32 = frozenset({"float32", "fp32", "float32r", "int32", "uint32"})
_SMALL_STRIDE_BYTES = 16  # N12: a minor-dim stride above 16 bytes halves SBUF/PSUM bandwidth


_DCLASS: dict[str, str] = {}


def dtype_class(name: str) -> str:
    """Matmul rate class of an element dtype name: fp32, bf16 (bf16/fp16/tf32), fp8, mx, int8."""
    c = _DCLASS.get(name)
    if c is None:
        c = _DCLASS[name] = _dtype_class(name)
    return c


def _dtype_class(name: str) -> str:
    n = (name or "").lower()
    if n.endswith("_x4") or n.startswith("mx"):
        return "mx"
    if n.startswith("float8") or n.startswith("fp8"):
        return "fp8"
    if n in _FP32:
        return "fp32"
    if n in ("int8", "uint8"):
        return "int8"
    return "bf16"


def is_16bit(a: Access) -> bool:
    return a.dtype in _BF16 or a.elem_bytes == 2 and a.dtype not in ("int16", "uint16")


def _strided(a: Access) -> bool:
    if a.space not in ("sbuf", "psum") or not a.pattern:
        return False
    step, count = a.pattern[-1]
    return count > 1 and abs(step) * a.elem_bytes > _SMALL_STRIDE_BYTES


def _n(ins: Instruction) -> int:
    """Free size N of the main operand (first input, else first output)."""
    if ins.inputs:
        return max(1, ins.inputs[0].elements_per_partition)
    if ins.outputs:
        return max(1, ins.outputs[0].elements_per_partition)
    return 1


def _tensors(ins: Instruction) -> list[Access]:
    return [a for a in ins.inputs if a.space in ("sbuf", "psum")]


# ----------------------------------------------------------------------------- TensorE
def _int_attr(at: dict, key: str, default: int) -> int:
    v = at.get(key)
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v else int(default)


def matmul_dims(ins: Instruction, pe_rows: int = 128) -> tuple[int, int, int, str]:
    """(K, N_stationary, N_moving, dtype class) of an ``nc_matmul``/``nc_matmul_mx`` (``pe_rows``:
    rows of the PE array, to tell a packed MX contraction from an unpacked one)."""
    at = ins.attrs
    ns, nm, kk = at.get("stationary"), at.get("moving"), at.get("K")
    if type(ns) is int and type(nm) is int and type(kk) is int and ns and nm and kk:  # fast path (NKI layer attrs)
        dclass = "mx" if ins.opcode == "nc_matmul_mx" else dtype_class(str(at.get("dtype") or "bfloat16"))
        if dclass == "mx" and kk <= pe_rows:
            kk *= 4  # x4-packed operands: 4 contraction elements per stored element
        return kk, ns, nm, dclass
    ins_in = [a for a in ins.inputs if a.space == "sbuf"] or list(ins.inputs)
    st = ins_in[0] if ins_in else None
    mv = ins_in[1] if len(ins_in) > 1 else st
    rows = 2 if at.get("perf_mode") == "double_row" else 1
    n_stat = _int_attr(at, "stationary", st.elements_per_partition // rows if st else 1)
    n_mov = _int_attr(at, "moving", mv.elements_per_partition // rows if mv else 1)
    k = _int_attr(at, "K", (st.partitions if st else pe_rows) * rows)
    dclass = dtype_class(str(at.get("dtype") or (st.dtype if st else "bfloat16")))
    if ins.opcode == "nc_matmul_mx" and dclass != "mx":
        dclass = "mx"
    if dclass == "mx" and k <= pe_rows:
        k *= 4  # x4-packed operands: 4 contraction elements per stored element
    return k, max(1, n_stat), max(1, n_mov), dclass


def matmul_cycles(ins: Instruction, p: CoreParams, new_stationary: bool) -> tuple[float, float, str]:
    """TensorE cycles and FLOPs of a matmul: II = max(min(MM_INIT, N_stat), N_mov) (x4 for fp32),
    overlapped with a background LoadStationary of N_stat / speedup cycles when the stationary changes.
    Returns (cycles, FLOPs, dtype class)."""
    k, n_stat, n_mov, dclass = matmul_dims(ins, p.tensor_rows)
    if ins.attrs.get("is_transpose") or ins.opcode == "nc_transpose":
        return transpose_cycles(ins, p), 2.0 * k * n_stat * n_mov, dclass  # identity matmul: hardware FLOPs
    mm = max(min(p.cost("mm_init_latency"), n_stat), n_mov)
    ls = n_stat / p.ratio("load_stationary_speedup", 1.0) if new_stationary else 0.0
    cyc = max(mm, ls)
    onezero = ins.attrs.get("is_stationary_onezero") or ins.attrs.get("is_moving_onezero")
    if dclass == "fp32" and not onezero:
        cyc *= p.ratio("fp32_matmul_slowdown", 1.0)
    ts = ins.attrs.get("tile_size")
    if ts:  # row/column PE tiling: several small matmuls share the array concurrently
        cyc *= min(1.0, (int(ts[0]) * int(ts[1])) / (p.tensor_rows * p.tensor_cols))
    return cyc, 2.0 * k * n_stat * n_mov, dclass


def transpose_cycles(ins: Instruction, p: CoreParams) -> float:
    """PE transpose: max(P, min(64, F)) TensorE cycles (N18)."""
    a = ins.inputs[-1] if ins.inputs else ins.outputs[0]
    return float(max(a.partitions, min(p.cost("mm_init_latency"), a.elements_per_partition)))


# ----------------------------------------------------------------------------- Vector / Scalar / GpSimd
def _perf_mode(ins: Instruction, p: CoreParams, engine: str) -> float:
    """Speed-up of NC-v3 VectorE / NC-v4 ScalarE performance modes (1 when not applicable)."""
    ops = _tensors(ins) + [a for a in ins.outputs if a.space in ("sbuf", "psum")]
    if not ops or not all(is_16bit(a) for a in ops):
        return 1.0
    op = ins.opcode
    if engine == "vector":
        if op in ("tensor_copy", "tensor_scalar"):
            if all(a.space == "sbuf" and a.contiguous for a in ops):
                return p.ratio("vector_perf_mode_copy")
            return p.ratio("vector_perf_mode_partial")
        if op == "tensor_tensor" and all(a.space == "sbuf" for a in _tensors(ins)):
            return p.ratio("vector_perf_mode_tensor_tensor")
        return 1.0
    if engine == "scalar" and op in ("tensor_scalar", "tensor_copy"):
        return p.ratio("scalar_perf_mode")
    return 1.0


def _tensor_tensor_factor(ins: Instruction) -> float:
    """N18: max(MIN_II, N) if one input PSUM and the other SBUF, or both SBUF + bf16 + add/mul/sub
    with unit stride; otherwise 2N."""
    t = _tensors(ins)
    if len(t) >= 2:
        spaces = {a.space for a in t[:2]}
        if spaces == {"sbuf", "psum"}:
            return 1.0
        op = str(ins.attrs.get("op", "")).lower()
        if spaces == {"sbuf"} and all(is_16bit(a) and a.contiguous for a in t[:2]) and \
                any(k in op for k in ("add", "mul", "sub")):
            return 1.0
    return 2.0


def engine_cycles(ins: Instruction, p: CoreParams, engine: str) -> float:
    """Cycles of a Vector/Scalar/GpSimd/Sync instruction from the per-instruction cost table (N18)."""
    op = ins.opcode
    n = _n(ins)
    min_ii = p.cost("min_ii")
    at: dict[str, Any] = ins.attrs
    if engine == "sync" or op.startswith("register") or op in ("core_barrier", "barrier", "nop"):
        return min_ii
    if at.get("dynamic") or op.startswith("tensor_copy_dynamic"):
        return max(p.cost("min_ii_dynamic"), n)
    speed = _perf_mode(ins, p, engine)
    if any(_strided(a) for a in ins.inputs) or any(_strided(a) for a in ins.outputs):
        speed /= p.ratio("strided_access_slowdown", 1.0)
    gp = p.cost("gpsimd_start")
    if op in ("iota", "affine_select", "tensor_partition_reduce", "sequence_bounds", "nonzero_with_count"):
        return gp + n
    if op == "local_gather":
        e = int(at.get("num_elem_per_idx", 1))
        valid = int(at.get("num_valid_indices") or n)
        size = ins.outputs[0].elem_bytes if ins.outputs else 4
        c = ((28 + 4 * e) / (4 * e)) / min(4 / size, e)
        return gp + valid * e / c
    if op == "topk":
        return 4 * n + int(at.get("k", 8))
    if engine == "gpsimd" and op not in ("tensor_copy", "memset", "tensor_scalar", "tensor_tensor"):
        return gp + n / speed
    if op in ("rand2", "rng") and ins.outputs:
        # no published formula for the PRNG instructions: the Vector Engine's generic streaming cost
        # max(MIN_II, N) over the N generated elements per partition (rand2's min/max operands are [P, 1])
        return max(min_ii, max(1, ins.outputs[0].elements_per_partition) / speed)
    if op in ("activation", "activate2", "tensor_scalar", "tensor_copy", "bn_stats", "dropout", "range_select",
              "nc_stream_shuffle", "nc_transpose", "select_reduce", "tensor_copy_predicated"):
        cyc = max(min_ii, n / speed)
        if op == "tensor_copy_predicated" and len(_tensors(ins)) >= 2 and \
                {a.space for a in _tensors(ins)[:2]} == {"sbuf"}:
            cyc = max(min_ii, 2 * n / speed)
        if op in ("activation", "activate2") and at.get("reduce_res_read"):
            cyc += p.cost("act_read_accumulator")
        return cyc
    if op in ("activation_reduce", "tensor_scalar_reduce"):
        return max(min_ii, n / speed) + min_ii
    if op == "tensor_tensor":
        return max(min_ii, _tensor_tensor_factor(ins) * n / speed)
    if op == "scalar_tensor_tensor":
        t = _tensors(ins)
        fast = (str(at.get("op0", "")).endswith("subtract") and str(at.get("op1", "")).endswith("multiply")
                and n % 2 == 0 and t and is_16bit(t[0]))
        return (n if fast else 2 * n) / speed
    if op == "tensor_tensor_scan":
        return max(min_ii, 2 * n)
    if op == "tensor_reduce":
        op_name = str(at.get("op", "")).lower()
        half = all(is_16bit(a) for a in _tensors(ins) + list(ins.outputs)) and \
            any(k in op_name for k in ("add", "max"))
        return n / 2 if half else float(n)
    if op == "memset":
        zero16 = ins.outputs and is_16bit(ins.outputs[0]) and float(at.get("value", 0) or 0) == 0.0
        return max(min_ii, (n / 2 if zero16 else n) / speed)
    if op == "reciprocal":
        return max(min_ii, (8 * n if engine == "vector" else n))
    if op == "bn_aggr":
        return max(min_ii, 13 * (n / 3))
    if op in ("max8", "nc_find_index8", "nc_match_replace8"):
        return max(min_ii, n)
    if op == "exponential":
        return max(min_ii, n / p.ratio("vector_exp_speedup", 1.0))
    if op == "quantize_mx":
        return max(min_ii, n / p.ratio("quantize_mx_elements_per_cycle", 1.0))
    # undocumented instruction (and set_rng_seed, rand_set_state, rand_get_state, rand: no published formula):
    # the generic one-input streaming rule max(MIN_II, N) over the elements (seed/state words) per partition
    return max(min_ii, n / speed)
