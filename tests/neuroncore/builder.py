"""A tiny KernelTrace builder for hand-computable timing tests (no NKI front end needed)."""

from __future__ import annotations

from math import prod

from trnsim.nki.trace import Access, AllocEvent, Buffer, Instruction, KernelTrace

SIZES = {"bfloat16": 2, "float16": 2, "float32": 4, "float8_e4m3": 1, "int32": 4, "uint8": 1}
TARGET_VERSION = {"trn1": 2, "trn2": 3, "trn3": 4}


class TraceBuilder:
    def __init__(self, target: str = "trn1", kernel: str = "test"):
        self.trace = KernelTrace(target=target, nc_version=TARGET_VERSION[target], kernel=kernel)
        self._next = {"sbuf": 0, "psum": 0, "hbm": 0}
        self._id = 0

    def _buf(self, name, space, shape, dtype, address=None, partition_offset=0):
        eb = SIZES[dtype]
        self._id += 1
        if space == "hbm":
            parts, bpp = 1, prod(shape) * eb
        else:
            parts, bpp = shape[0], prod(shape[1:]) * eb
        key = "hbm" if space.endswith("hbm") else space
        if address is None:
            address = self._next[key]
            self._next[key] += -(-bpp // 64) * 64
        b = Buffer(self._id, name, space, dtype, tuple(shape), parts, bpp, partition_offset, address)
        self.trace.add_buffer(b)
        if space in ("sbuf", "psum"):
            self.trace.alloc_events.append(AllocEvent(len(self.trace.instructions), b.id, +1))
        return b

    def hbm(self, name, shape, dtype="bfloat16"):
        return self._buf(name, "hbm", shape, dtype)

    def sbuf(self, name, shape, dtype="bfloat16", address=None):
        return self._buf(name, "sbuf", shape, dtype, address)

    def psum(self, name, shape, dtype="float32", address=None):
        return self._buf(name, "psum", shape, dtype, address)

    def free(self, b):
        self.trace.alloc_events.append(AllocEvent(len(self.trace.instructions), b.id, -1))

    def tile(self, b, p0=0, parts=None, offset=0, free=None):
        """On-chip access: partitions [p0, p0+parts), ``free`` contiguous elements from ``offset``."""
        eb = SIZES[b.dtype]
        parts = b.partitions if parts is None else parts
        free = b.bytes_per_partition // eb if free is None else free
        return Access(b.id, b.space, b.dtype, eb, p0, parts, offset, ((1, free),), b.address)

    def rect(self, b, row0, rows, col0, cols):
        """HBM access: rows x cols sub-block of a 2-D row-major tensor."""
        eb = SIZES[b.dtype]
        width = b.shape[-1]
        if cols == width:
            pat = ((1, rows * cols),)
        else:
            pat = ((width, rows), (1, cols))
        return Access(b.id, b.space, b.dtype, eb, 0, 1, row0 * width + col0, pat, b.address)

    def ins(self, engine, opcode, inputs=(), outputs=(), line=None, **attrs):
        i = Instruction(len(self.trace.instructions), engine, opcode, tuple(inputs), tuple(outputs), attrs,
                        ("kernel.py", line) if line else None)
        self.trace.append(i)
        return i

    def load(self, dst_access, src_access, **kw):
        return self.ins("dma", "dma_copy", [src_access], [dst_access], **kw)

    def store(self, dst_access, src_access, **kw):
        return self.ins("dma", "dma_copy", [src_access], [dst_access], **kw)
