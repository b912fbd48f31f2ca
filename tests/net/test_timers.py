from __future__ import annotations

import trio

from pysips.net.timers import SansIOTimer, TimerHeap, drive_sansio


def test_run_due_fires_in_deadline_order_and_only_due():
    heap = TimerHeap()
    fired: list[tuple[str, float]] = []
    heap.schedule(3.0, lambda now: fired.append(("c", now)))
    heap.schedule(1.0, lambda now: fired.append(("a", now)))
    heap.schedule(2.0, lambda now: fired.append(("b", now)))
    heap.schedule(2.0, lambda now: fired.append(("b2", now)))
    assert heap.next_deadline() == 1.0
    assert heap.run_due(2.5) == 3
    assert fired == [("a", 2.5), ("b", 2.5), ("b2", 2.5)]
    assert heap.next_deadline() == 3.0
    assert len(heap) == 1


def test_cancel_is_lazy_and_skipped():
    heap = TimerHeap()
    fired: list[str] = []
    h1 = heap.schedule(1.0, lambda now: fired.append("a"))
    heap.schedule(2.0, lambda now: fired.append("b"))
    heap.cancel(h1)
    heap.cancel(h1)
    heap.cancel(None)
    assert len(heap) == 1
    assert heap.next_deadline() == 2.0
    assert heap.run_due(10.0) == 1
    assert fired == ["b"]
    assert heap.next_deadline() is None


def test_cancel_after_fire_is_harmless():
    heap = TimerHeap()
    h = heap.schedule(1.0, lambda now: None)
    assert heap.run_due(1.0) == 1
    heap.cancel(h)
    assert len(heap) == 0
    heap.schedule(5.0, lambda now: None)
    assert len(heap) == 1


def test_mass_cancel_compacts_heap():
    heap = TimerHeap()
    handles = [heap.schedule(float(i), lambda now: None) for i in range(1000)]
    for h in handles[:900]:
        heap.cancel(h)
    assert len(heap) == 100
    assert len(heap._heap) < 1000
    assert heap.next_deadline() == 900.0


def test_failing_callback_does_not_stop_others():
    heap = TimerHeap()
    fired: list[str] = []

    def boom(now: float) -> None:
        raise RuntimeError("boom")

    heap.schedule(1.0, boom)
    heap.schedule(1.0, lambda now: fired.append("ok"))
    assert heap.run_due(1.0) == 2
    assert fired == ["ok"]


def test_callback_scheduling_due_timer_runs_in_same_pass():
    heap = TimerHeap()
    fired: list[str] = []
    heap.schedule(1.0, lambda now: heap.schedule(0.5, lambda n: fired.append("inner")))
    assert heap.run_due(1.0) == 2
    assert fired == ["inner"]


async def test_serve_fires_at_deadlines(autojump_clock):
    heap = TimerHeap()
    fired: list[tuple[str, float]] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(heap.serve)
        t0 = trio.current_time()
        heap.schedule(t0 + 32.0, lambda now: fired.append(("B", now - t0)))
        heap.schedule(t0 + 0.5, lambda now: fired.append(("A", now - t0)))
        await trio.sleep(40)
        nursery.cancel_scope.cancel()
    assert [name for name, _ in fired] == ["A", "B"]
    assert abs(fired[0][1] - 0.5) < 1e-6
    assert abs(fired[1][1] - 32.0) < 1e-6


async def test_earlier_schedule_wakes_sleeping_loop(autojump_clock):
    heap = TimerHeap()
    fired: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(heap.serve)
        t0 = trio.current_time()
        heap.schedule(t0 + 100.0, lambda now: fired.append(now - t0))
        await trio.sleep(1)  # the loop is now asleep until t0 + 100
        heap.schedule(t0 + 2.0, lambda now: fired.append(now - t0))
        await trio.sleep(5)
        assert len(fired) == 1
        assert abs(fired[0] - 2.0) < 1e-6
        nursery.cancel_scope.cancel()


async def test_cancelled_timer_does_not_fire_in_serve(autojump_clock):
    heap = TimerHeap()
    fired: list[str] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(heap.serve)
        t0 = trio.current_time()
        h = heap.schedule(t0 + 1.0, lambda now: fired.append("x"))
        heap.schedule(t0 + 2.0, lambda now: fired.append("y"))
        heap.cancel(h)
        await trio.sleep(3)
        nursery.cancel_scope.cancel()
    assert fired == ["y"]


class FakeSansIO:
    """Minimal sans-IO object: a list of deadlines, handle_timer pops the due ones."""

    def __init__(self) -> None:
        self.deadlines: list[float] = []
        self.handled: list[float] = []

    def get_timer(self) -> float | None:
        return min(self.deadlines) if self.deadlines else None

    def handle_timer(self, now: float) -> None:
        due = [d for d in self.deadlines if d <= now]
        self.deadlines = [d for d in self.deadlines if d > now]
        self.handled.extend(due)


async def test_sansio_timer_binding_follows_get_timer(autojump_clock):
    layer = FakeSansIO()
    heap = TimerHeap()
    binding = SansIOTimer(heap, layer.get_timer, layer.handle_timer)
    async with trio.open_nursery() as nursery:
        await nursery.start(heap.serve)
        t0 = trio.current_time()
        layer.deadlines += [t0 + 10.0, t0 + 32.0]
        binding.update()
        binding.update()
        assert len(heap) == 1
        await trio.sleep(1)
        layer.deadlines.append(t0 + 3.0)  # an earlier timer appears after feeding the layer
        binding.update()
        assert len(heap) == 1
        await trio.sleep(50)
        nursery.cancel_scope.cancel()
    assert [d - t0 for d in layer.handled] == [3.0, 10.0, 32.0]
    assert len(heap) == 0


async def test_drive_sansio_wakeup(autojump_clock):
    layer = FakeSansIO()
    async with trio.open_nursery() as nursery:
        wakeup = await nursery.start(drive_sansio, layer.get_timer, layer.handle_timer)
        t0 = trio.current_time()
        layer.deadlines.append(t0 + 32.0)
        wakeup()
        await trio.sleep(5)
        layer.deadlines.append(t0 + 7.0)
        wakeup()
        await trio.sleep(30)
        assert [d - t0 for d in layer.handled] == [7.0, 32.0]
        nursery.cancel_scope.cancel()
