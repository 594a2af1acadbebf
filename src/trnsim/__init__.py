"""trnsim: a simulator of AWS Trainium systems and the Nvidia systems they are compared with.

Layers (imports point down): cli -> report -> search -> validate -> workloads -> economics ->
parallel -> network -> ops -> models -> neuroncore -> nki -> hardware -> sim.
"""

from trnsim.errors import TrnsimError

__version__ = "0.1.0"
__all__ = ["TrnsimError", "__version__"]
