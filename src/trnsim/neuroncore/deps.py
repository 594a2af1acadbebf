"""Memory dependencies (RAW, WAR, WAW) from overlapping access regions, without an O(n^2) scan.

Regions are indexed by memory space and address bucket (on-chip: byte address within a partition;
HBM: flat byte address). Each bucket keeps one record per distinct (partition range, byte range,
pattern) with the latest write end and the latest read end (and who produced them). A write that
covers a record replaces it, so buckets stay small. Addresses, not buffer ids, are tracked: a tile
allocated where a freed tile lived waits for the old tile's readers and writers, as on hardware.
HBM regions are only tracked for buffers that some instruction writes (read-only inputs never
create dependencies).
"""

from __future__ import annotations

from trnsim.nki.trace import Access

_ONCHIP_BUCKET = 2048       # bytes within a partition (one PSUM bank)
_HBM_BUCKET = 1 << 20       # bytes
NEG = float("-inf")

# record slots
W_END, W_IDX, W_TRK, R_END, R_IDX, R_TRK, P0, P1, B0, B1, RECT = range(11)


def _rect(a: Access) -> tuple[int, int, int, int, int] | None:
    """(row_step, row0, col0, rows, cols) in elements when the pattern is rows of a contiguous run."""
    pat = a.pattern
    if len(pat) == 2 and pat[1][0] == 1 and pat[0][0] > 0:
        s, rows = pat[0]
        cols = pat[1][1]
        r0, c0 = divmod(a.offset, s)
        if c0 + cols <= s:
            return (s * a.elem_bytes, r0, c0 * a.elem_bytes, rows, cols * a.elem_bytes)
    return None


def _dense(a: Access) -> bool:
    """True if the access touches every element of its byte range (in each partition)."""
    expect = 1
    for step, count in reversed(a.pattern):
        if count != 1 and step != expect:
            return False
        expect *= count
    return True


def _rect_overlap(x: tuple, y: tuple, bx: int, by: int) -> bool:
    """Precise overlap of two row/column rectangles with the same row pitch (addresses bx, by)."""
    if x[0] != y[0] or (bx - by) % x[0]:
        return True
    shift = (bx - by) // x[0]
    xr0 = x[1] + shift
    if xr0 >= y[1] + y[3] or y[1] >= xr0 + x[3]:
        return False
    return x[2] < y[2] + y[4] and y[2] < x[2] + x[4]


class DepTracker:
    """Latest write/read end per region; ``ready`` gives the earliest start allowed by memory deps."""

    def __init__(self, hbm_written: set[int] | None = None):
        self.buckets: dict[tuple[str, int], dict[tuple, list]] = {}
        self.hbm_written = hbm_written  # None: track every HBM buffer

    def spans(self, accesses) -> list[tuple]:
        """Tracked regions of ``accesses`` (group, p0, p1, b0, b1, rect, pattern, dense, bucket size)."""
        out = []
        hw = self.hbm_written
        for a in accesses:
            space = a.space
            if space == "sbuf" or space == "psum":
                g, p0, p1, size = space, a.partition_start, a.partition_start + a.partitions, _ONCHIP_BUCKET
            else:
                if hw is not None and a.buffer not in hw:
                    continue
                g, p0, p1, size = "hbm", 0, 1, _HBM_BUCKET
            b0, b1 = a.byte_range()
            out.append((g, p0, p1, b0, b1, _rect(a), a.pattern, _dense(a), size))
        return out

    def _records(self, span):
        g, p0, p1, b0, b1, rect, _, _, size = span
        buckets = self.buckets
        for k in range(b0 // size, (b1 - 1) // size + 1):
            bucket = buckets.get((g, k))
            if bucket:
                for rec in bucket.values():
                    if rec[P0] < p1 and p0 < rec[P1] and rec[B0] < b1 and b0 < rec[B1]:
                        rr = rec[RECT]
                        if rect is not None and rr is not None and \
                                not _rect_overlap(rect, rr, b0 - rect[1] * rect[0] - rect[2],
                                                  rec[B0] - rr[1] * rr[0] - rr[2]):
                            continue
                        yield rec

    def ready(self, reads, writes, track: str, raw_same: float, cross: float) -> tuple[float, int]:
        """Earliest start allowed by memory deps and the instruction that imposes it (-1: none).

        ``reads``/``writes`` are :meth:`spans`. ``raw_same``: extra latency when a RAW producer ran
        on the same track (pipeline latency of dependent instructions); ``cross``: latency when the
        producer ran on another track (semaphore)."""
        best, who = 0.0, -1
        for span in reads:
            for rec in self._records(span):
                t = rec[W_END] + (raw_same if rec[W_TRK] == track else cross)
                if t > best:
                    best, who = t, rec[W_IDX]
        for span in writes:
            for rec in self._records(span):
                t = rec[W_END] + (0.0 if rec[W_TRK] == track else cross)
                if t > best:
                    best, who = t, rec[W_IDX]
                t = rec[R_END] + (0.0 if rec[R_TRK] == track else cross)
                if t > best:
                    best, who = t, rec[R_IDX]
        return best, who

    def record(self, reads, writes, end: float, idx: int, track: str) -> None:
        """Register the accesses (:meth:`spans`) of an instruction that finished at ``end``."""
        for span in reads:
            key = span[1:5] + (span[6],)
            for bucket in self._buckets_of(span):
                rec = bucket.get(key)
                if rec is None:
                    bucket[key] = [NEG, -1, "", end, idx, track, span[1], span[2], span[3], span[4], span[5]]
                elif end > rec[R_END]:
                    rec[R_END], rec[R_IDX], rec[R_TRK] = end, idx, track
        for span in writes:
            _, p0, p1, b0, b1, rect, pattern, dense, _ = span
            key = (p0, p1, b0, b1, pattern)
            rec = [end, idx, track, NEG, -1, "", p0, p1, b0, b1, rect]
            for bucket in self._buckets_of(span):
                if dense and bucket:
                    dead = [k for k, r in bucket.items()
                            if p0 <= r[P0] and r[P1] <= p1 and b0 <= r[B0] and r[B1] <= b1]
                    for k in dead:
                        del bucket[k]
                bucket[key] = rec

    def _buckets_of(self, span):
        g, b0, b1, size = span[0], span[3], span[4], span[8]
        buckets = self.buckets
        out = []
        for k in range(b0 // size, (b1 - 1) // size + 1):
            b = buckets.get((g, k))
            if b is None:
                b = buckets[(g, k)] = {}
            out.append(b)
        return out
