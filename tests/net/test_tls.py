"""TLSTransport over loopback with a CA and certificates made at test time by the openssl CLI."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from pysips.net import TCPTransport, TLSTransport

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl CLI is not installed")


@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path  # a CA that signed nothing here: verifying against it fails


def _openssl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=20)


def make_certs(directory: Path) -> Certs:
    """A test CA, a certificate it signs for 127.0.0.1 (EC keys: fast), and an unrelated second CA."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    for name in ("ca", "other_ca"):
        _openssl("req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
                 "-subj", f"/CN=pysips {name}", cwd=directory)  # fmt: skip
    _openssl(
        "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=directory
    )
    (directory / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf", cwd=directory)  # fmt: skip
    return Certs(
        directory / "ca.pem", directory / "server.pem", directory / "server.key", directory / "other_ca.pem"
    )


@pytest.fixture
def certs(tmp_path: Path) -> Certs:
    if OPENSSL is None:
        pytest.skip("the openssl CLI is not installed")
    return make_certs(tmp_path)


def server_context(c: Certs) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(c.cert), str(c.key))
    return ctx


def client_context(ca: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cafile=str(ca))
    return ctx


def sip(n: int, body: bytes = b"") -> bytes:
    return (
        b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
        b"Call-ID: call-%d\r\n"
        b"CSeq: 1 OPTIONS\r\n"
        b"Content-Length: %d\r\n\r\n" % (n, len(body))
    ) + body


async def _wait_for(predicate, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.005)


async def _read_until(stream: trio.abc.Stream, expected_len: int, timeout: float = 5.0) -> bytes:
    buf = b""
    with trio.fail_after(timeout):
        while len(buf) < expected_len:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            buf += chunk
    return buf


def _transport(c: Certs, **kw) -> TLSTransport:
    return TLSTransport(
        "127.0.0.1",
        0,
        server_ctx=server_context(c),
        client_ctx=client_context(c.ca),
        handshake_timeout=2.0,
        **kw,
    )


async def _tls_client(local: tuple[str, int], ca: Path) -> trio.SSLStream:
    raw = await trio.open_tcp_stream(*local)
    stream = trio.SSLStream(raw, client_context(ca), server_hostname=None, https_compatible=True)
    with trio.fail_after(5):
        await stream.do_handshake()
    return stream


async def test_echo_both_ways_with_framing(certs: Certs):
    """Two messages in one TLS record and one split across records are framed; replies go back over the same
    TLS connection, found by the peer address."""
    got: list[tuple[bytes, tuple[str, int]]] = []
    t = _transport(certs)
    assert t.proto == "tls" and isinstance(t, TCPTransport)

    def echo(data: bytes, addr: tuple[str, int], tr: object) -> None:
        got.append((data, addr))
        tr.send(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", addr)

    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, echo)
        client = await _tls_client(local, certs.ca)
        await client.send_all(sip(1, b"hello") + sip(2))
        third = sip(3, b"x" * 3000)
        await client.send_all(third[:50])
        await trio.sleep(0.02)
        await client.send_all(third[50:])
        await _wait_for(lambda: len(got) >= 3)
        assert [d for d, _ in got] == [sip(1, b"hello"), sip(2), third]
        reply = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"
        data = await _read_until(client, 3 * len(reply))
        assert data == reply * 3
        assert len(t.connections) == 1 and t.received == 3 and t.sent == 3
        assert t.handshake_errors == 0
        await client.aclose()
        nursery.cancel_scope.cancel()


async def test_plain_tcp_to_tls_port_is_closed_and_serving_goes_on(certs: Certs):
    got: list[bytes] = []
    t = _transport(certs)
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: got.append(d))
        plain = await trio.open_tcp_stream(*local)
        await plain.send_all(sip(1))
        with trio.fail_after(5):
            while True:  # the server answers garbage with a TLS alert at most, then closes
                try:
                    if not await plain.receive_some(65536):
                        break
                except trio.BrokenResourceError:
                    break
        await _wait_for(lambda: t.handshake_errors == 1)
        assert got == [] and not t.connections
        client = await _tls_client(local, certs.ca)
        await client.send_all(sip(2))
        await _wait_for(lambda: got == [sip(2)])
        await client.aclose()
        await plain.aclose()
        nursery.cancel_scope.cancel()


async def test_silent_client_times_out_without_blocking_accept(certs: Certs):
    got: list[bytes] = []
    t = TLSTransport(
        "127.0.0.1",
        0,
        server_ctx=server_context(certs),
        client_ctx=client_context(certs.ca),
        handshake_timeout=0.2,
    )
    async with trio.open_nursery() as nursery:
        local = await nursery.start(t.serve, lambda d, a, tr: got.append(d))
        silent = await trio.open_tcp_stream(*local)  # connects, never says hello
        client = await _tls_client(local, certs.ca)  # served while the silent one is still pending
        await client.send_all(sip(1))
        await _wait_for(lambda: got == [sip(1)])
        assert t.handshake_errors == 0
        await _wait_for(lambda: t.handshake_errors == 1)
        assert len(t.connections) == 1
        await client.aclose()
        await silent.aclose()
        nursery.cancel_scope.cancel()


async def test_outgoing_send_to_a_tls_server_and_its_reply(certs: Certs):
    """send() to an address without a connection opens one, handshakes (verifying the server against the CA),
    then writes what was queued meanwhile; the server's reply comes back on that connection."""
    server_got: list[bytes] = []
    client_got: list[tuple[bytes, tuple[str, int]]] = []
    server = _transport(certs)
    client = _transport(certs)

    def answer(data: bytes, addr: tuple[str, int], tr: object) -> None:
        server_got.append(data)
        tr.send(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", addr)

    async with trio.open_nursery() as nursery:
        slocal = await nursery.start(server.serve, answer)
        await nursery.start(client.serve, lambda d, a, tr: client_got.append((d, a)))
        assert client.send(sip(1), slocal) and client.send(sip(2), slocal)
        await _wait_for(lambda: len(client_got) == 2)
        assert server_got == [sip(1), sip(2)]
        assert client_got[0] == (b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", slocal)
        assert client.connections[slocal].outgoing
        assert client.handshake_errors == server.handshake_errors == 0
        nursery.cancel_scope.cancel()


async def test_outgoing_handshake_failure_reports_send_error(certs: Certs):
    """A server whose certificate the client's CA did not sign: the handshake fails, the queued data is dropped
    and on_send_error is told, as for a failed connect."""
    errors: list[tuple[tuple[str, int], Exception]] = []
    server = _transport(certs)
    client = TLSTransport(
        "127.0.0.1",
        0,
        server_ctx=server_context(certs),
        client_ctx=client_context(certs.other_ca),
        handshake_timeout=2.0,
        on_send_error=lambda addr, exc: errors.append((addr, exc)),
    )
    got: list[bytes] = []
    async with trio.open_nursery() as nursery:
        slocal = await nursery.start(server.serve, lambda d, a, tr: got.append(d))
        await nursery.start(client.serve, lambda d, a, tr: None)
        assert client.send(sip(1), slocal)
        await _wait_for(lambda: errors)
        assert errors[0][0] == slocal
        assert isinstance(errors[0][1], ssl.SSLError)
        assert client.handshake_errors == 1 and client.send_drops == 1
        assert slocal not in client.connections
        await _wait_for(lambda: server.handshake_errors == 1)
        assert got == []
        nursery.cancel_scope.cancel()


async def test_reuse_port_flag_lets_two_listeners_share_a_port(certs: Certs):
    a = _transport(certs, reuse_port=True)
    async with trio.open_nursery() as nursery:
        local = await nursery.start(a.serve, lambda d, a_, tr: None)
        b = TLSTransport(
            "127.0.0.1",
            local[1],
            server_ctx=server_context(certs),
            client_ctx=client_context(certs.ca),
            reuse_port=True,
        )
        assert await nursery.start(b.serve, lambda d, a_, tr: None) == local
        plain = TCPTransport("127.0.0.1", local[1])
        with pytest.raises(OSError):
            await nursery.start(plain.serve, lambda d, a_, tr: None)
        nursery.cancel_scope.cancel()
