"""Analytic fast path: steady-state throughput and latency of a deployment at a given batch, using the
same :class:`IterationCost` as the event-driven engine.

Continuous batching (chunked prefill) at concurrency ``B`` (every slot busy): a slot cycles through
``c`` prefill iterations and ``osl - 1`` decode iterations, so per iteration ``B/(c + osl - 1)`` requests
start, ``n = B (osl-1)/(c + osl - 1)`` sequences decode and ``B isl/(c + osl - 1)`` prompt tokens are
prefilled. The iteration time is the cost model at that mix with the decoding sequences' mean KV length
``isl + osl/2``; throughput = requests started per iteration / iteration time; TPOT = iteration time;
TTFT = ``c`` iterations (no queueing).

Static batching (``Deployment.schedule == "static"``, e.g. Transformers-NeuronX benchmarks): a batch of
``B`` prompts is prefilled in one step, then decoded together; TPOT is the mean decode-step time over the
growing context, throughput = ``B osl / (TTFT + (osl-1) TPOT)``.

``max_throughput`` picks the largest batch the KV cache holds (each sequence holding ``isl + osl/2``
tokens on average, block-rounded; ``isl + osl`` with the ``reserve`` KV policy) up to ``max_batch``; ``max_batch_under`` the largest batch meeting a
TPOT and/or TTFT limit.

Variable lengths: the steady state only needs the means, except for the KV a decoding sequence holds. A
request decodes for ``osl_i`` iterations, so the sequences resident in the batch are length-biased and
hold on average ``kv_len = E[osl (isl + osl/2)] / E[osl]`` tokens (``= isl + osl/2`` for fixed lengths;
more when outputs vary, less when long prompts get short answers). ``kv_len`` (optional) sets it for the
KV limit and the decode attention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from trnsim.errors import TrnsimError
from trnsim.workloads.serving.cost import IterationCost
from trnsim.workloads.serving.deployment import Deployment, memory_plan


@dataclass(frozen=True)
class AnalyticResult:
    batch: int  # concurrent sequences per replica
    replicas: int
    chips: float
    isl: int
    osl: int
    iteration_s: float
    ttft_s: float
    tpot_s: float
    e2e_s: float
    requests_per_s: float  # whole deployment
    output_tokens_per_s: float
    input_tokens_per_s: float
    kv_batch_limit: int
    schedule: str

    @property
    def output_tokens_per_s_per_chip(self) -> float:
        return self.output_tokens_per_s / self.chips

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["output_tokens_per_s_per_chip"] = self.output_tokens_per_s_per_chip
        return d


def _setup(model: Any, system: Any, dep: Deployment, cost: IterationCost | None):
    from trnsim.workloads.serving.simulate import resolve

    model, sys_spec, chip = resolve(model, system)
    cost = cost or IterationCost(model, chip, dep, system=sys_spec)
    return model, sys_spec, chip, cost


def kv_batch_limit(model: Any, chip: Any, dep: Deployment, isl: int, osl: int, kv_len: float | None = None) -> int:
    plan = memory_plan(model, chip, dep)
    B = dep.block_size
    full = dep.schedule == "static" or dep.kv_policy == "reserve"
    held = _kv_len(isl, osl, kv_len)
    per_seq = math.ceil((held + osl / 2) / B) * B if full else math.ceil(held / B) * B
    return max(0, plan.kv_tokens // max(1, per_seq))


def _kv_len(isl: float, osl: float, kv_len: float | None) -> float:
    return isl + osl / 2 if kv_len is None else kv_len


def analytic_serving(model: Any, system: Any, dep: Deployment, *, isl: int, osl: int, batch: int | None = None,
                     cost: IterationCost | None = None, kv_len: float | None = None) -> AnalyticResult:
    """Steady state at ``batch`` concurrent sequences per replica (default: the max-throughput batch);
    ``kv_len``: mean KV tokens of a decoding sequence under variable lengths (module docstring)."""
    model, sys_spec, chip, cost = _setup(model, system, dep, cost)
    limit = kv_batch_limit(model, chip, dep, isl, osl, kv_len)
    if limit < 1:
        raise TrnsimError(f"one sequence of {isl}+{osl} tokens does not fit in a replica's KV cache",
                          "raise --tp or shorten the sequence")
    if batch is None:
        batch = min(dep.max_batch, limit)
    batch = max(1, int(batch))
    if dep.schedule == "static":
        return _static(cost, dep, isl, osl, batch, limit)
    return _continuous(cost, dep, isl, osl, batch, limit, _kv_len(isl, osl, kv_len))


def _continuous(cost: IterationCost, dep: Deployment, isl: int, osl: int, B: int, limit: int,
                kv: float) -> AnalyticResult:
    L = max(0, osl - 1)
    c, starts, n = _steady_mix(dep, B, isl, osl)
    tp = starts * isl
    decode_attn = _decode_attn(cost, n, n * kv)
    t = (_mean_linear(cost, n, tp, isl / c) + cost.overhead + cost.seq_overhead * (n + starts) + decode_attn
         + starts * cost.attn_prefill(isl, 0))
    rps = starts / t * _engines(dep)
    ttft = _prompt_ttft(cost, dep, n, decode_attn, isl)
    return AnalyticResult(B, dep.replicas, dep.total_chips, isl, osl, t, ttft, t, ttft + L * t, rps, rps * osl,
                          rps * isl, limit, "continuous")


def _steady_mix(dep: Deployment, B: int, isl: int, osl: int) -> tuple[float, float, float]:
    """The continuous-batching steady state at ``B`` busy slots: ``(c, starts, n)``, the iterations a prompt
    spends prefilling (its tokens over the budget left by the decodes, a fixed point), the requests starting
    (and finishing) per iteration and the sequences decoding in an iteration."""
    L = max(0, osl - 1)
    budget = max(dep.max_batched_tokens, dep.max_batch)
    c = 1.0
    for _ in range(4):
        n = B * L / (L + c)
        room = max(1.0, budget - n)
        c = max(1.0, math.ceil(isl / room)) if dep.chunked_prefill else 1.0
    cyc = L + c
    return c, B / cyc, B * L / cyc


def _decode_attn(cost: IterationCost, n: float, kv_tokens: float) -> float:
    """Attention time of ``n`` (mean, possibly fractional) decoding sequences holding ``kv_tokens`` in all."""
    return cost.attn_decode(int(round(n)) if n >= 1 else (1 if n > 0 else 0), kv_tokens)


def _mean_linear(cost: IterationCost, n: float, tp: float, chunk: float) -> float:
    """Mean non-attention time of an iteration with ``n`` decodes and on average ``tp`` prompt tokens that
    arrive as chunks of ``chunk`` tokens.

    Prompt tokens are not spread evenly over iterations: a prompt is scheduled as whole chunks. When fewer
    than one chunk arrives per iteration on average (``tp < chunk``: long prompts at low load), a fraction
    ``f = tp / chunk`` of the iterations carries a chunk and the rest decode only. The linear layers' cost is
    convex in the tokens (weight-read bound up to the ridge point, compute bound beyond), so averaging the
    tokens first would hide the prompt's FLOPs under the decode iterations' weight reads:
    ``E[linear] = (1 - f) linear(n) + f linear(n + chunk)``, which is ``linear(n + tp)`` whenever the
    iterations are compute bound or ``tp >= chunk`` (several prompts per iteration, the old average)."""
    if tp <= 0 or chunk <= 0 or tp >= chunk:
        return cost.linear(n + tp)
    f = tp / chunk
    lo = cost.linear(max(1.0, n)) if n > 0 else 0.0
    return (1.0 - f) * lo + f * cost.linear(n + chunk)


def _prompt_ttft(cost: IterationCost, dep: Deployment, n: float, decode_attn: float, prompt: int) -> float:
    """TTFT of one prompt of ``prompt`` tokens: the iterations that carry its chunks next to ``n`` decodes
    (each longer than the average iteration)."""
    budget = max(dep.max_batched_tokens, dep.max_batch)
    room = max(1.0, budget - n)
    c = max(1.0, math.ceil(prompt / room)) if dep.chunked_prefill else 1.0
    t_prompt = (cost.linear(n + prompt / c) + cost.overhead + cost.seq_overhead * (n + 1) + decode_attn
                + cost.attn_prefill(prompt, 0) / c)
    return c * t_prompt


def prompt_ttft(model: Any, system: Any, dep: Deployment, r: AnalyticResult, prompt: int,
                cost: IterationCost | None = None, kv_len: float | None = None) -> float:
    """TTFT of a prompt of ``prompt`` tokens arriving into the continuous-batching steady state ``r`` (its
    batch mix from the mean lengths ``r.isl``/``r.osl``), without queueing. With variable prompt lengths the
    TTFT percentiles follow the prompt-length percentiles (a p99-length prompt needs more chunks)."""
    model, sys_spec, chip, cost = _setup(model, system, dep, cost)
    if r.schedule != "continuous":
        return r.ttft_s
    _, _, n = _steady_mix(dep, r.batch, r.isl, r.osl)  # decodes in the steady state
    decode_attn = _decode_attn(cost, n, n * _kv_len(r.isl, r.osl, kv_len))
    return _prompt_ttft(cost, dep, n, decode_attn, prompt)


def _static(cost: IterationCost, dep: Deployment, isl: int, osl: int, B: int, limit: int) -> AnalyticResult:
    # one context-encoding pass for the whole batch (Transformers-NeuronX compiles its context graph at the
    # batch size for static batching: decoder.py init_context_decoder, context_batch_sizes = batch_size)
    ttft = cost.iteration([(isl, 0)] * B)
    L = max(0, osl - 1)
    if L:
        a, b = cost.decode_affine(B, B * (isl + osl / 2))
        tpot = a + b * B * (isl + 1 + (L - 1) / 2)  # mean over the decode steps (KV grows by one each)
    else:
        tpot = 0.0
    e2e = ttft + L * tpot
    rps = B / e2e * _engines(dep)
    return AnalyticResult(B, dep.replicas, dep.total_chips, isl, osl, tpot or ttft, ttft, tpot, e2e, rps, rps * osl,
                          rps * isl, limit, "static")


def _engines(dep: Deployment) -> int:
    """Engines serving in parallel: replicas x PP virtual engines."""
    return dep.replicas * dep.pp


def max_throughput(model: Any, system: Any, dep: Deployment, *, isl: int, osl: int,
                   cost: IterationCost | None = None) -> AnalyticResult:
    """The max-throughput steady state (largest batch the KV cache and ``max_batch`` allow)."""
    return analytic_serving(model, system, dep, isl=isl, osl=osl, cost=cost)


def max_batch_under(model: Any, system: Any, dep: Deployment, *, isl: int, osl: int, tpot: float | None = None,
                    ttft: float | None = None, cost: IterationCost | None = None,
                    kv_len: float | None = None) -> AnalyticResult:
    """The highest-throughput steady state whose TPOT (and TTFT) stay within the limits (seconds)."""
    model, sys_spec, chip, cost = _setup(model, system, dep, cost)
    limit = min(dep.max_batch, kv_batch_limit(model, chip, dep, isl, osl, kv_len))
    if limit < 1:
        raise TrnsimError(f"one sequence of {isl}+{osl} tokens does not fit in a replica's KV cache")

    def ok(b: int) -> bool:
        r = analytic_serving(model, sys_spec or chip, dep, isl=isl, osl=osl, batch=b, cost=cost, kv_len=kv_len)
        return (tpot is None or r.tpot_s <= tpot) and (ttft is None or r.ttft_s <= ttft)

    if not ok(1):
        return analytic_serving(model, sys_spec or chip, dep, isl=isl, osl=osl, batch=1, cost=cost, kv_len=kv_len)
    lo, hi = 1, limit
    if ok(hi):
        lo = hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return analytic_serving(model, sys_spec or chip, dep, isl=isl, osl=osl, batch=lo, cost=cost, kv_len=kv_len)


def prefill_queue_wait(model: Any, system: Any, dep: Deployment, r: AnalyticResult, cost: IterationCost | None = None,
                       kv_len: float | None = None, quantile: float = 0.99) -> tuple[float, float, float]:
    """(mean, ``quantile``) wait of an arriving prompt for the prompts ahead of it, and the prefill utilisation
    ``rho``, in the continuous-batching steady state ``r`` under Poisson arrivals.

    Chunked prefill serves prompts first come first served: the engine spends ``t_iter - t_decode`` of each
    iteration on prompt work (``t_decode``: the same iteration with the decodes only), i.e. ``s = (t_iter -
    t_decode) / starts`` seconds per prompt and a share ``rho = starts * s / t_iter`` of the time. As an M/D/1
    queue (Pollaczek-Khinchine, deterministic service ``s``): mean wait ``rho / (1 - rho) * s / 2``; the wait is
    0 with probability ``1 - rho`` and otherwise ~exponential with mean ``W / rho`` (assumed tail shape), so
    ``P(W > x) = rho exp(-x rho / W)``. Negligible for short prompts (``s`` << an iteration); for long-context
    serving (Llama 3.1 405B, ~9.4k-token prompts, each a second of prefill) it dominates the TTFT tail."""
    model, sys_spec, chip, cost = _setup(model, system, dep, cost)
    if r.schedule != "continuous" or r.iteration_s <= 0:
        return 0.0, 0.0, 0.0
    _, starts, n = _steady_mix(dep, r.batch, r.isl, r.osl)
    if starts <= 0 or n <= 0:
        return 0.0, 0.0, 0.0
    t_dec = cost.iteration((), max(1, int(round(n))), n * _kv_len(r.isl, r.osl, kv_len))
    work = max(0.0, r.iteration_s - t_dec)
    rho = min(0.95, work / r.iteration_s)
    if rho <= 0:
        return 0.0, 0.0, 0.0
    s = work / starts
    w_mean = rho / (1.0 - rho) * s / 2.0
    tail = 1.0 - quantile
    w_q = (w_mean / rho) * math.log(rho / tail) if rho > tail else 0.0
    return w_mean, w_q, rho
