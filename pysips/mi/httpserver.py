"""A small HTTP/1.1 server on trio for the httpd module (mi_http, prometheus).

Enough HTTP for management clients (opensips-cli, curl, Prometheus): request line, headers, a Content-Length body
(chunked uploads get 411), ``Expect: 100-continue``, keep-alive with an idle timeout and a bounded number of requests
per connection. Handlers are registered per URL root like OpenSIPS's httpd callbacks: ``/mi`` and ``/mi/...`` go to
the handler of root ``mi``. Nothing a client sends can stop the server: malformed requests get 400, oversized ones
413/431, and any handler exception becomes a 500 (logged).
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import trio

REASONS = {
    100: "Continue",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}


@dataclass(slots=True)
class HTTPRequest:
    method: str
    target: str
    path: str  # decoded, without the query
    query: str
    version: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    client: tuple | None = None


@dataclass(slots=True)
class HTTPResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[HTTPRequest], Awaitable[HTTPResponse]]


class _BadRequest(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status


class HTTPServer:
    """Serve registered roots on (host, port); ``address`` is the bound (host, port) once started."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8888,
        *,
        max_body: int = 1 << 20,
        max_header: int = 16384,
        idle_timeout: float = 30.0,
        max_requests: int = 1000,
        max_connections: int = 128,
        log: Any = None,
    ) -> None:
        self.host = host
        self.port = port
        self.max_body = max_body
        self.max_header = max_header
        self.idle_timeout = idle_timeout
        self.max_requests = max_requests
        self.max_connections = max_connections
        self.log = log
        self.roots: dict[str, Handler] = {}
        self.address: tuple[str, int] | None = None
        self._connections = 0

    def add_root(self, root: str, handler: Handler) -> None:
        self.roots[root.strip("/")] = handler

    def route(self, path: str) -> Handler | None:
        """OpenSIPS get_httpd_cb: ``/root`` or ``/root/...``."""
        rest = path.lstrip("/")
        for root, handler in self.roots.items():
            if rest == root or rest.startswith(root + "/"):
                return handler
        return None

    async def serve(self, *, task_status: trio.TaskStatus = trio.TASK_STATUS_IGNORED) -> None:
        host = None if self.host in ("*", "0.0.0.0", "") else self.host
        listeners = await trio.open_tcp_listeners(self.port, host=host)
        sock = listeners[0].socket
        name = sock.getsockname()
        self.address = (name[0], name[1])
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._connection, listeners)
            task_status.started(self.address)

    # ------------------------------------------------------------------------------------ connections

    def _error(self, text: str) -> None:
        if self.log is not None:
            self.log.error(text, "httpd")

    async def _connection(self, stream: trio.SocketStream) -> None:
        if self._connections >= self.max_connections:
            await stream.aclose()
            return
        self._connections += 1
        try:
            client = stream.socket.getpeername()
        except OSError:
            client = None
        try:
            buf = bytearray()
            for _ in range(self.max_requests):
                keep = await self._one_request(stream, buf, client)
                if not keep:
                    break
        except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError, OSError):
            pass
        except Exception as e:  # a bug here must cost one connection, never the server
            self._error(f"connection from {client}: {type(e).__name__}: {e}\n{traceback.format_exc()}")
        finally:
            self._connections -= 1
            with trio.move_on_after(1) as cs:
                cs.shield = True
                await stream.aclose()

    async def _read_more(self, stream: trio.SocketStream, buf: bytearray) -> bool:
        with trio.move_on_after(self.idle_timeout):
            data = await stream.receive_some(65536)
            if not data:
                return False
            buf += data
            return True
        return False

    async def _one_request(self, stream: trio.SocketStream, buf: bytearray, client: Any) -> bool:
        """Read, dispatch and answer one request; False when the connection must close."""
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(buf) > self.max_header:
                await self._send(stream, HTTPResponse(431, b"request header too large\n"), close=True)
                return False
            if not await self._read_more(stream, buf):
                return False
        if end > self.max_header:
            await self._send(stream, HTTPResponse(431, b"request header too large\n"), close=True)
            return False
        head = bytes(buf[:end])
        del buf[: end + 4]
        try:
            method, target, version, headers = _parse_head(head)
        except _BadRequest as e:
            await self._send(stream, HTTPResponse(e.status, f"{e}\n".encode()), close=True)
            return False
        keep = _keep_alive(version, headers)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            await self._send(stream, HTTPResponse(411, b"chunked bodies are not supported\n"), close=True)
            return False
        try:
            length = int(headers.get("content-length", "0").strip() or "0")
            if length < 0:
                raise ValueError
        except ValueError:
            await self._send(stream, HTTPResponse(400, b"bad Content-Length\n"), close=True)
            return False
        if length > self.max_body:
            await self._send(stream, HTTPResponse(413, b"request body too large\n"), close=True)
            return False
        if length > len(buf) and headers.get("expect", "").lower() == "100-continue":
            await stream.send_all(b"HTTP/1.1 100 Continue\r\n\r\n")
        while len(buf) < length:
            if not await self._read_more(stream, buf):
                return False
        body = bytes(buf[:length])
        del buf[:length]
        raw_path, _, query = target.partition("?")
        req = HTTPRequest(method, target, unquote(raw_path), query, version, headers, body, client)
        handler = self.route(req.path)
        if handler is None:
            resp = HTTPResponse(404, b"Not Found\n")
        else:
            try:
                resp = await handler(req)
            except Exception as e:  # a handler bug answers 500; the server keeps serving
                self._error(
                    f"handler for {req.path} failed: {type(e).__name__}: {e}\n{traceback.format_exc()}"
                )
                resp = HTTPResponse(500, b"Internal Server Error\n")
        await self._send(stream, resp, close=not keep, head_only=method == "HEAD")
        return keep

    async def _send(
        self, stream: trio.SocketStream, resp: HTTPResponse, close: bool, head_only: bool = False
    ) -> None:
        reason = REASONS.get(resp.status, "Unknown")
        lines = [
            f"HTTP/1.1 {resp.status} {reason}",
            f"Content-Type: {resp.content_type}",
            f"Content-Length: {len(resp.body)}",
            f"Connection: {'close' if close else 'keep-alive'}",
        ]
        lines += [f"{k}: {v}" for k, v in resp.headers]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not head_only:
            data += resp.body
        with trio.move_on_after(self.idle_timeout):
            await stream.send_all(data)


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as e:  # latin-1 decodes everything; kept for clarity of intent
        raise _BadRequest(400, "bad encoding") from e
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise _BadRequest(400, "bad request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise _BadRequest(505, "unsupported HTTP version")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            raise _BadRequest(400, "obsolete header folding")
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if not sep or not name or " " in name:
            raise _BadRequest(400, "bad header line")
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return method.upper(), target, version, headers


def _keep_alive(version: str, headers: dict[str, str]) -> bool:
    conn = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" in conn
    return "close" not in conn
