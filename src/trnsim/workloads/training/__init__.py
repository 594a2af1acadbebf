"""Training workload: what one step of model M on system S with plan P does.

    >>> from trnsim.parallel import Plan
    >>> from trnsim.workloads.training import simulate_training, auto_plans, write_trace
    >>> r = simulate_training("llama-3.1-405b", "trn3-ultraserver-gen2",
    ...                       Plan(tp=8, pp=8, dp=2, global_batch=256, seq_len=8192, recompute="full"), chips=128)
    >>> r.step_time, r.breakdown, r.tokens_per_s, r.mfu, r.memory.total, r.time_to_train(15e12)  # doctest: +SKIP
    >>> auto_plans(model, system, chips, seq_len=8192, global_batch=1152).results[:5]  # doctest: +SKIP

Modules: :mod:`.costs` (per-layer op times from ``trnsim.ops``, inline TP/CP/EP collectives from
``trnsim.network``), :mod:`.step` (composition, analytic and event-driven fidelities, MFU, energy, cost),
:mod:`.auto` (``--plan auto``), :mod:`.trace` (Perfetto), :mod:`.calibrate` (re-fit of the fitted constants:
``costs.SUSTAINED_COMPUTE``, ``costs.KERNEL_GAP_S``, ``step.STEP_OVERHEAD_S``; Neuron collective costs,
including the old Trn1 TP slowdown, are the network layer's runtime model). Plans, rules and memory live in :mod:`trnsim.parallel`.
"""

from trnsim.workloads.training.step import (
    StepBreakdown, TrainingResult, megatron_flops_per_step, model_flops_per_token, simulate_training, step_time,
)

__all__ = [
    "StepBreakdown", "TrainingResult", "megatron_flops_per_step", "model_flops_per_token", "simulate_training",
    "step_time",
]
from trnsim.workloads.training.auto import AutoPlanResult, auto_plans  # noqa: E402
from trnsim.workloads.training.trace import trace_events, write_trace  # noqa: E402

__all__ += ["AutoPlanResult", "auto_plans", "trace_events", "write_trace"]
