"""TLS transport: TCPTransport with a TLS handshake at the start of every connection (SIP over TLS, RFC 3261 26.2).

Everything else (framing, connection table keyed by peer address, reuse for sends, idle timeout, CRLF keep-alive)
is TCPTransport's. The handshake runs in the connection's task (``_secure``), bounded by ``handshake_timeout``:
accepting is never held up by a slow client, and data queued on an outgoing connection is written once the
handshake is done. A failed or timed-out handshake closes the connection (``handshake_errors``); for a connection
we opened, the queued data is dropped and ``on_send_error`` is called, as for a failed connect.

Peers are verified as OpenSIPS's tls_mgm does: the certificate chain against the configured CAs, never the host
name (``client_ctx.check_hostname`` is the caller's choice; pysips.modules.tls_mgm turns it off). Connections are
closed without a TLS close_notify (``https_compatible``): closing never waits on the peer, and a peer that drops the
TCP connection without one is a normal end of stream.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

import trio

from pysips.net.tcp import TCPConnection, TCPTransport

__all__ = ["TLSTransport"]

log = logging.getLogger(__name__)


class TLSTransport(TCPTransport):
    """A TLS listener on (host, port): ``server_ctx`` for accepted connections, ``client_ctx`` for the ones
    ``send`` opens; ``handshake_timeout`` in seconds. Other arguments as TCPTransport's.
    Counter (beside TCPTransport's): ``handshake_errors``."""

    proto = "tls"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        server_ctx: ssl.SSLContext,
        client_ctx: ssl.SSLContext,
        handshake_timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(host, port, **kwargs)
        self.server_ctx = server_ctx
        self.client_ctx = client_ctx
        self.handshake_timeout = handshake_timeout
        self.handshake_errors = 0

    def __repr__(self) -> str:
        return f"<TLSTransport {self.local or (self.host, self.port)}>"

    async def _secure(self, stream: Any, conn: TCPConnection) -> Any:
        if conn.outgoing:
            # IP destinations send no SNI; a host name would, but tls_mgm never checks it against the certificate
            host = conn.addr[0]
            sni = None if _is_ip(host) else host
            tls = trio.SSLStream(stream, self.client_ctx, server_hostname=sni, https_compatible=True)
        else:
            tls = trio.SSLStream(stream, self.server_ctx, server_side=True, https_compatible=True)
        exc: BaseException | None = None
        with trio.move_on_after(self.handshake_timeout) as timeout:
            try:
                await tls.do_handshake()
            except (trio.BrokenResourceError, trio.ClosedResourceError, ssl.SSLError, OSError) as e:
                exc = e.__cause__ if isinstance(e, trio.BrokenResourceError) and e.__cause__ else e
        if timeout.cancelled_caught:
            exc = trio.TooSlowError(f"TLS handshake not done in {self.handshake_timeout:g} s")
        if exc is None:
            return tls
        self.handshake_errors += 1
        log.info("tls %s %s: handshake failed: %s", "to" if conn.outgoing else "from", conn.addr, exc)
        if conn.outgoing:
            self._outgoing_failed(conn, exc, "handshake")
        return None


def _is_ip(host: str) -> bool:
    if ":" in host:
        return True
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() for p in parts)
