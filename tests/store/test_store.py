"""pysips.store: the memory and Redis backends behind one interface, against a real redis-server."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import redis
import redis.connection
import trio

from pysips.errors import ConfigError
from pysips.store import Store, b2be_key, normalize_redis_url, open_store
from pysips.store.memory import MemoryStore
from pysips.store.redis import RedisStore, decode_record, encode_record


class FakeLog:
    """Collects log lines by level (the pysips Logger method names)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def error(self, text: str, module: str = "core") -> None:
        self.lines.append(("error", text))

    def warn(self, text: str, module: str = "core") -> None:
        self.lines.append(("warn", text))

    def info(self, text: str, module: str = "core") -> None:
        self.lines.append(("info", text))

    def level(self, level: str) -> list[str]:
        return [text for lvl, text in self.lines if lvl == level]


class FakeCore:
    def __init__(self) -> None:
        self.log = FakeLog()
        self.stats: Counter[str] = Counter()


def raw(server) -> redis.Redis:
    return redis.Redis.from_url(server.url, decode_responses=True)


async def wait_for(pred, timeout: float = 3.0, step: float = 0.01) -> bool:
    deadline = trio.current_time() + timeout
    while trio.current_time() < deadline:
        if pred():
            return True
        await trio.sleep(step)
    return pred()


ENTITY = {"state": 3, "ruri": "sip:bob@127.0.0.1:5070", "from_uri": "sip:alice@a", "cseq0": 1, "tag1": ""}


@pytest.fixture(params=["memory", "redis"])
def store(request) -> Store:
    if request.param == "memory":
        return open_store(None)
    server = request.getfixturevalue("redis_server")
    return open_store(server.url, db_mode=2, update_period=100, core=FakeCore())


# ---------------------------------------------------------------- same behaviour in both backends


async def test_put_get_delete_load_all(store: Store) -> None:
    assert isinstance(store, Store)
    store.put("b2be", "1$a$b$c1", ENTITY)
    store.put("b2be", "1$a$b$c2", {"state": 1})
    store.put("b2bl", "1234.5", {"key": "1234.5", "lifetime": 0})
    assert await store.get("b2be", "1$a$b$c1") == ENTITY
    assert await store.get("b2be", "nope") is None
    store.delete("b2be", "1$a$b$c2")
    store.delete("b2be", "never-existed")
    await store.flush()
    assert store.pending == 0
    assert await store.load_all("b2be") == {"1$a$b$c1": ENTITY}
    assert await store.load_all("b2bl") == {"1234.5": {"key": "1234.5", "lifetime": 0}}
    assert await store.load_all("other") == {}
    assert await store.get("b2be", "1$a$b$c1") == ENTITY
    assert await store.get("b2be", "1$a$b$c2") is None
    await store.close()


async def test_put_replaces_and_copies(store: Store) -> None:
    rec = {"state": 1, "contact0": "sip:x"}
    store.put("b2be", "k", rec)
    rec["state"] = 99  # the engine keeps mutating its own dict; the store holds the snapshot
    await store.flush()
    assert await store.get("b2be", "k") == {"state": 1, "contact0": "sip:x"}
    store.put("b2be", "k", {"state": 2})
    await store.flush()
    assert await store.load_all("b2be") == {"k": {"state": 2}}
    got = await store.get("b2be", "k")
    got["state"] = 7
    assert await store.get("b2be", "k") == {"state": 2}
    await store.close()


async def test_empty_record_survives(store: Store) -> None:
    store.put("b2bl", "empty", {})
    await store.flush()
    assert await store.load_all("b2bl") == {"empty": {}}
    await store.close()


# ---------------------------------------------------------------- factory and helpers


def test_open_store_selects_backend() -> None:
    assert isinstance(open_store(None), MemoryStore)
    assert isinstance(open_store(""), MemoryStore)
    st = open_store("redis:group1://127.0.0.1:6399/3", db_mode=1, update_period=5)
    assert isinstance(st, RedisStore)
    assert st.url == "redis://127.0.0.1:6399/3"
    assert (st.db_mode, st.update_period) == (1, 5.0)
    assert st.client.connection_pool.connection_kwargs["db"] == 3
    assert st.prefixes == {"b2be": "b2be$", "b2bl": "b2bl$"}
    st = open_store("redis://127.0.0.1:6399/", prefixes={"b2bl": "L:"})
    assert st.prefixes == {"b2be": "b2be$", "b2bl": "L:"}


def test_open_store_rejects_bad_config() -> None:
    with pytest.raises(
        ConfigError, match=r"unsupported cachedb_url 'mongodb://h/db': only redis:// is implemented"
    ):
        open_store("mongodb://h/db")
    with pytest.raises(ConfigError, match="db_mode must be 0, 1 or 2, not 3"):
        open_store(None, db_mode=3)


def test_url_and_key_helpers() -> None:
    assert normalize_redis_url("redis:cluster1://10.0.0.1:6379/2") == "redis://10.0.0.1:6379/2"
    assert normalize_redis_url("redis://10.0.0.1:6379/") == "redis://10.0.0.1:6379/"
    assert normalize_redis_url("redis://user:pw@h:1/0") == "redis://user:pw@h:1/0"
    assert b2be_key(1, "t0", "t1", "cid@h") == "1$t0$t1$cid@h"
    st = open_store("redis://user:secret@127.0.0.1:6399/1")
    assert st.url == "redis://user:***@127.0.0.1:6399/1"  # log lines never show the password
    assert st.client.connection_pool.connection_kwargs["password"] == "secret"


def test_record_encoding_round_trip() -> None:
    rec = {"s": "12", "i": 12, "neg": -3, "b": True, "none": None}
    enc = encode_record(rec)
    assert enc == {"s": "12", "i": "12", "neg": "-3", "b": "1", "__ints__": "i,neg,b"}
    assert decode_record(dict(enc)) == {"s": "12", "i": 12, "neg": -3, "b": 1}
    # a hash written by someone else has no __ints__: plain strings
    assert decode_record({"a": "1"}) == {"a": "1"}


# ---------------------------------------------------------------- Redis specifics


async def test_key_layout(redis_server) -> None:
    st = open_store(redis_server.url, prefixes={"b2bl": "mylogic:"}, core=FakeCore())
    st.put("b2be", b2be_key(1, "t0", "t1", "cid"), {"state": 4, "callid": "cid"})
    st.put("b2bl", "77.3", {"e1_key": "B2B.1"})
    assert await st.flush()
    r = raw(redis_server)
    assert sorted(r.keys("*")) == ["b2be$", "b2be$1$t0$t1$cid", "mylogic:", "mylogic:77.3"]
    assert r.hgetall("b2be$1$t0$t1$cid") == {"state": "4", "callid": "cid", "__ints__": "state"}
    assert r.type("b2be$") == "set" and r.smembers("b2be$") == {"1$t0$t1$cid"}
    assert r.smembers("mylogic:") == {"77.3"}
    st.delete("b2be", b2be_key(1, "t0", "t1", "cid"))
    assert await st.flush()
    assert sorted(r.keys("*")) == ["mylogic:", "mylogic:77.3"]
    await st.close()


async def test_scan_mode_has_no_index(redis_server) -> None:
    st = RedisStore(redis_server.url, index=False, prefixes={"b2be": "b*e$"})
    st.put("b2be", "k1", {"a": 1})
    st.put("b2be", "k2", {"a": 2})
    await st.flush()
    r = raw(redis_server)
    r.hset("bXe$k3", mapping={"a": "foreign"})  # matches b?e$ but not the escaped literal prefix
    assert sorted(r.keys("*")) == ["b*e$k1", "b*e$k2", "bXe$k3"]
    assert await st.load_all("b2be") == {"k1": {"a": 1}, "k2": {"a": 2}}
    await st.close()


class SendCounter:
    """Counts packed sends to Redis (one per round trip) from any thread."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        self._lock = threading.Lock()
        original = redis.connection.AbstractConnection.send_packed_command

        def counting(conn, command, check_health=True):
            with self._lock:
                self.count += 1
            return original(conn, command, check_health)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)


async def test_write_behind_batches_into_one_round_trip(redis_server, monkeypatch) -> None:
    st = open_store(redis_server.url, core=FakeCore())
    assert await st.get("b2be", "warm-up") is None  # connection set up before counting
    sends = SendCounter(monkeypatch)
    for i in range(300):
        st.put("b2be", f"k{i}", {"state": i})
    for i in range(100):
        st.put("b2be", f"k{i}", {"state": -i})  # last write per key wins
    for i in range(250, 300):
        st.delete("b2be", f"k{i}")  # delete after put collapses
    assert st.pending == 300
    assert sends.count == 0  # put/delete never touch the network
    assert await st.flush()
    assert sends.count == 1
    assert (st.flushes, st.flushed) == (1, 300)
    loaded = await st.load_all("b2be")
    assert len(loaded) == 250
    assert loaded["k5"] == {"state": -5} and loaded["k150"] == {"state": 150} and "k260" not in loaded
    assert raw(redis_server).scard("b2be$") == 250
    await st.close()


async def test_large_batch_is_chunked(redis_server, monkeypatch) -> None:
    st = open_store(redis_server.url, core=FakeCore(), chunk=1000)
    assert await st.get("b2be", "warm-up") is None
    sends = SendCounter(monkeypatch)
    for i in range(2500):
        st.put("b2be", f"k{i}", {"i": i})
    assert await st.flush()
    assert sends.count == 3 and st.flushes == 1
    assert raw(redis_server).scard("b2be$") == 2500
    await st.close()


async def test_rejected_command_is_reported_not_retried(redis_server) -> None:
    core = FakeCore()
    st = open_store(redis_server.url, core=core)
    r = raw(redis_server)
    r.set("b2be$", "someone else's string")  # the index set's name is taken: SADD fails, HSET succeeds
    st.put("b2be", "k", {"i": 1})
    assert await st.flush()
    assert st.pending == 0 and core.stats["store_errors"] == 1
    assert core.log.level("error") == [
        f"redis store {redis_server.url}: 1 commands rejected: "
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    ]
    assert r.hgetall("b2be$k") == {"i": "1", "__ints__": "i"}
    await st.close()


async def test_db_mode_2_write_back_waits_for_update_period(redis_server) -> None:
    st = open_store(redis_server.url, db_mode=2, update_period=0.4, core=FakeCore())
    r = raw(redis_server)
    async with trio.open_nursery() as nursery:
        await st.start(nursery)
        await trio.sleep(0.05)
        st.put("b2be", "k", {"state": 1})
        await trio.sleep(0.15)
        assert r.exists("b2be$k") == 0 and st.pending == 1
        assert await wait_for(lambda: r.exists("b2be$k") == 1, timeout=2)
        assert st.pending == 0
        await st.close()


async def test_db_mode_1_write_through_flushes_at_once(redis_server) -> None:
    st = open_store(redis_server.url, db_mode=1, update_period=100, core=FakeCore())
    r = raw(redis_server)
    async with trio.open_nursery() as nursery:
        await st.start(nursery)
        t0 = time.monotonic()
        for i in range(20):
            st.put("b2bl", f"t{i}", {"i": i})
        assert await wait_for(lambda: r.scard("b2bl$") == 20, timeout=2)
        assert time.monotonic() - t0 < 0.5
        assert st.flushes <= 2  # the burst of one loop tick goes out together
        st.delete("b2bl", "t0")
        assert await wait_for(lambda: r.exists("b2bl$t0") == 0, timeout=2)
        await st.close()


async def test_db_mode_0_writes_nothing(redis_server) -> None:
    st = open_store(redis_server.url, db_mode=0, core=FakeCore())
    async with trio.open_nursery() as nursery:
        await st.start(nursery)
        st.put("b2be", "k", {"a": 1})
        st.delete("b2be", "j")
        assert st.pending == 0
        assert await st.flush()
        await st.close()
    assert raw(redis_server).keys("*") == []


async def test_close_writes_pending_changes(redis_server) -> None:
    st = open_store(redis_server.url, db_mode=2, update_period=100, core=FakeCore())
    async with trio.open_nursery() as nursery:
        await st.start(nursery)
        st.put("b2bl", "t", {"x": "y"})
        await st.close()
    assert raw(redis_server).hgetall("b2bl$t") == {"x": "y", "__ints__": ""}


async def test_restart_recovery(redis_server) -> None:
    first = open_store(redis_server.url, core=FakeCore())
    async with trio.open_nursery() as nursery:
        await first.start(nursery)
        first.put("b2be", b2be_key(0, "a", "b", "c"), ENTITY)
        first.put("b2bl", "1.1", {"state": 0, "e1_key": "B2B.1.2"})
        first.put("b2bl", "gone", {"state": 0})
        first.delete("b2bl", "gone")
        await first.close()
    second = open_store(redis_server.url, core=FakeCore())
    assert await second.load_all("b2be") == {"0$a$b$c": ENTITY}
    assert await second.load_all("b2bl") == {"1.1": {"state": 0, "e1_key": "B2B.1.2"}}
    await second.close()


async def test_outage_logged_once_and_flushed_on_return(redis_server) -> None:
    core = FakeCore()
    st = open_store(redis_server.url, db_mode=1, update_period=100, core=core, max_backoff=0.1, timeout=0.5)
    r = raw(redis_server)
    async with trio.open_nursery() as nursery:
        await st.start(nursery)
        st.put("b2be", "before", {"a": 1})
        assert await wait_for(lambda: r.exists("b2be$before") == 1)
        redis_server.stop()
        for i in range(3):
            st.put("b2be", f"during{i}", {"i": i})  # calls continue: put returns at once
        st.delete("b2be", "before")
        assert await wait_for(lambda: core.stats["store_errors"] >= 3, timeout=3)
        assert st.pending == 4
        errors = core.log.level("error")
        assert len(errors) == 1, core.log.lines
        assert errors[0].startswith(f"redis store {redis_server.url}: "), errors
        assert errors[0].endswith("; keeping 4 pending changes and retrying"), errors
        redis_server.start()
        r = raw(redis_server)  # the restarted server is empty (no persistence): only the backlog appears
        assert await wait_for(lambda: r.scard("b2be$") == 3, timeout=3)
        # pending empties when the batch is taken; the log line follows once the write has returned
        assert await wait_for(lambda: st.pending == 0 and core.log.level("info"))
        assert core.log.level("info") == [
            f"redis store {redis_server.url}: reachable again, wrote 4 pending changes"
        ], core.log.lines
        assert len(core.log.level("error")) == 1, core.log.lines
        assert await st.load_all("b2be") == {f"during{i}": {"i": i} for i in range(3)}
        await st.close()


async def test_load_all_with_redis_down_starts_empty(redis_server) -> None:
    core = FakeCore()
    st = open_store(redis_server.url, core=core, timeout=0.5)
    redis_server.stop()
    assert await st.load_all("b2be") == {}
    assert await st.get("b2be", "k") is None
    assert core.stats["store_errors"] == 2
    errors = core.log.level("error")
    assert len(errors) == 2
    assert errors[1] == f"redis store {redis_server.url}: cannot load 'b2be' records, starting empty"
    redis_server.start()
    assert await st.load_all("b2be") == {}
    assert core.log.level("info") == [f"redis store {redis_server.url}: reachable again"]
    await st.close()


async def test_backlog_is_bounded_by_dropping_oldest_deletes(redis_server) -> None:
    core = FakeCore()
    st = open_store(redis_server.url, core=core, max_pending=10)
    for i in range(5):
        st.put("b2be", f"live{i}", {"i": i})
    for i in range(10):
        st.delete("b2be", f"dead{i}")
    assert st.pending <= 10
    assert core.stats["store_dropped"] == 15 - st.pending
    await st.flush()
    assert await st.load_all("b2be") == {f"live{i}": {"i": i} for i in range(5)}
    assert core.log.level("error") == [
        f"redis store {redis_server.url}: more than 10 changes pending, dropped 2 oldest deletes"
    ]
    await st.close()


# ---------------------------------------------------------------- cancellation safety


async def test_cancel_during_pipeline_neither_loses_nor_repeats(redis_server, monkeypatch) -> None:
    st = open_store(redis_server.url, core=FakeCore())
    original = st._write_batch
    calls = []

    def slow(batch):
        calls.append(len(batch))
        time.sleep(0.2)
        original(batch)

    monkeypatch.setattr(st, "_write_batch", slow)
    for i in range(50):
        st.put("b2be", f"k{i}", {"i": i})
    with trio.move_on_after(0.05) as scope:
        await st.flush()
        await trio.sleep(1)
    assert scope.cancel_called and scope.cancelled_caught
    # the write finished in its thread and was accounted for: nothing pending, nothing written twice
    assert calls == [50] and st.pending == 0 and st.flushes == 1
    assert raw(redis_server).scard("b2be$") == 50
    assert await st.flush()
    assert calls == [50]
    await st.close()


async def test_server_refusing_writes_is_retried(redis_server) -> None:
    core = FakeCore()
    st = open_store(redis_server.url, core=core)
    r = raw(redis_server)
    r.config_set("maxmemory-policy", "noeviction")
    r.config_set("maxmemory", "1")  # every HSET / SADD now answers -OOM (like -LOADING while restarting)
    st.put("b2be", "k", {"i": 1})
    assert not await st.flush()
    assert st.pending == 1 and core.stats["store_errors"] == 1
    assert core.log.level("error") == [
        f"redis store {redis_server.url}: OutOfMemoryError: "
        "command not allowed when used memory > 'maxmemory'.; keeping 1 pending changes and retrying"
    ]
    r.config_set("maxmemory", "0")
    assert await st.flush()
    assert await st.load_all("b2be") == {"k": {"i": 1}}
    await st.close()


async def test_get_waits_for_a_batch_in_flight(redis_server, monkeypatch) -> None:
    st = open_store(redis_server.url, core=FakeCore())
    original = st._write_batch
    started = threading.Event()

    def slow(batch):
        started.set()
        time.sleep(0.1)
        original(batch)

    monkeypatch.setattr(st, "_write_batch", slow)
    st.put("b2be", "k", {"v": "1"})
    async with trio.open_nursery() as nursery:
        nursery.start_soon(st.flush)
        await trio.to_thread.run_sync(started.wait, 2)
        assert st.pending == 0  # the batch is out of the dirty map but not yet in Redis
        assert await st.get("b2be", "k") == {"v": "1"}
        assert await st.load_all("b2be") == {"k": {"v": "1"}}
    await st.close()


async def test_cancel_before_write_keeps_the_batch(redis_server) -> None:
    st = open_store(redis_server.url, core=FakeCore())
    st.put("b2be", "k", {"i": 1})
    with trio.CancelScope() as scope:
        scope.cancel()
        await st.flush()
    assert st.pending == 1 and st.flushes == 0
    assert raw(redis_server).exists("b2be$k") == 0
    assert await st.flush()
    assert raw(redis_server).hgetall("b2be$k") == {"i": "1", "__ints__": "i"}
    await st.close()


async def test_failed_flush_merges_back_under_newer_changes(redis_server, monkeypatch) -> None:
    core = FakeCore()
    st = open_store(redis_server.url, core=core)
    original = st._write_batch
    started = threading.Event()

    def failing(batch):
        started.set()
        time.sleep(0.1)
        raise redis.ConnectionError("connection reset")

    st.put("b2be", "a", {"v": "old"})
    st.put("b2be", "b", {"v": "old"})
    st.put("b2be", "c", {"v": "old"})
    monkeypatch.setattr(st, "_write_batch", failing)
    async with trio.open_nursery() as nursery:
        result = []

        async def run_flush():
            result.append(await st.flush())

        nursery.start_soon(run_flush)
        await trio.to_thread.run_sync(started.wait, 2)
        st.put("b2be", "a", {"v": "new"})  # written while the failing batch is in flight
        st.delete("b2be", "b")
        st.put("b2be", "d", {"v": "new"})
    assert result == [False]
    assert st.pending == 4 and core.stats["store_errors"] == 1
    monkeypatch.setattr(st, "_write_batch", original)
    assert await st.flush()
    assert await st.load_all("b2be") == {"a": {"v": "new"}, "c": {"v": "old"}, "d": {"v": "new"}}
    assert core.log.level("info") == [
        f"redis store {redis_server.url}: reachable again, wrote 4 pending changes"
    ]
    await st.close()


def test_packed_hset_fields_match_encode_record() -> None:
    """The batch writer packs HSET itself; its fields must be exactly encode_record's (byte lengths included)."""
    from pysips.store.redis import _hset_fields

    rec = {"a": "plain", "n": 42, "flag": True, "gone": None, "sdp": "caf\u00e9 \u00ff\r\nline", "f": 1.5}
    packed = "".join(_hset_fields(rec)).encode()
    fields: dict[str, str] = {}
    items = []
    rest = packed
    while rest:
        assert rest[:1] == b"$"
        head, _, rest = rest.partition(b"\r\n")
        n = int(head[1:])
        items.append(rest[:n].decode())
        assert rest[n : n + 2] == b"\r\n"
        rest = rest[n + 2 :]
    fields = dict(zip(items[::2], items[1::2], strict=True))
    assert fields == encode_record(rec)
