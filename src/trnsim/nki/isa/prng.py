"""Pseudo-random numbers: ``rng``, ``rand2``, ``set_rng_seed``, ``rand_set_state``, ``rand_get_state``.

Every Vector / GpSimd compute lane (one per partition) keeps XORWOW generators (Marsaglia 2003, the
algorithm the ``rand2`` docs name): a GpSimd lane one generator of 6 uint32 words, a Vector lane four
generators (24 words), the state sizes the ``rand_set_state``/``rand_get_state`` docs give. The state
persists for the whole kernel run and is shared by ``rng``, ``rand2``, ``dropout`` and ``nl.rand``.

Not reproducible from the docs, so the stream here is deterministic and seed-reproducible but NOT
bit-identical to hardware: the word order inside a generator (here ``x, y, z, w, v, d``), how a Vector
lane interleaves its four generators over the elements (here element ``j`` comes from generator
``j % 4``), the seed expansion of ``set_rng_seed`` (here splitmix64 of seed, lane, word) and the
state a run starts from (here the expansion of seed 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trnsim.nki import dtypes as dt
from trnsim.nki import runtime
from trnsim.nki.isa import core as K

WORDS = 6  # XORWOW state: x, y, z, w, v and the Weyl counter d
GENERATORS = {"vector": 4, "gpsimd": 1}  # generators per lane (24 / 6 state words)
LANES = 128
XORWOW_WEYL = np.uint32(362437)
DEFAULT_SEED = 0
RNG_DTYPES = ("int8", "int16", "int32", "uint8", "uint16", "uint32")
RAND2_DTYPES = ("float8_e4m3", "float8_e5m2", "float16", "bfloat16", "float32", "tfloat32") + RNG_DTYPES
_U32 = np.uint32


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser over a uint64 array (wrapping arithmetic)."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def expand_seed(seed: int, engine: str, lanes: int = LANES) -> np.ndarray:
    """Initial XORWOW words ``[lanes, generators, 6]`` for a 32-bit seed (simulator-defined expansion)."""
    g = GENERATORS[engine]
    base = np.uint64((int(seed) & 0xFFFFFFFF) << 32)
    keys = base + np.arange(lanes * g * WORDS, dtype=np.uint64) + np.uint64(0x5EED if engine == "gpsimd" else 0)
    return (_splitmix64(keys) >> np.uint64(32)).astype(_U32).reshape(lanes, g, WORDS)


class PrngState:
    """The per-lane XORWOW words of the Vector and GpSimd engines of one kernel run."""

    def __init__(self, lanes: int = LANES):
        self.lanes = lanes
        self.words = {e: expand_seed(DEFAULT_SEED, e, lanes) for e in GENERATORS}

    def seed(self, engine: str, seed: int) -> None:
        self.words[engine] = expand_seed(seed, engine, self.lanes)

    def draw(self, engine: str, lanes: np.ndarray, n: int) -> np.ndarray:
        """``n`` 32-bit outputs per lane, ``[len(lanes), n]`` uint32; advances those lanes' generators."""
        st = self.words[engine]
        s = st[lanes]
        g = s.shape[1]
        steps = -(-n // g) if n else 0
        x, y, z, w, v, d = (s[..., i].copy() for i in range(WORDS))
        out = np.empty((len(lanes), steps, g), _U32)
        one, two, four = _U32(1), _U32(2), _U32(4)
        for k in range(steps):  # every generator of a lane advances once per step (surplus outputs dropped)
            t = x ^ (x >> two)
            x, y, z, w = y, z, w, v
            v = (v ^ (v << four)) ^ (t ^ (t << one))
            d = d + XORWOW_WEYL
            out[:, k] = v + d
        st[lanes] = np.stack([x, y, z, w, v, d], axis=-1)
        return out.reshape(len(lanes), steps * g)[:, :n]


def state(c: Any) -> PrngState:
    """The run's PRNG state (created on first use)."""
    st = c.__dict__.get("prng")
    if st is None:
        st = c.prng = PrngState(max(LANES, int(getattr(c, "pmax", LANES))))
    return st


def lanes_of(t: K.NkiTensor) -> np.ndarray:
    """Physical partitions (compute lanes) of an on-chip tile."""
    a = t.access()
    return a.partition_start + np.arange(t.shape[0] if t.shape else 1)


def bits_for(c: Any, engine: str, t: K.NkiTensor) -> np.ndarray:
    """32 random bits per element of ``t``, shaped like ``t`` (on-chip: one lane per partition;
    HBM: rows go through lanes 0..127 in chunks of 128)."""
    st = state(c)
    if t.on_chip:
        return st.draw(engine, lanes_of(t), t.free_size).reshape(t.shape)
    rows = t.shape[0] if t.ndim > 1 else 1
    per = t.size // max(rows, 1)
    out = np.empty((rows, per), _U32)
    for r0 in range(0, rows, st.lanes):
        r1 = min(rows, r0 + st.lanes)
        out[r0:r1] = st.draw(engine, np.arange(r1 - r0), per)
    return out.reshape(t.shape)


def uniform(c: Any, engine: str, t: K.NkiTensor) -> np.ndarray:
    """fp32 values in [0, 1) from the top 24 bits of each random word, shaped like ``t``."""
    return (bits_for(c, engine, t) >> _U32(8)).astype(np.float32) * np.float32(2.0 ** -24)


def _engine(instr: str, engine: Any, default: str, allowed: dict[str, int], c: Any) -> str:
    """Resolve ``engine`` among ``allowed`` (engine -> minimum NeuronCore version)."""
    e = K.engine_of(engine, default)
    if e not in allowed:
        K.fail(instr, f"engine {e} cannot run {instr} (allowed: {', '.join(allowed)})")
    if c.version < allowed[e]:
        K.fail(instr, f"engine {e} needs NeuronCore-v{allowed[e]}+ (target {c.target})")
    return e


def _tile(instr: str, t: Any, role: str, c: Any, spaces: tuple[str, ...]) -> K.NkiTensor:
    x = K.tensor(t, instr, role)
    K.on_chip(x, instr, role, spaces)
    K.tile(x, instr, role, c)
    return x


def rng(dst: Any, engine: Any = None, name: Any = None) -> Any:
    """32 random bits per element of ``dst`` (integer dtype; truncated to its least significant bits)."""
    instr = "rng"
    c = runtime.current()
    e = _engine(instr, engine, "vector", {"vector": 2, "gpsimd": 3}, c)
    d = _tile(instr, dst, "dst", c, ("sbuf",) if e == "gpsimd" else ("sbuf", "psum"))
    K.check_engine(instr, e, [d], c)
    if dt.name(d.dtype) not in RNG_DTYPES:
        K.fail(instr, f"dst dtype {dt.name(d.dtype)} must be an integer type ({'/'.join(RNG_DTYPES)})")
    K.record(c, e, instr, (), (d,), {"dtype": dt.name(d.dtype), "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        bits = bits_for(c, e, d)
        store = dt.storage(d.dtype)
        K.put(d, bits.astype(np.dtype(f"u{store.itemsize}")).view(store))  # keep the low bits
    return d


def rand2(dst: Any, min: Any, max: Any, name: Any = None) -> Any:  # noqa: A002 - documented names
    """Uniform fp32 values in [min, max] (Vector Engine, NeuronCore-v4+), cast to ``dst.dtype``."""
    instr = "rand2"
    c = runtime.current()
    if c.version < 4:
        K.fail(instr, f"needs NeuronCore-v4+ (target {c.target})")
    d = _tile(instr, dst, "dst", c, ("sbuf", "psum"))
    if dt.name(d.dtype) not in RAND2_DTYPES:
        K.fail(instr, f"dst dtype {dt.name(d.dtype)} not supported ({'/'.join(RAND2_DTYPES)})")
    lo, tlo = K.scalar_or_vector(min, d, instr, "min", c)
    hi, thi = K.scalar_or_vector(max, d, instr, "max", c)
    if lo is None or hi is None:
        K.fail(instr, "min and max are required")
    if tlo is None and thi is None and not float(lo) < float(hi):
        K.fail(instr, f"min {lo} must be < max {hi}")
    ins = tuple(t for t in (tlo, thi) if t is not None)
    K.record(c, "vector", instr, ins, (d,), {"dtype": "float32", "dst_dtype": dt.name(d.dtype)})
    if not c.timing_only:
        p = d.shape[0]
        a = np.asarray(K.vec_value(lo, p, d.ndim), np.float32)
        b = np.asarray(K.vec_value(hi, p, d.ndim), np.float32)
        if not np.all(a < b):
            K.fail(instr, "min must be < max in every partition")
        K.put(d, a + uniform(c, "vector", d) * (b - a))
    return d


def _seed_value(instr: str, c: Any, src: Any) -> tuple[K.NkiTensor, int | None]:
    """A [1, 1] 32-bit seed tile in SBUF/PSUM and (functional runs) its 32-bit value."""
    s = _tile(instr, src, "src_seeds" if instr == "set_rng_seed" else "seed", c, ("sbuf", "psum"))
    if s.size != 1 or s.shape[0] != 1:
        K.fail(instr, f"seed must be a [1, 1] tensor, got {list(s.shape)}")
    if dt.itemsize(s.dtype) != 4:
        K.fail(instr, f"seed must be a 32-bit value, got dtype {dt.name(s.dtype)}")
    if c.timing_only:
        return s, None
    v = np.ascontiguousarray(s.np()).reshape(-1)[:1]
    return s, int(v.view(_U32)[0])


def seed_vector(instr: str, seed: Any) -> None:
    """Seed the Vector Engine PRNG from a [1, 1] tile (``set_rng_seed`` / ``nl.random_seed``) or, for the
    old API's ``nl.random_seed(seed)``, from a Python integer."""
    c = runtime.current()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        K.record(c, "vector", "set_rng_seed", (), (), {"seed": int(seed) & 0xFFFFFFFF})
        if not c.timing_only:
            state(c).seed("vector", int(seed))
        return
    s, v = _seed_value(instr, c, seed)
    K.record(c, "vector", "set_rng_seed", (s,), (), {"dtype": dt.name(s.dtype)})
    if v is not None:
        state(c).seed("vector", v)


def set_rng_seed(src_seeds: Any, name: Any = None) -> None:
    """Seed the Vector Engine PRNG (all lanes) from a [1, 1] 32-bit tile in SBUF/PSUM."""
    seed_vector("set_rng_seed", K.tensor(src_seeds, "set_rng_seed", "src_seeds"))


def _state_tile(instr: str, t: K.NkiTensor, e: str, role: str) -> None:
    if dt.name(t.dtype) != "uint32":
        K.fail(instr, f"{role} dtype {dt.name(t.dtype)} must be uint32")
    if t.ndim != 2:
        K.fail(instr, f"{role} must be a 2D [lanes, words] tensor, got {list(t.shape)}")
    words = GENERATORS[e] * WORDS
    if t.free_size != words:
        K.fail(instr, f"{role} {list(t.shape)} needs {words} XORWOW state words per partition on the {e} engine")


def _state_engine(instr: str, engine: Any) -> tuple[Any, str]:
    """The running context and the engine whose PRNG state ``instr`` touches (GpSimd v3+, Vector v4+)."""
    c = runtime.current()
    if c.version < 3:
        K.fail(instr, f"needs NeuronCore-v3+ (target {c.target})")
    return c, _engine(instr, engine, "gpsimd", {"gpsimd": 3, "vector": 4}, c)


def rand_set_state(src_seeds: Any, engine: Any = None, name: Any = None) -> None:
    """Load the per-lane XORWOW state (partition p seeds lane p) of GpSimd (v3+) or Vector (v4+)."""
    instr = "rand_set_state"
    c, e = _state_engine(instr, engine)
    s = _tile(instr, src_seeds, "src_seeds", c, ("sbuf",))
    _state_tile(instr, s, e, "src_seeds")
    K.record(c, e, instr, (s,), (), {"dtype": "uint32"})
    if not c.timing_only:
        words = np.ascontiguousarray(s.np()).reshape(s.shape[0], GENERATORS[e], WORDS).astype(_U32)
        state(c).words[e][lanes_of(s)] = words


def rand_get_state(dst: Any, engine: Any = None, name: Any = None) -> Any:
    """Store the per-lane XORWOW state of GpSimd (v3+) or Vector (v4+) into ``dst`` (uint32)."""
    instr = "rand_get_state"
    c, e = _state_engine(instr, engine)
    spaces = ("sbuf", "psum") if (e == "vector" and c.version >= 4) else ("sbuf",)
    d = _tile(instr, dst, "dst", c, spaces)
    _state_tile(instr, d, e, "dst")
    K.record(c, e, instr, (), (d,), {"dtype": "uint32", "dst_dtype": "uint32"})
    if not c.timing_only:
        K.put(d, state(c).words[e][lanes_of(d)].reshape(d.shape[0], -1))
    return d


__all__ = ["PrngState", "rand2", "rand_get_state", "rand_set_state", "rng", "set_rng_seed", "seed_vector",
           "uniform"]
