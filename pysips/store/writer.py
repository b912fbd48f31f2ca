"""The Redis writer process: turns batches of store changes into Redis commands outside the SIP process.

Packing a batch into RESP and talking to Redis is pure-Python work (~8 µs per b2b record); done in a thread it
holds the GIL the SIP event loop needs, done here it runs on another core. The SIP process only pickles the
batch (C code, ~1 µs per record) and waits, without blocking its loop, for one short answer.

Protocol over the child's stdin / stdout: messages are a 4-byte big-endian length and a pickle.
  parent -> child, first:   (url, timeout, chunk, index)
  parent -> child, then:    list of (key prefix, key, record or None)   -- one batch
  child -> parent, per batch: ("ok", [(error class, text), ...])        -- commands refused for good (WRONGTYPE)
                              ("error", error class, text)              -- nothing or part written: retry it all
The child ends when its stdin closes (the SIP process stopped or died). Pickles only travel between the two
processes of one pysips, over an inherited pipe.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from typing import Any

import trio

_LEN = 4


def _encode(obj: Any) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return len(payload).to_bytes(_LEN, "big") + payload


def _error(name: str, text: str) -> Exception:
    """The redis-py exception named `name` (so logs read as they would in one process), else RedisError."""
    import redis

    cls = getattr(redis.exceptions, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = redis.exceptions.RedisError
    return cls(text)


class WriterProcess:
    """Parent side: ``await start()``, then ``await write(items)`` (one batch at a time), ``await close()``."""

    def __init__(self, url: str, *, timeout: float, chunk: int, index: bool) -> None:
        self._config = (url, timeout, chunk, index)
        # a batch's answer comes within the child's socket timeouts (connect + one read per chunk); beyond this
        # the child is taken for stuck, killed and started again
        self.deadline = 2 * timeout + 5.0
        self.proc: trio.Process | None = None
        self._buf = bytearray()
        self.restarts = -1

    async def start(self) -> None:
        self.proc = await trio.lowlevel.open_process(
            [sys.executable, "-m", "pysips.store.writer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=False,
        )
        self._buf = bytearray()
        self.restarts += 1
        assert self.proc.stdin is not None
        await self.proc.stdin.send_all(_encode(self._config))

    async def _recv(self) -> Any:
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        buf = self._buf
        while True:
            if len(buf) >= _LEN:
                n = int.from_bytes(buf[:_LEN], "big")
                if len(buf) >= _LEN + n:
                    body = bytes(buf[_LEN : _LEN + n])
                    del buf[: _LEN + n]
                    return pickle.loads(body)
            chunk = await proc.stdout.receive_some(1 << 16)
            if not chunk:
                raise ConnectionError("the redis writer process ended")
            buf += chunk

    async def write(self, items: list) -> list[Exception]:
        """Write one batch; returns the commands refused for good, raises when the batch must be retried."""
        if self.proc is None or self.proc.returncode is not None:
            await self.start()
        assert self.proc is not None and self.proc.stdin is not None
        # shielded: a cancelled exchange would leave an answer in the pipe for the next batch to misread
        with trio.CancelScope(shield=True):
            with trio.move_on_after(self.deadline) as scope:
                try:
                    await self.proc.stdin.send_all(_encode(items))
                    answer = await self._recv()
                except (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError) as exc:
                    await self._kill()
                    raise ConnectionError(f"redis writer process: {exc}") from None
            if scope.cancelled_caught:
                await self._kill()
                raise TimeoutError("redis writer process did not answer")
        if answer[0] == "ok":
            return [_error(name, text) for name, text in answer[1]]
        raise _error(answer[1], answer[2])

    async def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.returncode is None:
            proc.kill()
        with trio.CancelScope(shield=True), trio.move_on_after(2):
            await proc.wait()
        await _close_pipes(proc)

    async def close(self) -> None:
        """Close the child's stdin (it ends by itself) and wait for it, briefly."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with trio.CancelScope(shield=True):
            try:
                if proc.stdin is not None:
                    await proc.stdin.aclose()
            except trio.BrokenResourceError:
                pass
            with trio.move_on_after(2):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await _close_pipes(proc)


async def _close_pipes(proc: trio.Process) -> None:
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            try:
                await stream.aclose()
            except trio.BrokenResourceError:
                pass


# ------------------------------------------------------------------ child side


def _read(stream: Any) -> Any:
    head = stream.read(_LEN)
    if len(head) < _LEN:
        return None
    n = int.from_bytes(head, "big")
    body = stream.read(n)
    if len(body) < n:
        return None
    return pickle.loads(body)


def main() -> int:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from pysips.store.redis import write_batch

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    config = _read(stdin)
    if config is None:
        return 0
    url, timeout, chunk, index = config
    client = redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )
    while True:
        items = _read(stdin)
        if items is None:
            client.close()
            return 0
        try:
            rejected = write_batch(client, items, chunk, index)
            answer: tuple = ("ok", [(type(e).__name__, str(e)) for e in rejected])
        except Exception as exc:  # every failure goes back to the SIP process, which retries the batch
            answer = ("error", type(exc).__name__, str(exc))
        stdout.write(_encode(answer))
        stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
