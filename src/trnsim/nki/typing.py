"""``nki.typing``: annotation helpers (``nt.tensor[shape, dtype]``, ``nt.mutable_tensor``, ``nt.scalar``)."""

from __future__ import annotations

from typing import Any


class _Subscriptable:
    def __init__(self, name: str):
        self._name = name

    def __getitem__(self, item: Any) -> "_Subscriptable":
        return self

    def __call__(self, *a: Any, **k: Any) -> "_Subscriptable":
        return self

    def __repr__(self) -> str:
        return f"nt.{self._name}"


tensor = _Subscriptable("tensor")
mutable_tensor = _Subscriptable("mutable_tensor")
scalar = _Subscriptable("scalar")
sbuf_tensor = _Subscriptable("sbuf_tensor")
psum_tensor = _Subscriptable("psum_tensor")
hbm_tensor = _Subscriptable("hbm_tensor")
