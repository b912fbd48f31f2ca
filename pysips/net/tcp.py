"""TCP transport: a listener plus a table of connections keyed by peer address, reused for sends.

Each connection runs one reader (frames the byte stream into SIP messages with ``pysips.sip.framing.StreamFramer``
and calls ``on_message`` synchronously per message) and one writer task draining a queue, so ``send`` stays
synchronous and writes on one connection keep their order. A connection is keyed by the peer's address: the source
address of a connection the peer opened, or the destination of one we opened. ``send`` to an address with no
connection opens one in the background, queueing the data until it is connected.

Idle connections (no byte read or written for ``idle_timeout`` seconds) are closed: the reader runs inside a
CancelScope whose deadline is pushed forward on activity, so there is no timer task per connection.

Closing a connection (peer EOF, framing error, idle timeout, write error) drops data still queued for it.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import trio

from pysips.errors import SIPParseError

__all__ = ["TCPTransport", "TCPConnection"]

log = logging.getLogger(__name__)

OnMessage = Callable[[bytes, tuple[str, int], Any], Any]
OnError = Callable[[Exception, tuple[str, int], Any], Any]
OnSendError = Callable[[tuple[str, int], Exception], Any]


class Framer(Protocol):
    def feed(self, data: bytes) -> list[bytes]: ...


_PING = b"\r\n\r\n"
_PONG = b"\r\n"


def _default_framer_factory(max_size: int) -> Framer:
    # Imported late so pysips.net (and UDP) does not depend on the framer module at import time.
    from pysips.sip.framing import StreamFramer

    return StreamFramer(max_size=max_size)


def _addr_key(addr: Any) -> tuple[str, int]:
    return (addr[0], addr[1])


class TCPConnection:
    """One TCP connection; owned by a TCPTransport. ``addr`` is its key in ``TCPTransport.connections``."""

    __slots__ = ("addr", "stream", "outgoing", "queue", "wakeup", "scope", "idle_timeout", "closed")

    def __init__(self, addr: tuple[str, int], outgoing: bool, idle_timeout: float) -> None:
        self.addr = addr
        self.outgoing = outgoing
        self.stream: trio.SocketStream | None = None
        self.queue: deque[bytes] = deque()
        self.wakeup = trio.Event()
        # Set while the connection runs; its deadline is the idle deadline.
        self.scope: trio.CancelScope | None = None
        self.idle_timeout = idle_timeout
        self.closed = False

    def __repr__(self) -> str:
        kind = "out" if self.outgoing else "in"
        return f"<TCPConnection {kind} {self.addr}{' closed' if self.closed else ''}>"

    def touch(self) -> None:
        if self.scope is not None:
            self.scope.deadline = trio.current_time() + self.idle_timeout

    def close(self) -> None:
        """Ask the connection to close; its tasks finish and it leaves the transport's table."""
        self.closed = True
        if self.scope is not None:
            self.scope.cancel()


class TCPTransport:
    """A TCP listener on (host, port); start with ``await nursery.start(transport.serve, on_message)``.

    ``on_message(data, addr, transport)`` per framed message; ``on_error(exc, addr, transport)`` when the stream
    cannot be framed (the connection is then closed); ``on_send_error(addr, exc)`` when a connect for ``send`` fails
    (the queued data is dropped). Callbacks run synchronously in the transport's tasks and must not block.
    ``crlf_pingpong``: answer a CRLFCRLF keep-alive with CRLF (RFC 5626; OpenSIPS ``tcp_crlf_pingpong``).
    Addresses are ``(ip, port)`` with an IP literal; IPv6 peers are reported as 2-tuples too.
    ``reuse_port``: the listener joins the SO_REUSEPORT group of its address (worker processes).
    Counters: ``received``, ``sent`` (messages written), ``send_drops``, ``framing_errors``.
    """

    proto = "tcp"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_size: int = 65535,
        idle_timeout: float = 120.0,
        connect_timeout: float = 10.0,
        send_queue_max: int = 1000,
        backlog: int = 128,
        crlf_pingpong: bool = True,
        on_error: OnError | None = None,
        on_send_error: OnSendError | None = None,
        framer_factory: Callable[[int], Framer] = _default_framer_factory,
        reuse_port: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.max_size = max_size
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.send_queue_max = send_queue_max
        self.backlog = backlog
        self.crlf_pingpong = crlf_pingpong
        self.on_error = on_error
        self.on_send_error = on_send_error
        self.framer_factory = framer_factory
        # join the SO_REUSEPORT group of the address (worker processes share the listening port)
        self.reuse_port = reuse_port
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.local: tuple[str, int] | None = None
        self.connections: dict[tuple[str, int], TCPConnection] = {}
        self.received = 0
        self.sent = 0
        self.send_drops = 0
        self.framing_errors = 0
        self._on_message: OnMessage | None = None
        self._nursery: trio.Nursery | None = None
        self._listener: trio.SocketListener | None = None

    def __repr__(self) -> str:
        return f"<TCPTransport {self.local or (self.host, self.port)}>"

    async def serve(
        self,
        on_message: OnMessage,
        *,
        task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen and serve until cancelled; reports the bound (host, port). Closes every connection on exit."""
        sock = trio.socket.socket(self.family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if self.reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            await sock.bind((self.host, self.port))
            sock.listen(self.backlog)
        except BaseException:
            sock.close()
            raise
        listener = trio.SocketListener(sock)
        name = sock.getsockname()
        self.local = (name[0], name[1])
        self._on_message = on_message
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self._listener = listener
                task_status.started(self.local)
                await self._accept_loop(listener, nursery)
        finally:
            self._nursery = None
            self._listener = None
            self.connections.clear()
            with trio.CancelScope(shield=True):
                await listener.aclose()

    async def _accept_loop(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                # EMFILE/ENFILE etc.: back off instead of spinning; the listener itself is still fine.
                log.warning("tcp %s accept: %s", self.local, exc)
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    await trio.sleep(0.1)
                continue
            try:
                addr = _addr_key(stream.socket.getpeername())
            except OSError:
                # The peer reset the connection between accept and here; nothing to serve.
                await stream.aclose()
                continue
            conn = TCPConnection(addr, outgoing=False, idle_timeout=self.idle_timeout)
            conn.stream = stream
            old = self.connections.get(addr)
            if old is not None:
                old.close()
            self.connections[addr] = conn
            nursery.start_soon(self._run_connection, conn)

    def send(self, data: bytes, addr: tuple[str, int]) -> bool:
        """Queue ``data`` on the connection to ``addr``, opening one if needed. Never blocks, never awaits.

        Returns False when the data was dropped (the connection's queue is full, or the transport is not serving).
        """
        conn = self.connections.get(addr)
        if conn is None or conn.closed:
            if self._nursery is None:
                self.send_drops += 1
                return False
            addr = _addr_key(addr)
            conn = TCPConnection(addr, outgoing=True, idle_timeout=self.idle_timeout)
            self.connections[addr] = conn
            self._nursery.start_soon(self._connect_and_run, conn)
        return self._queue_write(conn, data)

    def _queue_write(self, conn: TCPConnection, data: bytes) -> bool:
        if len(conn.queue) >= self.send_queue_max:
            self.send_drops += 1
            return False
        conn.queue.append(data)
        conn.wakeup.set()
        return True

    def close_connection(self, addr: tuple[str, int]) -> bool:
        """Close the connection to ``addr`` if there is one; returns whether there was."""
        conn = self.connections.get(addr)
        if conn is None:
            return False
        conn.close()
        return True

    async def _connect_and_run(self, conn: TCPConnection) -> None:
        try:
            with trio.fail_after(self.connect_timeout):
                conn.stream = await trio.open_tcp_stream(
                    conn.addr[0], conn.addr[1], local_address=self._source_ip(conn.addr[0])
                )
        except (OSError, trio.TooSlowError) as exc:
            self._outgoing_failed(conn, exc, "connect")
            return
        await self._run_connection(conn)

    def _outgoing_failed(self, conn: TCPConnection, exc: BaseException, what: str) -> None:
        """An outgoing connection could not be set up: drop its queued data and tell ``on_send_error``."""
        dropped = len(conn.queue)
        conn.queue.clear()
        conn.closed = True
        if self.connections.get(conn.addr) is conn:
            del self.connections[conn.addr]
        log.debug(
            "%s %s to %s failed: %r (%d queued messages dropped)", self.proto, what, conn.addr, exc, dropped
        )
        self.send_drops += dropped
        if self.on_send_error is not None:
            try:
                self.on_send_error(conn.addr, exc)
            except Exception:
                log.exception("%s on_send_error failed", self.proto)

    async def _secure(self, stream: Any, conn: TCPConnection) -> Any:
        """Set up the connection's byte stream before any read or write (TLS: the handshake); runs in the
        connection's own task, so a slow peer never holds up the accept loop, and data queued on an outgoing
        connection waits for it. Returns the stream to use, or None to close the connection (the override has
        then counted and reported the failure). Plain TCP: the stream as is."""
        return stream

    def _source_ip(self, dest_host: str) -> str | None:
        # Connect from the listening IP (as OpenSIPS does) so the peer sees the address we advertise; a wildcard
        # listener or a destination of the other family leaves the choice to the OS.
        if self.host in ("0.0.0.0", "::", "") or (":" in self.host) != (":" in dest_host):
            return None
        return self.host

    async def _run_connection(self, conn: TCPConnection) -> None:
        stream = conn.stream
        assert stream is not None
        try:
            if not conn.closed:
                with trio.CancelScope(deadline=trio.current_time() + conn.idle_timeout) as scope:
                    conn.scope = scope
                    secured = await self._secure(stream, conn)
                    if secured is None:
                        return
                    # closing the secured stream closes the raw one under it too
                    stream = conn.stream = secured
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._writer, conn, stream)
                        await self._reader(conn, stream)
                        nursery.cancel_scope.cancel()
        finally:
            conn.closed = True
            conn.scope = None
            if self.connections.get(conn.addr) is conn:
                del self.connections[conn.addr]
            with trio.CancelScope(shield=True):
                await stream.aclose()

    async def _reader(self, conn: TCPConnection, stream: trio.SocketStream) -> None:
        framer = self.framer_factory(self.max_size)
        on_message = self._on_message
        assert on_message is not None
        addr = conn.addr
        idle = conn.idle_timeout
        pingpong = self.crlf_pingpong
        scope = conn.scope
        assert scope is not None
        while True:
            try:
                data = await stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                log.debug("tcp %s read: %r", addr, exc)
                return
            if not data:
                return
            scope.deadline = trio.current_time() + idle
            if data == _PING and pingpong and not getattr(framer, "buffered", 0):
                # RFC 5626 4.4.1 keep-alive: a CRLFCRLF ping between messages is answered with a CRLF pong
                # (OpenSIPS proto_tcp tcp_crlf_pingpong, on by default). A ping split across reads goes unanswered.
                self._queue_write(conn, _PONG)
                continue
            try:
                messages = framer.feed(data)
            except SIPParseError as exc:
                self.framing_errors += 1
                log.info("tcp %s: closing connection, bad framing: %s", addr, exc)
                if self.on_error is not None:
                    try:
                        self.on_error(exc, addr, self)
                    except Exception:
                        log.exception("tcp on_error failed")
                return
            for msg in messages:
                self.received += 1
                try:
                    on_message(msg, addr, self)
                except Exception:
                    log.exception("tcp %s: on_message failed", addr)
            pending = getattr(framer, "pending_error", None)
            if pending is not None:
                # a bad message arrived behind good ones in the same read: they were delivered, now close
                self.framing_errors += 1
                log.info("tcp %s: closing connection, bad framing: %s", addr, pending)
                if self.on_error is not None:
                    try:
                        self.on_error(pending, addr, self)
                    except Exception:
                        log.exception("tcp on_error failed")
                return

    async def _writer(self, conn: TCPConnection, stream: trio.SocketStream) -> None:
        queue = conn.queue
        while True:
            await conn.wakeup.wait()
            conn.wakeup = trio.Event()
            while queue:
                # Coalesce whatever is queued into one write: fewer syscalls, same byte order.
                count = len(queue)
                data = queue.popleft() if count == 1 else b"".join([queue.popleft() for _ in range(count)])
                try:
                    await stream.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    log.debug("tcp %s write: %r", conn.addr, exc)
                    conn.close()
                    return
                self.sent += count
                conn.touch()
