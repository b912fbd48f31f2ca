"""cachedb_redis: the Redis engine behind ``cache_*("redis[:group]", ...)``.

``modparam("cachedb_redis", "cachedb_url", "redis://127.0.0.1:6379/")`` declares the default group ("redis");
``"redis:group1://host:port/db"`` a named one ("redis:group1"). Each group is a :class:`RedisEngine` with the method
set the core ``cache_*`` functions call (store / fetch / remove / add) plus ``raw_query``.

Calls are synchronous redis-py calls with a short socket timeout: about 50-100 us on loopback, which the trio loop
can afford for now. When Redis is unreachable the engine fails fast: one log line when the outage starts, none while
it lasts (calls during a 1 s back-off do not even try the network), one when it ends. ``last_error`` tells a failed
call from a missing key (OpenSIPS: -1 vs -2); :func:`fetch_rc` applies that rule for the core.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from pysips.errors import PysipsError
from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

_RETRY_AFTER = 1.0  # seconds a down server is not retried


class CacheDBError(PysipsError):
    """A cachedb engine could not serve a call (server down, bad reply)."""


def parse_url(url: str) -> tuple[str, dict[str, Any]]:
    """``redis[:group]://[user:pass@]host[:port]/[db]`` -> (engine name, connection kwargs)."""
    m = re.fullmatch(
        r"\s*(redis)(?::([A-Za-z0-9_.-]+))?://(?:([^@/]*)@)?([^/:@]+|\[[^\]]+\])(?::(\d+))?/?(\d*)\s*", url
    )
    if not m:
        raise ValueError(f'bad cachedb_url {url!r}: expected "redis[:group]://host:port/"')
    scheme, group, auth, host, port, db = m.groups()
    kw: dict[str, Any] = {"host": host.strip("[]"), "port": int(port or 6379), "db": int(db or 0)}
    if auth:
        user, sep, pw = auth.partition(":")
        if sep:
            if user:
                kw["username"] = unquote(user)
            kw["password"] = unquote(pw)
        else:
            kw["password"] = unquote(user)
    return (f"{scheme}:{group}" if group else scheme), kw


class RedisEngine:
    """One Redis server (one cachedb_url group)."""

    def __init__(
        self,
        name: str,
        conn: dict[str, Any],
        *,
        timeout: float = 0.2,
        log: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis

        self.name = name
        self.conn = conn
        self._redis = redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # no retries: redis-py's default (3 retries with backoff) would block the event loop for seconds
        self.client = redis.Redis(
            **conn,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            decode_responses=True,
            retry=Retry(NoBackoff(), 0),
        )
        self.log = log or (lambda m: None)
        self.clock = clock
        self.down_since: float | None = None
        self._retry_at = 0.0
        self.last_error: str | None = None
        self.outages = 0

    # ------------------------------------------------------------ plumbing

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run one command; raises CacheDBError (logged once per outage) when the server cannot answer."""
        now = self.clock()
        if self.down_since is not None and now < self._retry_at:
            self.last_error = "server down"
            raise CacheDBError(f"cachedb {self.name}: server down")
        try:
            result = fn()
        except (self._redis.ConnectionError, self._redis.TimeoutError, OSError) as e:
            self.last_error = str(e) or type(e).__name__
            self._retry_at = now + _RETRY_AFTER
            if self.down_since is None:
                self.down_since = now
                self.outages += 1
                where = f"{self.conn.get('host')}:{self.conn.get('port')}"
                self.log(f"cachedb_redis: {self.name} ({where}) unreachable: {self.last_error}")
            raise CacheDBError(f"cachedb {self.name}: {self.last_error}") from None
        except self._redis.ResponseError as e:
            self.last_error = str(e)
            raise CacheDBError(f"cachedb {self.name}: {e}") from None
        if self.down_since is not None:
            self.log(f"cachedb_redis: {self.name} reachable again after {now - self.down_since:.1f}s")
            self.down_since = None
        self.last_error = None
        return result

    # ------------------------------------------------------------ the engine API used by the core cache_* functions

    def store(self, key: str, value: Any, expire: int = 0) -> bool:
        try:
            c = self.client
            self._call(lambda: c.set(key, value, ex=expire) if expire and expire > 0 else c.set(key, value))
        except CacheDBError:
            return False
        return True

    def fetch(self, key: str) -> Any:
        """The value, or None when absent or on error (see ``last_error``)."""
        try:
            return self._call(lambda: self.client.get(key))
        except CacheDBError:
            return None

    def remove(self, key: str) -> bool:
        try:
            self._call(lambda: self.client.delete(key))
        except CacheDBError:
            return False
        return True

    def add(self, key: str, delta: int, expire: int = 0) -> int | None:
        """INCRBY (+ EXPIRE when expire > 0); None on error or when the value is not a number."""
        c = self.client

        def op() -> int:
            if expire and expire > 0:
                pipe = c.pipeline(transaction=False)
                pipe.incrby(key, delta)
                pipe.expire(key, expire)
                return int(pipe.execute()[0])
            return int(c.incrby(key, delta))

        try:
            return self._call(op)
        except CacheDBError:
            return None

    def raw_query(self, query: str) -> Any:
        """cache_raw_query: the command as written (``HGET h f``); the reply (None for nil). Raises CacheDBError."""
        parts = _split_command(query)
        if not parts:
            raise CacheDBError("empty raw query")
        return self._call(lambda: self.client.execute_command(*parts))

    def close(self) -> None:
        self.client.close()


def _split_command(text: str) -> list[str]:
    """Split a raw query like a redis-cli line: spaces separate, double quotes group."""
    out: list[str] = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|(\S+)', text):
        out.append(m.group(1).replace('\\"', '"') if m.group(1) is not None else m.group(2))
    return out


# ---------------------------------------------------------------- return codes (OpenSIPS semantics)


def fetch_rc(engine: Any, key: str) -> tuple[int, Any]:
    """cache_fetch: (1, value) found, (-2, None) not found, (-1, None) error."""
    v = engine.fetch(key)
    if v is None:
        return (-1 if getattr(engine, "last_error", None) else -2), None
    return 1, v


def raw_query_rc(engine: Any, query: str) -> tuple[int, list[Any]]:
    """cache_raw_query: (1, values as a flat list of strings/ints) or (-1, []) on error; nil -> (1, [])."""
    try:
        res = engine.raw_query(query)
    except CacheDBError:
        return -1, []
    if res is None:
        return 1, []
    if isinstance(res, (list, tuple)):
        return 1, [r for r in res if r is not None]
    if isinstance(res, bool):
        return 1, [int(res)]
    return 1, [res]


def w_cache_raw_query(ctx: Any, engine: str, query: str, avp_list: str | None = None) -> int:
    """What core's cache_raw_query can call: the reply values go to the first AVP of ``avp_list``."""
    eng = get_engine(getattr(ctx.env, "core", None), engine)
    if eng is None:
        return -1
    rc, vals = raw_query_rc(eng, query)
    if rc < 0:
        return rc
    if avp_list:
        m = re.match(r"\s*\$avp\(([^)]+)\)", avp_list)
        if m:
            name = m.group(1)
            ctx.avps.delete_all(name)
            for v in vals:
                ctx.avps.append(name, v)
    return 1


# ---------------------------------------------------------------- engines per server / per script load


_ENGINES: dict[str, RedisEngine] = {}


def build_engines(params: dict[str, Any], log: Callable[[str], None] | None = None) -> dict[str, RedisEngine]:
    urls = params.get("cachedb_url") or []
    if isinstance(urls, str):
        urls = [urls]
    timeout_ms = params.get("query_timeout") or params.get("connect_timeout") or 200
    engines: dict[str, RedisEngine] = {}
    for url in urls:
        name, conn = parse_url(str(url))
        if name in engines:
            raise ValueError(f"cachedb_url group {name!r} is declared twice")
        engines[name] = RedisEngine(name, conn, timeout=int(timeout_ms) / 1000.0, log=log)
    return engines


def init(params: dict[str, Any]) -> None:
    """Check the URLs at script load (no connection is made here)."""
    global _ENGINES
    for e in _ENGINES.values():
        e.close()
    _ENGINES = build_engines(params)


def get_engine(core: Any, engine: str) -> RedisEngine | None:
    """The engine for a script's engine name ("redis", "redis:group1"), for this server when one runs."""
    table = None
    if core is not None:
        table = getattr(core, "modules_state", {}).get("cachedb_redis")
    if table is None:
        table = _ENGINES
    return table.get(engine.strip())


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    """Give the server its own connections; make ``ctx.env.cachedb(engine)`` find them."""
    params = (getattr(program, "modparams", None) or {}).get("cachedb_redis", {})
    log = getattr(core, "log", None)
    try:
        engines = build_engines(
            params, log=(lambda m: log.error(m, "cachedb_redis")) if log is not None else None
        )
    except ValueError as e:
        if log is not None:
            log.error(f"cachedb_redis: {e}", "cachedb_redis")
        engines = {}
    if not hasattr(core, "modules_state"):
        core.modules_state = {}
    core.modules_state["cachedb_redis"] = engines  # ProxyEnv.cachedb(name) looks engines up here
    task_status.started()


MODULE = ModuleSpec.build(
    "cachedb_redis",
    doc="Redis engine for cache_store/fetch/remove/add/sub/counter_fetch/raw_query",
    functions=[],
    params=[
        ModParamSpec("cachedb_url", STR, None, repeatable=True),
        ModParamSpec("connect_timeout", INT),
        ModParamSpec("query_timeout", INT),
        ModParamSpec("shutdown_on_error", INT, 0),
        ModParamSpec("use_tls", INT, 0),
    ],
)
