"""User catalog files: loading by path, and one-line errors for bad files (with fuzzing)."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trnsim.errors import TrnsimError
from trnsim.hardware import load_chip, load_file, load_system
from trnsim.hardware import units

GOOD = """
[chip]
name = "mychip"
vendor = "aws"
family = "trainium"
generation = "custom"
cores = 8
core = "neuroncore-v3"
peak_flops = { bf16 = { value = 700, unit = "TFLOPS", kind = "assumed", source = "my notes" } }
hbm_capacity = { value = 128, unit = "GiB", kind = "assumed", source = "my notes" }
hbm_bandwidth = { value = 4, unit = "TB/s", kind = "assumed", source = "my notes" }
scale_up_bandwidth = { value = 1, unit = "TB/s", kind = "assumed", source = "my notes" }

[system]
name = "mysystem"
vendor = "aws"
chip = "mychip"
num_chips = 32
nodes = 2

[system.scale_up]
technology = "NeuronLink"
domain_size = 16
topology = "torus2d"
dims = [4, 4]
bandwidth_per_chip = { value = 1, unit = "TB/s", kind = "assumed", source = "my notes" }
latency = { value = 2, unit = "us", kind = "assumed", source = "my notes" }
"""


def write(tmp_path: Path, text: str, name: str = "hw.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_user_file_loads_and_resolves_chip_and_core(tmp_path):
    p = write(tmp_path, GOOD)
    sys_ = load_system(str(p))
    assert sys_.name == "mysystem" and sys_.num_chips == 32 and sys_.chips_per_node == 16
    assert sys_.chip_.hbm_bandwidth.si == pytest.approx(4e12)
    assert sys_.chip_.core_spec is not None and sys_.chip_.core_spec.version == 3
    assert load_chip(p).name == "mychip"
    assert sys_.total_flops("bf16") == pytest.approx(32 * 700e12)


def test_user_system_can_reference_builtin_chip(tmp_path):
    text = GOOD.split("[system]")[1].replace('chip = "mychip"', 'chip = "trainium2"')
    sys_ = load_system(write(tmp_path, "[system]" + text))
    assert sys_.chip_.name == "trainium2"


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ('hbm_bandwidth = { value = 4, unit = "TB/s", kind = "assumed", source = "my notes" }\n', "",
         "missing field 'chip.hbm_bandwidth'"),
        ('hbm_bandwidth = { value = 4,', 'hbm_bandwidth = { value = -4,', "chip.hbm_bandwidth': must be > 0"),
        ('value = 4, unit = "TB/s"', 'value = 4, unit = "TB/sec"', "unknown unit 'TB/sec'"),
        ('chip = "mychip"', 'chip = "nochip"', "unknown chip 'nochip'"),
        ('unit = "GiB"', 'unit = "GB/s"', "is a bandwidth unit; this field needs bytes"),
        ('kind = "assumed", source = "my notes" }\nhbm_bandwidth', 'kind = "guessed", source = "my notes" }\nhbm_bandwidth',
         "chip.hbm_capacity.kind"),
        ("dims = [4, 4]", "dims = [4, 8]", "multiply to 32, not domain_size 16"),
        ("num_chips = 32", "num_chips = 33", "not a multiple of nodes"),
        ('core = "neuroncore-v3"', 'core = "neuroncore-v9"', "unknown core 'neuroncore-v9'"),
        ("cores = 8", "cores = 8\nflux = 3", "unknown field 'chip.flux'"),
    ],
)
def test_bad_files_give_one_line_errors_naming_file_and_field(tmp_path, old, new, expect):
    assert old in GOOD
    p = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(TrnsimError) as ei:
        load_system(p)
    msg = str(ei.value)
    assert expect in msg
    assert str(p) in msg
    assert "\n" not in msg


def test_malformed_toml_and_missing_file(tmp_path):
    with pytest.raises(TrnsimError, match="not valid TOML"):
        load_file(write(tmp_path, "[chip\nname = 1"))
    with pytest.raises(TrnsimError, match="file not found"):
        load_file(tmp_path / "absent.toml")
    with pytest.raises(TrnsimError, match="is a folder"):
        load_file(tmp_path)
    with pytest.raises(TrnsimError, match="unknown top-level table"):
        load_file(write(tmp_path, "[gpu]\nname='x'"))
    with pytest.raises(TrnsimError, match="no \\[core\\], \\[chip\\] or \\[system\\]"):
        load_file(write(tmp_path, ""))


def test_unit_conversions():
    assert units.to_si(3200, "Gbps") == pytest.approx(400e9)
    assert units.to_si(820, "GiB/s") == pytest.approx(820 * 2**30)
    assert units.to_si(23, "B/ns") == pytest.approx(23e9)
    assert units.from_si(2**30, "GiB") == 1.0


# ---- fuzzing: any mutation of a valid file either loads or fails with a one-line TrnsimError
BASE = tomllib.loads(GOOD)
_PATHS = [
    ("chip", "cores"), ("chip", "hbm_capacity"), ("chip", "hbm_bandwidth"), ("chip", "peak_flops"),
    ("chip", "vendor"), ("chip", "core"), ("chip", "name"), ("system", "num_chips"), ("system", "chip"),
    ("system", "scale_up"), ("system", "nodes"),
]
_values = st.one_of(
    st.none(), st.integers(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.lists(st.integers(-3, 5), max_size=3),
    st.fixed_dictionaries({"value": st.floats(-5, 5), "unit": st.sampled_from(["GB", "TB/s", "W", "parsec", ""]),
                           "kind": st.sampled_from(["published", "assumed", "magic"]), "source": st.text(max_size=3)}),
)


def _dump(d: dict) -> str:
    import json

    def val(v):
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            if v != v:
                return "nan"
            if v in (float("inf"), float("-inf")):
                return "inf" if v > 0 else "-inf"
            return repr(v)
        if isinstance(v, int):
            return str(v)
        return json.dumps(v)

    lines = []
    for section, body in d.items():
        lines.append(f"[{section}]")
        for k, v in body.items():
            lines.append(f"{k} = {val(v)}")
    return "\n".join(lines) + "\n"


@given(st.lists(st.tuples(st.sampled_from(_PATHS), _values), min_size=1, max_size=3))
def test_fuzzed_files_never_crash(tmp_path_factory, mutations):
    d = copy.deepcopy(BASE)
    for (section, key), value in mutations:
        if value is None:
            d[section].pop(key, None)
        else:
            d[section][key] = value
    p = tmp_path_factory.mktemp("fuzz") / "f.toml"
    p.write_text(_dump(d))
    try:
        load_file(p)
    except TrnsimError as e:
        assert "\n" not in str(e) and str(p) in str(e)


def test_node_system_for_chip_is_the_smallest_system_built_from_it():
    from trnsim.hardware import load_chip
    from trnsim.hardware.resolve import node_system_for_chip

    assert node_system_for_chip(load_chip("h100-sxm")).name == "p5.48xlarge"
    assert node_system_for_chip(load_chip("trainium2")).name == "trn2.48xlarge"  # not the 4-node UltraServer
    assert node_system_for_chip(load_chip("gb200")).name == "gb200-nvl72"
    a100 = node_system_for_chip(load_chip("a100-80gb"))  # never a system built from another chip
    assert a100 is None or a100.chip == "a100-80gb"
