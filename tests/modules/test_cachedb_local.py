"""cachedb_local: the in-memory store with expiry, counters and cache_remove_chunk."""

from __future__ import annotations

from pysips.modules import cachedb_local as cl
from tests.modules._msgs import make_ctx


def test_store_fetch_expiry() -> None:
    now = [100.0]
    c = cl.LocalCache(clock=lambda: now[0])
    c.store("a", "1", 10)
    c.store("b", "2")
    assert c.fetch("a") == "1"
    now[0] = 110.0
    assert c.fetch("a") is None and c.fetch("b") == "2"
    c.store("x", "y", 5)
    now[0] = 200.0
    assert c.purge() == 1 and len(c) == 1


def test_counters() -> None:
    c = cl.LocalCache()
    assert c.add("n", 3) == 3 and c.add("n", -5) == -2
    c.store("s", "abc")
    assert c.add("s", 1) is None
    c.store("num", "41")
    assert c.add("num", 1) == 42


def test_cache_remove_chunk() -> None:
    cl.reset_collections()
    col = cl.collection("")
    for k in ("user:1", "user:2", "gw:1"):
        col.store(k, "v")
    assert cl.w_cache_remove_chunk(make_ctx(), "user:*") == 1
    assert col.fetch("user:1") is None and col.fetch("gw:1") == "v"
    other = cl.collection("sessions")
    other.store("s1", "x")
    assert cl.w_cache_remove_chunk(make_ctx(), "sessions", "s*") == 1
    assert other.fetch("s1") is None
