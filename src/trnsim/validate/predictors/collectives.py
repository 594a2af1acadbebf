"""Predictors for ``gpu_collective`` (NCCL busbw/latency, nvbandwidth) and ``neuron_collective``
(nccom-test) rows, through :func:`trnsim.network.collective_time`.

A row's free-text system is resolved to a catalog system by :func:`resolve_system`; rows whose
system is not in the catalog, or whose measurement is not a library collective (DeepEP kernels,
host PCIe copies, a single NIC's line rate), raise :class:`NotSupported` with the reason.
"""

from __future__ import annotations

import re

from trnsim.errors import TrnsimError
from trnsim.network.collectives import parse_size
from trnsim.validate.registry import NotSupported, Prediction, register
from trnsim.validate.rows import GroundTruthRow

# (pattern over "system accelerator" text, catalog system) — first match wins; order matters.
# Names are bounded by non-alphanumerics (so "b200_sxm" matches b200 but "gb200" does not).
_B = r"(?<![a-z0-9])"
_E = r"(?![a-z0-9])"
_SYSTEM_PATTERNS: tuple[tuple[str, str | None], ...] = (
    # H800/H20 (export parts, other NVLink) are left unmapped: no H20 system in the catalog, and hgx-h800
    # is not used for collectives (the dev H800 rows are DeepEP kernels, which no library model predicts)
    (rf"{_B}h800{_E}|{_B}h20{_E}", None),
    (rf"{_B}gb300|nvl72.*{_B}b300|{_B}b300.*nvl72", "gb300-nvl72"),
    (rf"{_B}gb200|nvl72|p6e", "gb200-nvl72"),
    (rf"{_B}b300{_E}|dgx[- _]?b300", "dgx-b300"),
    (rf"{_B}b200{_E}|p6-b200", "p6-b200.48xlarge"),
    (rf"p5en|p5e\.|{_B}h200", "p5en.48xlarge"),
    (rf"{_B}p5\.48|{_B}h100", "p5.48xlarge"),
    (rf"{_B}p4de?\.|{_B}a100", "p4d.24xlarge"),
    (r"trn3.*gen ?2|trainium3.*gen ?2", "trn3-ultraserver-gen2"),
    (r"trn3|trainium3", "trn3-ultraserver-gen1"),
    (r"trn2.*ultraserver|trn2-ultra|ultraserver.*trn2", "trn2-ultraserver"),
    (r"trn2|trainium2|kangaring", "trn2.48xlarge"),
    (r"trn1|trainium1|trainium \(gen not stated\)", "trn1.32xlarge"),
    (r"inf2|inferentia2", "inf2.48xlarge"),
)


def resolve_system(text: str) -> str:
    """Catalog system name for a row's system/accelerator text; NotSupported if none fits."""
    t = text.lower()
    for pat, name in _SYSTEM_PATTERNS:
        if re.search(pat, t):
            if name is None:
                raise NotSupported(f"H800/H20 collectives are not mapped to a catalog system ({text!r})")
            return name
    raise NotSupported(f"cannot map system {text!r} to a catalog system")


def _load(name: str):
    from trnsim.hardware import load_system

    try:
        return load_system(name)
    except TrnsimError as e:
        raise NotSupported(f"catalog system {name!r} not available: {e}") from None


def _size(row: GroundTruthRow) -> float:
    for key in ("size_bytes", "size", "bytes", "nbytes", "message_size", "msg_size"):
        v = row.cfg(key)
        if v:
            try:
                return parse_size(v)
            except TrnsimError:
                raise NotSupported(f"cannot read message size {v!r}") from None
    raise NotSupported("row has no message size (size_bytes/size)")


def _to_row_unit(row: GroundTruthRow, seconds: float, busbw: float, algbw: float) -> float:
    unit = row.unit.strip()
    metric = row.metric.lower()
    if metric in ("latency", "time", "time_avg", "time_mean"):
        f = {"us": 1e6, "ms": 1e3, "s": 1.0, "ns": 1e9}.get(unit)
        if f is None:
            raise NotSupported(f"unit {unit!r} for a time")
        return seconds * f
    if metric in ("busbw", "bandwidth", "algbw"):
        bw = algbw if metric == "algbw" or metric == "bandwidth" else busbw
        f = {"GB/s": 1e-9, "Gb/s": 8e-9, "MB/s": 1e-6, "TB/s": 1e-12}.get(unit)
        if f is None:
            raise NotSupported(f"unit {unit!r} for a bandwidth")
        return bw * f
    raise NotSupported(f"metric {row.metric!r} not predicted")


def _predict(row: GroundTruthRow, *, neuron: bool, library=None) -> Prediction:
    from trnsim.network import Group, Topology, collective_time, normalize_kind

    system = _load(resolve_system(f"{row.system} {row.accelerator} {row.model_or_kernel}"))
    what = row.model_or_kernel.lower()
    op = row.cfg("op")
    both = 1.0  # bidirectional bandwidth rows count both directions
    notes: list[str] = [f"system {system.name}"]
    if op is None:
        if "nvbandwidth" in what and "device_to_device" in what:
            op = "send-recv"
            size = 512 * 2**20  # nvbandwidth's default buffer
            notes.append("nvbandwidth D2D copy as a 512 MiB send/recv")
            if "bidir" in (row.cfg("direction") or "").lower():
                both = 2.0
        elif "deepep" in what:
            raise NotSupported("DeepEP dispatch/combine is a custom MoE kernel, not a library collective")
        elif "host_to_device" in what or "h2d" in what:
            raise NotSupported("host-device PCIe copies: the catalog has no host link")
        elif "ib_write_bw" in what:
            raise NotSupported("single-adapter RDMA line rate: the catalog lists only per-node totals")
        else:
            raise NotSupported(f"no collective op in row ({row.model_or_kernel!r})")
    else:
        size = _size(row)
    try:
        kind = normalize_kind(op)
    except TrnsimError:
        raise NotSupported(f"collective {op!r} not modelled") from None

    ranks = row.cfg_int("ranks") or row.num_accelerators or 2
    nodes = row.cfg_int("nodes") or 1
    if ranks < 1 or nodes < 1:
        raise NotSupported(f"ranks={ranks}, nodes={nodes}: both must be positive")
    per_chip = 1
    if neuron:
        # ranks are NeuronCores: the runtime's default logical cores per chip (2 on Trn1/Inf2, 4 on
        # Trn2/Trn3 at LNC=2, N20) share one chip; a permute pairs neighbouring ranks (N21), which
        # sit on one chip when a chip holds several ranks
        probe = Topology.from_system(system)
        per_chip = max(1, probe.ranks_per_chip)
        if kind == "send-recv":
            ranks = 2
        per_chip = min(per_chip, -(-ranks // nodes))  # a node's ranks fill its own chips
        chips = -(-ranks // per_chip)
        notes.append(f"{ranks} ranks = {chips} chip{'s' if chips > 1 else ''} ({per_chip} NeuronCores per chip)")
    else:
        chips = ranks
    cluster = max(chips, nodes * system.num_chips) if nodes > 1 else max(chips, system.num_chips)
    try:
        topo = Topology.from_system(system, chips=cluster)
    except TrnsimError as e:
        raise NotSupported(str(e)) from None
    per_domain = None
    if nodes > 1:
        per_domain = min(topo.domain_size, -(-chips // nodes))
    group = Group(ranks if neuron else chips, per_domain=per_domain, per_chip=min(per_chip, ranks))
    algo = (row.cfg("algo") or row.cfg("algorithm") or "").lower() or None
    forced = {"nvls": "direct", "ring": "ring", "tree": "tree", "mesh": "direct", "rdh": "tree",
              "kangaring": "ring", "nvlstree": "hierarchical"}.get(algo or "")
    try:
        r = collective_time(kind, size, group, topo, algorithm=forced, library=library)
    except TrnsimError:
        r = collective_time(kind, size, group, topo, library=library)
        notes.append(f"algorithm {algo!r} does not apply in the model; chose the fastest")
    value = _to_row_unit(row, r.time, r.busbw * both, r.algbw * both)
    notes.append(f"{r.algorithm}/{r.protocol}, {r.time * 1e6:.1f} us, busbw {r.busbw / 1e9:.1f} GB/s")
    return Prediction(value=value, method=f"alpha-beta {r.algorithm}", note="; ".join(notes))


@register("gpu_collective", name="alpha-beta-collectives", rank=10)
def predict_gpu(row: GroundTruthRow) -> Prediction:
    return _predict(row, neuron=False)


@register("neuron_collective", name="alpha-beta-collectives", rank=10)
def predict_neuron(row: GroundTruthRow) -> Prediction:
    return _predict(row, neuron=True)
