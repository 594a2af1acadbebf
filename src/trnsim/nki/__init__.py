"""NKI-compatible kernel API over NumPy (see trnsim.nki.trace for the KernelTrace record)."""
