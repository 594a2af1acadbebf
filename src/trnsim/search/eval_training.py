"""The ``training`` sweep kind: one training plan per configuration, analytic step time.

Keys: ``model``, ``system`` (catalog name or file), ``chips`` (default: the system's), the plan degrees
``tp pp cp ep vpp zero`` (``dp`` = "auto" or omitted: whatever the chips leave), ``micro_batch``,
``global_batch``, ``seq``, ``recompute``, ``precision`` ("auto": the chip's best of mxfp8/fp8/bf16),
``price_per_chip_hour`` (optional). Impossible plans and plans that do not fit are pruned with the reason.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from trnsim.economics import usd_per_million_tokens
from trnsim.errors import TrnsimError
from trnsim.search.evaluators import Metrics, Pruned, evaluator

@lru_cache(maxsize=64)
def _model(name: str) -> Any:
    from trnsim.models import load_model

    return load_model(name)


@lru_cache(maxsize=64)
def _system(name: str) -> Any:
    from trnsim.hardware import load_system

    return load_system(name)


def model_and_system(cfg: dict[str, Any]) -> tuple[Any, Any]:
    """The configuration's model and system; a missing key prunes it, an unknown name is a TrnsimError."""
    for key in ("model", "system"):
        if key not in cfg:
            raise Pruned(f"missing key {key!r}")
    return _model(str(cfg["model"])), _system(str(cfg["system"]))


def plan_from(cfg: dict[str, Any], system: Any) -> tuple[Any, int]:
    """The Plan a configuration describes (any Plan field; ``seq`` for seq_len; dp "auto")."""
    from dataclasses import fields

    from trnsim.parallel.plan import Plan

    chips = int(cfg.get("chips") or system.num_chips)
    names = {f.name for f in fields(Plan)} - {"name", "dp", "seq_len", "global_batch", "precision"}
    kw = {k: cfg[k] for k in names if k in cfg}
    for k in ("tp", "pp", "cp", "ep", "vpp", "zero", "micro_batch", "lora_rank"):
        if k in kw:
            kw[k] = int(kw[k])
    tp, pp, cp = kw.get("tp", 1), kw.get("pp", 1), kw.get("cp", 1)
    dp = cfg.get("dp", "auto")
    if dp in (None, "auto"):
        if chips % (tp * pp * cp):
            raise Pruned(f"tp x pp x cp = {tp * pp * cp} does not divide {chips} chips")
        dp = chips // (tp * pp * cp)
    precision = str(cfg.get("precision", "bf16"))
    if precision == "auto":
        precision = system.chip_.best_dtype()
    plan = Plan(dp=int(dp), global_batch=int(cfg.get("global_batch", 1024)),
                seq_len=int(cfg.get("seq", cfg.get("seq_len", 4096))), precision=precision, **kw)
    return plan, chips


def prune_reason(msg: str) -> str:
    """A countable reason: the plan label, the memory breakdown and the fix hints dropped."""
    msg = re.sub(r"\s*\(tp\d[^)]*\)", "", msg)
    msg = msg.split(": weights")[0]
    return re.split(r";| \(and \d+ more| \(raise| \(use| \(add", msg)[0].strip()


@evaluator("training")
def evaluate(cfg: dict[str, Any]) -> Metrics:
    from trnsim.workloads.training import simulate_training

    model, system = model_and_system(cfg)
    plan, chips = plan_from(cfg, system)
    try:
        r = simulate_training(model, system, plan, chips=chips)
    except TrnsimError as e:
        raise Pruned(prune_reason(str(e))) from None
    per_chip = r.tokens_per_s / chips
    price = cfg.get("price_per_chip_hour")
    if price is None and r.price_per_hour is not None:
        price = r.price_per_hour / chips
    out: Metrics = {
        "dp": plan.dp, "step_time_s": r.step_time, "tokens_per_s": r.tokens_per_s,
        "tokens_per_s_per_chip": per_chip, "mfu": r.mfu,
        "memory_per_chip_gib": r.memory.total / 2**30, "memory_headroom_gib": r.memory.headroom / 2**30,
        "joules_per_token": r.energy_per_step_j / r.tokens_per_step,
    }
    if price is not None:
        out["usd_per_mtok"] = usd_per_million_tokens(per_chip, float(price))
    return out
