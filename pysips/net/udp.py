"""UDP transport: one receive loop per socket, synchronous callbacks, synchronous sends.

The hot path is deliberately free of awaits: on each wake-up the loop drains every ready datagram with non-blocking
``recvfrom`` and hands each to a plain callback, yielding to the scheduler only after ``batch`` datagrams so timers
and other sockets are not starved. ``send`` writes straight to the non-blocking socket; only when the kernel buffer
is full is the datagram queued for a writer task that waits for writability.

Datagrams longer than ``max_size`` are dropped and counted in ``oversize`` (the socket reads ``max_size + 1`` bytes,
so anything longer shows up as exactly that length; the OS silently truncates the rest of the datagram).
"""

from __future__ import annotations

import logging
import socket
from collections import deque
from collections.abc import Callable
from typing import Any

import trio

__all__ = ["UDPTransport", "OnMessage"]

log = logging.getLogger(__name__)

OnMessage = Callable[[bytes, tuple[str, int], Any], Any]

_BUFSIZE = 4 * 1024 * 1024


def _not_bound(data: bytes, addr: tuple[str, int]) -> int:
    raise RuntimeError("UDPTransport.send before bind() or serve()")


class UDPTransport:
    """A UDP socket bound to (host, port); start it with ``await nursery.start(transport.serve, on_message)``.

    ``on_message(data, addr, transport)`` is called synchronously for every datagram; ``addr`` is ``(host, port)``
    for IPv4 and IPv6 alike. It must not block; an exception it raises is logged and counted.

    Counters: ``received`` (datagrams read, oversize ones included), ``sent``, ``oversize``, ``recv_errors``,
    ``queued`` (sends that found the kernel buffer full and waited for the writer task), ``send_drops`` (queue
    full or not serving), ``send_errors`` (the OS refused the datagram), ``callback_errors``.
    """

    proto = "udp"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_size: int = 65535,
        batch: int = 64,
        send_queue_max: int = 10000,
        bufsize: int = _BUFSIZE,
        reuse_port: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        # join the SO_REUSEPORT group of the address (worker processes share the socket's port)
        self.reuse_port = reuse_port
        self.max_size = max_size
        self.batch = batch
        self.send_queue_max = send_queue_max
        self.bufsize = bufsize
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock: socket.socket | None = None
        self.local: tuple[str, int] | None = None
        self.received = 0
        self.sent = 0
        self.oversize = 0
        self.recv_errors = 0
        self.queued = 0
        self.send_drops = 0
        self.send_errors = 0
        self.callback_errors = 0
        self._queue: deque[tuple[bytes, tuple[str, int]]] = deque()
        self._sendto: Callable[[bytes, tuple[str, int]], int] = _not_bound
        self._writer_wakeup: trio.Event | None = None

    def __repr__(self) -> str:
        return f"<UDPTransport {self.local or (self.host, self.port)}>"

    def bind(self) -> tuple[str, int]:
        """Create and bind the socket (``serve`` does this if not done yet); returns the bound (host, port)."""
        if self.sock is not None:
            assert self.local is not None
            return self.local
        sock = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            if self.reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                try:
                    sock.setsockopt(socket.SOL_SOCKET, opt, self.bufsize)
                except OSError:
                    pass  # a smaller kernel default still works, it just drops sooner under bursts
            sock.bind((self.host, self.port))
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self._sendto = sock.sendto
        name = sock.getsockname()
        self.local = (name[0], name[1])
        return self.local

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()

    async def serve(
        self,
        on_message: OnMessage,
        *,
        task_status: trio.TaskStatus[tuple[str, int]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Receive until cancelled; reports the bound (host, port) through ``task_status``. Closes the socket on exit."""
        local = self.bind()
        sock = self.sock
        assert sock is not None
        self._sendto = sock.sendto
        try:
            async with trio.open_nursery() as nursery:
                self._writer_wakeup = trio.Event()
                nursery.start_soon(self._writer, sock)
                task_status.started(local)
                await self._receive_loop(sock, on_message)
        finally:
            self._writer_wakeup = None
            sock.close()

    async def _receive_loop(self, sock: socket.socket, on_message: OnMessage) -> None:
        recvfrom = sock.recvfrom
        bufsize = self.max_size + 1
        max_size = self.max_size
        batch = self.batch
        ipv6 = self.family == socket.AF_INET6
        wait_readable = trio.lowlevel.wait_readable
        checkpoint = trio.lowlevel.checkpoint
        while True:
            await wait_readable(sock)
            count = 0
            while True:
                try:
                    data, addr = recvfrom(bufsize)
                except BlockingIOError:
                    break
                except OSError as exc:
                    # ICMP errors surface here on some systems (ECONNREFUSED for an earlier send). Back to
                    # wait_readable rather than retrying at once, so a persistent error cannot spin the loop.
                    self.recv_errors += 1
                    log.debug("udp %s recvfrom: %s", self.local, exc)
                    break
                count += 1
                if len(data) > max_size:
                    self.oversize += 1
                else:
                    if ipv6:
                        addr = addr[:2]
                    try:
                        on_message(data, addr, self)
                    except Exception:
                        self.callback_errors += 1
                        log.exception("udp %s: on_message failed for a datagram from %s", self.local, addr)
                if count >= batch:
                    self.received += count
                    count = 0
                    await checkpoint()
            self.received += count

    def send(self, data: bytes, addr: tuple[str, int]) -> bool:
        """Send one datagram now, or queue it if the kernel buffer is full.

        ``addr`` must be an IP literal pair (a host name would be resolved synchronously by the OS).
        Works after ``bind()`` even before ``serve``; without the writer task a full buffer drops the datagram.
        Returns False when it was dropped (queue full or refused by the OS). Never blocks, never awaits.
        """
        if not self._queue:
            try:
                self._sendto(data, addr)
                self.sent += 1
                return True
            except BlockingIOError:
                pass
            except OSError as exc:
                self.send_errors += 1
                log.debug("udp %s sendto %s: %s", self.local, addr, exc)
                return False
        if len(self._queue) >= self.send_queue_max or self._writer_wakeup is None:
            self.send_drops += 1
            return False
        self.queued += 1
        self._queue.append((data, addr))
        self._writer_wakeup.set()
        return True

    async def _writer(self, sock: socket.socket) -> None:
        queue = self._queue
        while True:
            assert self._writer_wakeup is not None
            await self._writer_wakeup.wait()
            self._writer_wakeup = trio.Event()
            while queue:
                await trio.lowlevel.wait_writable(sock)
                while queue:
                    data, addr = queue[0]
                    try:
                        sock.sendto(data, addr)
                        self.sent += 1
                    except BlockingIOError:
                        break
                    except OSError as exc:
                        self.send_errors += 1
                        log.debug("udp %s sendto %s: %s", self.local, addr, exc)
                    queue.popleft()
