"""A minimal discrete-event simulator: a clock and a heap of timestamped callbacks.

Events at equal times run in the order they were scheduled (a sequence number breaks ties), so
runs are deterministic. Handlers schedule further events; ``run`` stops when the heap is empty,
when ``until`` is reached, or when a handler calls ``stop``.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(order=True, slots=True)
class Event:
    time: float
    seq: int
    handler: Callable[..., Any] = field(compare=False)
    args: tuple[Any, ...] = field(default=(), compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        """Skip this event when its time comes."""
        self.cancelled = True


class Simulator:
    """Clock + event heap. ``at``/``after`` schedule; ``run`` processes events in time order."""

    __slots__ = ("now", "_heap", "_seq", "_stopped", "processed")

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._heap: list[Event] = []
        self._seq = 0
        self._stopped = False
        self.processed = 0

    def at(self, time: float, handler: Callable[..., Any], *args: Any) -> Event:
        """Schedule ``handler(*args)`` at absolute ``time`` (not before now)."""
        if time < self.now:
            raise ValueError(f"cannot schedule in the past: {time} < now {self.now}")
        ev = Event(time, self._seq, handler, args)
        self._seq += 1
        heapq.heappush(self._heap, ev)
        return ev

    def after(self, delay: float, handler: Callable[..., Any], *args: Any) -> Event:
        """Schedule ``handler(*args)`` ``delay`` seconds from now."""
        return self.at(self.now + delay, handler, *args)

    def stop(self) -> None:
        self._stopped = True

    @property
    def pending(self) -> int:
        return len(self._heap)

    def run(self, until: float | None = None) -> float:
        """Process events until the heap empties, ``until`` is passed, or ``stop()``; returns the clock."""
        heap = self._heap
        self._stopped = False
        while heap and not self._stopped:
            if until is not None and heap[0].time > until:
                self.now = until
                break
            ev = heapq.heappop(heap)
            if ev.cancelled:
                continue
            self.now = ev.time
            ev.handler(*ev.args)
            self.processed += 1
        return self.now
