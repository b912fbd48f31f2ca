"""Blocking MI clients (JSON-RPC 2.0 over HTTP and over the mi_fifo FIFO), for ``pysips mi`` and tests.

Both return the decoded reply object ({"jsonrpc", "result"|"error", "id"}) and raise :class:`MIClientError` when
the server cannot be reached or answers something that is not JSON-RPC.
"""

from __future__ import annotations

import errno
import json
import os
import select
import time
import urllib.error
import urllib.request
from typing import Any


class MIClientError(Exception):
    """The MI server could not be reached or did not answer with JSON-RPC."""


def make_request(method: str, params: Any = None, rid: int | str = 1) -> dict:
    req: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": rid}
    if params:
        req["params"] = params
    return req


def _decode(text: str) -> dict:
    try:
        reply = json.loads(text)
    except ValueError as e:
        raise MIClientError(f"the server's answer is not JSON: {text[:200]!r}") from e
    if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
        raise MIClientError(f"the server's answer is not a JSON-RPC reply: {text[:200]!r}")
    return reply


def http_call(url: str, method: str, params: Any = None, timeout: float = 10.0) -> dict:
    body = json.dumps(make_request(method, params)).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        raise MIClientError(f"{url}: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise MIClientError(f"cannot reach {url}: {reason} (is pysips running with httpd + mi_http?)") from e
    return _decode(text)


def fifo_call(
    fifo: str, method: str, params: Any = None, reply_dir: str = "/tmp", timeout: float = 10.0
) -> dict:
    """Write ``:reply_name:{request}`` to the server FIFO and read one line from our reply FIFO."""
    if not os.path.exists(fifo):
        raise MIClientError(f"FIFO {fifo} does not exist (is pysips running with mi_fifo?)")
    name = f"pysips_mi_reply_{os.getpid()}_{time.monotonic_ns()}"
    reply_path = os.path.join(reply_dir, name)
    os.mkfifo(reply_path, 0o600)
    try:
        # the reply FIFO is opened (non-blocking) before the request goes out so the server never waits for us
        rfd = os.open(reply_path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            try:
                wfd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                if e.errno == errno.ENXIO:
                    raise MIClientError(f"nobody reads FIFO {fifo} (is pysips running?)") from e
                raise MIClientError(f"cannot open FIFO {fifo}: {e.strerror}") from e
            try:
                os.write(wfd, f":{name}:{json.dumps(make_request(method, params))}".encode())
            finally:
                os.close(wfd)
            data = bytearray()
            deadline = time.monotonic() + timeout
            got_writer = False
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise MIClientError(f"no reply on {reply_path} within {timeout:g} s")
                ready, _, _ = select.select([rfd], [], [], min(left, 0.2))
                if not ready:
                    continue
                chunk = os.read(rfd, 65536)
                if chunk:
                    got_writer = True
                    data += chunk
                    if data.endswith(b"\n"):
                        break
                elif got_writer:
                    break  # the server wrote and closed
                else:
                    time.sleep(0.01)  # no writer yet: EOF is reported until the server opens the FIFO
        finally:
            os.close(rfd)
    finally:
        try:
            os.unlink(reply_path)
        except OSError:
            pass
    return _decode(data.decode("utf-8", "replace"))
