"""State store: what the b2b engine persists so calls survive a restart.

One small interface, two backends. The engine keeps its live state in memory and mirrors each tuple / entity
into a store with ``put`` / ``delete`` (synchronous, cheap, never waits on I/O); at start-up it rebuilds from
``load_all``. ``memory`` (the default, no ``cachedb_url``) keeps plain dicts; ``redis`` (``cachedb_url =
"redis://host:port/db"``) records the changes in a dirty map and writes them in pipelines from a background trio
task, every ``update_period`` seconds (``db_mode`` 2, write-back) or as soon as the loop is free (``db_mode`` 1,
write-through); ``db_mode`` 0 writes nothing.

Records are flat dicts of ``str -> str | int``; ``put`` replaces the whole record. Kinds name the record family
(``"b2be"`` entities, ``"b2bl"`` logic tuples); each kind has its own Redis key prefix (OpenSIPS
``cachedb_key_prefix``, defaults ``b2be$`` / ``b2bl$``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import trio

from pysips.errors import ConfigError

Record = dict[str, "str | int"]

# OpenSIPS b2b_entities / b2b_logic cachedb_key_prefix defaults
DEFAULT_PREFIXES: dict[str, str] = {"b2be": "b2be$", "b2bl": "b2bl$"}

# OpenSIPS b2b db_mode values
NO_DB, WRITE_THROUGH, WRITE_BACK = 0, 1, 2


@runtime_checkable
class Store(Protocol):
    """What the b2b engine needs from persistence; every backend has exactly these members."""

    backend: str

    def put(self, kind: str, key: str, record: Mapping[str, str | int]) -> None:
        """Insert or replace ``record`` under (kind, key). Never blocks; the record is copied."""

    def delete(self, kind: str, key: str) -> None:
        """Forget (kind, key); deleting an absent key is not an error. Never blocks."""

    async def get(self, kind: str, key: str) -> Record | None:
        """The latest record written for (kind, key), pending writes included; None if absent."""

    async def load_all(self, kind: str) -> dict[str, Record]:
        """Every record of ``kind`` (start-up recovery); empty when the backend cannot be reached."""

    async def flush(self) -> bool:
        """Write every pending change now; True when nothing is left pending."""

    async def start(self, nursery: trio.Nursery) -> None:
        """Start background work (the Redis flusher) in ``nursery``."""

    async def close(self) -> None:
        """Stop background work after a last flush and release connections."""

    @property
    def pending(self) -> int:
        """Changes recorded but not yet written."""


def b2be_key(etype: int, tag0: str, tag1: str, callid: str) -> str:
    """An entity key in OpenSIPS's layout: with the prefix it gives ``b2be$<type>$<tag0>$<tag1>$<callid>``."""
    return f"{etype}${tag0}${tag1}${callid}"


_GROUP_URL = re.compile(r"^(rediss?):[^/:]+://", re.IGNORECASE)


def normalize_redis_url(url: str) -> str:
    """Accept OpenSIPS's ``redis:group://host:port/db`` form (the group only names the connection there)."""
    return _GROUP_URL.sub(lambda m: f"{m.group(1).lower()}://", url.strip(), count=1)


def open_store(
    url: str | None = None,
    *,
    db_mode: int = WRITE_BACK,
    update_period: float = 100.0,
    prefixes: Mapping[str, str] | None = None,
    core: Any = None,
    logger: Any = None,
    **options: Any,
) -> Store:
    """The store for a ``cachedb_url`` (None or "" gives the memory backend).

    ``prefixes`` maps kind -> key prefix (merged over DEFAULT_PREFIXES); ``core`` supplies ``core.log`` and
    ``core.stats`` (``store_errors``, ``store_dropped``); ``options`` go to RedisStore (``max_pending``,
    ``timeout``, ``max_backoff``, ``index``).
    """
    if db_mode not in (NO_DB, WRITE_THROUGH, WRITE_BACK):
        raise ConfigError(f"db_mode must be 0, 1 or 2, not {db_mode}")
    if not url:
        from pysips.store.memory import MemoryStore

        return MemoryStore()
    norm = normalize_redis_url(url)
    if not norm.lower().startswith(("redis://", "rediss://")):
        raise ConfigError(f"unsupported cachedb_url {url!r}: only redis:// is implemented")
    from pysips.store.redis import RedisStore

    return RedisStore(
        norm,
        db_mode=db_mode,
        update_period=update_period,
        prefixes=prefixes,
        core=core,
        logger=logger,
        **options,
    )


__all__ = [
    "DEFAULT_PREFIXES",
    "NO_DB",
    "WRITE_BACK",
    "WRITE_THROUGH",
    "Record",
    "Store",
    "b2be_key",
    "normalize_redis_url",
    "open_store",
]
