"""``--plan auto``: search the valid plans that fit in memory and rank them by analytic step time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trnsim.errors import TrnsimError
from trnsim.parallel.memory import memory_per_chip
from trnsim.parallel.plan import Plan
from trnsim.parallel.search import enumerate_plans
from trnsim.workloads.training.step import TrainingResult, simulate_training, step_time

if TYPE_CHECKING:  # pragma: no cover
    from trnsim.hardware.specs import SystemSpec
    from trnsim.models.spec import ModelSpec


@dataclass
class AutoPlanResult:
    results: list[TrainingResult]
    evaluated: int
    rejected_memory: int
    seconds: float
    rejected_examples: list[str] = field(default_factory=list)

    @property
    def plans_per_s(self) -> float:
        return self.evaluated / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {"evaluated": self.evaluated, "rejected_memory": self.rejected_memory, "seconds": self.seconds,
                "plans_per_s": self.plans_per_s, "top": [r.to_dict() for r in self.results]}


def auto_plans(model: "ModelSpec", system: "SystemSpec", chips: int, *, seq_len: int, global_batch: int,
               precision: str = "bf16", top: int = 5, fixed: dict | None = None, **kw) -> AutoPlanResult:
    """The ``top`` fastest plans of ``chips`` chips that fit (analytic step time), best first."""
    import time

    t0 = time.perf_counter()
    scored: list[tuple[float, Plan]] = []
    evaluated = oom = 0
    examples: list[str] = []
    for plan in enumerate_plans(model, system, chips, seq_len=seq_len, global_batch=global_batch,
                                precision=precision, fixed=fixed, **kw):
        evaluated += 1
        mem = memory_per_chip(model, plan, system)
        if not mem.fits:
            oom += 1
            if len(examples) < 3:
                examples.append(f"{plan.label()}: {mem.total / 2**30:.0f} GiB > {mem.capacity / 2**30:.0f} GiB")
            continue
        scored.append((step_time(model, system, plan, chips=chips), plan))
    if not scored:
        why = f"{evaluated} plans broke no rule but none fit in memory" if evaluated else "no plan satisfies the rules"
        raise TrnsimError(f"no valid plan for {model.name} on {chips} x {system.chip_.name} "
                          f"(gbs {global_batch}, seq {seq_len}): {why}",
                          "add chips, lower the sequence length or change the global batch")
    scored.sort(key=lambda x: x[0])
    results = [simulate_training(model, system, p, chips=chips) for _, p in scored[:top]]
    return AutoPlanResult(results, evaluated, oom, time.perf_counter() - t0, examples)
