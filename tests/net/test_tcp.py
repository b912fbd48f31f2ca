from __future__ import annotations

import socket

import pytest
import trio

from pysips.errors import SIPParseError
from pysips.net import TCPTransport


def sip(n: int, body: bytes = b"") -> bytes:
    return (
        b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
        b"Call-ID: call-%d\r\n"
        b"CSeq: 1 OPTIONS\r\n"
        b"Content-Length: %d\r\n\r\n" % (n, len(body))
    ) + body


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


async def _wait_for(predicate, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.005)


async def _read_until(stream: trio.SocketStream, expected_len: int, timeout: float = 5.0) -> bytes:
    buf = b""
    with trio.fail_after(timeout):
        while len(buf) < expected_len:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            buf += chunk
    return buf


async def _expect_eof(stream: trio.SocketStream, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while True:
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                return
            if not chunk:
                return


def _peer_addr(stream: trio.SocketStream) -> tuple[str, int]:
    name = stream.socket.getsockname()
    return (name[0], name[1])


async def test_serve_reports_bound_address_and_proto():
    t = TCPTransport("127.0.0.1", 0)
    assert t.proto == "tcp"
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: None)
        assert local == t.local and local[1] > 0
        nursery.cancel_scope.cancel()


async def test_two_messages_in_one_segment():
    got: list[tuple[bytes, tuple[str, int], object]] = []
    t = TCPTransport("127.0.0.1", 0)
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: got.append((d, a, tr)))
        peer = await trio.open_tcp_stream(*local)
        await peer.send_all(sip(1, b"hello") + sip(2))
        await _wait_for(lambda: len(got) >= 2)
        assert [d for d, _, _ in got] == [sip(1, b"hello"), sip(2)]
        assert {a for _, a, _ in got} == {_peer_addr(peer)}
        assert all(tr is t for _, _, tr in got)
        await peer.aclose()
        nursery.cancel_scope.cancel()


async def test_message_split_across_segments():
    got: list[bytes] = []
    t = TCPTransport("127.0.0.1", 0)
    msg = sip(7, b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n")
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: got.append(d))
        peer = await trio.open_tcp_stream(*local)
        # Four pieces, sent as separate segments (TCP_NODELAY is on and we wait between them).
        await peer.send_all(msg[:10])
        await trio.sleep(0.02)
        await peer.send_all(msg[10:-40])
        await trio.sleep(0.02)
        assert got == []
        await peer.send_all(msg[-40:-5])
        await trio.sleep(0.02)
        assert got == []
        await peer.send_all(msg[-5:])
        await _wait_for(lambda: len(got) >= 1)
        assert got == [msg]
        await peer.aclose()
        nursery.cancel_scope.cancel()


async def test_keepalive_crlf_ignored():
    got: list[bytes] = []
    t = TCPTransport("127.0.0.1", 0)
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: got.append(d))
        peer = await trio.open_tcp_stream(*local)
        await peer.send_all(b"\r\n\r\n")
        await trio.sleep(0.02)
        await peer.send_all(sip(1) + b"\r\n\r\n" + sip(2))
        await _wait_for(lambda: len(got) >= 2)
        await trio.sleep(0.02)
        assert got == [sip(1), sip(2)]
        assert t.connections  # keep-alives did not close the connection
        await peer.aclose()
        nursery.cancel_scope.cancel()


async def test_reply_reuses_connection_the_peer_opened():
    t = TCPTransport("127.0.0.1", 0)

    ok = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"

    def answer(data: bytes, addr: tuple[str, int], tr: TCPTransport) -> None:
        tr.send(ok, addr)

    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, answer)
        peer = await trio.open_tcp_stream(*local)
        await peer.send_all(sip(1))
        assert await _read_until(peer, len(ok)) == ok
        assert list(t.connections) == [_peer_addr(peer)]
        assert not t.connections[_peer_addr(peer)].outgoing
        # A later send addressed to the peer's source address also goes down that connection.
        t.send(sip(9), _peer_addr(peer))
        assert await _read_until(peer, len(sip(9))) == sip(9)
        assert len(t.connections) == 1
        await peer.aclose()
        nursery.cancel_scope.cancel()


async def test_send_opens_one_connection_and_reuses_it():
    t = TCPTransport("127.0.0.1", 0)
    got: list[tuple[bytes, tuple[str, int]]] = []
    accepted: list[trio.SocketStream] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(t.serve, lambda d, a, tr: got.append((d, a)))
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        listener = listeners[0]
        target = listener.socket.getsockname()[:2]

        async def accept_all() -> None:
            while True:
                accepted.append(await listener.accept())

        nursery.start_soon(accept_all)
        # Queued before the connection exists, then flushed in order.
        for i in range(50):
            assert t.send(sip(i), target) is True
        await _wait_for(lambda: len(accepted) == 1)
        data = await _read_until(accepted[0], sum(len(sip(i)) for i in range(50)))
        assert data == b"".join(sip(i) for i in range(50))
        t.send(sip(99), target)
        assert await _read_until(accepted[0], len(sip(99))) == sip(99)
        assert len(accepted) == 1
        assert t.connections[target].outgoing
        # Messages the peer sends back on our outgoing connection are reported with the target address.
        await accepted[0].send_all(sip(5))
        await _wait_for(lambda: len(got) >= 1)
        assert got == [(sip(5), target)]
        nursery.cancel_scope.cancel()
    await listener.aclose()
    for stream in accepted:
        await stream.aclose()


async def test_connect_failure_calls_on_send_error():
    errors: list[tuple[tuple[str, int], Exception]] = []
    t = TCPTransport("127.0.0.1", 0, on_send_error=lambda addr, exc: errors.append((addr, exc)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()  # bound but not listening: connects are refused
        async with trio.open_nursery() as nursery:
            await nursery.start(t.serve, lambda d, a, tr: None)
            t.send(sip(1), dead)
            t.send(sip(2), dead)
            await _wait_for(lambda: len(errors) >= 1)
            await trio.sleep(0.02)
            nursery.cancel_scope.cancel()
    assert len(errors) == 1
    assert errors[0][0] == dead
    assert isinstance(errors[0][1], OSError)
    assert t.send_drops == 2
    assert t.connections == {}


async def test_idle_timeout_closes_connection():
    t = TCPTransport("127.0.0.1", 0, idle_timeout=0.3)
    got: list[bytes] = []
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: got.append(d))
        peer = await trio.open_tcp_stream(*local)
        start = trio.current_time()
        # Activity keeps it open past the timeout...
        for i in range(4):
            await peer.send_all(sip(i))
            await trio.sleep(0.15)
        await _wait_for(lambda: len(got) == 4)
        assert len(t.connections) == 1
        # ...then silence closes it.
        await _expect_eof(peer, timeout=3)
        closed_after = trio.current_time() - start
        assert closed_after > 0.6
        await _wait_for(lambda: not t.connections)
        await peer.aclose()
        nursery.cancel_scope.cancel()


async def test_framing_error_calls_on_error_and_closes():
    errors: list[tuple[Exception, tuple[str, int], object]] = []
    got: list[bytes] = []
    t = TCPTransport("127.0.0.1", 0, on_error=lambda exc, addr, tr: errors.append((exc, addr, tr)))
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: got.append(d))
        peer = await trio.open_tcp_stream(*local)
        await peer.send_all(sip(1))
        await _wait_for(lambda: len(got) == 1)
        await peer.send_all(b"OPTIONS sip:x SIP/2.0\r\nCall-ID: no-length\r\n\r\n")
        await _expect_eof(peer)
        assert got == [sip(1)]
        assert len(errors) == 1
        exc, addr, tr = errors[0]
        assert isinstance(exc, SIPParseError)
        assert addr == _peer_addr(peer)
        assert tr is t
        assert t.framing_errors == 1
        await _wait_for(lambda: not t.connections)
        await peer.aclose()
        nursery.cancel_scope.cancel()


async def test_good_message_then_bad_in_one_segment():
    errors: list[Exception] = []
    got: list[bytes] = []
    t = TCPTransport("127.0.0.1", 0, on_error=lambda exc, addr, tr: errors.append(exc))
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: got.append(d))
        peer = await trio.open_tcp_stream(*local)
        await peer.send_all(sip(1) + b"OPTIONS sip:x SIP/2.0\r\nCall-ID: no-length\r\n\r\n")
        await _expect_eof(peer)
        assert got == [sip(1)]  # the good message is delivered before the connection closes
        assert len(errors) == 1 and isinstance(errors[0], SIPParseError)
        assert t.framing_errors == 1
        await peer.aclose()
        nursery.cancel_scope.cancel()


async def test_oversize_message_is_a_framing_error():
    errors: list[Exception] = []
    t = TCPTransport("127.0.0.1", 0, max_size=1000, on_error=lambda exc, addr, tr: errors.append(exc))
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: None)
        peer = await trio.open_tcp_stream(*local)
        await peer.send_all(sip(1, b"x" * 2000))
        await _expect_eof(peer)
        assert len(errors) == 1 and isinstance(errors[0], SIPParseError)
        await peer.aclose()
        nursery.cancel_scope.cancel()


async def test_peer_close_removes_connection():
    t = TCPTransport("127.0.0.1", 0)
    got: list[tuple[bytes, tuple[str, int]]] = []
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: got.append((d, a)))
        peer = await trio.open_tcp_stream(*local)
        await peer.send_all(sip(1))
        await _wait_for(lambda: len(got) == 1)
        await peer.aclose()
        await _wait_for(lambda: not t.connections)
        nursery.cancel_scope.cancel()


async def test_many_writes_keep_order():
    t = TCPTransport("127.0.0.1", 0)
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: None)
        peer = await trio.open_tcp_stream(*local)
        await peer.send_all(b"\r\n")
        await _wait_for(lambda: len(t.connections) == 1)
        addr = _peer_addr(peer)
        expected = b""
        for i in range(300):
            msg = sip(i, b"y" * (i % 50))
            expected += msg
            t.send(msg, addr)
            if i % 37 == 0:
                await trio.sleep(0)
        assert await _read_until(peer, len(expected)) == expected
        # The writer counts after send_all returns, which may be after the peer already read the bytes.
        await _wait_for(lambda: t.sent == 300)
        await peer.aclose()
        nursery.cancel_scope.cancel()


@pytest.mark.skipif(not _has_ipv6(), reason="host has no IPv6 loopback")
async def test_ipv6_send_and_receive():
    a_got: list[tuple[bytes, tuple[str, int]]] = []
    b_got: list[tuple[bytes, tuple[str, int]]] = []
    a = TCPTransport("::1", 0)
    b = TCPTransport("::1", 0)
    async with trio.open_nursery() as nursery:
        a_local = await nursery.start(a.serve, lambda d, addr, tr: a_got.append((d, addr)))
        b_local = await nursery.start(b.serve, lambda d, addr, tr: b_got.append((d, addr)))
        assert a_local[0] == "::1"
        a.send(sip(1), b_local)
        await _wait_for(lambda: len(b_got) == 1)
        data, src = b_got[0]
        assert data == sip(1) and src[0] == "::1" and len(src) == 2
        # b answers on the connection a opened: no second connection appears.
        b.send(sip(2), src)
        await _wait_for(lambda: len(a_got) == 1)
        assert a_got == [(sip(2), b_local)]
        assert len(a.connections) == 1 and len(b.connections) == 1
        nursery.cancel_scope.cancel()


async def test_outgoing_connection_uses_listening_ip():
    # 127.0.0.2 is loopback on Linux; the peer must see the connection coming from the transport's own IP.
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
    except OSError:
        pytest.skip("127.0.0.2 not usable")
    a = TCPTransport("127.0.0.2", 0)
    b_got: list[tuple[bytes, tuple[str, int]]] = []
    b = TCPTransport("127.0.0.1", 0)
    async with trio.open_nursery() as nursery:
        await nursery.start(a.serve, lambda d, addr, tr: None)
        b_local = await nursery.start(b.serve, lambda d, addr, tr: b_got.append((d, addr)))
        a.send(sip(1), b_local)
        await _wait_for(lambda: len(b_got) == 1)
        assert b_got[0][1][0] == "127.0.0.2"
        nursery.cancel_scope.cancel()


async def test_crlf_ping_gets_pong():
    got: list[bytes] = []
    t = TCPTransport("127.0.0.1", 0)
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: got.append(d))
        peer = await trio.open_tcp_stream(*local)
        await peer.send_all(b"\r\n\r\n")
        assert await _read_until(peer, 2) == b"\r\n"
        await peer.send_all(sip(1))
        await _wait_for(lambda: got == [sip(1)])
        await peer.aclose()
        nursery.cancel_scope.cancel()


async def test_crlf_pingpong_can_be_disabled():
    t = TCPTransport("127.0.0.1", 0, crlf_pingpong=False)
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: None)
        peer = await trio.open_tcp_stream(*local)
        await peer.send_all(b"\r\n\r\n")
        with trio.move_on_after(0.1) as scope:
            await peer.receive_some(10)
        assert scope.cancelled_caught
        await peer.aclose()
        nursery.cancel_scope.cancel()
