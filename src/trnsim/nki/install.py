"""Register trnsim's NKI implementation under the real module names (``nki``, ``neuronxcc.nki``, ...)."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from typing import Iterator

NEW = ("nki", "nki.language", "nki.isa", "nki.typing")
OLD = ("neuronxcc", "neuronxcc.nki", "neuronxcc.nki.language", "neuronxcc.nki.isa", "neuronxcc.nki.typing",
       "neuronxcc.nki.compiler")
NAMES = NEW + OLD


def _targets() -> dict[str, types.ModuleType]:
    import trnsim.nki as new
    from trnsim.nki import isa, language, legacy, typing

    neuronxcc = types.ModuleType("neuronxcc", "trnsim stand-in for the neuronx-cc package (NKI only)")
    neuronxcc.nki = legacy  # type: ignore[attr-defined]
    neuronxcc.__path__ = []  # type: ignore[attr-defined]
    return {
        "nki": new, "nki.language": language, "nki.isa": isa, "nki.typing": typing,
        "neuronxcc": neuronxcc, "neuronxcc.nki": legacy, "neuronxcc.nki.language": legacy.language,
        "neuronxcc.nki.isa": legacy.isa, "neuronxcc.nki.typing": typing,
        "neuronxcc.nki.compiler": legacy.compiler,
    }


def _real_present(name: str) -> bool:
    mod = sys.modules.get(name)
    if mod is not None:
        return not getattr(mod, "__name__", "").startswith("trnsim") and name != "neuronxcc" or (
            name == "neuronxcc" and getattr(mod, "__doc__", "") and "trnsim" not in (mod.__doc__ or ""))
    try:
        return importlib.util.find_spec(name.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


def install(force: bool = False) -> list[str]:
    """Register the module names whose real packages are absent (all of them if ``force``).
    Returns the names registered."""
    done = []
    targets = _targets()
    new_real = not force and _real_present("nki")
    old_real = not force and _real_present("neuronxcc")
    for name, mod in targets.items():
        if (name in NEW and new_real) or (name in OLD and old_real):
            continue
        sys.modules[name] = mod
        done.append(name)
    return done


def uninstall() -> None:
    """Remove the names that point at trnsim modules."""
    for name in NAMES:
        mod = sys.modules.get(name)
        if mod is not None and (getattr(mod, "__name__", "").startswith("trnsim") or name == "neuronxcc"
                                and "trnsim" in (mod.__doc__ or "")):
            del sys.modules[name]


@contextlib.contextmanager
def installed(force: bool = True) -> Iterator[None]:
    """Temporarily register the trnsim modules (restoring whatever was there before)."""
    saved = {n: sys.modules.get(n) for n in NAMES}
    install(force=force)
    try:
        yield
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
