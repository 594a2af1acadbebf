"""Workloads: training steps and inference serving; each side imports its own subpackage."""
