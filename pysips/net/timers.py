"""One timer heap per process, driven by one trio task.

Transactions, dialogs and b2b entities all need timers (RFC 3261 Timers A-K, dialog lifetimes). A sleeping task per
timer would cost a task switch and a CancelScope each; instead every timer is an entry in one binary heap and a
single task sleeps until the earliest deadline. Cancelling is lazy (the entry is flagged and skipped when it reaches
the top), so ``cancel`` is O(1); the heap is compacted when flagged entries outnumber live ones.

Deadlines are in ``trio.current_time()`` units. Under pytest-trio's ``autojump_clock`` virtual time jumps straight to
the next deadline, so a 32 s Timer B fires instantly in tests.

Driving a sans-IO layer (``pysips.sip`` exposes ``get_timer() -> float | None`` and ``handle_timer(now)``):

* share the process heap: ``binding = SansIOTimer(heap, layer.get_timer, layer.handle_timer)`` and call
  ``binding.update()`` after every call that may have changed the layer's earliest timer (feeding it a datagram,
  sending a request). ``update`` re-reads ``get_timer()`` and moves the single heap entry only when it changed.
  When the entry fires, ``handle_timer(now)`` is called and the entry re-armed from ``get_timer()``.
* or standalone: ``wakeup = await nursery.start(drive_sansio, layer.get_timer, layer.handle_timer)``, then call
  ``wakeup()`` where ``binding.update()`` would be called.

The sans-IO layer must be given ``now = trio.current_time()`` when fed, so its deadlines share this clock.
``handle_timer``'s return value is ignored; when it returns events (``pysips.sip.transaction.TransactionLayer``
does), pass a wrapper that dispatches them::

    layer = TransactionLayer(...)
    binding = SansIOTimer(heap, layer.get_timer, lambda now: dispatch(layer.handle_timer(now)))
    def on_datagram(data, addr, transport):
        layer.feed(..., now=trio.current_time()); dispatch(layer.take_events()); binding.update()
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable
from typing import Any

import trio

__all__ = ["SansIOTimer", "TimerHandle", "TimerHeap", "drive_sansio"]

log = logging.getLogger(__name__)

TimerCallback = Callable[[float], Any]


class TimerHandle:
    """What ``TimerHeap.schedule`` returns; pass it to ``cancel``. ``deadline`` is read-only by convention."""

    __slots__ = ("deadline", "callback", "cancelled")

    def __init__(self, deadline: float, callback: TimerCallback) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<TimerHandle at {self.deadline:.3f}{state}>"


class TimerHeap:
    """A heap of (deadline, seq, handle); ``seq`` keeps equal deadlines in scheduling order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._seq = 0
        self._cancelled = 0
        # The CancelScope ``serve`` is sleeping in; schedule() pulls its deadline earlier when needed.
        self._scope: trio.CancelScope | None = None

    def __len__(self) -> int:
        """Number of live (not cancelled, not yet fired) timers."""
        return len(self._heap) - self._cancelled

    def schedule(self, deadline: float, callback: TimerCallback) -> TimerHandle:
        """Call ``callback(now)`` at or after ``deadline`` (trio clock). Returns a handle for ``cancel``."""
        handle = TimerHandle(deadline, callback)
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, handle))
        scope = self._scope
        if scope is not None and deadline < scope.deadline:
            scope.deadline = deadline
        return handle

    def schedule_in(self, delay: float, callback: TimerCallback) -> TimerHandle:
        """``schedule(trio.current_time() + delay, callback)``; only inside trio."""
        return self.schedule(trio.current_time() + delay, callback)

    def cancel(self, handle: TimerHandle | None) -> None:
        """Forget a timer. Cancelling twice, a fired timer or ``None`` is harmless."""
        if handle is None or handle.cancelled:
            return
        handle.cancelled = True
        # A fired handle is no longer in the heap; its callback is dropped to mark it so (see run_due).
        if handle.callback is None:
            return
        handle.callback = None  # type: ignore[assignment]
        self._cancelled += 1
        if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
            self._heap = [entry for entry in self._heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def next_deadline(self) -> float | None:
        """Earliest live deadline, or None when no timer is pending."""
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
            self._cancelled -= 1
        return heap[0][0] if heap else None

    def run_due(self, now: float) -> int:
        """Fire every live timer with deadline <= now, earliest first; returns how many fired.

        A timer scheduled by a callback with a deadline <= now fires in the same call. A callback that raises is
        logged and does not stop the others.
        """
        heap = self._heap
        fired = 0
        while heap and heap[0][0] <= now:
            handle = heapq.heappop(heap)[2]
            if handle.cancelled:
                self._cancelled -= 1
                continue
            callback = handle.callback
            handle.callback = None  # type: ignore[assignment]
            fired += 1
            try:
                callback(now)
            except Exception:
                log.exception("timer callback %r failed", callback)
        return fired

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run forever: sleep until the earliest deadline, fire due timers. Start with ``nursery.start``."""
        task_status.started()
        while True:
            deadline = self.next_deadline()
            with trio.CancelScope(deadline=math.inf if deadline is None else deadline) as scope:
                self._scope = scope
                try:
                    await trio.sleep_forever()
                finally:
                    self._scope = None
            self.run_due(trio.current_time())


class SansIOTimer:
    """Keeps one heap entry in step with a sans-IO object's ``get_timer()``; see the module docstring."""

    __slots__ = ("_heap", "_get_timer", "_handle_timer", "_handle", "_deadline")

    def __init__(
        self,
        heap: TimerHeap,
        get_timer: Callable[[], float | None],
        handle_timer: Callable[[float], Any],
    ) -> None:
        self._heap = heap
        self._get_timer = get_timer
        self._handle_timer = handle_timer
        self._handle: TimerHandle | None = None
        self._deadline: float | None = None

    def update(self) -> None:
        """Re-read ``get_timer()``; call after anything that may have changed the sans-IO layer's timers."""
        deadline = self._get_timer()
        if deadline == self._deadline and (deadline is None or self._handle is not None):
            return
        self._heap.cancel(self._handle)
        self._deadline = deadline
        self._handle = None if deadline is None else self._heap.schedule(deadline, self._fire)

    def _fire(self, now: float) -> None:
        self._handle = None
        self._deadline = None
        try:
            self._handle_timer(now)
        finally:
            self.update()


async def drive_sansio(
    get_timer: Callable[[], float | None],
    handle_timer: Callable[[float], Any],
    *,
    task_status: trio.TaskStatus[Callable[[], None]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Drive a sans-IO layer's timers on a private heap.

    ``wakeup = await nursery.start(drive_sansio, get_timer, handle_timer)``; call ``wakeup()`` (synchronous) after
    feeding the layer so a newly earlier timer is seen. Runs until cancelled.
    """
    heap = TimerHeap()
    binding = SansIOTimer(heap, get_timer, handle_timer)
    binding.update()
    async with trio.open_nursery() as nursery:
        await nursery.start(heap.serve)
        task_status.started(binding.update)
