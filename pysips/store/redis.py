"""Redis backend: write-behind of flat records as hashes, off the SIP hot path.

Layout: a record of kind K under key k is the hash ``<prefix K><k>`` (e.g. ``b2be$1$tag0$tag1$callid``); every
key of a kind is also a member of the set named by the bare prefix (``b2be$``), so ``load_all`` reads one set
and pipelines HGETALLs instead of SCANning a shared keyspace (``index=False`` drops the set and SCANs; see
tools/bench_store.py for both). Integer fields are written in decimal and listed in the reserved field
``__ints__`` so they come back as ints; that field also keeps an empty record alive.

``put`` / ``delete`` only record the change in a dirty map keyed by (kind, key): the last write per key wins, a
delete after puts replaces them. One flusher task (started by ``start``) swaps the map out and writes it as a
MULTI-less pipeline (one round trip per ``chunk`` changes) in a worker thread, so the trio loop never waits on
Redis. When the write fails or is
cancelled, the batch is merged back under any newer changes, so nothing is lost and nothing is re-applied out
of order (every command in a batch is idempotent, so a partly applied batch is simply written again).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
import trio
from redis._parsers.base import BaseParser
from redis.backoff import NoBackoff
from redis.retry import Retry

from pysips.store import DEFAULT_PREFIXES, NO_DB, WRITE_THROUGH, Record
from pysips.store.writer import WriterProcess

INTS_FIELD = "__ints__"
_CHUNK = 1000  # commands per pipeline when loading; keeps replies and memory spikes small


class _PyLog:
    """Fallback logger with pysips Logger's method names, when neither core nor logger is given."""

    def __init__(self) -> None:
        self._log = logging.getLogger("pysips.store")

    def error(self, text: str, module: str = "store") -> None:
        self._log.error(text)

    def warn(self, text: str, module: str = "store") -> None:
        self._log.warning(text)

    def info(self, text: str, module: str = "store") -> None:
        self._log.info(text)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _blen(text: str) -> int:
    """Length in bytes of `text` once UTF-8 encoded."""
    return len(text) if text.isascii() else len(text.encode())


def _hset_fields(record: Mapping[str, Any]) -> list[str]:
    """The field/value bulk strings of HSET for `record`, as ``encode_record`` lays it out (``__ints__`` last)."""
    out: list[str] = []
    ints: list[str] = []
    for name, value in record.items():
        kind = type(value)
        if kind is not str:
            if kind is int or kind is bool:
                value = str(int(value))
                ints.append(name)
            elif value is None:
                continue
            else:
                value = str(value)
        # character counts; a record with any non-ASCII text is laid out again with byte counts below
        out.append(f"${len(name)}\r\n{name}\r\n${len(value)}\r\n{value}\r\n")
    text = ",".join(ints)
    out.append(f"${len(INTS_FIELD)}\r\n{INTS_FIELD}\r\n${len(text)}\r\n{text}\r\n")
    if all(part.isascii() for part in out):
        return out
    return [
        f"${_blen(name)}\r\n{name}\r\n${_blen(value)}\r\n{value}\r\n"
        for name, value in encode_record(record).items()
    ]


def _read_lines(conn: Any, n: int) -> bytes:
    """Read `n` one-line replies from a redis-py connection's socket (its timeout applies)."""
    sock = conn._sock
    if sock is None:
        raise redis.ConnectionError("not connected")
    buf = bytearray()
    have = 0
    while have < n:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise redis.ConnectionError("connection closed by the server")
        have += chunk.count(b"\r\n") + (1 if buf[-1:] == b"\r" and chunk[:1] == b"\n" else 0)
        buf += chunk
    return bytes(buf)


def _errors(replies: bytes) -> list[bytes]:
    """The error lines (``-ERR ...``) among one-line replies."""
    if not replies.startswith(b"-") and b"\n-" not in replies:
        return []
    return [line for line in replies.split(b"\r\n") if line.startswith(b"-")]


def write_batch(
    client: redis.Redis, items: list[tuple[str, str, Record | None]], chunk: int, index: bool
) -> list[Exception]:
    """Write (key prefix, key, record or None to delete) changes: one round trip per `chunk` of them.

    Commands are packed here rather than through redis-py's pipeline, whose generic packer cost ~4x more CPU
    (tools/bench_store.py). Raises what Redis or the connection raised for a batch worth retrying (connection
    lost, LOADING, OOM, READONLY...); returns the commands refused for good (WRONGTYPE), which a retry would
    not fix.
    """
    rejected: list[Exception] = []
    for start in range(0, len(items), chunk):
        # built as text and encoded once per round trip: lengths are UTF-8 byte counts (_blen)
        buf: list[str] = []
        ncmds = 0
        for prefix, key, record in items[start : start + chunk]:
            name = prefix + key
            bulk_name = f"${_blen(name)}\r\n{name}\r\n"
            buf.append("*2\r\n$3\r\nDEL\r\n")
            buf.append(bulk_name)
            ncmds += 1
            if record is None:
                if index:
                    buf.append(
                        f"*3\r\n$4\r\nSREM\r\n${_blen(prefix)}\r\n{prefix}\r\n${_blen(key)}\r\n{key}\r\n"
                    )
                    ncmds += 1
                continue
            fields = _hset_fields(record)
            buf.append(f"*{2 + 2 * len(fields)}\r\n$4\r\nHSET\r\n")
            buf.append(bulk_name)
            buf += fields
            ncmds += 1
            if index:
                buf.append(f"*3\r\n$4\r\nSADD\r\n${_blen(prefix)}\r\n{prefix}\r\n${_blen(key)}\r\n{key}\r\n")
                ncmds += 1
        rejected += round_trip(client, "".join(buf).encode(), ncmds)
    return rejected


def round_trip(client: redis.Redis, packed: bytes, ncmds: int) -> list[Exception]:
    """Send ``ncmds`` packed commands at once and read every reply (a MULTI-less pipeline).

    DEL / HSET / SADD / SREM answer with one line each (an integer, or an error), so the replies are counted by
    their line ends straight off the socket; redis-py's reply parser (~4 µs a reply) only does the connection's
    handshake (AUTH, SELECT). Raises the first retryable refusal; returns the WRONGTYPE ones.
    """
    pool = client.connection_pool
    conn = pool.get_connection()
    try:
        conn.send_packed_command([packed])
        replies = _read_lines(conn, ncmds)
    except BaseException:
        # a reply stream cut midway cannot be resumed: the connection goes, the batch is retried
        conn.disconnect()
        raise
    finally:
        pool.release(conn)
    # redis-py's own mapping of an error line to its exception class (OutOfMemoryError, ReadOnlyError...)
    rejected = [BaseParser.parse_error(line[1:].decode("utf-8", "replace")) for line in _errors(replies)]
    retry = [exc for exc in rejected if not str(exc).startswith("WRONGTYPE")]
    if retry:
        # LOADING, BUSY, OOM, READONLY, NOAUTH...: the server is not ready to take the batch yet
        raise retry[0]
    return rejected


def encode_record(record: Mapping[str, Any]) -> dict[str, str]:
    """Hash fields for a record: ints in decimal and listed in ``__ints__``; None fields are left out."""
    out: dict[str, str] = {}
    ints: list[str] = []
    for name, value in record.items():
        kind = type(value)
        if kind is str:
            out[name] = value
        elif kind is int or kind is bool:
            out[name] = str(int(value))
            ints.append(name)
        elif value is not None:
            out[name] = str(value)
    out[INTS_FIELD] = ",".join(ints)
    return out


def decode_record(fields: dict[str, str]) -> Record:
    """Inverse of encode_record; a hash written by someone else (no ``__ints__``) comes back as strings."""
    ints = fields.pop(INTS_FIELD, None)
    if ints:
        for name in ints.split(","):
            value = fields.get(name)
            if value is not None:
                try:
                    fields[name] = int(value)  # type: ignore[assignment]
                except ValueError:
                    pass
    return fields  # type: ignore[return-value]


class RedisStore:
    """Store backend writing to Redis in batches from a background task."""

    backend = "redis"

    def __init__(
        self,
        url: str,
        *,
        db_mode: int = 2,
        update_period: float = 100.0,
        prefixes: Mapping[str, str] | None = None,
        core: Any = None,
        logger: Any = None,
        max_pending: int = 100_000,
        timeout: float = 2.0,
        max_backoff: float = 2.0,
        index: bool = True,
        chunk: int = 2000,
        writer_process: bool = False,
    ) -> None:
        self.url = _redact(url)  # for log lines; the client gets the real one
        self.db_mode = db_mode
        self.update_period = float(update_period)
        self.prefixes: dict[str, str] = {**DEFAULT_PREFIXES, **(prefixes or {})}
        self.log = getattr(core, "log", None) or logger or _PyLog()
        # store_errors / store_dropped land next to the core's OpenSIPS counters when there is a core
        self.stats: Counter[str] = core.stats if core is not None else Counter()
        self.max_pending = max_pending
        self.max_backoff = max_backoff
        self.index = index
        self.chunk = chunk  # changes per round trip: bounds a flush's memory spike and GIL hold
        # redis-py's own retries would stall a flush for seconds during an outage; the flusher retries instead
        self.client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        # batches packed and written by a child process (pysips.store.writer) instead of a thread of this one
        self.writer: WriterProcess | None = (
            WriterProcess(url, timeout=timeout, chunk=chunk, index=index) if writer_process else None
        )
        self._dirty: dict[tuple[str, str], Record | None] = {}
        self._wake = trio.Event()
        self._lock = trio.Lock()
        self._scope: trio.CancelScope | None = None
        self._down = False
        self._overflow_logged = False
        self.flushes = 0  # flushes that wrote a batch completely
        self.flushed = 0  # changes written successfully

    # ------------------------------------------------------------------ hot path

    def put(self, kind: str, key: str, record: Mapping[str, str | int]) -> None:
        if self.db_mode == NO_DB:
            return
        dirty = self._dirty
        dirty[(kind, key)] = dict(record)
        if len(dirty) > self.max_pending:
            self._trim()
        if self.db_mode == WRITE_THROUGH:
            self._wake.set()

    def delete(self, kind: str, key: str) -> None:
        if self.db_mode == NO_DB:
            return
        dirty = self._dirty
        dirty[(kind, key)] = None
        if len(dirty) > self.max_pending:
            self._trim()
        if self.db_mode == WRITE_THROUGH:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._dirty)

    def _prefix(self, kind: str) -> str:
        prefix = self.prefixes.get(kind)
        if prefix is None:
            prefix = self.prefixes[kind] = f"{kind}$"
        return prefix

    def _trim(self) -> None:
        """Bound the backlog of a long outage: drop the oldest deletes (puts are live calls, kept).

        A dropped delete can leave a stale record in Redis that the next start-up loads; the engine's own
        lifetime checks end it there.
        """
        target = int(self.max_pending * 0.9)
        excess = len(self._dirty) - target
        victims = [k for k, v in self._dirty.items() if v is None][:excess]
        for k in victims:
            del self._dirty[k]
        self.stats["store_dropped"] += len(victims)
        if not self._overflow_logged:
            self._overflow_logged = True
            self.log.error(
                f"redis store {self.url}: more than {self.max_pending} changes pending, "
                f"dropped {len(victims)} oldest deletes",
                "store",
            )

    # ------------------------------------------------------------------ writing

    def _items(self, batch: dict[tuple[str, str], Record | None]) -> list[tuple[str, str, Record | None]]:
        prefix = self._prefix
        return [(prefix(kind), key, record) for (kind, key), record in batch.items()]

    def _write_batch(self, batch: dict[tuple[str, str], Record | None]) -> None:
        """Runs in a worker thread (``writer_process=False``): ``write_batch`` with this store's client."""
        self._rejected(write_batch(self.client, self._items(batch), self.chunk, self.index))

    def _rejected(self, rejected: list[Exception]) -> None:
        """Commands Redis refused for good (a key someone else wrote with another type): count and report."""
        if rejected:
            self.stats["store_errors"] += len(rejected)
            self.log.error(
                f"redis store {self.url}: {len(rejected)} commands rejected: {rejected[0]}", "store"
            )

    async def flush(self) -> bool:
        async with self._lock:
            batch = self._dirty
            if not batch:
                return True
            self._dirty = {}
            try:
                if self.writer is not None:
                    # shielded inside: a cancelled flush still learns the outcome of the batch it sent
                    self._rejected(await self.writer.write(self._items(batch)))
                else:
                    # not abandon_on_cancel: a cancelled flush waits for the thread, so the outcome is known
                    await trio.to_thread.run_sync(self._write_batch, batch)
            except BaseException as exc:
                batch.update(self._dirty)  # newer changes win over the batch being put back
                self._dirty = batch
                if isinstance(exc, Exception):
                    self._failed(exc)
                    return False
                raise
            self.flushes += 1
            self.flushed += len(batch)
            self._recovered(f", wrote {len(batch)} pending changes")
            return not self._dirty

    def _recovered(self, detail: str = "") -> None:
        if self._down:
            self._down = False
            self._overflow_logged = False
            self.log.info(f"redis store {self.url}: reachable again{detail}", "store")

    def _failed(self, exc: Exception) -> None:
        self.stats["store_errors"] += 1
        if not self._down:
            self._down = True
            self.log.error(
                f"redis store {self.url}: {type(exc).__name__}: {exc}; "
                f"keeping {len(self._dirty)} pending changes and retrying",
                "store",
            )

    async def _flusher(self, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as scope:
            self._scope = scope
            task_status.started()
            backoff = 0.05
            while True:
                if self._down and self._dirty:
                    await trio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
                else:
                    backoff = 0.05
                    period = self.update_period if self.update_period > 0 else math.inf
                    with trio.move_on_after(period):
                        await self._wake.wait()
                    self._wake = trio.Event()
                await self.flush()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, nursery: trio.Nursery) -> None:
        if self.db_mode != NO_DB:
            if self.writer is not None:
                await self.writer.start()
            await nursery.start(self._flusher)

    async def close(self) -> None:
        if self._scope is not None:
            self._scope.cancel()
            self._scope = None
        if self._dirty and not await self.flush():
            self.log.error(
                f"redis store {self.url}: {len(self._dirty)} changes could not be written", "store"
            )
        if self.writer is not None:
            await self.writer.close()
        await trio.to_thread.run_sync(self.client.close)

    # ------------------------------------------------------------------ reading

    # Reads hold the flush lock: with no batch in flight, Redis holds everything older than the dirty map,
    # so overlaying the dirty map on what was read gives the latest state.

    async def get(self, kind: str, key: str) -> Record | None:
        async with self._lock:
            pending = self._dirty.get((kind, key), ...)
            if pending is not ...:
                return None if pending is None else dict(pending)
            try:
                fields = await trio.to_thread.run_sync(self.client.hgetall, self._prefix(kind) + key)
            except Exception as exc:
                self._failed(exc)
                return None
            self._recovered()
            pending = self._dirty.get((kind, key), ...)
            if pending is not ...:
                return None if pending is None else dict(pending)
            return decode_record(fields) if fields else None

    async def load_all(self, kind: str) -> dict[str, Record]:
        async with self._lock:
            try:
                out = await trio.to_thread.run_sync(self._load_kind, kind)
                self._recovered()
            except Exception as exc:
                self._failed(exc)
                self.log.error(
                    f"redis store {self.url}: cannot load {kind!r} records, starting empty", "store"
                )
                out = {}
            return self._overlay(kind, out)

    def _overlay(self, kind: str, out: dict[str, Record]) -> dict[str, Record]:
        for (k, key), record in self._dirty.items():
            if k == kind:
                if record is None:
                    out.pop(key, None)
                else:
                    out[key] = dict(record)
        return out

    def _keys(self, kind: str) -> list[str]:
        prefix = self._prefix(kind)
        if self.index:
            return list(self.client.smembers(prefix))
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
        cut = len(prefix)
        return [name[cut:] for name in self.client.scan_iter(match=pattern, count=1000, _type="hash")]

    def _load_kind(self, kind: str) -> dict[str, Record]:
        """Runs in a worker thread."""
        prefix = self._prefix(kind)
        keys = self._keys(kind)
        out: dict[str, Record] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            pipe = self.client.pipeline(transaction=False)
            for key in chunk:
                pipe.hgetall(prefix + key)
            for key, fields in zip(chunk, pipe.execute(), strict=True):
                if fields:
                    out[key] = decode_record(fields)
        return out
