"""Parallel training plans (TP/PP/DP/ZeRO/EP/CP/SP), their rules, memory per chip and pipeline schedules."""

from trnsim.parallel.memory import MemoryBreakdown, memory_per_chip
from trnsim.parallel.plan import OutOfMemoryError, Plan, PlanError
from trnsim.parallel.schedule import analytic_pipeline_time, bubble_fraction, rank_order, simulate_pipeline

__all__ = [
    "MemoryBreakdown", "OutOfMemoryError", "Plan", "PlanError", "analytic_pipeline_time", "bubble_fraction",
    "memory_per_chip", "rank_order", "simulate_pipeline",
]
