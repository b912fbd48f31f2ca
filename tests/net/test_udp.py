from __future__ import annotations

import socket

import pytest
import trio

from pysips.net import UDPTransport


def _has_ipv6() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


async def _wait_for(predicate, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.005)


async def test_serve_reports_bound_address_and_proto():
    t = UDPTransport("127.0.0.1", 0)
    assert t.proto == "udp"
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: None)
        assert local == t.local
        assert local[0] == "127.0.0.1"
        assert local[1] > 0
        nursery.cancel_scope.cancel()
    assert t.sock is not None and t.sock.fileno() == -1


async def test_burst_of_500_delivered_in_order_with_source_address():
    got: list[tuple[bytes, tuple[str, int], object]] = []
    t = UDPTransport("127.0.0.1", 0, batch=64)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        async with trio.open_nursery() as nursery:
            local = await nursery.start(t.serve, lambda d, a, tr: got.append((d, a, tr)))
            for i in range(500):
                peer.sendto(b"msg %d" % i, local)
            await _wait_for(lambda: len(got) >= 500)
            nursery.cancel_scope.cancel()
        assert [d for d, _, _ in got] == [b"msg %d" % i for i in range(500)]
        assert {a for _, a, _ in got} == {peer.getsockname()}
        assert all(tr is t for _, _, tr in got)
        assert t.received == 500


async def test_burst_yields_to_other_tasks():
    # A task that wants to run while the burst is drained must get in before the whole burst is processed.
    t = UDPTransport("127.0.0.1", 0, batch=16)
    order: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        async with trio.open_nursery() as nursery:
            local = await nursery.start(t.serve, lambda d, a, tr: order.append("d"))
            for _ in range(200):
                peer.sendto(b"x", local)

            async def other() -> None:
                await trio.sleep(0)
                order.append("other")

            nursery.start_soon(other)
            await _wait_for(lambda: order.count("d") >= 200)
            nursery.cancel_scope.cancel()
    assert "other" in order
    assert order.index("other") < 199


async def test_send_to_peer_and_reply_from_callback():
    t = UDPTransport("127.0.0.1", 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.settimeout(5)

        def echo(data: bytes, addr: tuple[str, int], tr: UDPTransport) -> None:
            tr.send(b"re:" + data, addr)

        async with trio.open_nursery() as nursery:
            local = await nursery.start(t.serve, echo)
            assert t.send(b"hello", peer.getsockname()) is True
            data, src = await trio.to_thread.run_sync(peer.recvfrom, 2000)
            assert (data, src) == (b"hello", local)
            peer.sendto(b"ping", local)
            data, src = await trio.to_thread.run_sync(peer.recvfrom, 2000)
            assert (data, src) == (b"re:ping", local)
            nursery.cancel_scope.cancel()
    assert t.sent == 2


async def test_oversize_datagram_dropped_and_counted():
    got: list[bytes] = []
    t = UDPTransport("127.0.0.1", 0, max_size=100)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        async with trio.open_nursery() as nursery:
            local = await nursery.start(t.serve, lambda d, a, tr: got.append(d))
            peer.sendto(b"a" * 101, local)
            peer.sendto(b"b" * 100, local)
            await _wait_for(lambda: len(got) >= 1)
            nursery.cancel_scope.cancel()
    assert got == [b"b" * 100]
    assert t.oversize == 1


async def test_failing_callback_keeps_serving():
    got: list[bytes] = []

    def cb(data: bytes, addr: tuple[str, int], tr: UDPTransport) -> None:
        if data == b"bad":
            raise ValueError("boom")
        got.append(data)

    t = UDPTransport("127.0.0.1", 0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        async with trio.open_nursery() as nursery:
            local = await nursery.start(t.serve, cb)
            peer.sendto(b"bad", local)
            peer.sendto(b"good", local)
            await _wait_for(lambda: got == [b"good"])
            nursery.cancel_scope.cancel()
    assert t.callback_errors == 1


class _FullBufferSocket:
    """Wraps a real UDP socket; sendto reports a full kernel buffer for the first `refuse` calls.

    Loopback frees the sender's buffer on delivery, so a real EAGAIN cannot be provoked reliably.
    """

    def __init__(self, sock: socket.socket, refuse: int) -> None:
        self._sock = sock
        self.refuse = refuse

    def sendto(self, data: bytes, addr: tuple[str, int]) -> int:
        if self.refuse > 0:
            self.refuse -= 1
            raise BlockingIOError
        return self._sock.sendto(data, addr)

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


async def test_send_queues_when_kernel_buffer_full_and_keeps_order():
    t = UDPTransport("127.0.0.1", 0)
    t.bind()
    t.sock = _FullBufferSocket(t.sock, refuse=3)
    got: list[bytes] = []
    sink = UDPTransport("127.0.0.1", 0)
    async with trio.open_nursery() as nursery:
        sink_addr = await nursery.start(sink.serve, lambda d, a, tr: got.append(d))
        await nursery.start(t.serve, lambda d, a, tr: None)
        payloads = [b"%05d" % i for i in range(50)]
        results = [t.send(p, sink_addr) for p in payloads]
        assert all(results)
        # The first refusal queued it; later sends queue behind it so order is kept.
        assert t.queued == 50
        await _wait_for(lambda: len(got) >= 50)
        nursery.cancel_scope.cancel()
    assert got == payloads
    assert t.sent == 50
    assert t.send_drops == 0


async def test_send_queue_bound_counts_drops():
    t = UDPTransport("127.0.0.1", 0, send_queue_max=2)
    t.bind()
    try:
        # Not serving: no writer, so a would-block send is dropped rather than queued forever.
        t._queue.extend([(b"a", ("127.0.0.1", 9)), (b"b", ("127.0.0.1", 9))])
        assert t.send(b"c", ("127.0.0.1", 9)) is False
        assert t.send_drops == 1
    finally:
        t.close()


@pytest.mark.skipif(not _has_ipv6(), reason="host has no IPv6 loopback")
async def test_ipv6_loopback_roundtrip():
    got: list[tuple[bytes, tuple[str, int]]] = []
    t = UDPTransport("::1", 0)
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as peer:
        peer.bind(("::1", 0))
        peer.settimeout(5)
        peer_addr = peer.getsockname()[:2]
        async with trio.open_nursery() as nursery:
            local = await nursery.start(t.serve, lambda d, a, tr: got.append((d, a)))
            assert local[0] == "::1"
            peer.sendto(b"v6", local)
            await _wait_for(lambda: len(got) >= 1)
            t.send(b"back", got[0][1])
            data, _ = await trio.to_thread.run_sync(peer.recvfrom, 100)
            nursery.cancel_scope.cancel()
    assert got == [(b"v6", peer_addr)]
    assert data == b"back"


def test_send_before_bind_raises_and_after_bind_works():
    t = UDPTransport("127.0.0.1", 0)
    with pytest.raises(RuntimeError, match="before bind"):
        t.send(b"x", ("127.0.0.1", 9))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.settimeout(5)
        local = t.bind()
        try:
            assert t.send(b"early", peer.getsockname()) is True
            assert peer.recvfrom(100) == (b"early", local)
        finally:
            t.close()
