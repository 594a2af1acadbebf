"""Canonical NKI attention kernels for ``calibrate_trainium --method neuroncore`` (prefill and decode).

Both are written for what the NeuronCore timing model (and the hardware, NKI perf guide) rewards:
large instructions (>= 512 elements per partition for the softmax work), all 128 partitions busy,
the short operand on the moving side of TensorE, PSUM banks multi-buffered, exp fused with its
scale/bias and the row-sum on ScalarE, DMA loads double-buffered ahead of compute.

``decode_attention_kernel`` (token generation over a KV cache; memory-bound)
    One *unit* = one (sequence, KV head): its ``R = q_tokens x group`` query rows (the GQA heads that
    share the KV head) attend over the unit's cache. ``128 // R`` units are stacked on the 128
    partitions: unit ``u``'s QK^T uses a zero-padded stationary (its query columns at ``u*R``, zeros
    elsewhere), so the group's matmuls accumulate one ``[128, 512]`` score tile in which every row holds
    its own unit's scores (TensorE time is set by the 512-key moving side, not by the stationary width).
    The online softmax (max, exp with fused scale/bias/row-sum, rescale) then runs once per 512 keys for
    all stacked units. P is transposed on TensorE in 128-key chunks to bf16 PSUM (one batched
    evacuation per block), and ``P V`` puts the short operand (the unit's ``R`` probability columns) on
    the moving side: ``O^T[d, R] += V_c[128, d]^T @ P^T_c[128, R]``.
    Cache layout (paged, 512-position blocks per sequence and KV head, as a paged KV cache stores them):
    ``kT[U, nblk, d, 512]`` (K stored transposed, so QK^T needs no transpose) and
    ``v[U, nblk, 128, 4*d]`` (a row-major ``[512, d]`` V block seen partition-major: key = 4*p + c).
    Every block load is one contiguous 128 KiB DMA (d = 128, bf16).

``prefill_attention_kernel`` (FlashAttention forward; TensorE/Vector-bound)
    128-query tiles, 1024-key softmax steps (scores in two PSUM banks), two query tiles interleaved
    phase by phase so one tile's softmax (Vector/Scalar) overlaps the other's matmuls; causal blocks
    above the diagonal skipped, diagonal blocks masked with ``affine_select`` on GpSimd; P transposed on
    TensorE into bf16 PSUM and evacuated with one instruction per step, the evacuations spread over
    GpSimd/Scalar/Vector.
"""

from __future__ import annotations

import math
from collections import deque

from trnsim.ops.nc_kernels import _nisa, _nl, _np_dtype, _simulate

KB_DECODE = 512   # keys per decode block (one fp32 PSUM bank of scores)
NEG = -3.0e38


# ----------------------------------------------------------------------------- decode
def decode_attention_kernel(qT, kT, v, mask=None, bf16_transpose: bool = True):
    """qT [d, U*R] (unit u's rows are columns u*R..u*R+R-1), kT [U, nblk, d, KB], v [U, nblk, 128, (KB/128)*d],
    optional additive mask [R, KB] for the last block (causal speculative tokens) -> out [U*R, d].
    ``bf16_transpose=False`` on NeuronCore-v2 (PE transposes write fp32 PSUM there)."""
    nl, nisa = _nl(), _nisa()
    d, cols = qT.shape
    U, nblk, _, KB = kT.shape
    R = cols // U
    nc = KB // 128
    UG = max(1, min(U, 128 // R))   # units stacked on the partitions
    scale = 1.0 / math.sqrt(d)
    out = nl.ndarray((U * R, d), dtype=v.dtype, buffer=nl.shared_hbm)
    live: deque = deque(maxlen=2)    # previous blocks' buffers stay allocated: double buffering
    for g0 in range(0, U, UG):
        ug = min(UG, U - g0)
        rows = ug * R
        q = nl.ndarray((d, rows), dtype=qT.dtype, buffer=nl.sbuf)
        nisa.dma_copy(dst=q, src=qT[:, g0 * R:g0 * R + rows])
        mk = None
        if mask is not None:
            mk = nl.ndarray((rows, KB), dtype=nl.float32, buffer=nl.sbuf)
            for u in range(ug):
                nisa.dma_copy(dst=mk[u * R:(u + 1) * R, :], src=mask)
        qpad = []
        for u in range(ug):  # unit u's query columns in place, zeros elsewhere
            t = nl.ndarray((d, rows), dtype=qT.dtype, buffer=nl.sbuf)
            if ug > 1:
                nisa.memset(dst=t, value=0.0, engine="gpsimd")
            nisa.tensor_copy(dst=t[:, u * R:(u + 1) * R], src=q[:, u * R:(u + 1) * R], engine="gpsimd")
            qpad.append(t)
        run_max = nl.ndarray((rows, 1), dtype=nl.float32, buffer=nl.sbuf)
        run_sum = nl.ndarray((rows, 1), dtype=nl.float32, buffer=nl.sbuf)
        acc = nl.ndarray((rows, d), dtype=nl.float32, buffer=nl.sbuf)
        nisa.memset(dst=run_max, value=NEG)
        nisa.memset(dst=run_sum, value=0.0)
        nisa.memset(dst=acc, value=0.0)
        for j in range(nblk):
            kb = nl.ndarray((d, ug, KB), dtype=kT.dtype, buffer=nl.sbuf)
            vb = nl.ndarray((128, ug, nc * d), dtype=v.dtype, buffer=nl.sbuf)
            for u in range(ug):
                nisa.dma_copy(dst=kb[:, u, :], src=kT[g0 + u, j])
                nisa.dma_copy(dst=vb[:, u, :], src=v[g0 + u, j])
            s_ps = nl.ndarray((rows, KB), dtype=nl.float32, buffer=nl.psum)
            for u in range(ug):
                nisa.nc_matmul(dst=s_ps, stationary=qpad[u], moving=kb[:, u, :])
            s = s_ps
            if mk is not None and j == nblk - 1:
                s = nl.ndarray((rows, KB), dtype=nl.float32, buffer=nl.sbuf)
                nisa.tensor_tensor(dst=s, data1=s_ps, data2=mk, op=nl.add)
            bmax = nl.ndarray((rows, 1), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_reduce(dst=bmax, op=nl.max, data=s, axis=1)
            neg = nl.ndarray((rows, 1), dtype=nl.float32, buffer=nl.sbuf)   # -scale * max(block, running)
            nisa.tensor_scalar(dst=neg, data=bmax, op0=nl.maximum, operand0=run_max, op1=nl.multiply,
                               operand1=-scale)
            alpha = nl.ndarray((rows, 1), dtype=nl.float32, buffer=nl.sbuf)
            nisa.activation(dst=alpha, op=nl.exp, data=run_max, bias=neg, scale=scale)
            p = nl.ndarray((rows, KB), dtype=v.dtype, buffer=nl.sbuf)
            bsum = nl.ndarray((rows, 1), dtype=nl.float32, buffer=nl.sbuf)
            nisa.activation(dst=p, op=nl.exp, data=s, bias=neg, scale=scale, reduce_op=nl.add, reduce_res=bsum,
                            reduce_cmd=nisa.reduce_cmd.reset_reduce)
            new_max = nl.ndarray((rows, 1), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_scalar(dst=new_max, data=neg, op0=nl.multiply, operand0=-1.0 / scale, engine="gpsimd")
            nsum = nl.ndarray((rows, 1), dtype=nl.float32, buffer=nl.sbuf)
            nisa.tensor_scalar(dst=nsum, data=run_sum, op0=nl.multiply, operand0=alpha, op1=nl.add, operand1=bsum,
                               engine="gpsimd")
            # P^T in 128-key chunks (chunk c = keys 4p + c, matching the V block's partition-major view)
            pT_ps = nl.ndarray((128, nc, rows), dtype=v.dtype if bf16_transpose else nl.float32, buffer=nl.psum)
            for c in range(nc):
                nisa.nc_transpose(dst=pT_ps[:, c, :], data=p[:, c::nc])
            pT = nl.ndarray((128, nc, rows), dtype=v.dtype, buffer=nl.sbuf)
            nisa.tensor_copy(dst=pT, src=pT_ps, engine="vector")
            oT_ps = nl.ndarray((d, rows), dtype=nl.float32, buffer=nl.psum)
            for u in range(ug):
                for c in range(nc):
                    nisa.nc_matmul(dst=oT_ps[:, u * R:(u + 1) * R], stationary=vb[:, u, c * d:(c + 1) * d],
                                   moving=pT[:, c, u * R:(u + 1) * R])
            oT = nl.ndarray((d, rows), dtype=nl.float32, buffer=nl.sbuf)
            nisa.activation(dst=oT, op=nl.copy, data=oT_ps)
            o_ps = nl.ndarray((rows, d), dtype=nl.float32, buffer=nl.psum)
            nisa.nc_transpose(dst=o_ps, data=oT)
            nacc = nl.ndarray((rows, d), dtype=nl.float32, buffer=nl.sbuf)
            nisa.scalar_tensor_tensor(dst=nacc, data=acc, op0=nl.multiply, operand0=alpha, op1=nl.add, operand1=o_ps)
            live.append((kb, vb, s_ps, s, bmax, neg, alpha, p, bsum, pT_ps, pT, oT_ps, oT, o_ps, run_max, run_sum, acc))
            run_max, run_sum, acc = new_max, nsum, nacc
        inv = nl.ndarray((rows, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.reciprocal(dst=inv, data=run_sum)
        o = nl.ndarray((rows, d), dtype=v.dtype, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=o, data=acc, op0=nl.multiply, operand0=inv)
        nisa.dma_copy(dst=out[g0 * R:g0 * R + rows, :], src=o)
        live.append((q, mk, qpad, o, inv))
    return out


# ----------------------------------------------------------------------------- prefill
def prefill_attention_kernel(qT, kT, v, causal: bool = True, interleave: int = 2, bf16_transpose: bool = True):
    """Per head h (KV head h // group, group = H / kT.shape[0]): qT [H, d, Q] (the queries are the last Q
    positions), kT [H/group, d, S], v [H/group, S/KB, 128, (KB/128)*d]
    (row-major ``[KB, d]`` V blocks seen partition-major: key = blk*KB + (KB/128)*p + c) -> out [H, Q, d]."""
    nl, nisa = _nl(), _nisa()
    H, d, Q = qT.shape
    S = kT.shape[2]
    group = H // kT.shape[0]
    nblk_all, _, ncd = v.shape[1:]
    nc = ncd // d
    KB = nc * 128
    TQ = min(128, Q)
    MB = min(512, KB)
    scale = 1.0 / math.sqrt(d)
    out = nl.ndarray((H, Q, d), dtype=v.dtype, buffer=nl.shared_hbm)
    res: dict[int, tuple] = {}

    tri = None
    if causal and TQ == 128:   # additive causal mask of a diagonal chunk: 0 where key <= query, else -inf
        zero = nl.ndarray((128, 128), dtype=nl.float32, buffer=nl.sbuf)
        nisa.memset(dst=zero, value=0.0, engine="gpsimd")
        tri = nl.ndarray((128, 128), dtype=nl.float32, buffer=nl.sbuf)
        nisa.affine_select(dst=tri, pattern=[[-1, 128]], channel_multiplier=1, on_true_tile=zero,
                           on_false_value=NEG, cmp_op=nl.greater_equal, offset=0)

    def load(h):
        """A head's K, V and Q stay resident while its tiles run (<= 64 KiB per partition each at S = 32K);
        block-sized loads, issued one head ahead, so its first steps start while the rest streams in."""
        qs = nl.ndarray((d, Q), dtype=qT.dtype, buffer=nl.sbuf)
        if h % group and h - 1 in res:  # GQA: the heads of one KV head share its resident K and V
            res[h] = (*res[h - 1][:2], qs)
            nisa.dma_copy(dst=qs, src=qT[h])
            return
        keys = nl.ndarray((d, S), dtype=kT.dtype, buffer=nl.sbuf)
        vals = nl.ndarray((128, nblk_all, ncd), dtype=v.dtype, buffer=nl.sbuf)
        QC = max(TQ, min(Q, 1024))
        for c0 in range(0, Q, QC):
            nisa.dma_copy(dst=qs[:, c0:c0 + QC], src=qT[h, :, c0:c0 + QC])
        for j in range(nblk_all):
            nisa.dma_copy(dst=keys[:, j * KB:(j + 1) * KB], src=kT[h // group, :, j * KB:(j + 1) * KB])
            nisa.dma_copy(dst=vals[:, j, :], src=v[h // group, j])
        res[h] = (keys, vals, qs)

    pdt = v.dtype if bf16_transpose else nl.float32
    live: deque = deque(maxlen=2)
    # PSUM: explicit rotating buffers, 6.5 of the 8 banks (scores 2 x 2 banks, P^T 2 x 1, O 2 x 1/4); a
    # step reuses the buffers of the step two before it, so the model sees the real WAR dependencies
    s_pool = [nl.ndarray((TQ, KB), dtype=nl.float32, buffer=nl.psum) for _ in range(2)]
    pT_pool = [nl.ndarray((128, nc, TQ), dtype=pdt, buffer=nl.psum) for _ in range(2)]
    o_pool = [nl.ndarray((TQ, d), dtype=nl.float32, buffer=nl.psum) for _ in range(2)]

    def scores(st, j, t):
        """QK^T of block j (only the keys some row of the tile sees) into a fresh PSUM tile."""
        w = min(KB, st["vis"] - j * KB)
        w = min(KB, -(-w // 128) * 128)
        keys, qs = st["keys"], st["qs"]
        q = qs[:, st["i"] * TQ:(st["i"] + 1) * TQ]
        s_ps = s_pool[t % 2]
        for c0 in range(0, w, MB):
            m = min(MB, w - c0)
            nisa.nc_matmul(dst=s_ps[:, c0:c0 + m], stationary=q, moving=keys[:, j * KB + c0:j * KB + c0 + m],
                           accumulate=False)
        return s_ps, w

    def begin(h, i):
        first = S - Q + i * TQ
        vis = min(S, first + TQ) if causal else S
        keys, vals, qs = res[h]
        st = {"h": h, "keys": keys, "vals": vals, "qs": qs, "i": i, "first": first, "vis": vis, "nblk": math.ceil(vis / KB), "done": 0,
              "max": nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf),
              "sum": nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf),
              "acc": nl.ndarray((TQ, d), dtype=nl.float32, buffer=nl.sbuf)}
        nisa.memset(dst=st["max"], value=NEG, engine="gpsimd")
        nisa.memset(dst=st["sum"], value=0.0, engine="gpsimd")
        nisa.memset(dst=st["acc"], value=0.0, engine="gpsimd")
        return st

    def step(st, j, t):
        """One (query tile, key block) step in four stages: QK^T | mask + online softmax | P^T | PV + rescale."""
        first = st["first"]
        s_ps, w = scores(st, j, t)
        yield
        s = s_ps[:, :w]
        keep = [s_ps]
        if causal and j * KB + w - 1 > first and tri is not None and j * KB + w - 128 == first:
            # only the diagonal 128 x 128 chunk is partly visible: add the -inf upper triangle in PSUM
            nisa.tensor_tensor(dst=s_ps[:, w - 128:w], data1=s_ps[:, w - 128:w], data2=tri, op=nl.add)
        elif causal and j * KB + w - 1 > first:
            # key j*KB + c is visible to query row p iff first + p - j*KB - c >= 0
            raw = nl.ndarray((TQ, w), dtype=nl.float32, buffer=nl.sbuf)
            nisa.activation(dst=raw, op=nl.copy, data=s)
            masked = nl.ndarray((TQ, w), dtype=nl.float32, buffer=nl.sbuf)
            nisa.affine_select(dst=masked, pattern=[[-1, w]], channel_multiplier=1, on_true_tile=raw,
                               on_false_value=NEG, cmp_op=nl.greater_equal, offset=first - j * KB)
            s = masked
            keep += [raw, masked]
        run_max, run_sum = st["max"], st["sum"]
        bmax = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_reduce(dst=bmax, op=nl.max, data=s, axis=1)
        neg = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=neg, data=bmax, op0=nl.maximum, operand0=run_max, op1=nl.multiply, operand1=-scale)
        alpha = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=alpha, op=nl.exp, data=run_max, bias=neg, scale=scale)
        p = nl.ndarray((TQ, w), dtype=v.dtype, buffer=nl.sbuf)
        bsum = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.activation(dst=p, op=nl.exp, data=s, bias=neg, scale=scale, reduce_op=nl.add, reduce_res=bsum,
                        reduce_cmd=nisa.reduce_cmd.reset_reduce)
        st["max"] = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=st["max"], data=neg, op0=nl.multiply, operand0=-1.0 / scale, engine="gpsimd")
        st["sum"] = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=st["sum"], data=run_sum, op0=nl.multiply, operand0=alpha, op1=nl.add, operand1=bsum,
                           engine="gpsimd")
        yield
        # P^T chunk c holds keys nc*p + c of the block (the V block's partition-major view); a partial
        # (causal tail) block of w keys covers partitions p < w / nc of every chunk
        pw = w // nc
        pT_ps = pT_pool[t % 2]
        for c in range(nc):
            nisa.nc_transpose(dst=pT_ps[:pw, c, :], data=p[:, c::nc])
        pT = nl.ndarray((128, nc, TQ), dtype=v.dtype, buffer=nl.sbuf)
        # evacuation split to balance VectorE (row max, rescale) and ScalarE (exp): a quarter on VectorE
        cut = max(1, nc // 4)
        nisa.tensor_copy(dst=pT[:pw, :cut, :], src=pT_ps[:pw, :cut, :], engine="vector")
        if bf16_transpose:  # NC-v3+: ScalarE tensor_copy (2x perf mode on NC-v4)
            nisa.tensor_copy(dst=pT[:pw, cut:, :], src=pT_ps[:pw, cut:, :], engine="scalar")
        else:
            nisa.activation(dst=pT[:pw, cut:, :], op=nl.copy, data=pT_ps[:pw, cut:, :])
        yield
        o_ps = o_pool[t % 2]
        for c in range(nc):
            nisa.nc_matmul(dst=o_ps, stationary=pT[:pw, c, :], moving=st["vals"][:pw, j, c * d:(c + 1) * d],
                           accumulate=c > 0)
        acc = st["acc"]
        st["acc"] = nl.ndarray((TQ, d), dtype=nl.float32, buffer=nl.sbuf)
        nisa.scalar_tensor_tensor(dst=st["acc"], data=acc, op0=nl.multiply, operand0=alpha, op1=nl.add,
                                  operand1=o_ps)
        keep += [bmax, neg, alpha, p, bsum, pT_ps, pT, o_ps, run_max, run_sum, acc]
        live.append(keep)
        st["done"] += 1
        if st["done"] == st["nblk"]:
            finish(st)
            states.pop((st["h"], st["i"]), None)

    def finish(st):
        inv = nl.ndarray((TQ, 1), dtype=nl.float32, buffer=nl.sbuf)
        nisa.reciprocal(dst=inv, data=st["sum"])
        o = nl.ndarray((TQ, d), dtype=v.dtype, buffer=nl.sbuf)
        nisa.tensor_scalar(dst=o, data=st["acc"], op0=nl.multiply, operand0=inv, engine="gpsimd")
        nisa.dma_copy(dst=out[st["h"], st["i"] * TQ:(st["i"] + 1) * TQ, :], src=o)
        live.append([inv, o])

    # the (head, tile, block) steps in issue order: ``interleave`` tiles round robin, a finished tile's
    # slot taking the next tile (of this head, then of the next)
    n_tiles = Q // TQ
    order = []
    todo = iter([(h, i) for h in range(H) for i in range(n_tiles)])
    slots = [[h, i, 0] for _, (h, i) in zip(range(interleave), todo)]
    while slots:
        nxt_slots = []
        for sl in slots:
            order.append(tuple(sl))
            sl[2] += 1
            first = S - Q + sl[1] * TQ
            if sl[2] < math.ceil((min(S, first + TQ) if causal else S) / KB):
                nxt_slots.append(sl)
            else:
                nx = next(todo, None)
                if nx is not None:
                    nxt_slots.append([nx[0], nx[1], 0])
        slots = nxt_slots
    # modulo schedule: at time t, stage k of step t - k (k = 0..3), so every engine's in-order stream
    # holds work whose inputs were produced a stage earlier (QK^T runs three steps ahead of PV)
    states: dict[tuple, dict] = {}
    active: deque = deque()
    load(0)
    for t in range(len(order) + 4):
        if t < len(order):
            h, i, j = order[t]
            if j == 0:
                if h not in res:
                    load(h)
                if i == 0 and h + 1 < H:
                    load(h + 1)
                    if (h - 1) // group != h // group:
                        res.pop(h - 1, None)
                states[h, i] = begin(h, i)
            active.append(step(states[h, i], j, t))
        for g in reversed(list(active)):   # newest step first: stage 0 of step t, stage 1 of step t-1, ...
            if next(g, StopIteration) is StopIteration:
                active.remove(g)
    return out


# ----------------------------------------------------------------------------- timing and tables
DECODE_UNITS_PER_CORE = 32   # canonical decode batch: 32 (sequence, KV head) units per NeuronCore
PREFILL_HEADS_SIMULATED = 2  # heads per core traced back to back (the per-head time of the second is steady state)
KB_PREFILL = 1024


def _bf16(chip) -> bool:
    return (chip.core_spec.version if chip.core_spec else 3) >= 3


def _r128(x: int) -> int:
    return max(128, -(-x // 128) * 128)


def decode_time(chip, batch: int, q_len: int, kv_len: int, q_heads: int, kv_heads: int, d: int) -> float:
    """Seconds for decode attention (``q_len * group <= 128`` query rows per (sequence, KV head))."""
    from trnsim.nki import shape_only

    bf = _np_dtype("bf16")
    R = q_len * (q_heads // kv_heads)
    units = batch * kv_heads
    per_core = math.ceil(units / chip.cores)
    KB = min(KB_DECODE, _r128(kv_len))
    nblk = -(-kv_len // KB)
    args = [shape_only((d, per_core * R), bf), shape_only((per_core, nblk, d, KB), bf),
            shape_only((per_core, nblk, 128, (KB // 128) * d), bf)]
    if q_len > 1:
        args.append(shape_only((R, KB), _np_dtype("fp32")))
    return _simulate(chip, decode_attention_kernel, tuple(args), {"bf16_transpose": _bf16(chip)},
                     min(chip.cores, units))


def prefill_time(chip, batch: int, q_len: int, kv_len: int, q_heads: int, kv_heads: int, d: int) -> float:
    """Seconds for a causal FlashAttention forward: ``batch * q_heads`` heads spread over the cores."""
    from trnsim.nki import shape_only

    bf = _np_dtype("bf16")
    units = batch * q_heads
    per_core = math.ceil(units / chip.cores)
    G = q_heads // kv_heads
    H = min(per_core, max(PREFILL_HEADS_SIMULATED, G))
    grp = G if H % G == 0 and per_core % G == 0 else 1   # a core's heads are whole GQA groups
    KB = min(KB_PREFILL, _r128(kv_len))
    S = -(-kv_len // KB) * KB
    Q = q_len if q_len < 128 else _r128(q_len)
    t = _simulate(chip, prefill_attention_kernel,
                  (shape_only((H, d, Q), bf), shape_only((H // grp, d, S), bf),
                   shape_only((H // grp, S // KB, 128, (KB // 128) * d), bf)),
                  {"causal": True, "bf16_transpose": _bf16(chip)}, min(chip.cores, units))
    return t * per_core / H


def attention_tables(chip, q_grid, kv_grid, canon: dict, progress: bool = False) -> dict:
    """``attention`` and ``attention_cache`` bf16 utilisation grids (q_len x kv_len) from the kernels above.

    Rows with ``q_len * group <= 128`` (decode, speculative verification) use the decode kernel at the
    canonical decode batch (``DECODE_UNITS_PER_CORE`` units per core); longer rows the prefill kernel
    at ``ceil(cores / kv_heads)`` sequences (all q heads spread over the cores), causal.
    ``attention_cache`` (decode-phase ops) equals ``attention`` except that it is defined by the
    decode kernel's paged-cache layout; both are kept so the lookup coordinates stay as before."""
    import sys

    from trnsim.ops.shapes import attention_work

    hq, hk, d = canon["q_heads"], canon["kv_heads"], canon["head_dim"]
    G = hq // hk
    util = []
    for q in q_grid:
        if progress:
            print(f"  {chip.name} attention q={q}", file=sys.stderr, flush=True)
        row = []
        for kv in kv_grid:
            kvx = max(kv, q)
            if q * G <= 128:
                batch = max(1, math.ceil(DECODE_UNITS_PER_CORE * chip.cores / hk))
                t = decode_time(chip, batch, q, kvx, hq, hk, d)
            else:
                batch = max(1, math.ceil(chip.cores / hk))
                t = prefill_time(chip, batch, q, kvx, hq, hk, d)
            f, byts, _ = attention_work({"batch": batch, "q_len": q, "kv_len": kvx, "q_heads": hq, "kv_heads": hk,
                                         "head_dim": d, "causal": int(q > 1)}, "bf16")
            sol = max(f / chip.flops("bf16"), byts / chip.hbm_bandwidth.si)
            row.append(min(1.0, sol / t))
        util.append(row)
    g = {"q_len": list(q_grid), "kv_len": list(kv_grid), "util": util}
    return {"attention": {"bf16": g}, "attention_cache": {"bf16": {**g, "util": [list(r) for r in util]}}}
