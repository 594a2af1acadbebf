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

Neuron systems do not use that form: :class:`NeuronRuntime` (used by :mod:`trnsim.network.neuron`)
models ranks as NeuronCores whose CC-cores drive DMA rings, a per-collective launch floor and per-step
DMA fixed costs; its constants follow the same provenance rules.
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

@dataclass(frozen=True, slots=True)
class NeuronRuntime:
    """How the Neuron runtime runs a collective (see :mod:`trnsim.network.neuron`).

    Ranks are NeuronCores. Each rank's CC-cores drive pre-built DMA rings: the rank moves its bytes at
    ``cc_cores_per_rank x dma_per_cc x`` the catalog's effective per-engine DMA rate. A collective pays
    ``launch`` once, and every algorithm step pays the catalog's DMA fixed cost (semaphore-to-start)
    plus the wire latency of the hop it crosses: none inside a chip, the NeuronLink hop latency between
    chips, the EFA latency plus ``net_step`` between nodes.
    """

    name: str
    launch: float  # s per collective: Collectives-Engine start, start/finish handshake with the engines
    net_step: float  # s per inter-node step on top of the EFA latency (host network proxy)
    dma_per_cc: float  # DMA engines' worth of bandwidth one CC-core's ring moves
    net_eff: float  # fraction of the EFA line rate the runtime reaches
    busy_dma_share: float  # share of a DMA engine a CC ring keeps while compute traffic runs on it
    # CC-cores per chip by chip generation (hardware.md 1a)
    cc_cores: tuple[tuple[str, int], ...] = ()
    # busy_dma_share by chip generation where the runtime's DMA arbitration differs (else busy_dma_share)
    busy_dma_shares: tuple[tuple[str, float], ...] = ()

    def cc_cores_per_chip(self, generation: str) -> int:
        return dict(self.cc_cores).get(generation, 0)

    def busy_share(self, generation: str | None) -> float:
        """Share of a DMA engine a CC ring keeps while compute DMA traffic runs, for a chip generation."""
        return dict(self.busy_dma_shares).get(generation or "", self.busy_dma_share)


NEURON = NeuronRuntime(
    name="neuron",
    launch=57e-6,
    net_step=200e-6,
    dma_per_cc=1.0,
    net_eff=0.92,
    busy_dma_share=0.5,
    cc_cores=(("trn1", 6), ("inf2", 6), ("trn2", 16), ("trn3", 16), ("trn4", 16)),
    # round-robin at packet boundaries between a CC ring's 64 KiB packets and a compute ring's 4 KiB
    # packets (the runtime's documented defaults): the CC ring keeps 64 / (64 + 4) of the engine
    busy_dma_shares=(("trn2", 64 / 68), ("trn3", 64 / 68), ("trn4", 64 / 68)),
)

TOPO = Topo()

LIBRARIES: dict[str, "Library | NeuronRuntime"] = {"nccl": NCCL, "neuron": NEURON}

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
    "neuron.launch": (
        "read off NRN-CC-001..004 (nccom-test 2-rank all-reduce on one Trn1 chip: 58 us flat from 1 to 64 KiB "
        "= launch + one on-chip step of 1.3 us, single-step mesh)",
        "per-collective runtime floor: the Collectives Engine starts the collective's program and hands "
        "completion back to the engines. It is the floor the Neuron serving rows (Transformers-NeuronX, "
        "SDK 2.1x) and Trn1 training rows need too. Newer runtimes cut it (2.27: 'overhead of reprogramming the "
        "Collectives Engine reduced up to 100x'): the newer all-gather examples NRN-CC-024..031 finish in "
        "6-15 us, which this value over-predicts 4-9x",
    ),
    "neuron.net_step": (
        "read off NRN-CC-018 (8-byte all-reduce over 2 trn1 nodes, 520 us = launch + on-node mesh "
        "reduce-scatter/all-gather + 2 inter-node steps)",
        "each inter-node step goes through the host's network proxy thread (NEURON_RT_ONE_THREAD_PER_CORE "
        "'up to 2x' better collective latency) on top of the 15 us EFA HBM-to-HBM latency (N21)",
    ),
    "neuron.dma_per_cc": (
        "assumed (1: one DMA ring per CC-core, served by one DMA engine at the catalog's effective rate, N15/N16)",
        "a rank moves bytes at cc_cores_per_rank x dma_per_cc x engine rate: Trn1 3 x 17 B/ns = 51 GB/s "
        "(checked, not fitted: NRN-CC-009..011 measure 57 GB/s for 2 ranks on one chip, NRN-CC-022/023 "
        "busbw 48-51 GB/s over 64 ranks); Trn2 at LNC=2 4 x 23 B/ns = 92 GB/s (NRN-CC-017, N31: the only published Trn2 bandwidth, a 16-rank KangaRing all-reduce, busbw 104 GB/s at 512 MiB). No Neuron document gives a Trn2/Trn3 collective near the NeuronLink rate or more DMA engines per CC ring",
    ),
    "neuron.net_eff": (
        "assumed (as nccl.net_eff)",
        "fraction of the EFA line rate reached by the runtime's RDMA transfers",
    ),
    "neuron.busy_dma_share": (
        "assumed for Trn1/Inf2 (1/2: DMA engines round-robin between rings at packet boundaries, N30); "
        "checked, not fitted, against NRN-TRN-* (Trn1, SDK 2.1x): scanning a TP slowdown of 1-3x on top of the "
        "idle rate, the rows prefer 1.5-2.5x",
        "inside a compiled training/inference step a CC ring shares its engine with the graph's own DMA "
        "traffic ('communication operations may also experience performance degradation due to time-sharing "
        "of DMA engine resources', N30); nccom-test runs alone (busy=False). Generations listed under "
        "neuron.busy_dma_shares override it",
    ),
    "neuron.busy_dma_shares": (
        "derived for Trn2/Trn3/Trn4 from N30 (compute-comm-overlap.rst, the runtime of the LNC=2 generations): "
        "an engine serves up to 16 rings round-robin and switches only at packet boundaries; default packet "
        "sizes are 4 KiB for compute DMA rings (NEURON_RT_DBG_DMA_PACKETIZATION_SIZE) and 64 KiB for CC "
        "copies (NEURON_RT_DBG_CC_DMA_PACKET_SIZE), so against one busy compute ring a CC ring keeps "
        "64/(64+4) = 0.94 of the engine (assumption: one competing compute ring; k rings give 64/(64+4k)). "
        "Trn3 DMA engines add strict-priority arbitration (N30, N14 traffic shaping), so 0.94 is a lower "
        "bound there; Trn4 assumed as Trn3. Not fitted; corroborated by N32/N33 (trn2 TTFT: the TP "
        "all-reduces of a 10k-token prefill run near the idle nccom-test rate)",
        "with the documented default packet sizes the runtime favours CC copies over compute traffic; N30's "
        "tuned TP x FSDP recipe (compute raised to 64 KiB, FSDP stream lowered to 4 KiB) keeps the TP stream "
        "at parity with compute (1/2 against one compute ring) and is not modelled",
    ),
    "neuron.cc_cores": (
        "read off hardware.md 1a: 6 per Trn1/Inf2 chip (N12), 16 per Trn2/Trn3 chip (N3, N4; 20 in N13/N14, "
        "conflict 3; 16 = 'two CC cores per physical Neuron core', compute-comm-overlap.rst); Trn4 assumed as Trn3",
        "CC-cores orchestrate the collective's DMA rings; a rank uses its own cores' CC-cores",
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
        if isinstance(lib, NeuronRuntime):
            for f in ("launch", "net_step", "dma_per_cc", "net_eff", "busy_dma_share"):
                key = f"{lib.name}.{f}"
                prov, why = PROVENANCE[key]
                out.append({"name": key, "value": getattr(lib, f), "provenance": prov, "why": why})
            prov, why = PROVENANCE[f"{lib.name}.busy_dma_shares"]
            for gen, v in lib.busy_dma_shares:
                out.append({"name": f"{lib.name}.busy_dma_shares.{gen}", "value": round(v, 4), "provenance": prov,
                            "why": why})
            prov, why = PROVENANCE[f"{lib.name}.cc_cores"]
            for gen, n in lib.cc_cores:
                out.append({"name": f"{lib.name}.cc_cores.{gen}", "value": n, "provenance": prov, "why": why})
            continue
        for p in lib.protocols:
            for f in ("eff", "base", "hop_scale"):
                key = f"{lib.name}.{p.name}.{f}"
                prov, why = PROVENANCE[key]
                out.append({"name": key, "value": getattr(p, f), "provenance": prov, "why": why})
        for f in ("nvls_eff", "nvls_base", "net_eff"):
            key = f"{lib.name}.{f}"
            prov, why = PROVENANCE[key]
            out.append({"name": key, "value": getattr(lib, f), "provenance": prov, "why": why})
    for f in fields(Topo):
        key = f"topo.{f.name}"
        prov, why = PROVENANCE[key]
        out.append({"name": key, "value": getattr(TOPO, f.name), "provenance": prov, "why": why})
    return out
