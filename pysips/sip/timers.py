"""RFC 3261 timer values and the single timer heap used by the sans-IO transaction layer.

No clock is read here: every deadline is an absolute time chosen by the caller (the same ``now`` the network
layer passes in), so tests drive it with a fake clock.

``TimerHeap`` keeps one binary heap for every timer of every transaction. Cancelling is lazy: the entry is
marked dead and skipped when it reaches the top, which makes cancel O(1) (most retransmission and timeout
timers are cancelled long before they fire). Dead entries are swept when they outnumber the live ones, so a
busy proxy does not carry thousands of cancelled 32 s timers around.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

__all__ = ["TimerConfig", "TimerHeap", "TimerEntry"]

# Entry layout: [deadline, priority, seq, owner, name]. A list (not a tuple) so cancel can clear the owner in
# place; seq is unique, so heap comparisons never reach the owner object.
TimerEntry = list
_OWNER = 3

# A sweep below this size costs more than the dead entries it removes.
_SWEEP_MIN = 1024


@dataclass(slots=True, frozen=True)
class TimerConfig:
    """RFC 3261 timer base values in seconds (Table 4 of RFC 3261 section A).

    ``timer_d`` is Timer D for unreliable transports ("at least 32 s"); every other timer derives from t1/t2/t4:
    A/E/G start at T1, E and G cap at T2, B/F/H/J/L/M are 64*T1, I and K are T4.
    """

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_d: float = 32.0

    def __post_init__(self) -> None:
        if not self.t1 > 0:
            raise ValueError(f"T1 must be > 0, got {self.t1}")
        if self.t2 < self.t1:
            raise ValueError(f"T2 ({self.t2}) must be >= T1 ({self.t1})")
        if self.t4 < 0 or self.timer_d < 0:
            raise ValueError("T4 and Timer D must be >= 0")

    @property
    def timeout_64t1(self) -> float:
        """Timers B, F, H, J, L and M."""
        return 64 * self.t1


class TimerHeap:
    """One heap of (deadline, priority, seq, owner, name) entries with lazy deletion.

    ``priority`` breaks ties at the same deadline: lower fires first (the transaction layer gives timeouts 0
    and retransmissions 1, so a transaction that times out does not retransmit in the same instant).
    """

    __slots__ = ("_heap", "_seq", "_dead")

    def __init__(self) -> None:
        self._heap: list[TimerEntry] = []
        self._seq = 0
        self._dead = 0

    def push(self, deadline: float, owner: Any, name: str, priority: int = 1) -> TimerEntry:
        """Schedule ``name`` for ``owner`` at ``deadline``; returns the entry to pass to ``cancel``."""
        self._seq += 1
        entry = [deadline, priority, self._seq, owner, name]
        heapq.heappush(self._heap, entry)
        return entry

    def cancel(self, entry: TimerEntry) -> None:
        """Mark an entry dead; a second cancel of the same entry is harmless."""
        if entry[_OWNER] is None:
            return
        entry[_OWNER] = None
        self._dead += 1
        if self._dead > _SWEEP_MIN and self._dead * 2 > len(self._heap):
            self._heap = [e for e in self._heap if e[_OWNER] is not None]
            heapq.heapify(self._heap)
            self._dead = 0

    def next_deadline(self) -> float | None:
        """Earliest live deadline, or None when nothing is scheduled."""
        heap = self._heap
        while heap and heap[0][_OWNER] is None:
            heapq.heappop(heap)
            self._dead -= 1
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> tuple[Any, str] | None:
        """Remove the earliest live entry whose deadline is <= now and return (owner, name), else None.

        The fired entry is marked dead so a later ``cancel`` of it by its owner is a no-op.
        """
        heap = self._heap
        while heap:
            top = heap[0]
            owner = top[_OWNER]
            if owner is None:
                heapq.heappop(heap)
                self._dead -= 1
                continue
            if top[0] > now:
                return None
            heapq.heappop(heap)
            top[_OWNER] = None
            return owner, top[4]
        return None

    def __len__(self) -> int:
        """Number of live (not cancelled, not fired) entries."""
        return len(self._heap) - self._dead
