"""Algorithmic constants of the collective cost model — the ONE place they live.

Hardware numbers (link bandwidth, hop latency, domain size, NIC bandwidth) come from the catalog.
What the catalog cannot say is how well a collective *library* uses that hardware: the fraction of
link bandwidth a protocol achieves, and the fixed software cost of launching a collective and of
each synchronised step. Those are the constants below. Each carries its provenance:

* ``assumed`` — a physically motivated value not fitted to any data;
* ``fitted on <rows>`` — chosen to fit the named ground-truth rows (the dev set, by family, never
  keyed by row id in code).

The cost of one (algorithm, protocol) candidate is the classic alpha-beta form::

    t = base + steps * hop_latency * hop_scale + bytes_on_the_busiest_link / (link_bw * eff)

and a library picks, per size, the fastest candidate (min over algorithms and protocols). Two
protocols model what NCCL calls LL and Simple (and what the Neuron runtime does for small and large
messages): a low-latency one that flags every word (so at most half the link carries payload) and a
bulk one with a higher fixed cost per step that runs near line rate.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Protocol:
    """How a library moves data: payload fraction of link bandwidth and software latencies (s)."""

    name: str
    eff: float  # achieved fraction of the catalog link bandwidth
    base: float  # fixed cost per collective call (launch, handshake), s
    hop_scale: float  # cost of one synchronised step in units of the catalog hop latency


@dataclass(frozen=True, slots=True)
class Library:
    """A collective library's protocols and algorithm repertoire."""

    name: str
    protocols: tuple[Protocol, ...]
    # fraction of link bandwidth an in-network reduction (NVLS) achieves on S bytes in + S out
    nvls_eff: float
    nvls_base: float
    # fraction of the scale-out line rate the library reaches through its network plugin
    net_eff: float
    # algorithms allowed for the reduction collectives inside one switched domain
    direct_reductions: bool  # a "mesh" RS/AG through the switch (Neuron) vs ring only (NCCL)
    tree: bool  # double binary tree across domains (NCCL Tree, Neuron RDH)


@dataclass(frozen=True, slots=True)
class Topo:
    """Constants about fabrics the catalog does not describe."""

    # a hop between level-1 switch groups of a two-level switched domain crosses L1 -> L2 -> L1
    switch2_cross_latency_factor: float = 2.0


NCCL = Library(
    name="nccl",
    protocols=(
        Protocol("LL", eff=0.40, base=5.5e-6, hop_scale=0.37),
        Protocol("Simple", eff=0.78, base=20.0e-6, hop_scale=1.0),
    ),
    nvls_eff=0.61,
    nvls_base=25.0e-6,
    net_eff=0.92,
    direct_reductions=False,
    tree=True,
)

NEURON = Library(
    name="neuron",
    protocols=(
        Protocol("small", eff=0.40, base=5.5e-6, hop_scale=0.37),
        Protocol("bulk", eff=0.78, base=20.0e-6, hop_scale=1.0),
    ),
    nvls_eff=0.0,
    nvls_base=0.0,
    net_eff=0.92,
    direct_reductions=True,
    tree=True,
)

TOPO = Topo()

LIBRARIES: dict[str, Library] = {"nccl": NCCL, "neuron": NEURON}

# Provenance and explanation of every constant above (shown by `trnsim collective constants`).
PROVENANCE: dict[str, tuple[str, str]] = {
    "nccl.LL.eff": (
        "fitted on gpu_collective NCCL 2.29 rows of h100_sxm/h200_sxm at 2 MiB (aiconfigurator)",
        "LL sends 4 B of payload with a 4 B flag per 8 B word: at most 0.5 of the link; fitted below that",
    ),
    "nccl.LL.base": (
        "fitted on gpu_collective NCCL 2.29 rows at 8 KiB (aiconfigurator)",
        "kernel launch + first handshake of a collective call",
    ),
    "nccl.LL.hop_scale": (
        "fitted on gpu_collective NCCL 2.29 rows at 8 KiB, 4 vs 8 ranks (aiconfigurator)",
        "a ring step costs this many catalog hop latencies; LL overlaps the flag with the data, so < 1 means the catalog's "
        "per-hop latency (2 us assumed for NVLink) is above what NCCL pays per step (~0.75 us)",
    ),
    "nccl.Simple.eff": (
        "fitted on gpu_collective NCCL rows at >= 32 MiB (aiconfigurator, ml-engineering Ring 16 GiB)",
        "bulk copy through SM-driven FIFOs reaches ~3/4 of the NVLink line rate",
    ),
    "nccl.Simple.base": (
        "fitted on gpu_collective NCCL 2.29 rows at 32-256 MiB (intercept of time vs size)",
        "fixed cost of the bulk protocol: launch plus pipeline fill with large chunks",
    ),
    "nccl.Simple.hop_scale": (
        "fitted on gpu_collective NCCL 2.29 rows at 32-256 MiB, 4 vs 8 ranks",
        "per-step cost of the bulk protocol (chunk handshake through memory fences) in hop latencies",
    ),
    "nccl.nvls_eff": (
        "fitted on gpu_collective NVLS all-reduce rows (ml-engineering 16 GiB, aiconfigurator 256 MiB)",
        "NVLink SHARP multimem reduce+multicast reaches ~0.6 of the link on S in and S out",
    ),
    "nccl.nvls_base": (
        "assumed",
        "NVLS setup per call (multicast object sync); of the order NCCL's own tuner uses (~25 us)",
    ),
    "nccl.net_eff": (
        "assumed",
        "perftest reaches ~97% of EFA line rate on one adapter; NCCL's proxy and plugin lose a few % more",
    ),
    "neuron.*": (
        "assumed (copied from the NCCL values)",
        "the nccom-test rows are old doc examples of unknown instance and runtime; not fitted on them",
    ),
    "topo.switch2_cross_latency_factor": (
        "assumed",
        "a hop between level-1 groups of Trn3 Gen2 traverses L1 -> L2 -> L1 switches instead of one",
    ),
}


def describe() -> list[dict[str, object]]:
    """All constants with value, provenance and explanation (for the CLI and docs)."""
    out: list[dict[str, object]] = []
    for lib in LIBRARIES.values():
        for p in lib.protocols:
            for f in ("eff", "base", "hop_scale"):
                key = f"{lib.name}.{p.name}.{f}"
                prov, why = PROVENANCE.get(key, PROVENANCE.get(f"{lib.name}.*", ("", "")))
                out.append({"name": key, "value": getattr(p, f), "provenance": prov, "why": why})
        for f in ("nvls_eff", "nvls_base", "net_eff"):
            key = f"{lib.name}.{f}"
            prov, why = PROVENANCE.get(key, PROVENANCE.get(f"{lib.name}.*", ("", "")))
            out.append({"name": key, "value": getattr(lib, f), "provenance": prov, "why": why})
    for f in fields(Topo):
        key = f"topo.{f.name}"
        prov, why = PROVENANCE[key]
        out.append({"name": key, "value": getattr(TOPO, f.name), "provenance": prov, "why": why})
    return out
