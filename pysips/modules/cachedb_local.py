"""cachedb_local: the in-memory key/value engine behind ``cache_*("local", ...)``.

One store per collection ("local" = the default collection, "local:name" another one). Values keep their type: a
``cache_store`` value is a string, ``cache_add``/``cache_sub`` keep integers. Expired keys disappear lazily on access
and on :meth:`LocalCache.purge` (the proxy may call it periodically, like OpenSIPS's cache_clean_period timer).
Return-code conventions (fetch: 1 found / -2 not found / -1 error) are applied by the core ``cache_*`` functions.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from typing import Any

from pysips.modules import ALL_ROUTES, INT, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec


class LocalCache:
    __slots__ = ("_d", "_clock")

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._d: dict[str, tuple[Any, float]] = {}  # key -> (value, expiry or 0 = never)
        self._clock = clock

    def _live(self, key: str) -> tuple[Any, float] | None:
        item = self._d.get(key)
        if item is None:
            return None
        if item[1] and item[1] <= self._clock():
            del self._d[key]
            return None
        return item

    def store(self, key: str, value: Any, expire: int = 0) -> bool:
        self._d[key] = (value, self._clock() + expire if expire and expire > 0 else 0.0)
        return True

    def fetch(self, key: str) -> Any:
        item = self._live(key)
        return None if item is None else item[0]

    def remove(self, key: str) -> bool:
        return self._d.pop(key, None) is not None

    def add(self, key: str, delta: int, expire: int = 0) -> int | None:
        """Add to a counter (created at 0); None if the stored value is not a number. A new expire replaces the old."""
        item = self._live(key)
        if item is None:
            cur = 0
            exp = 0.0
        else:
            try:
                cur = int(item[0])
            except (TypeError, ValueError):
                return None
            exp = item[1]
        if expire and expire > 0:
            exp = self._clock() + expire
        new = cur + delta
        self._d[key] = (new, exp)
        return new

    def remove_chunk(self, glob: str) -> int:
        keys = [k for k in self._d if fnmatch.fnmatchcase(k, glob)]
        for k in keys:
            del self._d[k]
        return len(keys)

    def purge(self) -> int:
        now = self._clock()
        dead = [k for k, (_, exp) in self._d.items() if exp and exp <= now]
        for k in dead:
            del self._d[k]
        return len(dead)

    def __len__(self) -> int:
        return len(self._d)


_COLLECTIONS: dict[str, LocalCache] = {}


def collection(name: str = "") -> LocalCache:
    """The store of a collection ('' = default), created on first use."""
    c = _COLLECTIONS.get(name)
    if c is None:
        c = _COLLECTIONS[name] = LocalCache()
    return c


def reset_collections() -> None:
    """Forget every collection (tests, script reload in a fresh process)."""
    _COLLECTIONS.clear()


def w_cache_remove_chunk(ctx: Any, a: str, b: str | None = None) -> int:
    """cache_remove_chunk([collection,] glob)."""
    col, glob = (a, b) if b is not None else ("", a)
    n = collection(col).remove_chunk(glob)
    return 1 if n >= 0 else -1


MODULE = ModuleSpec.build(
    "cachedb_local",
    functions=[
        FunctionSpec(
            "cache_remove_chunk",
            (ParamSpec(STR, name="collection_or_glob"), ParamSpec(STR, optional=True, name="glob")),
            w_cache_remove_chunk,
            ALL_ROUTES,
        ),
    ],
    params=[
        ModParamSpec("cachedb_url", STR, "local://", repeatable=True),
        ModParamSpec("cache_collections", STR, "default"),
        ModParamSpec("cache_table_size", INT, 9),
        ModParamSpec("cache_clean_period", INT, 600),
        ModParamSpec("exec_threshold", INT, 0),
        ModParamSpec("enable_restart_persistency", INT, 0),
    ],
)
