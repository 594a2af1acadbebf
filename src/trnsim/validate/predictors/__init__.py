"""Predictor modules; each registers with trnsim.validate.registry.register (auto-imported)."""
