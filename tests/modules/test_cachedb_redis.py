"""cachedb_redis against a real redis-server: cache_* return codes, groups, raw queries, outages."""

from __future__ import annotations

import time

import pytest

from pysips.modules import cachedb_redis as cr
from pysips.modules import core
from pysips.script.pvars import parse_pv
from tests.modules._msgs import make_ctx


def _ctx_with(engines: dict) -> object:
    c = make_ctx()
    c.env.cachedb = lambda name: engines.get(name)
    return c


def test_parse_url() -> None:
    assert cr.parse_url("redis://127.0.0.1:6379/") == ("redis", {"host": "127.0.0.1", "port": 6379, "db": 0})
    assert cr.parse_url("redis:group1://:secret@10.0.0.1/3") == (
        "redis:group1",
        {"host": "10.0.0.1", "port": 6379, "db": 3, "password": "secret"},
    )
    with pytest.raises(ValueError, match="bad cachedb_url"):
        cr.parse_url("local://")


def test_script_functions_and_return_codes(redis_server) -> None:  # noqa: ANN001
    engines = cr.build_engines(
        {"cachedb_url": [redis_server.url, f"redis:g2://127.0.0.1:{redis_server.port}/1"]}
    )
    c = _ctx_with(engines)
    out = parse_pv("$var(v)")
    assert core.w_cache_store(c, "redis", "k1", "hello", 0) == 1
    assert core.w_cache_fetch(c, "redis", "k1", out) == 1 and c.vars["v"] == "hello"
    assert core.w_cache_fetch(c, "redis", "missing", out) == -2
    # groups are separate databases
    assert core.w_cache_fetch(c, "redis:g2", "k1", out) == -2
    assert core.w_cache_add(c, "redis", "cnt", 5, 0, out) == 1 and c.vars["v"] == 5
    assert core.w_cache_sub(c, "redis", "cnt", 2, 60, out) == 1 and c.vars["v"] == 3
    assert engines["redis"].client.ttl("cnt") > 0
    assert core.w_cache_counter_fetch(c, "redis", "cnt", out) == 1 and c.vars["v"] == 3
    assert core.w_cache_add(c, "redis", "k1", 1, 0) == -1  # "hello" is not a number
    assert core.w_cache_remove(c, "redis", "k1") == 1
    assert core.w_cache_fetch(c, "redis", "k1", out) == -2
    assert core.w_cache_store(c, "redis", "tmp", "x", 1) == 1 and engines["redis"].client.ttl("tmp") in (0, 1)
    assert core.w_cache_fetch(c, "redis:nogroup", "k1", out) == -1


def test_raw_query(redis_server) -> None:  # noqa: ANN001
    engines = cr.build_engines({"cachedb_url": redis_server.url})
    eng = engines["redis"]
    assert cr.raw_query_rc(eng, 'HSET h f1 "a b" f2 2') == (1, [2])
    assert cr.raw_query_rc(eng, "HGET h f1") == (1, ["a b"])
    assert cr.raw_query_rc(eng, "HMGET h f1 nope f2") == (1, ["a b", "2"])
    assert cr.raw_query_rc(eng, "GET nothing") == (1, [])
    assert cr.raw_query_rc(eng, "NOSUCHCOMMAND x")[0] == -1
    c = make_ctx()
    c.env.core = None
    cr._ENGINES = engines
    assert cr.w_cache_raw_query(c, "redis", "HMGET h f1 f2", "$avp(out)") == 1
    assert c.avps.get_all("out") == ["a b", "2"]


def test_outage_logs_once_and_recovers(redis_server) -> None:  # noqa: ANN001
    logs: list[str] = []
    now = [100.0]
    eng = cr.RedisEngine("redis", cr.parse_url(redis_server.url)[1], timeout=0.2, log=logs.append,
                         clock=lambda: now[0])  # fmt: skip
    assert eng.store("a", "1") is True
    redis_server.stop()
    t0 = time.monotonic()
    assert eng.store("a", "2") is False
    assert time.monotonic() - t0 < 0.5  # no client-side retries with back-off: the failure is immediate
    assert cr.fetch_rc(eng, "a") == (-1, None)  # an error, not "not found"
    assert eng.add("n", 1) is None
    assert len(logs) == 1 and "unreachable" in logs[0]
    redis_server.start()
    # within the back-off the engine does not even try
    assert eng.fetch("a") is None and eng.last_error == "server down"
    now[0] += 2
    assert cr.fetch_rc(eng, "a") == (-2, None)  # the new server is empty
    assert len(logs) == 2 and "reachable again" in logs[1]
    assert eng.outages == 1
