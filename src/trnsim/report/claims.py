"""The AWS Trainium3 launch claims, checked against the catalog and (where given) simulated results."""

from __future__ import annotations

from dataclasses import dataclass

from trnsim.hardware import load_system
from trnsim.hardware.compare import system_values


@dataclass(frozen=True)
class Claim:
    claim: str  # as worded in the press
    source: str  # catalog source keys of the wording
    claimed: float | None  # the claimed ratio
    checked: float | None  # what trnsim finds
    basis: str  # how it was checked
    verdict: str  # "consistent", "overstated", "understated", "not checkable"
    note: str = ""


def _verdict(claimed: float, checked: float | None, tol: float = 0.1) -> str:
    if checked is None:
        return "not checkable"
    r = checked / claimed
    if r < 1 - tol:
        return "overstated"
    if r > 1 + tol:
        return "understated"
    return "consistent"


def catalog_claims(trn3: str = "trn3-ultraserver-gen2", trn2: str = "trn2-ultraserver") -> list[Claim]:
    """Compute, memory-bandwidth and memory-capacity claims vs the Neuron specs in the catalog."""
    sa, sb = load_system(trn3), load_system(trn2)
    a, b = system_values(sa), system_values(sb)
    ca, cb = sa.chip_, sb.chip_
    out = []
    lp_a, dt_a = a["flops_low_precision"]
    lp_b, dt_b = b["flops_low_precision"]
    r = lp_a / lp_b if lp_a and lp_b else None
    out.append(Claim("up to 4.4x more compute than Trn2 UltraServers", "W2, W3, W5", 4.4, r,
                     f"dense {dt_a.upper()} total of {trn3} / dense {dt_b.upper()} total of {trn2}",
                     _verdict(4.4, r),
                     f"compares {sa.num_chips} chips with {sb.num_chips} and {dt_a.upper()} with {dt_b.upper()}; "
                     f"per chip the BF16 rate is {ca.flops('bf16') / cb.flops('bf16'):.2f}x"))
    r = a["hbm_bandwidth"][0] / b["hbm_bandwidth"][0]
    out.append(Claim("nearly 4x more memory bandwidth", "W3", 4.0, r, "total HBM bandwidth, system vs system",
                     _verdict(4.0, r),
                     f"per chip: {ca.hbm_bandwidth.si / 1e12:.2f} vs {cb.hbm_bandwidth.si / 1e12:.2f} TB/s = "
                     f"{ca.hbm_bandwidth.si / cb.hbm_bandwidth.si:.2f}x"))
    r = a["hbm_capacity"][0] / b["hbm_capacity"][0]
    out.append(Claim("4x more memory", "W4", 4.0, r, "total HBM capacity, system vs system", _verdict(4.0, r, 0.2),
                     f"per chip: {ca.hbm_capacity.si / 2**30:.0f} vs {cb.hbm_capacity.si / 2**30:.0f} GiB = "
                     f"{ca.hbm_capacity.si / cb.hbm_capacity.si:.2f}x"))
    return out


def efficiency_claim(trn3_tokens_per_joule: float | None, trn2_tokens_per_joule: float | None, what: str) -> Claim:
    """The '40% better energy efficiency' claim from simulated tokens per joule."""
    r = (trn3_tokens_per_joule / trn2_tokens_per_joule
         if trn3_tokens_per_joule and trn2_tokens_per_joule else None)
    return Claim("40% better energy efficiency", "W4, W5", 1.4, r, f"simulated tokens per joule, {what}",
                 _verdict(1.4, r, 0.15),
                 "no Trainium power figure is published: chip TDPs are assumed (catalog), so this check is only as good as they are")
