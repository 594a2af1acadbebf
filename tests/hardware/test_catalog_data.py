"""Consistency tests for the shipped hardware catalog data (chips and systems).

These check the *data*, not the loader: provenance on every number, system totals against
chips x per-chip values, the Trn3-vs-Trn2 launch-claim arithmetic, dense NVIDIA peaks, and that
projected hardware never claims published numbers.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest
from pydantic import BaseModel

import trnsim.hardware
from trnsim.hardware.catalog import Catalog, catalog as builtin_catalog
from trnsim.hardware.quantity import KINDS, Quantity
from trnsim.hardware.specs import SystemSpec

CATALOG_DIR = Path(trnsim.hardware.__file__).parent / "catalog"
CHIP_FILES = sorted((CATALOG_DIR / "chips").glob("*.toml"))
SYSTEM_FILES = sorted((CATALOG_DIR / "systems").glob("*.toml"))

# A `source` that looks like a key of sources.toml: N12, W6b, HW.
SOURCE_KEY = re.compile(r"^(?:[NW]\d+[a-z]?|HW)$")

# Files this catalog is expected to ship (the brief's list); more may be added.
EXPECTED_CHIPS = {
    "trainium1", "inferentia2", "trainium2", "trainium3", "trainium4",
    "a100-40gb", "a100-80gb", "h100-sxm", "h200", "b200", "b300", "gb200", "gb300",
}
EXPECTED_SYSTEMS = {
    "trn1.32xlarge", "inf2.48xlarge", "trn2.48xlarge", "trn2-ultraserver",
    "trn3-ultraserver-gen1", "trn3-ultraserver-gen2", "p4d.24xlarge", "p5.48xlarge",
    "p5en.48xlarge", "p6-b200.48xlarge", "dgx-b300", "gb200-nvl72", "gb300-nvl72",
}


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return builtin_catalog()


def _file_name(path: Path, kind: str) -> str:
    return tomllib.loads(path.read_text(encoding="utf-8"))[kind]["name"]


def iter_quantities(obj: Any, path: str = "") -> Iterator[tuple[str, Quantity]]:
    """Every Quantity inside a spec (resolved references such as chip_spec are skipped)."""
    if isinstance(obj, Quantity):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for name, field in type(obj).model_fields.items():
            if field.exclude:  # core_spec / chip_spec: checked with their own spec
                continue
            yield from iter_quantities(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from iter_quantities(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from iter_quantities(v, f"{path}[{i}]")


def all_specs(cat: Catalog) -> list[tuple[str, str, Any]]:
    return (
        [("chip", n, s) for n, s in cat.chips.items()]
        + [("system", n, s) for n, s in cat.systems.items()]
    )


# ----------------------------------------------------------------------------- loading
@pytest.mark.parametrize("path", CHIP_FILES, ids=lambda p: p.name)
def test_chip_file_loads(cat: Catalog, path: Path) -> None:
    name = _file_name(path, "chip")
    assert name in cat.chips, f"{path.name}: chip {name!r} not in the catalog"
    assert cat.origin[f"chip:{name}"].endswith(path.name)


@pytest.mark.parametrize("path", SYSTEM_FILES, ids=lambda p: p.name)
def test_system_file_loads(cat: Catalog, path: Path) -> None:
    name = _file_name(path, "system")
    assert name in cat.systems, f"{path.name}: system {name!r} not in the catalog"
    spec = cat.systems[name]
    assert spec.chip_spec is not None and spec.chip_spec.name in cat.chips


def test_expected_entries_present(cat: Catalog) -> None:
    assert EXPECTED_CHIPS <= set(cat.chips), EXPECTED_CHIPS - set(cat.chips)
    assert EXPECTED_SYSTEMS <= set(cat.systems), EXPECTED_SYSTEMS - set(cat.systems)


def test_aws_chips_resolve_their_core(cat: Catalog) -> None:
    for name, chip in cat.chips.items():
        if chip.vendor == "aws":
            assert chip.core_spec is not None, name


@pytest.mark.parametrize(
    "kind,alias,name",
    [
        ("chip", "trn1", "trainium1"), ("chip", "inf2", "inferentia2"), ("chip", "trn2", "trainium2"),
        ("chip", "trn3", "trainium3"), ("chip", "trn4", "trainium4"), ("chip", "h100", "h100-sxm"),
        ("chip", "h200", "h200"), ("chip", "b200", "b200"), ("chip", "b300", "b300"),
        ("chip", "a100", "a100-80gb"), ("chip", "gb200", "gb200"), ("chip", "gb300", "gb300"),
        ("system", "p5", "p5.48xlarge"), ("system", "p5en", "p5en.48xlarge"), ("system", "p4d", "p4d.24xlarge"),
        ("system", "gb200", "gb200-nvl72"), ("system", "gb300", "gb300-nvl72"),
        ("system", "hgx-b300", "dgx-b300"), ("system", "trn2-us", "trn2-ultraserver"),
        ("system", "trn3-gen1", "trn3-ultraserver-gen1"), ("system", "trn3-gen2", "trn3-ultraserver-gen2"),
        ("system", "trn3-us-gen2", "trn3-ultraserver-gen2"), ("system", "Trn3 Gen2 UltraServer", "trn3-ultraserver-gen2"),
        ("chip", "gh200", "gh200-144gb"), ("chip", "gh200-sxm", "gh200-144gb"), ("chip", "gh200-hbm3", "gh200-96gb"),
        ("chip", "h800", "h800"), ("chip", "l40s", "l40s"), ("chip", "a100-pcie", "a100-pcie-80gb"),
        ("chip", "a100-pcie-40g", "a100-pcie-40gb"), ("system", "h800", "hgx-h800"), ("system", "gh200", "gh200-nvl2"),
        ("system", "nvidia-l40s", "l40s-node"),
    ],
)
def test_aliases(cat: Catalog, kind: str, alias: str, name: str) -> None:
    assert cat.resolve_name(kind, alias) == name


def test_canonical_names_are_lower_case(cat: Catalog) -> None:
    for kind, name, _ in all_specs(cat):
        assert name == name.lower(), f"{kind} {name}"


# ----------------------------------------------------------------------------- provenance
def test_every_quantity_has_kind_and_source(cat: Catalog) -> None:
    seen = 0
    for kind, name, spec in all_specs(cat):
        for path, q in iter_quantities(spec):
            seen += 1
            assert q.kind in KINDS, f"{kind} {name} {path}: kind {q.kind!r}"
            assert q.source.strip(), f"{kind} {name} {path}: empty source"
            for a in q.alt:
                assert a.source.strip(), f"{kind} {name} {path}: alt without source"
    assert seen > 200  # the walk really visits the catalog


def test_source_keys_exist(cat: Catalog) -> None:
    assert cat.sources, "sources.toml not loaded"
    missing = []
    for kind, name, spec in all_specs(cat):
        for path, q in iter_quantities(spec):
            for src in (q.source, *(a.source for a in q.alt)):
                if SOURCE_KEY.match(src) and src not in cat.sources:
                    missing.append(f"{kind} {name} {path}: {src}")
    assert not missing, missing


def test_free_text_sources_only_for_assumptions(cat: Catalog) -> None:
    """A number that does not cite a source key must be labelled 'assumed'."""
    bad = [
        f"{kind} {name} {path}: {q.source!r} ({q.kind})"
        for kind, name, spec in all_specs(cat)
        for path, q in iter_quantities(spec)
        if not SOURCE_KEY.match(q.source) and q.kind != "assumed"
    ]
    assert not bad, bad


def test_assumptions_are_explained(cat: Catalog) -> None:
    bad = [
        f"{kind} {name} {path}"
        for kind, name, spec in all_specs(cat)
        for path, q in iter_quantities(spec)
        if q.kind == "assumed" and not (q.note and q.note.strip())
    ]
    assert not bad, bad


# ----------------------------------------------------------------------------- totals
def total_gaps(system: SystemSpec) -> list[tuple[str, float, float, float]]:
    """(path, published total, chips x per-chip, relative gap) for every published total."""
    chip = system.chip_
    n = system.num_chips
    rows = []
    for dtype, q in system.totals.peak_flops.items():
        assert dtype in chip.peak_flops, f"{system.name}: total for {dtype} but chip {chip.name} has no {dtype} peak"
        rows.append((f"peak_flops.{dtype}", q.si, n * chip.peak_flops[dtype].si))
    if system.totals.hbm_capacity is not None:
        rows.append(("hbm_capacity", system.totals.hbm_capacity.si, n * chip.hbm_capacity.si))
    if system.totals.hbm_bandwidth is not None:
        rows.append(("hbm_bandwidth", system.totals.hbm_bandwidth.si, n * chip.hbm_bandwidth.si))
    return [(p, t, e, abs(t - e) / e) for p, t, e in rows]


def unexplained_gaps(system: SystemSpec) -> list[str]:
    return [
        f"{system.name} {p}: total {t:.6g} vs {system.num_chips} x per-chip = {e:.6g} (gap {g:.3%} > {system.tolerance:.3%})"
        for p, t, e, g in total_gaps(system)
        if g > system.tolerance and p not in system.total_notes
    ]


SYSTEM_NAMES = sorted(_file_name(p, "system") for p in SYSTEM_FILES)


@pytest.mark.parametrize("name", SYSTEM_NAMES)
def test_totals_match_chips(cat: Catalog, name: str) -> None:
    system = cat.system(name)
    assert not unexplained_gaps(system)
    for p, t, e, g in total_gaps(system):
        # even an explained gap must be small: a 10% gap is a unit or per-chip error, not rounding
        assert g < 0.10, f"{name} {p}: gap {g:.1%}"


@pytest.mark.parametrize("name", SYSTEM_NAMES)
def test_total_notes_refer_to_real_totals(cat: Catalog, name: str) -> None:
    system = cat.system(name)
    paths = {p for p, *_ in total_gaps(system)}
    for key, text in system.total_notes.items():
        assert key in paths, f"{name}: total_notes key {key!r} names no total ({sorted(paths)})"
        assert text.strip()


def test_totals_checker_catches_a_wrong_total(cat: Catalog) -> None:
    """The check above can fail: inflate a total by 5% and drop its note."""
    system = cat.system("trn3-ultraserver-gen2")
    assert not unexplained_gaps(system)
    q = system.totals.peak_flops["bf16"]
    wrong = q.model_copy(update={"value": q.value * 1.05, "si": q.si * 1.05})
    totals = system.totals.model_copy(update={"peak_flops": {**system.totals.peak_flops, "bf16": wrong}})
    broken = system.model_copy(update={"totals": totals, "total_notes": {}})
    assert any("peak_flops.bf16" in msg for msg in unexplained_gaps(broken))


def test_trn2_ultraserver_rounding_gaps_are_noted(cat: Catalog) -> None:
    """42.8 PF / 64 = 669 TF vs 667 TF per chip: a real (small) gap, explained in total_notes."""
    system = cat.system("trn2-ultraserver")
    gaps = {p: g for p, _, _, g in total_gaps(system)}
    assert gaps["peak_flops.bf16"] > system.tolerance
    assert "peak_flops.bf16" in system.total_notes


def test_systems_have_totals_where_the_sheet_lists_them(cat: Catalog) -> None:
    for name in ("trn1.32xlarge", "inf2.48xlarge", "trn2-ultraserver", "trn3-ultraserver-gen1",
                 "trn3-ultraserver-gen2", "gb200-nvl72", "gb300-nvl72"):
        t = cat.system(name).totals
        assert t.peak_flops and t.hbm_capacity is not None and t.hbm_bandwidth is not None, name


# ----------------------------------------------------------------------------- system shape
def test_scale_up_shapes(cat: Catalog) -> None:
    trn2us = cat.system("trn2-ultraserver")
    assert (trn2us.num_chips, trn2us.nodes, trn2us.scale_up.topology, trn2us.scale_up.dims) == (64, 4, "torus3d", (4, 4, 4))
    g1 = cat.system("trn3-ultraserver-gen1")
    assert (g1.num_chips, g1.nodes, g1.scale_up.topology) == (64, 4, "switch")
    g2 = cat.system("trn3-ultraserver-gen2")
    assert (g2.num_chips, g2.nodes, g2.scale_up.topology, g2.scale_up.group_size) == (144, 36, "switch2", 4)
    for name in ("gb200-nvl72", "gb300-nvl72"):
        s = cat.system(name)
        assert (s.num_chips, s.nodes, s.scale_up.domain_size, s.scale_up.topology) == (72, 18, 72, "nvswitch")
        assert s.scale_up.in_network_reduction


def test_system_link_bandwidth_within_chip_bandwidth(cat: Catalog) -> None:
    for name, s in cat.systems.items():
        assert s.scale_up.bandwidth_per_chip.si <= s.chip_.scale_up_bandwidth.si * 1.001, name


def test_nvlink_bandwidth_is_one_direction(cat: Catalog) -> None:
    # 900 GB/s bidirectional NVLink4 = 450 per direction; 1.8 TB/s NVLink5 = 900; 600 NVLink3 = 300
    expect = {"a100-40gb": 300, "a100-80gb": 300, "h100-sxm": 450, "h200": 450,
              "b200": 900, "b300": 900, "gb200": 900, "gb300": 900,
              "gh200-144gb": 450, "gh200-96gb": 450, "h800": 200,  # H800: 400 GB/s bidirectional
              "a100-pcie-80gb": 32, "a100-pcie-40gb": 32, "l40s": 32}  # PCIe Gen4 x16: 64 GB/s bidirectional
    for name, gbs in expect.items():
        assert cat.chip(name).scale_up_bandwidth.to("GB/s") == pytest.approx(gbs), name


def test_no_invented_trn3_price(cat: Catalog) -> None:
    for name in ("trn3-ultraserver-gen1", "trn3-ultraserver-gen2"):
        p = cat.system(name).price
        assert p.on_demand is None and p.reserved is None and p.capacity_block is None, name


# ----------------------------------------------------------------------------- launch claims (hardware.md §4)
def test_trn3_launch_claim_compute(cat: Catalog) -> None:
    g2, t2 = cat.system("trn3-ultraserver-gen2"), cat.system("trn2-ultraserver")
    published = g2.totals.peak_flops["mxfp8"].si / t2.totals.peak_flops["fp8"].si
    from_chips = g2.num_chips * g2.chip_.peak_flops["mxfp8"].si / (t2.num_chips * t2.chip_.peak_flops["fp8"].si)
    assert published == pytest.approx(4.36, rel=0.01)
    assert from_chips == pytest.approx(4.36, rel=0.01)


def test_trn3_launch_claim_memory_bandwidth(cat: Catalog) -> None:
    g2, t2 = cat.system("trn3-ultraserver-gen2"), cat.system("trn2-ultraserver")
    assert g2.totals.hbm_bandwidth.si / t2.totals.hbm_bandwidth.si == pytest.approx(3.80, rel=0.01)
    assert g2.total_hbm_bandwidth() / t2.total_hbm_bandwidth() == pytest.approx(3.80, rel=0.01)


def test_trn3_launch_claim_memory_capacity(cat: Catalog) -> None:
    g2, t2 = cat.system("trn3-ultraserver-gen2"), cat.system("trn2-ultraserver")
    assert g2.totals.hbm_capacity.to("GiB") == pytest.approx(20736)
    assert t2.totals.hbm_capacity.to("GiB") == pytest.approx(6144)
    assert g2.totals.hbm_capacity.si / t2.totals.hbm_capacity.si == pytest.approx(3.375, rel=0.01)
    assert g2.total_hbm_capacity() / t2.total_hbm_capacity() == pytest.approx(3.375, rel=0.01)


def test_trn3_plain_fp8_is_half_of_mx(cat: Catalog) -> None:
    trn3 = cat.chip("trn3")
    assert trn3.peak_flops["mxfp8"].to("TFLOPS") == pytest.approx(2517)
    assert trn3.peak_flops["mxfp4"].to("TFLOPS") == pytest.approx(2517)
    assert trn3.peak_flops["fp8"].to("TFLOPS") == pytest.approx(1258, rel=0.01)
    assert trn3.peak_flops["fp8"].kind == "derived"


# ----------------------------------------------------------------------------- NVIDIA peaks are dense
@pytest.mark.parametrize(
    "name,bf16,fp8,fp4",
    [
        ("a100-40gb", 312, None, None), ("a100-80gb", 312, None, None),
        ("h100-sxm", 989, 1979, None), ("h200", 989, 1979, None),
        ("b200", 2250, 4500, 9000), ("gb200", 2500, 5000, 10000),
        ("b300", 2250, 4500, 13500), ("gb300", 2500, 5000, 15000),
        ("gh200-144gb", 989, 1979, None), ("gh200-96gb", 989, 1979, None), ("h800", 989, 1979, None),
        ("l40s", 362, 733, None), ("a100-pcie-80gb", 312, None, None), ("a100-pcie-40gb", 312, None, None),
    ],
)
def test_gpu_peaks_are_dense(cat: Catalog, name: str, bf16: float, fp8: float | None, fp4: float | None) -> None:
    chip = cat.chip(name)
    assert chip.peak_flops["bf16"].to("TFLOPS") == pytest.approx(bf16, rel=0.005)
    if fp8 is None:
        assert "fp8" not in chip.peak_flops
    else:
        assert chip.peak_flops["fp8"].to("TFLOPS") == pytest.approx(fp8, rel=0.005)
    if fp4 is not None:
        assert chip.peak_flops["fp4"].to("TFLOPS") == pytest.approx(fp4, rel=0.005)


def test_gpu_sm_counts(cat: Catalog) -> None:
    expect = {"h100-sxm": 132, "h200": 132, "b200": 148, "b300": 160, "gb200": 148, "gb300": 160, "a100-80gb": 108,
              "gh200-144gb": 132, "h800": 132, "a100-pcie-80gb": 108, "l40s": 142}
    for name, sms in expect.items():
        assert cat.chip(name).cores == sms, name


def test_gpu_fp32_is_not_the_bf16_rate(cat: Catalog) -> None:
    """Every GPU has an fp32 peak well below bf16, so fp32 work never falls back to the BF16 rate."""
    for name, chip in cat.chips.items():
        if chip.vendor == "nvidia":
            # < 0.3: Ada (L40S) has strong FP32 CUDA cores, 91.6 vs 362 TF dense BF16 (0.25)
            assert chip.flops("fp32") < 0.3 * chip.flops("bf16"), name


# ----------------------------------------------------------------------------- projected hardware
def test_projected_entries_never_published(cat: Catalog) -> None:
    projected = [(k, n, s) for k, n, s in all_specs(cat) if s.status == "projected"]
    assert any(n == "trainium4" for _, n, _ in projected)
    for kind, name, spec in projected:
        for path, q in iter_quantities(spec):
            assert q.kind in ("projected", "assumed"), f"{kind} {name} {path} is {q.kind}"


def test_trainium4_ratios(cat: Catalog) -> None:
    trn4, trn3 = cat.chip("trn4"), cat.chip("trn3")
    assert trn4.status == "projected"
    assert trn4.peak_flops["mxfp4"].si >= 6 * trn3.peak_flops["mxfp4"].si * 0.999
    assert trn4.peak_flops["mxfp8"].si == pytest.approx(3 * trn3.peak_flops["mxfp8"].si, rel=0.001)
    assert trn4.hbm_bandwidth.si == pytest.approx(4 * trn3.hbm_bandwidth.si, rel=0.001)
    assert trn4.hbm_capacity.kind == "assumed"
    assert "nvlink" in trn4.scale_up_technology.lower()
    for dtype, q in trn4.peak_flops.items():
        assert q.kind in ("projected", "assumed"), dtype
