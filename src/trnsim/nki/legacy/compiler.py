"""``neuronxcc.nki.compiler``: allocation directives and compiler hints (accepted; allocation stays automatic).

Manual ``mod_alloc``/``alloc`` placements are treated as automatic allocations in the same memory, so
kernels that use them run with the same numerics; their exact addresses are not reproduced.
"""

from __future__ import annotations

from typing import Any, Callable

from trnsim.nki.tensor import MemSpace


class _AllocSpec(MemSpace):
    """A manual allocation request; behaves as its memory space (``sbuf`` or ``psum``)."""

    __slots__ = ("request",)

    def __init__(self, name: str, request: dict[str, Any]):
        super().__init__(name)
        self.request = request


class _Memory:
    def __init__(self, name: str):
        self.name = name

    def mod_alloc(self, *args: Any, **kw: Any) -> _AllocSpec:
        return _AllocSpec(self.name, dict(kw, args=args))

    def alloc(self, func: Any = None, *args: Any, **kw: Any) -> _AllocSpec:
        return _AllocSpec(self.name, dict(kw, func=func))

    def auto_alloc(self, *args: Any, **kw: Any) -> _AllocSpec:
        return _AllocSpec(self.name, dict(kw))


sbuf = _Memory("sbuf")
psum = _Memory("psum")


def skip_middle_end_transformations(func: Callable) -> Callable:
    return func


def enable_stack_allocator(func: Callable | None = None, **_k: Any) -> Any:
    return func if func is not None else (lambda f: f)


def force_auto_alloc(func: Callable | None = None, **_k: Any) -> Any:
    return func if func is not None else (lambda f: f)


class no_reorder:  # noqa: N801 - old API name
    """Loop directive / context manager; the simulator runs in program order anyway."""

    def __enter__(self) -> "no_reorder":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None
