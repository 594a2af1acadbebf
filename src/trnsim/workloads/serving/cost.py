"""Iteration cost: how long one engine step takes for a batch's actual mix of prefill and decode work.

One engine iteration processes ``T`` new tokens: the prompt chunks of some prefilling sequences plus one
token for every decoding sequence. Its time on one replica is

    t = linear(T) + comm(T) + attn_decode(n, S) + sum_c attn_prefill(q_c, ctx_c) + overhead

* ``linear(T)``: every non-attention op of the model (GEMMs, MoE GEMMs, norms, activations, embedding,
  LM head) for ``T`` tokens, from ``model.ops`` and timed by ``trnsim.ops.op_time`` on a GPU; on a Neuron
  chip a step is one compiled graph, timed by ``trnsim.ops.graph.graph_time`` (SBUF-resident activations,
  fused elementwise work, weights streamed at the contiguous DMA rate);
* ``comm(T)``: the tensor-parallel all-reduces (2 per layer) and, for MoE with EP, the two all-to-alls
  per MoE layer, from ``trnsim.network.collective_time`` on the system's topology (on a Neuron chip the
  TP all-reduce runs over the replica's NeuronCores, intra-chip when they share a chip, with the
  runtime's launch floor and CC-core DMA rates of :mod:`trnsim.network.neuron`); plus, with PP, the
  activations sent between stages;
* ``attn_decode(n, S)``: attention of ``n`` decoding sequences holding ``S`` KV tokens in total (KV reads
  dominate, so it is affine in ``S``);
* ``attn_prefill(q, ctx)``: attention of a ``q``-token chunk over ``ctx`` earlier tokens plus itself;
* ``overhead``: the engine's fixed per-iteration cost (scheduling, launch, sampling) — see
  :mod:`trnsim.workloads.serving.calibration`.

Everything is memoised on buckets so that a simulation of 10,000 requests costs a few hundred op
evaluations: ``linear`` and ``comm`` on a geometric grid of ``T`` (exact up to 32 tokens, then 1/32
octave steps) with linear interpolation; the decode coefficients per batch size ``n``; the prefill
attention per (q, ctx) bucket, scaled by the exact work ratio. The analytic fast path
(:mod:`.analytic`) calls the same functions, so both fidelities share one cost model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from trnsim.workloads.serving import calibration as cal
from trnsim.workloads.serving.deployment import Deployment, dtype_bytes

_ATTN_KINDS = ("attention",)


def _grid_point(i: int) -> int:
    """Grid index -> token count: 1..32 exact, then 32 * 2^((i-32)/32)."""
    if i <= 32:
        return max(1, i)
    return int(round(32 * 2 ** ((i - 32) / 32)))


def _grid_index(t: float) -> float:
    """Fractional grid index of token count ``t`` (inverse of :func:`_grid_point`)."""
    if t <= 32:
        return t
    return 32 + 32 * math.log2(t / 32)


class _Grid1D:
    """Memoised f(T) on the token grid, linearly interpolated between grid points."""

    __slots__ = ("f", "cache")

    def __init__(self, f: Callable[[int], float]) -> None:
        self.f = f
        self.cache: dict[int, float] = {}

    def _at(self, i: int) -> float:
        v = self.cache.get(i)
        if v is None:
            v = self.cache[i] = self.f(_grid_point(i))
        return v

    def __call__(self, t: float) -> float:
        if t <= 0:
            return 0.0
        if t <= 32 and t == int(t):
            return self._at(int(t))
        x = _grid_index(t)
        i = int(x)
        lo, hi = _grid_point(i), _grid_point(i + 1)
        a, b = self._at(i), self._at(i + 1)
        if hi == lo:
            return a
        return a + (b - a) * (t - lo) / (hi - lo)


@dataclass(frozen=True)
class CostBreakdown:
    linear: float
    comm: float
    attention: float
    overhead: float

    @property
    def total(self) -> float:
        return self.linear + self.comm + self.attention + self.overhead

    def to_dict(self) -> dict:
        return {"linear_s": self.linear, "comm_s": self.comm, "attention_s": self.attention,
                "overhead_s": self.overhead, "total_s": self.total}


class IterationCost:
    """Per-iteration cost of one replica of ``dep`` running ``model`` on ``chip`` (see module docstring).

    ``op_time`` and ``collective`` may be injected (tests use fakes); by default they come from
    ``trnsim.ops`` and ``trnsim.network``, with a documented roofline fallback while those are absent.
    """

    def __init__(self, model: Any, chip: Any, dep: Deployment, *, system: Any = None,
                 op_time: Callable[[Any, Any], float] | None = None,
                 collective: Callable[[str, float, int], float] | None = None,
                 overhead: float | None = None) -> None:
        self.model = model
        self.chip = chip
        self.dep = dep
        self.system = system
        self.tp = max(1, int(round(dep.tp)))
        # attention heads are sharded over NeuronCores (TP counts cores), a GPU is one shard: with more
        # shards than KV heads every shard keeps a replica of its KV head (Transformers-NeuronX
        # GQA.REPLICATED_HEADS, NxD likewise), and head counts round up per shard, not per chip
        from trnsim.workloads.serving.deployment import logical_cores_per_chip

        cpc = logical_cores_per_chip(chip)
        self._shards = max(1, int(round(dep.tp * cpc)))
        self._shards_per_chip = min(cpc, self._shards)
        self.share = min(1.0, dep.chips_per_replica) if dep.tp < 1 else 1.0
        self.speed = dep.kernel_speed  # older software stacks run the same kernels slower
        self.dtype = dep.dtype
        self.kv_dtype = dep.kv_dtype_
        self._op_time = op_time or _default_op_time()
        # a Neuron step is one compiled graph: on-chip activations, fused elementwise work (trnsim.ops.graph)
        self._graph = op_time is None and getattr(chip, "family", "gpu") != "gpu" and \
            getattr(chip, "core_spec", None) is not None
        self._collective = collective or _default_collective(system, chip, self.tp, dep)
        self.overhead = cal.iteration_overhead(chip, model, dep) if overhead is None else overhead
        self.seq_overhead = cal.sequence_overhead(chip) if overhead is None else 0.0
        self.sources: set[str] = set()
        self._linear = _Grid1D(self._linear_exact)
        self._comm = _Grid1D(self._comm_exact)
        self._lincomm = _Grid1D(lambda t: self._linear_exact(t) + self._comm_exact(t))
        self._dec: dict[int, tuple[float, float, float, float]] = {}
        self._pre: dict[tuple[int, int], float] = {}
        self._layer_groups = self._attention_layer_groups()

    # ------------------------------------------------------------------ op-level pieces
    def _t(self, ops: list) -> float:
        if self._graph:
            from trnsim.ops.graph import graph_time

            return graph_time(ops, self.chip) / self.share / self.speed
        return sum(self._op_time(op, self.chip) for op in ops) / self.share / self.speed

    def _linear_exact(self, tokens: int) -> float:
        ops, scale = _model_ops(self.model, tokens, self.dep, self.tp)
        return self._t([o for o in ops if o.kind not in _ATTN_KINDS]) * scale

    def _comm_exact(self, tokens: int) -> float:
        m = self.model
        act = tokens * m.hidden * 2.0  # activations travel in bf16
        t = 0.0
        if self.tp > 1 or self._shards > 1:  # Neuron: TP over the cores of one chip is a collective too
            t += 2 * m.layers * self._collective("all_reduce", act, self.tp)
        if getattr(m, "moe", None) is not None and self.dep.ep > 1:
            moe_layers = sum(1 for i in range(m.layers) if m.is_moe_layer(i))
            routed = act * m.moe.top_k
            t += 2 * moe_layers * self._collective("all_to_all", routed, self.dep.ep)
        if self.dep.pp > 1:
            t += (self.dep.pp - 1) * self._collective("send_recv", act, 2)
        return t / self.speed

    def _attention_layer_groups(self) -> list[tuple[int | None, int]]:
        """(window, layer count) groups of the model's attention layers."""
        m = self.model
        if hasattr(m, "layer_types"):
            groups: dict[int | None, int] = {}
            for lt in m.layer_types():
                groups[lt.window] = groups.get(lt.window, 0) + lt.count
            return list(groups.items())
        return [(None, m.layers)]

    def _attn_op(self, batch: int, q: int, kv: int, layers: int, window: int | None):
        from trnsim.models.op import Op

        m = self.model
        heads, kvh = self._heads_per_chip()
        hd = getattr(m, "q_head_dim", m.head_dim)
        hdv = getattr(m, "v_head_dim", m.head_dim)
        eff_kv = min(kv, window) if window else kv
        # causal pairs: each of the q new tokens sees the ctx earlier tokens plus the chunk up to itself
        ctx = max(0, eff_kv - q)
        pairs = q * ctx + q * (q + 1) / 2 if q > 1 else float(eff_kv)
        flops = 2.0 * batch * pairs * heads * (hd + hdv)
        kvb = dtype_bytes(self.kv_dtype)
        cache_elems = getattr(m, "mla", None).cache_dim if getattr(m, "mla", None) else kvh * (hd + hdv)
        read = batch * eff_kv * cache_elems * kvb + batch * q * heads * hd * 2
        write = batch * q * (heads * hdv * 2 + cache_elems * kvb)
        return Op(name="attention", kind="attention", flops=flops, bytes_read=read, bytes_written=write,
                  dtype="bf16" if self.dtype not in ("fp8",) else "fp8",
                  shape={"batch": batch, "q_len": q, "kv_len": eff_kv, "q_heads": heads, "kv_heads": kvh,
                         "head_dim": hd, "head_dim_v": hdv, "causal": 1, "window": window or 0},
                  phase="decode" if q == 1 else "prefill", count=layers)

    def _heads_per_chip(self) -> tuple[int, int]:
        """(query heads, KV heads) one chip holds: per shard rounded up, KV heads replicated when short."""
        m, k = self.model, self._shards_per_chip
        return (k * max(1, math.ceil(m.heads / self._shards)), k * max(1, math.ceil(m.kv_heads / self._shards)))

    def _unfused_attn_ops(self, batch: int, q: int, kv: int, layers: int) -> list:
        """Prompt attention as separate graph ops (``Deployment.prefill_attention == "unfused"``).

        Transformers-NeuronX context encoding (aws-neuron/transformers-neuronx@0623de2, SDK 2.18 era:
        ``layers/attention.py`` ``score``/``mask``/``context``) computes ``S = Q K^T`` for the full
        ``[q, kv]`` square of every head (the causal mask is a ``Select``, no work is skipped), upcasts S
        to fp32 for a max-reduce, ``exp(S - max)``, a sum-reduce and the division, casts back and multiplies
        by V. Each of those is a pass over the score tensor in HBM: QK^T writes bf16 S (2 B/element); the
        max pass reads S (2 B); the exp pass reads S and writes fp32 (2 + 4 B); the sum and divide pass reads
        fp32 and writes bf16 probabilities (4 + 2 B); PV reads them (2 B): 18 B per score element. Later
        releases switch to a flash kernel only at >= 4096 tokens with batch 1.
        """
        from trnsim.models.op import Op

        m = self.model
        heads = self._heads_per_chip()[0]
        hd = getattr(m, "q_head_dim", m.head_dim)
        hdv = getattr(m, "v_head_dim", m.head_dim)
        n = layers * heads * batch
        el = float(q) * kv
        return [
            Op("attn.qk", "gemm", 2.0 * el * hd, (q + kv) * hd * 2.0, el * 2.0, shape={"m": q, "n": kv, "k": hd},
               phase="prefill", count=n),
            Op("attn.softmax", "softmax", 5.0 * el, el * (2 + 2 + 4), el * (4 + 2), shape={"rows": q, "cols": kv},
               phase="prefill", count=n),
            Op("attn.pv", "gemm", 2.0 * el * hdv, el * 2.0 + kv * hdv * 2.0, q * hdv * 2.0,
               shape={"m": q, "n": hdv, "k": kv}, phase="prefill", count=n),
        ]

    def _decode_coeffs(self, n: int) -> tuple[float, float, float, float]:
        """(a_full, b_full, a_win_per_seq_cap, b_win): decode attention time = a + b*S for full layers;
        window layers add b_win*min(S, n*window)."""
        c = self._dec.get(n)
        if c is None:
            k1, k2 = 1024, 2048
            a_f = b_f = b_w = 0.0
            w_cap = 0.0
            for window, layers in self._layer_groups:
                if window:
                    t1 = self._t([self._attn_op(n, 1, min(k1, window) // 2 or 1, layers, None)])
                    t2 = self._t([self._attn_op(n, 1, min(k1, window), layers, None)])
                    kk = min(k1, window) - (min(k1, window) // 2 or 1)
                    b = (t2 - t1) / (n * kk) if kk else 0.0
                    b_w += b
                    a_f += t1 - b * n * (min(k1, window) // 2 or 1)
                    w_cap = float(window)
                else:
                    t1 = self._t([self._attn_op(n, 1, k1, layers, None)])
                    t2 = self._t([self._attn_op(n, 1, k2, layers, None)])
                    b = (t2 - t1) / (n * (k2 - k1))
                    b_f += b
                    a_f += t1 - b * n * k1
            c = self._dec[n] = (a_f, b_f, w_cap, b_w)
        return c

    def attn_decode(self, n: int, kv_total: float) -> float:
        if n <= 0:
            return 0.0
        a, b, cap, bw = self._decode_coeffs(n)
        t = a + b * kv_total
        if bw:
            t += bw * min(kv_total, n * cap)
        return t

    def attn_prefill(self, q: int, ctx: int) -> float:
        """Attention of a ``q``-token chunk after ``ctx`` cached tokens (one sequence)."""
        if q <= 0:
            return 0.0
        qi, ci = int(round(_grid_index(q))), int(round(_grid_index(ctx))) if ctx > 0 else -1
        key = (qi, ci)
        t = self._pre.get(key)
        qb = _grid_point(qi)
        cb = _grid_point(ci) if ci >= 0 else 0
        if t is None:
            if self.dep.prefill_attention == "unfused" and qb > 1:
                t = self._t([o for w, layers in self._layer_groups
                             for o in self._unfused_attn_ops(1, qb, min(cb + qb, w or cb + qb), layers)])
            else:
                t = self._t([self._attn_op(1, qb, cb + qb, layers, w) for w, layers in self._layer_groups])
            self._pre[key] = t
        if self.dep.prefill_attention == "unfused" and qb > 1:  # the full q x kv square, no causal skip
            work, work_b = q * (ctx + q), qb * (cb + qb)
        else:
            work = q * ctx + q * (q + 1) / 2
            work_b = qb * cb + qb * (qb + 1) / 2
        return t * work / work_b

    # ------------------------------------------------------------------ public
    def linear(self, tokens: float) -> float:
        """Non-attention ops plus communication for ``tokens`` tokens (memoised, interpolated)."""
        return self._lincomm(tokens)

    def iteration(self, prefill: list[tuple[int, int]] | tuple = (), n_decode: int = 0,
                  kv_decode: float = 0.0) -> float:
        """Seconds for one iteration: prefill chunks ``[(q, ctx), ...]`` + ``n_decode`` sequences holding
        ``kv_decode`` KV tokens in total."""
        tokens = n_decode + sum(q for q, _ in prefill)
        if tokens <= 0:
            return 0.0
        t = (self.linear(tokens) + self.overhead + self.seq_overhead * (n_decode + len(prefill))
             + self.attn_decode(n_decode, kv_decode))
        for q, c in prefill:
            t += self.attn_prefill(q, c)
        return t

    def decode_affine(self, n: int, kv_total: float) -> tuple[float, float]:
        """(a, b): a pure-decode iteration of ``n`` sequences takes ``a + b*S`` seconds for ``S`` near
        ``kv_total`` (exact for full-attention models; window layers linearised at ``kv_total``)."""
        a_f, b_f, cap, bw = self._decode_coeffs(n)
        a = self.linear(n) + self.overhead + self.seq_overhead * n + a_f
        b = b_f
        if bw:
            if kv_total < n * cap:
                b += bw
            else:
                a += bw * n * cap
        return a, b

    def breakdown(self, prefill: list[tuple[int, int]] | tuple = (), n_decode: int = 0,
                  kv_decode: float = 0.0) -> CostBreakdown:
        tokens = n_decode + sum(q for q, _ in prefill)
        attn = self.attn_decode(n_decode, kv_decode) + sum(self.attn_prefill(q, c) for q, c in prefill)
        ovh = self.overhead + self.seq_overhead * (n_decode + len(prefill)) if tokens else 0.0
        return CostBreakdown(self._linear(tokens), self._comm(tokens), attn, ovh)

    def prefill_time(self, isl: int, batch: int = 1, chunk: int | None = None) -> float:
        """Time to prefill ``batch`` prompts of ``isl`` tokens with no decode traffic (chunked by ``chunk``)."""
        chunk = chunk or self.dep.max_batched_tokens
        if batch * isl <= chunk:
            return self.iteration([(isl, 0)] * batch)
        t = 0.0
        for _ in range(batch):
            done = 0
            while done < isl:
                q = min(chunk, isl - done)
                t += self.iteration([(q, done)])
                done += q
        return t

    @property
    def evaluations(self) -> int:
        return len(self._lincomm.cache) + len(self._dec) + len(self._pre)


# ---------------------------------------------------------------------- the layers below
def _model_ops(model: Any, tokens: int, dep: Deployment, tp: int) -> tuple[list, float]:
    """Per-chip non-attention ops of one forward step over ``tokens`` tokens (batch=tokens, one token
    each) and a scale factor. ``tp`` must divide the head count for ``model.ops``; otherwise the ops of
    the largest dividing degree are scaled by ``tp_div/tp`` (Neuron pads heads instead; padding is ignored)."""
    tpd = tp
    while model.heads % tpd:
        tpd -= 1
    ep = dep.ep if getattr(model, "moe", None) is not None else 1
    while ep > 1 and model.moe.num_experts % ep:
        ep -= 1
    ops = model.ops("decode", tokens, 1, kv_len=0, dtype=_act_dtype(dep.dtype), weight_dtype=dep.weight_dtype_,
                 kv_dtype=dep.kv_dtype_, tp=tpd, ep=ep)
    return list(ops), tpd / tp


def _act_dtype(dtype: str) -> str:
    """GEMM dtype of the model's ops. fp8 and the MX formats (MXFP8/MXFP4 on Trainium3, published at 2x the
    fp8 rate) run their GEMMs in that format; NVFP4/FP4 GEMMs are costed at the fp8 rate (assumed: no FP4
    microbenchmark rows exist to fit an FP4 efficiency, and Blackwell FP4 MLPerf rows do not show the 2x);
    int8/int4 weights compute in bf16."""
    if dtype in ("bf16", "fp16", "fp32", "fp8", "mxfp8", "mxfp4"):
        return dtype
    return "fp8" if dtype.startswith(("nv", "fp4")) else "bf16"


def _default_op_time() -> Callable[[Any, Any], float]:
    from trnsim.errors import TrnsimError
    from trnsim.ops import op_time

    broken: set[str] = set()

    def f(op: Any, chip: Any) -> float:
        if chip.name not in broken:
            try:
                return float(op_time(op, chip).seconds)
            except TrnsimError as e:  # e.g. an efficiency table not generated yet
                if "table" not in str(e):
                    raise
                broken.add(chip.name)
        return _roofline_op_time(op, chip)

    return f


def _roofline_op_time(op: Any, chip: Any) -> float:
    """Fallback for a chip without generated efficiency tables: roofline with the calibration module's
    assumed efficiencies."""
    peak = chip.flops(op.dtype if op.dtype in ("bf16", "fp8", "fp16", "fp32") else "bf16")
    t = max(op.flops / (peak * cal.FALLBACK_COMPUTE_EFF),
            op.bytes / (chip.hbm_bandwidth.si * cal.FALLBACK_MEMORY_EFF))
    return t + cal.FALLBACK_OP_LATENCY * op.count


def _default_collective(system: Any, chip: Any, tp: int, dep: Deployment) -> Callable[[str, float, int], float]:
    """Collective time by (kind, bytes, group in chips). On a Neuron chip the TP all-reduce (group ``tp``)
    runs over the replica's NeuronCores (intra-chip for TP within one chip), inside the compiled step
    (its DMA rings share the engines with the graph's own traffic); other groups take one rank per chip."""
    from trnsim.network import Group, Topology, collective_time

    topo = Topology.from_system(system) if system is not None else None
    cache: dict[tuple[str, float, int], float] = {}
    neuron = getattr(chip, "family", "gpu") != "gpu"
    bw = float(chip.scale_up_bandwidth.si) if chip.scale_up_bandwidth else 1e11
    lat = float(system.scale_up.latency.si) if system is not None else 2e-6
    cpc = 1
    if neuron:
        from trnsim.workloads.serving.deployment import logical_cores_per_chip

        cpc = logical_cores_per_chip(chip)
    shards = max(1, int(round(dep.tp * cpc)))

    def f(kind: str, nbytes: float, group: int) -> float:
        key = (kind, nbytes, group)
        v = cache.get(key)
        if v is not None:
            return v
        ranks, per_chip = group, 1
        if neuron and kind == "all_reduce":  # every NeuronCore of the TP group holds the activations
            ranks = shards if group == tp else group * cpc
            per_chip = min(cpc, ranks)
        if ranks <= 1:
            v = 0.0
        elif topo is not None:
            chips = -(-ranks // per_chip)
            t = topo if chips <= topo.chips else Topology.from_system(system, chips=chips)
            v = float(collective_time(kind.replace("_", "-"), nbytes, Group(ranks, per_chip=per_chip), t, busy=neuron).time)
        else:
            factor = {"all_reduce": 2 * (group - 1) / group, "all_to_all": (group - 1) / group,
                      "send_recv": 1.0}.get(kind, 1.0)
            steps = {"all_reduce": 2 * (group - 1), "all_to_all": group - 1, "send_recv": 1}.get(kind, 1)
            v = cal.COLLECTIVE_BASE + steps * lat + factor * nbytes / (bw * cal.FALLBACK_LINK_EFF)
        cache[key] = v
        return v

    return f
