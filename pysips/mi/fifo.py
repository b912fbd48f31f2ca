"""The mi_fifo transport (OpenSIPS 3.x modules/mi_fifo/fifo_fnc.c): JSON-RPC requests written to a named pipe.

A request is ``:REPLY_NAME:{json-rpc request}``; the reply goes to the FIFO ``reply_dir + REPLY_NAME`` (which the
client created and opens for reading), one compact JSON line. An empty name (``::{...}``) expects no reply. Names
with ``.``, ``/`` or ``\\`` are refused, as in OpenSIPS. Several requests may arrive back to back in one read; a
request split across reads is completed by the next ones (bounded by ``max_request`` bytes and
``PARTIAL_TIMEOUT`` seconds; then it is answered with a parse error).

The server keeps a write end of its own FIFO open so that clients closing their end never leave the read end at
EOF (which would make it readable forever).
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

import trio

from pysips.mi import jsonrpc

REPLY_OPEN_TRIES = 300  # x 10 ms: how long a client may take to open its reply FIFO after writing the request
MAX_REQUEST = 1 << 20
PARTIAL_TIMEOUT = 1.0  # seconds an incomplete request may wait for the rest of its bytes


def scan_json_end(data: bytes | bytearray, start: int) -> int:
    """Index just past the JSON object/array starting at ``data[start]``; -1 if it is not complete yet."""
    depth = 0
    in_str = False
    esc = False
    for i in range(start, len(data)):
        ch = data[i]
        if in_str:
            if esc:
                esc = False
            elif ch == 0x5C:  # backslash
                esc = True
            elif ch == 0x22:
                in_str = False
            continue
        if ch == 0x22:
            in_str = True
        elif ch in (0x7B, 0x5B):  # { [
            depth += 1
        elif ch in (0x7D, 0x5D):  # } ]
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


class FifoRequestParser:
    """Splits the FIFO byte stream into (reply_name | None, request bytes | None) items.

    request None means the text after ``:name:`` is not JSON at all (answered with -32700)."""

    def __init__(self, max_request: int = MAX_REQUEST) -> None:
        self.buf = bytearray()
        self.max_request = max_request
        self.dropped = 0  # bytes thrown away as garbage (tests, logs)

    def flush(self) -> list[tuple[str | None, bytes | None]]:
        """Give up on a partial request (no more bytes came): answer it with a parse error."""
        out: list[tuple[str | None, bytes | None]] = []
        buf = self.buf.lstrip()
        if buf.startswith(b":"):
            sep = buf.find(b":", 1)
            if sep > 0:
                out.append((buf[1:sep].decode("utf-8", "replace") or None, None))
        self.dropped += len(self.buf)
        self.buf.clear()
        return out

    def feed(self, data: bytes) -> list[tuple[str | None, bytes | None]]:
        self.buf += data
        out: list[tuple[str | None, bytes | None]] = []
        buf = self.buf
        while True:
            i = 0
            while i < len(buf) and buf[i] in b" \t\r\n":
                i += 1
            if i:
                del buf[:i]
            if not buf:
                break
            if buf[0] != 0x3A:  # ':'
                # OpenSIPS skips the whole unparsable chunk; resynchronise on the next line starting with ':'
                nl = buf.find(b"\n:")
                cut = len(buf) if nl < 0 else nl + 1
                self.dropped += cut
                del buf[:cut]
                continue
            sep = buf.find(b":", 1)
            if sep < 0:
                if len(buf) > 256:
                    self.dropped += len(buf)
                    buf.clear()
                break
            name = buf[1:sep].decode("utf-8", "replace")
            j = sep + 1
            while j < len(buf) and buf[j] in b" \t\r\n":
                j += 1
            if j >= len(buf):
                break
            if buf[j] not in b"{[":
                # not JSON: answer a parse error and drop the rest of this line
                nl = buf.find(b"\n", j)
                end = len(buf) if nl < 0 else nl + 1
                out.append((name or None, None))
                del buf[:end]
                continue
            end = scan_json_end(buf, j)
            if end < 0:
                if len(buf) > self.max_request:
                    out.append((name or None, None))
                    self.dropped += len(buf)
                    buf.clear()
                break
            out.append((name or None, bytes(buf[j:end])))
            del buf[:end]
        return out


def valid_reply_name(name: str) -> bool:
    return bool(name) and not any(c in name for c in "./\\") and len(name) < 256


async def write_reply(path: str, text: str, log: Any = None) -> bool:
    """Open the client's reply FIFO (waiting a little for its reader) and write `text` + newline."""
    fd = -1
    for _ in range(REPLY_OPEN_TRIES):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as e:
            if e.errno == errno.ENXIO:  # no reader yet: the client opens it after writing its request
                await trio.sleep(0.01)
                continue
            if log is not None:
                log.warn(f"cannot open reply fifo {path}: {e.strerror}", "mi_fifo")
            return False
    if fd < 0:
        if log is not None:
            log.warn(f"reply fifo {path}: nobody reads it", "mi_fifo")
        return False
    data = (text + "\n").encode("utf-8")
    try:
        view = memoryview(data)
        with trio.move_on_after(5):
            while view:
                try:
                    n = os.write(fd, view)
                    view = view[n:]
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(fd)
        return not view
    except OSError as e:
        if log is not None:
            log.warn(f"writing reply fifo {path}: {e.strerror}", "mi_fifo")
        return False
    finally:
        os.close(fd)


class FifoServer:
    """Reads requests from ``fifo_name`` and answers through the registry of ``core``."""

    def __init__(
        self,
        core: Any,
        path: str,
        reply_dir: str = "/tmp/",
        mode: int = 0o660,
        max_request: int = MAX_REQUEST,
    ) -> None:
        self.core = core
        self.path = path
        self.reply_dir = reply_dir
        self.mode = mode
        self.max_request = max_request
        self.log = getattr(core, "log", None)
        self.handled = 0

    def create(self) -> None:
        """Create the FIFO (a stale FIFO left by a previous run is replaced; any other file is an error)."""
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            st = None
        if st is not None:
            if not stat.S_ISFIFO(st.st_mode):
                raise OSError(errno.EEXIST, f"{self.path} exists and is not a FIFO")
            os.unlink(self.path)
        os.mkfifo(self.path, self.mode)
        os.chmod(self.path, self.mode)  # mkfifo honours the umask; OpenSIPS sets the mode explicitly

    def remove(self) -> None:
        try:
            if stat.S_ISFIFO(os.lstat(self.path).st_mode):
                os.unlink(self.path)
        except OSError:
            pass

    async def serve(self, *, task_status: trio.TaskStatus = trio.TASK_STATUS_IGNORED) -> None:
        self.create()
        rfd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        wfd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        parser = FifoRequestParser(self.max_request)
        limiter = trio.CapacityLimiter(16)
        try:
            async with trio.open_nursery() as nursery:
                task_status.started(self.path)
                while True:
                    if parser.buf:
                        # a partial request: more bytes normally follow at once; if not, it was malformed
                        with trio.move_on_after(PARTIAL_TIMEOUT) as cs:
                            await trio.lowlevel.wait_readable(rfd)
                        if cs.cancelled_caught:
                            for name, body in parser.flush():
                                nursery.start_soon(self._answer, name, body, limiter)
                            continue
                    else:
                        await trio.lowlevel.wait_readable(rfd)
                    try:
                        data = os.read(rfd, 65536)
                    except BlockingIOError:
                        continue
                    if not data:
                        await trio.sleep(0.01)  # cannot happen while we hold a writer; never spin
                        continue
                    for name, body in parser.feed(data):
                        nursery.start_soon(self._answer, name, body, limiter)
        finally:
            os.close(rfd)
            os.close(wfd)
            self.remove()

    async def _answer(self, name: str | None, body: bytes | None, limiter: trio.CapacityLimiter) -> None:
        try:
            await self._answer_one(name, body, limiter)
        except Exception as e:  # one bad request must never stop the FIFO reader
            if self.log is not None:
                self.log.error(f"MI FIFO request failed: {type(e).__name__}: {e}", "mi_fifo")

    async def _answer_one(self, name: str | None, body: bytes | None, limiter: trio.CapacityLimiter) -> None:
        from pysips.mi import registry_for

        async with limiter:
            if name is not None and not valid_reply_name(name):
                if self.log is not None:
                    self.log.error(f"forbidden reply fifo name {name!r}", "mi_fifo")
                return
            if body is None:
                text = jsonrpc.encode(jsonrpc.error_reply(jsonrpc.PARSE_ERROR, "Parse error"))
            else:
                text = await jsonrpc.handle(registry_for(self.core), self.core, body)
            self.handled += 1
            if name is None or text is None:
                return
            await write_reply(os.path.join(self.reply_dir, name), text, self.log)
