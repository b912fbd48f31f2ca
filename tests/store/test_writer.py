"""RedisStore(writer_process=True): batches are packed and written by a child process (pysips.store.writer),
against a real redis-server. The same guarantees as the threaded writer: nothing lost, outages retried, refused
commands reported, and the child never outlives the store."""

from __future__ import annotations

import os
import signal

import trio

from pysips.store import open_store
from tests.store.test_store import FakeCore, raw, wait_for


def _store(server, **kw):
    core = FakeCore()
    return core, open_store(server.url, core=core, writer_process=True, **kw)


async def test_batches_go_through_the_child(redis_server) -> None:
    core, st = _store(redis_server, db_mode=2, update_period=100)
    r = raw(redis_server)
    async with trio.open_nursery() as nursery:
        await st.start(nursery)
        child = st.writer.proc
        assert child is not None and child.pid != os.getpid()
        st.put("b2be", "k1", {"state": 3, "uri": "sip:b\u00f6b@h", "gone": None})
        st.put("b2bl", "t1", {"n": 1})
        assert await st.flush()
        assert r.hgetall("b2be$k1") == {"state": "3", "uri": "sip:b\u00f6b@h", "__ints__": "state"}
        assert await st.load_all("b2be") == {"k1": {"state": 3, "uri": "sip:b\u00f6b@h"}}
        st.delete("b2be", "k1")
        assert await st.flush()
        assert r.exists("b2be$k1") == 0 and r.scard("b2be$") == 0 and r.scard("b2bl$") == 1
        assert st.flushes == 2 and st.flushed == 3
        await st.close()
        nursery.cancel_scope.cancel()
    assert st.writer.proc is None and child.returncode == 0  # stdin closed: the child ended by itself


async def test_refused_for_good_is_reported_and_retryable_refusal_is_retried(redis_server) -> None:
    core, st = _store(redis_server)
    r = raw(redis_server)
    r.set("b2be$", "someone else's string")  # the index set's name is taken: SADD answers WRONGTYPE
    st.put("b2be", "k", {"i": 1})
    assert await st.flush()
    assert core.stats["store_errors"] == 1
    assert core.log.level("error") == [
        f"redis store {redis_server.url}: 1 commands rejected: "
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    ]
    r.delete("b2be$")
    r.config_set("maxmemory-policy", "noeviction")
    r.config_set("maxmemory", "1")  # every write now answers -OOM: the batch must come back
    st.put("b2be", "k2", {"i": 2})
    assert not await st.flush()
    assert st.pending == 1
    assert core.log.level("error")[-1] == (
        f"redis store {redis_server.url}: OutOfMemoryError: "
        "command not allowed when used memory > 'maxmemory'.; keeping 1 pending changes and retrying"
    )
    r.config_set("maxmemory", "0")
    assert await st.flush()
    assert r.hgetall("b2be$k2") == {"i": "2", "__ints__": "i"}
    await st.close()


async def test_outage_then_recovery(redis_server) -> None:
    core, st = _store(redis_server, db_mode=1, update_period=100, max_backoff=0.1, timeout=0.5)
    async with trio.open_nursery() as nursery:
        await st.start(nursery)
        redis_server.stop()
        for i in range(3):
            st.put("b2be", f"during{i}", {"i": i})
        assert await wait_for(lambda: core.stats["store_errors"] >= 2, timeout=5)
        assert st.pending == 3
        assert len(core.log.level("error")) == 1, core.log.lines  # logged once
        redis_server.start()
        r = raw(redis_server)
        # pending empties when the batch is handed to the writer; the log line follows once it has answered
        assert await wait_for(lambda: r.scard("b2be$") == 3 and core.log.level("info"), timeout=5)
        assert st.pending == 0
        assert core.log.level("info") == [
            f"redis store {redis_server.url}: reachable again, wrote 3 pending changes"
        ]
        await st.close()
        nursery.cancel_scope.cancel()


async def test_a_dead_child_is_started_again_and_nothing_is_lost(redis_server) -> None:
    core, st = _store(redis_server)
    r = raw(redis_server)
    st.put("b2be", "a", {"i": 1})
    assert await st.flush()  # started on first use
    first = st.writer.proc
    os.kill(first.pid, signal.SIGKILL)
    await first.wait()
    st.put("b2be", "b", {"i": 2})
    # the batch fails on the dead child or goes through a new one; either way it is written by the next flush
    if not await st.flush():
        assert st.pending == 1
        assert await st.flush()
    assert st.writer.restarts >= 1 and st.writer.proc is not first
    assert r.hgetall("b2be$b") == {"i": "2", "__ints__": "i"}
    await st.close()
