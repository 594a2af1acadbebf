"""The hardware catalog: TOML files shipped in ``catalog/`` plus user files loaded by path.

A file holds any of the top-level tables ``[core]``, ``[chip]``, ``[system]`` (or arrays of them,
``[[chip]]``). References by name (``chip.core``, ``system.chip``) resolve first within the same
file, then in the built-in catalog. Every problem is reported as a one-line :class:`TrnsimError`
naming the file, the field and the fix.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from trnsim.errors import TrnsimError, UnknownNameError
from trnsim.files import read_toml
from trnsim.hardware.specs import ChipSpec, NeuronCoreSpec, SystemSpec

_SECTIONS = {"core": NeuronCoreSpec, "chip": ChipSpec, "system": SystemSpec}


def normalize(name: str) -> str:
    """Catalog key for a name: lower case, '_' and spaces as '-'."""
    return "-".join(name.strip().lower().replace("_", " ").split())


@dataclass
class Catalog:
    """Cores, chips and systems by name (aliases included), plus the source list."""

    cores: dict[str, NeuronCoreSpec] = field(default_factory=dict)
    chips: dict[str, ChipSpec] = field(default_factory=dict)
    systems: dict[str, SystemSpec] = field(default_factory=dict)
    sources: dict[str, dict[str, str]] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # "kind:name" -> file
    _index: dict[str, dict[str, str]] = field(default_factory=lambda: {"core": {}, "chip": {}, "system": {}})

    # -- lookup
    def _table(self, kind: str) -> dict[str, Any]:
        return {"core": self.cores, "chip": self.chips, "system": self.systems}[kind]

    def names(self, kind: str) -> list[str]:
        return sorted(self._table(kind))

    def resolve_name(self, kind: str, name: str) -> str | None:
        return self._index[kind].get(normalize(name))

    def get(self, kind: str, name: str) -> Any:
        key = self.resolve_name(kind, name)
        if key is None:
            raise UnknownNameError(_unknown(kind, name, self._index[kind]))
        return self._table(kind)[key]

    def chip(self, name: str) -> ChipSpec:
        return self.get("chip", name)

    def system(self, name: str) -> SystemSpec:
        return self.get("system", name)

    def core(self, name: str) -> NeuronCoreSpec:
        return self.get("core", name)

    def any(self, name: str) -> tuple[str, Any]:
        """Find ``name`` among systems, chips and cores (in that order)."""
        for kind in ("system", "chip", "core"):
            key = self.resolve_name(kind, name)
            if key is not None:
                return kind, self._table(kind)[key]
        merged = {**self._index["core"], **self._index["chip"], **self._index["system"]}
        raise UnknownNameError(_unknown("system, chip or core", name, merged))

    # -- building
    def add(self, kind: str, spec: Any, origin: str) -> None:
        keys = [spec.name, *spec.aliases, spec.display_name] if spec.display_name else [spec.name, *spec.aliases]
        index = self._index[kind]
        for k in keys:
            nk = normalize(k)
            if nk in index and index[nk] != spec.name:
                raise TrnsimError(
                    f"{origin}: {kind} name or alias {k!r} is already used by {kind} {index[nk]!r}",
                    "give it a different name or drop the alias",
                )
        self._table(kind)[spec.name] = spec
        for k in keys:
            index[normalize(k)] = spec.name
        self.origin[f"{kind}:{spec.name}"] = origin


def _unknown(kind: str, name: str, index: dict[str, str]) -> str:
    close = difflib.get_close_matches(normalize(name), list(index), n=3, cutoff=0.5)
    hint = sorted({index[c] for c in close}) if close else []
    msg = f"unknown {kind} {name!r}"
    if hint:
        return f"{msg}; did you mean {', '.join(hint)}? (`trnsim hw list` shows all)"
    return f"{msg}; `trnsim hw list` shows the known names, or pass a path to a .toml file"


def _format_validation(origin: str, section: str, err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in (section, *first["loc"]))
    typ = first["type"]
    if typ == "missing":
        return f"{origin}: missing field '{loc}'; add it (numbers as {{value=..., unit=..., kind=..., source=...}})"
    if typ == "extra_forbidden":
        return f"{origin}: unknown field '{loc}'; remove it or check its spelling"
    msg = first["msg"].removeprefix("Value error, ")
    if typ == "literal_error":
        return f"{origin}: field '{loc}': {msg}"
    return f"{origin}: field '{loc}': {msg}"


def _entries(data: dict[str, Any], origin: str) -> Iterable[tuple[str, dict[str, Any]]]:
    unknown = [k for k in data if k not in _SECTIONS and k != "sources"]
    if unknown:
        raise TrnsimError(
            f"{origin}: unknown top-level table [{unknown[0]}]",
            "use [core], [chip] or [system]",
        )
    for kind in ("core", "chip", "system"):
        body = data.get(kind)
        if body is None:
            continue
        for entry in body if isinstance(body, list) else [body]:
            if not isinstance(entry, dict):
                raise TrnsimError(f"{origin}: [{kind}] must be a table", "write it as a [" + kind + "] section")
            yield kind, entry


def _parse(kind: str, entry: dict[str, Any], origin: str) -> Any:
    try:
        return _SECTIONS[kind].model_validate(entry)
    except ValidationError as e:
        raise TrnsimError(_format_validation(origin, kind, e)) from None
    except TrnsimError as e:  # unit errors raised inside validators
        raise TrnsimError(f"{origin}: [{kind}] {e}") from None


def _resolve(cat: Catalog, kind: str, spec: Any, origin: str, fallback: Catalog | None) -> Any:
    """Attach referenced specs; look in ``cat`` first, then in ``fallback``."""

    def lookup(ref_kind: str, ref: str, field_name: str) -> Any:
        for c in (cat, fallback):
            if c is not None and c.resolve_name(ref_kind, ref) is not None:
                return c.get(ref_kind, ref)
        pool = {**cat._index[ref_kind], **(fallback._index[ref_kind] if fallback else {})}
        raise TrnsimError(f"{origin}: field '{kind}.{field_name}': " + _unknown(ref_kind, ref, pool))

    if kind == "chip" and spec.core:
        return spec.model_copy(update={"core_spec": lookup("core", spec.core, "core")})
    if kind == "system":
        chip = lookup("chip", spec.chip, "chip")
        return spec.model_copy(update={"chip_spec": chip})
    return spec


def _load_into(cat: Catalog, data: dict[str, Any], origin: str, fallback: Catalog | None) -> list[tuple[str, Any]]:
    parsed = [(kind, _parse(kind, entry, origin)) for kind, entry in _entries(data, origin)]
    added = []
    for order in ("core", "chip", "system"):
        for kind, spec in parsed:
            if kind == order:
                spec = _resolve(cat, kind, spec, origin, fallback)
                cat.add(kind, spec, origin)
                added.append((kind, spec))
    return added


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The built-in catalog (loaded once)."""
    root = resources.files("trnsim.hardware") / "catalog"
    cat = Catalog()
    src = root / "sources.toml"
    if src.is_file():
        cat.sources = read_toml(Path("sources.toml"), src.read_text(encoding="utf-8")).get("sources", {})
    files: list[tuple[str, str]] = []
    for sub in ("cores", "chips", "systems"):
        d = root / sub
        if d.is_dir():
            files += sorted((f"catalog/{sub}/{f.name}", f.read_text(encoding="utf-8")) for f in d.iterdir() if f.name.endswith(".toml"))
    parsed: list[tuple[str, str, dict[str, Any]]] = []
    for origin, text in files:
        data = read_toml(Path(origin), text)
        for kind, entry in _entries(data, origin):
            parsed.append((kind, origin, entry))
    for order in ("core", "chip", "system"):
        for kind, origin, entry in parsed:
            if kind == order:
                spec = _resolve(cat, kind, _parse(kind, entry, origin), origin, None)
                cat.add(kind, spec, origin)
    return cat


def load_file(path: str | Path) -> list[tuple[str, Any]]:
    """Parse a user TOML file (cores, chips, systems); references fall back to the built-in catalog."""
    p = Path(path)
    data = read_toml(p)
    local = Catalog()
    added = _load_into(local, data, str(p), catalog())
    if not added:
        raise TrnsimError(f"{p}: no [core], [chip] or [system] table found", "add one (see docs/catalog.md)")
    return added


def _is_path(name: str) -> bool:
    return name.endswith(".toml") or "/" in name or "\\" in name


def _load(kind: str, name_or_path: str | Path) -> Any:
    if isinstance(name_or_path, Path) or _is_path(str(name_or_path)):
        specs = [s for k, s in load_file(name_or_path) if k == kind]
        if not specs:
            raise TrnsimError(f"{name_or_path}: no [{kind}] table in this file", f"add a [{kind}] section")
        return specs[-1]
    return catalog().get(kind, str(name_or_path))


def load_chip(name_or_path: str | Path) -> ChipSpec:
    """A chip by catalog name/alias (``trn3``, ``h100``) or from a TOML file."""
    if not isinstance(name_or_path, Path) and not _is_path(str(name_or_path)):
        cat = catalog()
        if cat.resolve_name("chip", str(name_or_path)) is None and cat.resolve_name("system", str(name_or_path)):
            return cat.system(str(name_or_path)).chip_
    return _load("chip", name_or_path)


def load_system(name_or_path: str | Path) -> SystemSpec:
    """A system by catalog name/alias (``trn3-ultraserver-gen2``) or from a TOML file."""
    return _load("system", name_or_path)


def load_core(name_or_chip: str) -> NeuronCoreSpec:
    """A NeuronCore spec by core name (``neuroncore-v3``) or by chip/target name (``trn2``, ``trainium2``)."""
    cat = catalog()
    if cat.resolve_name("core", name_or_chip):
        return cat.core(name_or_chip)
    chip = load_chip(name_or_chip)
    if chip.core_spec is None:
        raise TrnsimError(f"chip {chip.name!r} has no NeuronCore", "pick a Trainium or Inferentia chip (trn1, trn2, trn3)")
    return chip.core_spec
