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

(a step over the scale-out network costs the catalog's measured one-way latency, unscaled), and a library picks, per size, the fastest candidate (min over algorithms and protocols). Two
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
    hop_scale: float  # cost of one scale-up step in units of the catalog hop latency (network hops: 1)


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


# Fitted with `python -m trnsim.network.fit` (coordinate search on mean |log error|); see PROVENANCE.
NCCL = Library(
    name="nccl",
    protocols=(
        Protocol("LL", eff=0.36, base=5.9e-6, hop_scale=0.35),
        Protocol("Simple", eff=0.76, base=29.0e-6, hop_scale=0.75),
    ),
    nvls_eff=0.61,
    nvls_base=45.0e-6,
    net_eff=0.92,
    direct_reductions=False,
    tree=True,
)

# No usable Neuron data to fit on (the nccom-test rows are old doc examples): NCCL's efficiencies and
# bases are carried over, and a step costs exactly the catalog hop latency, because the Trn2 figure in
# the catalog (N22, ~1-2 us per hop) is itself the per-step latency of the runtime's ring.
NEURON = Library(
    name="neuron",
    protocols=(
        Protocol("small", eff=0.36, base=5.9e-6, hop_scale=1.0),
        Protocol("bulk", eff=0.76, base=29.0e-6, hop_scale=1.0),
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
_FIT = (
    "fitted on the gpu_collective dev rows the predictor supports: NCCL 2.29 all-reduce/all-gather/"
    "reduce-scatter/all-to-all at 8 KiB-256 MiB on 4 and 8 H100/H200 (aiconfigurator), NCCL 2.27 16 GiB "
    "Ring and NVLS all-reduce on 8 H200 (ml-engineering), 4-node p5en ring, nvbandwidth D2D"
)

# Provenance and explanation of every constant above (shown by `trnsim collective constants`).
PROVENANCE: dict[str, tuple[str, str]] = {
    "nccl.LL.eff": (
        _FIT,
        "LL sends 4 B of payload with a 4 B flag per 8 B word, so at most 0.5 of the link carries data; "
        "the fit lands at 0.36 (flag polling by a few warps does not saturate NVLink)",
    ),
    "nccl.LL.base": (_FIT, "kernel launch + first handshake of a collective call (dominates at 8 KiB)"),
    "nccl.LL.hop_scale": (
        _FIT,
        "a ring step costs this many catalog hop latencies. 0.35 x the catalog's 2 us (assumed) NVLink "
        "latency = 0.7 us per step, what the 4- vs 8-rank small-message rows show: the catalog value is an "
        "upper bound of an NVSwitch hop rather than NCCL's per-step cost",
    ),
    "nccl.Simple.eff": (
        _FIT,
        "bulk copies through SM-driven FIFOs reach ~3/4 of the NVLink line rate (nvbandwidth's copy "
        "engines reach 0.88)",
    ),
    "nccl.Simple.base": (_FIT, "fixed cost of the bulk protocol: launch plus pipeline fill with large chunks"),
    "nccl.Simple.hop_scale": (_FIT, "per-step cost of the bulk protocol (chunk handshake, fences) in hop latencies"),
    "nccl.nvls_eff": (
        "read off one row: NCCL 2.27 NVLS all-reduce of 16 GiB on 8 H200, busbw 482 GB/s -> algbw 276 GB/s "
        "= 0.61 of 450 GB/s (ml-engineering); bandwidth only, no latency in it",
        "NVLink SHARP: each GPU sends S into the switch and receives the reduced S (multimem ld_reduce + "
        "multicast st); the switch reduction path runs at ~0.6 of the link",
    ),
    "nccl.nvls_base": (
        _FIT,
        "NVLS setup per call (multicast object sync, memory fences): the 32 MiB all-reduce rows still prefer ring",
    ),
    "nccl.net_eff": (
        "assumed",
        "perftest ib_write_bw reaches ~97% of an EFA adapter's line rate; NCCL's proxy thread and the "
        "aws-ofi plugin lose a few % more. Checked (not fitted) against the 4-node p5en ring row",
    ),
    "neuron.*": (
        "assumed (NCCL's efficiencies and bases; hop_scale 1)",
        "the nccom-test rows are old doc examples of unknown instance and runtime, so nothing is fitted on "
        "them; the Trn2 hop latency in the catalog (N22) already is the runtime's per-step latency",
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
