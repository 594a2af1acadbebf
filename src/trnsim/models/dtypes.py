"""Bytes per element of the number formats models are stored and run in."""

from __future__ import annotations

from trnsim.errors import TrnsimError

DTYPE_BYTES: dict[str, float] = {
    "fp32": 4.0,
    "tf32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "fp8_e4m3": 1.0,
    "fp8_e5m2": 1.0,
    "int8": 1.0,
    "int4": 0.5,
    "fp4": 0.5,
    # OCP MX formats: 4-bit elements + one 8-bit shared scale per 32 elements = 4.25 bits
    "mxfp4": 4.25 / 8,
    "mxfp8": 8.25 / 8,
}

_ALIASES = {
    "float32": "fp32", "float": "fp32", "f32": "fp32",
    "bfloat16": "bf16",
    "float16": "fp16", "half": "fp16", "f16": "fp16",
    "float8": "fp8", "e4m3": "fp8_e4m3", "float8_e4m3fn": "fp8_e4m3", "float8_e4m3": "fp8_e4m3",
    "e5m2": "fp8_e5m2", "float8_e5m2": "fp8_e5m2",
    "nvfp4": "fp4",
}


def canonical_dtype(name: str) -> str:
    """Canonical dtype name (``"bfloat16"`` -> ``"bf16"``); raises TrnsimError if unknown."""
    key = str(name).strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in DTYPE_BYTES:
        raise TrnsimError(
            f"unknown dtype {name!r}", f"use one of {', '.join(sorted(DTYPE_BYTES))}"
        )
    return key


def dtype_bytes(name: str) -> float:
    """Bytes per element of ``name`` (fractional for 4-bit formats)."""
    return DTYPE_BYTES[canonical_dtype(name)]
