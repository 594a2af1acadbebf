"""Training workload: ``simulate_training(model, system, plan) -> TrainingResult``, ``auto_plans``."""

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
