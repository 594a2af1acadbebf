"""Enumerate the candidate plans for a model on a number of chips (filtered by the plan rules)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator, Sequence

from trnsim.parallel.plan import Plan

if TYPE_CHECKING:  # pragma: no cover
    from trnsim.hardware.specs import SystemSpec
    from trnsim.models.spec import ModelSpec


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def enumerate_plans(
    model: "ModelSpec",
    system: "SystemSpec",
    chips: int,
    *,
    seq_len: int,
    global_batch: int,
    precision: str = "bf16",
    micro_batches: Sequence[int] = (1, 2, 4, 8),
    recompute: Sequence[str] = ("none", "selective", "full"),
    zero: Sequence[int] = (1, 3),
    vpps: Sequence[int] = (1, 2, 4),
    cps: Sequence[int] = (1, 2, 4, 8),
    max_pp: int = 64,
    fixed: dict | None = None,
    **plan_kw,
) -> Iterator[Plan]:
    """All plans of ``chips`` chips that break no rule (memory is checked by the caller).

    ``fixed`` pins degrees (e.g. ``{"tp": 8}``); other keyword arguments are passed to every Plan.
    """
    fixed = dict(fixed or {})
    dom = system.scale_up.domain_size
    tps = [t for t in _divisors(dom) if model.heads % t == 0 and t <= chips]
    eps = [1]
    if model.moe is not None:
        eps = [e for e in _divisors(model.moe.num_experts) if e <= chips]
    for tp in ([fixed["tp"]] if "tp" in fixed else tps):
        for cp in ([fixed["cp"]] if "cp" in fixed else [c for c in cps if c == 1 or seq_len >= 4096 * c]):
            rest = chips // (tp * cp) if chips % (tp * cp) == 0 else 0
            if not rest:
                continue
            pps = [p for p in _divisors(rest) if p <= max_pp and model.layers % p == 0]
            for pp in ([fixed["pp"]] if "pp" in fixed else pps):
                if rest % pp:
                    continue
                dp = rest // pp
                if "dp" in fixed and fixed["dp"] != dp:
                    continue
                for mbs in ([fixed["micro_batch"]] if "micro_batch" in fixed else micro_batches):
                    if global_batch % (mbs * dp):
                        continue
                    m = global_batch // (mbs * dp)
                    for vpp in ([fixed["vpp"]] if "vpp" in fixed else vpps):
                        if vpp > 1 and (pp == 1 or m % pp or model.layers % (pp * vpp)):
                            continue
                        for z in ([fixed["zero"]] if "zero" in fixed else zero):
                            if z >= 3 and pp > 1:
                                continue
                            for ep in ([fixed["ep"]] if "ep" in fixed else eps):
                                if (dp * cp) % ep:
                                    continue
                                for rc in ([fixed["recompute"]] if "recompute" in fixed else recompute):
                                    plan = Plan(tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, vpp=vpp, zero=z,
                                                micro_batch=mbs, global_batch=global_batch, seq_len=seq_len,
                                                recompute=rc, precision=precision, **plan_kw)
                                    if not plan.problems(model, system, chips):
                                        yield plan
