"""The trio HTTP/1.1 server of httpd, and mi_http on it: OpenSIPS status codes, limits, keep-alive."""

from __future__ import annotations

import json

import trio

from pysips.mi.httpserver import HTTPResponse, HTTPServer
from pysips.modules.mi_http import make_handler
from tests.mi.conftest import FakeCore


async def _start(nursery, **kw) -> HTTPServer:
    core = kw.pop("core", None) or FakeCore()
    server = HTTPServer("127.0.0.1", 0, idle_timeout=kw.pop("idle_timeout", 5), **kw)
    server.add_root("mi", make_handler(core))

    async def boom(req):
        raise RuntimeError("handler bug")

    async def echo(req):
        return HTTPResponse(200, req.body + b"|" + req.path.encode() + b"|" + req.query.encode())

    server.add_root("boom", boom)
    server.add_root("echo", echo)
    await nursery.start(server.serve)
    return server


async def _exchange(server: HTTPServer, data: bytes, reads: int = 1) -> bytes:
    stream = await trio.open_tcp_stream(*server.address)
    async with stream:
        await stream.send_all(data)
        out = b""
        with trio.move_on_after(3):
            while True:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                out += chunk
                if out.count(b"HTTP/1.1 ") >= reads and _complete(out, reads):
                    break
        return out


def _complete(data: bytes, n: int) -> bool:
    """True when `data` holds n whole responses (each with a Content-Length)."""
    pos = 0
    for _ in range(n):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return False
        head = data[pos:end].decode("latin-1").lower()
        length = 0
        for line in head.split("\r\n"):
            if line.startswith("content-length:"):
                length = int(line.split(":")[1])
        pos = end + 4 + length
        if len(data) < pos:
            return False
    return True


def _post(body: bytes, path: str = "/mi", extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode() + body


async def test_jsonrpc_over_post_and_keep_alive() -> None:
    async with trio.open_nursery() as n:
        server = await _start(n)
        req = b'{"jsonrpc":"2.0","method":"uptime","id":1}'
        out = await _exchange(server, _post(req) + _post(req), reads=2)
        assert out.count(b"HTTP/1.1 200 OK\r\n") == 2
        assert b"Content-Type: application/json" in out and b"Connection: keep-alive" in out
        body = out.split(b"\r\n\r\n", 1)[1].split(b"HTTP/1.1")[0]
        assert json.loads(body)["result"]["Up time"].endswith("[sec]")
        n.cancel_scope.cancel()


async def test_mi_http_status_codes() -> None:
    async with trio.open_nursery() as n:
        server = await _start(n)
        out = await _exchange(server, b"GET /mi HTTP/1.1\r\nHost: x\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
        out = await _exchange(server, _post(b""))
        assert out.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        out = await _exchange(server, _post(b'{"jsonrpc":"2.0","method":"uptime"}'))
        assert out.startswith(b"HTTP/1.1 202 Accepted\r\n") and out.endswith(b"\r\n\r\n")
        out = await _exchange(server, _post(b"{not json"))
        assert out.startswith(b"HTTP/1.1 200 OK\r\n") and b'"code":-32700' in out
        out = await _exchange(server, _post(b"x", "/nothing"))
        assert out.startswith(b"HTTP/1.1 404 Not Found\r\n")
        out = await _exchange(server, _post(b'{"jsonrpc":"2.0","method":"uptime","id":1}', "/mi/sub"))
        assert out.startswith(b"HTTP/1.1 200 OK\r\n")
        n.cancel_scope.cancel()


async def test_malformed_and_oversized_requests_never_stop_the_server() -> None:
    async with trio.open_nursery() as n:
        server = await _start(n, max_body=100, max_header=512)
        assert (await _exchange(server, b"garbage\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
        assert (await _exchange(server, b"GET /mi HTTP/2.0\r\n\r\n")).startswith(b"HTTP/1.1 505 ")
        assert (await _exchange(server, _post(b"x" * 101))).startswith(b"HTTP/1.1 413 ")
        bad_len = b"POST /mi HTTP/1.1\r\nContent-Length: -3\r\n\r\n"
        assert (await _exchange(server, bad_len)).startswith(b"HTTP/1.1 400 ")
        chunked = b"POST /mi HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        assert (await _exchange(server, chunked)).startswith(b"HTTP/1.1 411 ")
        big_head = b"GET /mi HTTP/1.1\r\nX: " + b"a" * 1000 + b"\r\n\r\n"
        assert (await _exchange(server, big_head)).startswith(b"HTTP/1.1 431 ")
        assert (await _exchange(server, _post(b"x", "/boom"))).startswith(b"HTTP/1.1 500 ")
        # still serving
        out = await _exchange(server, _post(b'{"jsonrpc":"2.0","method":"uptime","id":1}'))
        assert out.startswith(b"HTTP/1.1 200 OK\r\n")
        n.cancel_scope.cancel()


async def test_expect_continue_split_body_and_query() -> None:
    async with trio.open_nursery() as n:
        server = await _start(n)
        stream = await trio.open_tcp_stream(*server.address)
        async with stream:
            await stream.send_all(
                b"POST /echo/x%20y?a=1 HTTP/1.1\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\n"
            )
            first = await stream.receive_some(1000)
            assert first == b"HTTP/1.1 100 Continue\r\n\r\n"
            await stream.send_all(b"abc")
            await trio.sleep(0.05)
            await stream.send_all(b"def")
            out = b""
            with trio.move_on_after(3):
                while not out.endswith(b"abcdef|/echo/x y|a=1"):
                    out += await stream.receive_some(1000)
            assert out.startswith(b"HTTP/1.1 200 OK\r\n")
        n.cancel_scope.cancel()


async def test_http10_closes_and_idle_connections_time_out() -> None:
    async with trio.open_nursery() as n:
        server = await _start(n, idle_timeout=0.2)
        out = await _exchange(server, b"POST /echo HTTP/1.0\r\nContent-Length: 1\r\n\r\nz", reads=5)
        assert b"Connection: close" in out and out.endswith(b"z|/echo|")
        stream = await trio.open_tcp_stream(*server.address)
        async with stream:
            await stream.send_all(b"POST /echo HTTP/1.1\r\n")  # never finished
            with trio.fail_after(3):
                assert await stream.receive_some(100) == b""  # the server hung up
        n.cancel_scope.cancel()
