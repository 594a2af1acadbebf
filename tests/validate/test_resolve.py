"""Free-text hardware names of ground-truth rows -> catalog chips and systems."""

from __future__ import annotations

import pytest

from trnsim.validate.resolve import chip_for_text, system_for_text


@pytest.mark.parametrize(
    "text,expect",
    [
        ("A100-PCIe", "a100-pcie-80gb"),  # the full text wins over the "a100" prefix (the SXM4 80GB part)
        ("A100 PCIe", "a100-pcie-80gb"),
        ("A100", "a100-80gb"),
        ("GH200 SXM (900W,141GB)", "gh200-144gb"),
        ("GH200", "gh200-144gb"),
        ("H800", "h800"),
        ("L40S", "l40s"),
        ("H100 SXM", "h100-sxm"),
        ("h200_sxm", "h200"),
        ("Trainium1 (1 NeuronCore-v2)", "trainium1"),
        ("MI300X", None),
    ],
)
def test_chip_for_text(text: str, expect: str | None) -> None:
    chip = chip_for_text(text)
    assert (chip.name if chip else None) == expect


@pytest.mark.parametrize(
    "text,expect",
    [
        ("NVIDIA_L40S_n16", "l40s-node"),  # hyphen prefixes of the first word: nvidia-l40s-n16 -> nvidia-l40s
        ("NVIDIA_L40S_n96", "l40s-node"),
        ("H800 nodes (NVLink ~160GB/s, CX7 400Gb/s IB per GPU)", "hgx-h800"),
        ("NVIDIA GH200 NVL2 Platform (1x GH200-144GB_aarch64, TensorRT)", "gh200-nvl2"),
        ("trn1.32xlarge", "trn1.32xlarge"),
        ("p5en.48xlarge", "p5en.48xlarge"),
        ("1xXE9680x8MI300X", None),
    ],
)
def test_system_for_text(text: str, expect: str | None) -> None:
    system = system_for_text(text)
    assert (system.name if system else None) == expect
