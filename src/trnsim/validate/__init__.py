"""Validation harness: ground-truth rows -> registered predictors -> per-row errors and summaries."""

from trnsim.validate.harness import ValidationReport, run_validation, write_results
from trnsim.validate.registry import NotSupported, Prediction, register
from trnsim.validate.rows import GroundTruthRow, load_rows

__all__ = [
    "ValidationReport", "run_validation", "write_results","GroundTruthRow", "NotSupported", "Prediction", "load_rows", "register"]
