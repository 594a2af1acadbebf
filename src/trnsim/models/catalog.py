"""The model catalog: HF-format config files shipped in ``catalog/``, looked up by tolerant names.

Each catalog file is a Hugging Face ``config.json`` plus a ``_trnsim`` object (ignored by the parser) holding
``display_name``, ``aliases`` and ``source`` (where the architecture numbers come from).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from trnsim.errors import TrnsimError, UnknownNameError
from trnsim.models.hf import parse_hf_config
from trnsim.models.spec import ModelSpec


@dataclass(frozen=True)
class CatalogEntry:
    name: str  # file stem, the canonical key
    display_name: str
    aliases: tuple[str, ...]
    source: str
    config: dict


def model_key(text: str) -> str:
    """Lookup key of a model name: lower case, letters and digits only ("Llama-3.1 405B" -> "llama31405b")."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


@lru_cache(maxsize=1)
def _entries() -> dict[str, CatalogEntry]:
    root = resources.files("trnsim.models") / "catalog"
    out: dict[str, CatalogEntry] = {}
    for f in sorted(root.iterdir(), key=lambda f: f.name):
        if not f.name.endswith(".json"):
            continue
        origin = f"models/catalog/{f.name}"
        try:
            cfg = json.loads(f.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:  # pragma: no cover - shipped files are tested
            raise TrnsimError(f"{origin}: not valid JSON: {e.msg} at line {e.lineno}") from None
        meta = cfg.get("_trnsim", {})
        stem = f.name[: -len(".json")]
        out[stem] = CatalogEntry(
            name=stem,
            display_name=meta.get("display_name", stem),
            aliases=tuple(meta.get("aliases", ())),
            source=meta.get("source", ""),
            config=cfg,
        )
    return out


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    idx: dict[str, str] = {}
    for e in _entries().values():
        for n in (e.name, e.display_name, *e.aliases):
            k = model_key(n)
            if k in idx and idx[k] != e.name:  # pragma: no cover - guarded by a test
                raise TrnsimError(f"model catalog: alias {n!r} used by both {idx[k]} and {e.name}")
            idx[k] = e.name
    return idx


def list_models() -> list[str]:
    """Canonical names of the catalog models."""
    return sorted(_entries())


def catalog_entry(name: str) -> CatalogEntry:
    key = _lookup(name)
    if key is None:
        raise UnknownNameError(_unknown_message(name))
    return _entries()[key]


_SIZE = re.compile(r"\d(\.\d+)?[bmBM]\b|\d+x\d+[bB]")
_SUFFIXES = ("instruct", "chat", "hf", "it")
_NOISE_WORDS = {
    "huggingface", "mlperf", "pretraining", "pretrain", "pre-training", "finetune", "fine-tuning", "finetuning",
    "lora", "ph1", "ph2", "training", "inference", "serving",
}


def _lookup(name: str) -> str | None:
    idx = _index()
    text = name.strip()
    candidates = [text]
    if "/" in text:
        candidates.append(text.rsplit("/", 1)[1])
    for c in candidates:
        k = model_key(c)
        if k in idx:
            return idx[k]
        for suf in _SUFFIXES:
            if k.endswith(suf) and k[: -len(suf)] in idx:
                return idx[k[: -len(suf)]]
        if k.startswith("meta") and k[4:] in idx:
            return idx[k[4:]]
    return None


def resolve_model_name(text: str) -> str | None:
    """Catalog name for a model as written in benchmark tables, or None when unknown.

    Tolerates case and separators, org prefixes ("meta-llama/..."), -Instruct/-hf suffixes, a parenthetical
    remark and workload words around the name: "Llama 2 70B (MLPerf llama2-70b-99)" -> "llama-2-70b",
    "HuggingFace BERT-Large Ph1 pre-training" -> "bert-large", "GPT-3 175B (MLPerf gpt3)" -> "gpt3-175b".
    """
    if not text or not text.strip():
        return None
    hit = _lookup(text)
    if hit:
        return hit
    stripped = re.sub(r"\(.*?\)", " ", text)
    words = [w for w in stripped.split() if w.lower() not in _NOISE_WORDS]
    # drop trailing words one at a time ("Llama 2 70B LoRA finetune" -> "Llama 2 70B")
    # but never past a size ("177B"): "GPT-3 177B" must not become "GPT-3"
    for end in range(len(words), 0, -1):
        hit = _lookup(" ".join(words[:end]))
        if hit:
            return hit
        if _SIZE.search(words[end - 1]):
            break
    return None


def _unknown_message(name: str) -> str:
    idx = _index()
    close = difflib.get_close_matches(model_key(name), list(idx), n=6, cutoff=0.6)
    hint: list[str] = []
    for c in close:
        if idx[c] not in hint:
            hint.append(idx[c])
    msg = f"unknown model {name!r}"
    if hint:
        return f"{msg}; did you mean {', '.join(hint[:3])}? (`trnsim model list` shows all, or pass a config.json path)"
    return f"{msg}; `trnsim model list` shows the known names, or pass a path to a Hugging Face config.json"


@lru_cache(maxsize=64)
def _load_catalog_model(key: str) -> ModelSpec:
    e = _entries()[key]
    spec = parse_hf_config(e.config, name=e.name)
    return spec.with_(display_name=e.display_name, source=f"models/catalog/{e.name}.json")


def load_model(name_or_path: str | Path | ModelSpec) -> ModelSpec:
    """A ModelSpec by catalog name (tolerant: "Llama-3.1-405B", "llama3.1-405b") or config.json path."""
    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    text = str(name_or_path)
    p = Path(text)
    if text.endswith(".json") or p.is_dir() or p.is_file():
        return parse_hf_config(p)
    key = _lookup(text)
    if key is None:
        raise UnknownNameError(_unknown_message(text))
    return _load_catalog_model(key)


def _config_fields(config: str | dict | None) -> dict[str, str]:
    if config is None:
        return {}
    if isinstance(config, dict):
        return {str(k).strip().lower(): str(v) for k, v in config.items()}
    out: dict[str, str] = {}
    for part in str(config).split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip().lower()] = v.strip()
    return out


def model_for_row(model_or_kernel: str, config: str | dict | None = None) -> ModelSpec | None:
    """The model a benchmark row is about: a catalog model named in ``model_or_kernel``, or a GPT built from
    ``hidden``/``layers``/``heads``/``vocab``/``seq_len`` given inline in ``config`` (Megatron-LM rows,
    ``"tp=2;...;vocab=131072;hidden=4096;layers=30;heads=32"``), else None."""
    key = resolve_model_name(model_or_kernel)
    if key is not None:
        return load_model(key)
    f = _config_fields(config)
    try:
        hidden, layers, heads = int(f["hidden"]), int(f["layers"]), int(f["heads"])
    except (KeyError, ValueError):
        return None
    vocab = int(f.get("vocab", 50257))
    seq = int(f.get("seq_len", f.get("seq", 2048)))
    return ModelSpec.gpt(hidden, layers, heads, vocab, seq, name=model_or_kernel.strip() or None)


__all__ = ["CatalogEntry", "catalog_entry", "list_models", "load_model", "model_for_row", "model_key",
           "resolve_model_name"]
