"""Workloads: training steps and inference serving; each side imports its own subpackage."""

from trnsim.workloads.training import TrainingResult, auto_plans, simulate_training

__all__ = ["TrainingResult", "auto_plans", "simulate_training"]
