"""OpTime: the time of one operator on one chip, with the efficiency used and where it came from."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class OpTime:
    """Time of an op (all ``op.count`` instances) on a chip.

    ``efficiency`` is the efficiency applied to the binding resource (compute efficiency when
    ``bound == "compute"``, memory-bandwidth efficiency when ``"memory"``); ``utilisation`` is the
    achieved fraction of the roofline speed of light, ``sol_s / per_call_s``, including overheads.
    ``source`` names the table/fit the efficiency comes from (``fitted``, ``assumed``,
    ``neuroncore``, ``fallback`` ...).
    """

    seconds: float          # total for op.count instances
    per_call_s: float       # one instance
    compute_s: float        # flops / (peak * compute efficiency), one instance
    memory_s: float         # bytes / (bandwidth * memory efficiency), one instance
    overhead_s: float       # fixed launch/dispatch latency, one instance
    sol_s: float            # roofline speed of light: max(flops/peak, bytes/bandwidth), one instance
    efficiency: float       # efficiency applied to the binding resource
    compute_efficiency: float
    memory_efficiency: float
    bound: str              # "compute" | "memory"
    source: str
    flops: float            # one instance
    bytes: float            # one instance
    peak_flops: float       # FLOP/s of the dtype used
    chip: str = ""
    kind: str = ""
    dtype: str = ""

    @property
    def achieved_flops(self) -> float:
        """FLOP/s achieved (one instance's flops / its time)."""
        return self.flops / self.per_call_s if self.per_call_s > 0 else 0.0

    @property
    def achieved_tflops(self) -> float:
        return self.achieved_flops / 1e12

    @property
    def mfu(self) -> float:
        """Achieved FLOP/s over the dtype's dense peak."""
        return self.achieved_flops / self.peak_flops if self.peak_flops else 0.0

    @property
    def achieved_bandwidth(self) -> float:
        return self.bytes / self.per_call_s if self.per_call_s > 0 else 0.0

    @property
    def utilisation(self) -> float:
        """Speed-of-light time over the predicted time (AIConfigurator's utilisation space)."""
        return self.sol_s / self.per_call_s if self.per_call_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(achieved_tflops=self.achieved_tflops, mfu=self.mfu, utilisation=self.utilisation,
                 achieved_bandwidth=self.achieved_bandwidth)
        return d
