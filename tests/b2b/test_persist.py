"""b2b persistence: records of legs and tuples, restart recovery into a fresh engine, the write-behind rules."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from pysips.b2b.entities import CONFIRMED, Leg
from pysips.b2b.logic import InitFlags, Tuple
from pysips.b2b.persist import (
    ENTITY,
    LEG_TRANSIENT,
    LOGIC,
    TUPLE_TRANSIENT,
    Persister,
    entity_key,
    leg_from_record,
    leg_record,
    open_persistence,
    tuple_from_record,
    tuple_record,
)
from pysips.store.memory import MemoryStore
from pysips.store.redis import decode_record, encode_record
from tests.b2b._harness import SDP_A, SDP_B, A, B, Bench, in_dialog_a, in_dialog_b, invite_a, reply_a, reply_b

LEG_FIELDS = {
    "server": True,
    "key": "B2B.3.17.1700000000.42",
    "call_id": "c@x",
    "local_tag": "B2B.3.17.1700000000.42",
    "remote_tag": "rtag",
    "local_hdr": '"Me" <sip:me@h>;tag=B2B.3.17.1700000000.42',
    "remote_hdr": "<sip:you@h>;tag=rtag",
    "local_cseq": 7,
    "remote_cseq": 12,
    "route_set": ["<sip:p1;lr>", "<sip:p2,x;lr>"],
    "remote_target": "sip:you@10.1.1.1:5099;transport=udp",
    "state": CONFIRMED,
    "contact": "<sip:127.0.0.1:5060>",
    "ack_cseq": 3,
    "to_uri": "sip:bob@h",
    "from_uri": "sip:alice@h",
    "eid": "caller",
    "sdp": (b"v=0\r\n\xff\xfe binary\r\n", "application/sdp"),
}


def make_pair(engine):
    tup = Tuple("12.34", "prepaid", InitFlags(300, True, True, True), engine.now() - 5)
    s = Leg(True, tup, "c@x", "B2B.3.17.1700000000.42")
    for name, value in LEG_FIELDS.items():
        setattr(s, name, value)
    s.transport = engine.core.transports[0]
    c = Leg(False, tup, "B2B.1.18.1700000000.9", "ftag")
    c.remote_tag = "ctag"
    c.eid = "media"
    s.peer, c.peer = c, s
    tup.server, tup.client = s, c
    tup.ents = {"caller": s, "media": c}
    tup.state = 0
    tup.lifetime = engine.now() + 1234.5
    tup.cancelled = True
    tup.vals = {"state": "2", "x": "é"}
    tup.from_hdr = '"Alice" <sip:alice@h>'
    tup.req_route = "b2b_req"
    tup.reply_route = "b2b_rpl"
    tup.timer = object()
    tup.xml = SimpleNamespace(id="prepaid")
    tup.sstate, tup.next_sstate = 2, 3
    tup.params = ["sip:a@h", None, "x"]
    tup.init_to = "sip:bob@h"
    tup.init_sdp = (SDP_A, None)
    engine.scenarios = {"prepaid": tup.xml}
    return tup, s, c


def test_every_leg_and_tuple_slot_is_persisted_or_declared_transient():
    assert set(LEG_FIELDS) | {"peer", "transport"} | LEG_TRANSIENT == set(Leg.__slots__)
    persisted = {"key", "scenario", "server", "client", "flags", "state", "created", "lifetime"}
    persisted |= {"cancelled", "ents", "req_route", "reply_route", "vals", "from_hdr"}
    persisted |= {"xml", "sstate", "next_sstate", "params", "init_to", "init_sdp"}
    assert persisted | TUPLE_TRANSIENT == set(Tuple.__slots__)


@pytest.mark.parametrize("through_redis_encoding", [False, True])
async def test_leg_and_tuple_round_trip_every_field(through_redis_encoding, monkeypatch):
    bench = Bench()
    engine = bench.engine
    tup, s, c = make_pair(engine)
    store = MemoryStore()
    store.put(ENTITY, entity_key(s), leg_record(s))
    store.put(LOGIC, tup.key, tuple_record(tup, engine))
    srec = await store.get(ENTITY, entity_key(s))
    trec = await store.get(LOGIC, tup.key)
    if through_redis_encoding:  # what comes back from a Redis hash
        srec = decode_record({k: str(v) for k, v in encode_record(srec).items()})
        trec = decode_record({k: str(v) for k, v in encode_record(trec).items()})
    # restored 100 s later by a process whose engine clock started elsewhere: deadlines follow the wall clock
    wall = time.time()
    monkeypatch.setattr(time, "time", lambda: wall + 100)
    bench.clock.t = 5.0
    t2 = tuple_from_record(trec, engine)
    s2 = leg_from_record(srec, t2, engine.core.transports)
    for name, value in LEG_FIELDS.items():
        assert getattr(s2, name) == value, name
    assert s2.transport is engine.core.transports[0] and s2.tup is t2
    assert srec["peer"] == c.key and srec["tuple"] == "12.34"
    assert (t2.key, t2.scenario, t2.state, t2.cancelled) == ("12.34", "prepaid", 0, True)
    assert t2.flags == InitFlags(300, True, True, True)
    assert t2.vals == {"state": "2", "x": "é"} and t2.from_hdr == '"Alice" <sip:alice@h>'
    assert (t2.req_route, t2.reply_route) == ("b2b_req", "b2b_rpl")
    assert t2.xml is engine.scenarios["prepaid"] and (t2.sstate, t2.next_sstate) == (2, 3)
    assert t2.params == ["sip:a@h", None, "x"] and t2.init_to == "sip:bob@h" and t2.init_sdp == (SDP_A, None)
    assert t2.lifetime - engine.now() == pytest.approx(1234.5 - 100, abs=0.1)
    assert t2.created - engine.now() == pytest.approx(-105, abs=0.1)
    assert trec["server"] == s.key and trec["client"] == c.key and trec["timer"] == "lifetime"


def test_absent_fields_come_back_as_none():
    bench = Bench()
    tup = Tuple("1.1", "top hiding", InitFlags(), bench.engine.now())
    leg = Leg(False, tup, "cid", "ftag")
    rec = leg_record(leg)
    assert "remote_tag" not in rec and "sdp" not in rec and "peer" not in rec
    back = leg_from_record(rec, tup)
    assert back.remote_tag is None and back.remote_cseq is None and back.sdp is None and back.ack_cseq is None
    t2 = tuple_from_record(tuple_record(tup, bench.engine), bench.engine)
    assert t2.flags == InitFlags() and t2.req_route is None and t2.server is None


# ------------------------------------------------------------------ restart recovery through the engine


def persisted_bench(store, script=None):
    bench = Bench(script=script)
    bench.engine.persist = Persister(bench.engine, {ENTITY: store, LOGIC: store})
    return bench


def established(bench):
    bench.feed(invite_a(), A)
    bench.take(A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    ok_a = bench.take_one(A, 200)
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    bench.take_one(B, "ACK")
    return inv_b, ok_a


async def restarted(store, script=None):
    bench = persisted_bench(store, script)
    assert await bench.engine.persist.load() == 1
    return bench


async def test_bye_from_the_caller_after_a_restart():
    store = MemoryStore()
    old = persisted_bench(store)
    inv_b, ok_a = established(old)
    assert old.engine.persist.sync_now() == 1
    assert len(store._data[ENTITY]) == 2 and len(store._data[LOGIC]) == 1
    bench = await restarted(store)
    assert bench.engine.tuple_count == 1 and bench.engine.entity_count == 2
    bench.feed(in_dialog_a("BYE", ok_a, 2, "z9hG4bK-bye1"), A)
    bye = bench.take_one(B, "BYE")
    assert bye.call_id == inv_b.call_id and bye.cseq.number == 2
    assert bye.to.tag == "btag-1" and bye.from_.tag == inv_b.from_.tag
    assert str(bye.ruri) == "sip:bob@10.0.0.2:5062" and bye.get_header("Contact") == "<sip:127.0.0.1:5060>"
    bench.feed(reply_b(bye, 200), B)
    ok = bench.take_one(A, 200)
    assert ok.via.branch == "z9hG4bK-bye1" and ok.to.tag == ok_a.to.tag
    assert bench.engine.persist.sync_now() == 1
    assert store._data[ENTITY] == {} and store._data[LOGIC] == {}


async def test_bye_from_the_callee_after_a_restart():
    store = MemoryStore()
    old = persisted_bench(store)
    inv_b, ok_a = established(old)
    old.engine.persist.sync_now()
    bench = await restarted(store)
    bench.feed(in_dialog_b("BYE", inv_b, "btag-1", 1, "z9hG4bK-bbye"), B)
    bye = bench.take_one(A, "BYE")
    assert bye.call_id == "acall-1@10.0.0.1" and bye.to.tag == "atag-1" and bye.from_.tag == ok_a.to.tag
    assert str(bye.ruri) == "sip:alice@10.0.0.1:5061"
    bench.feed(reply_a(bye, 200), A)
    assert bench.take_one(B, 200).call_id == inv_b.call_id
    bench.engine.persist.sync_now()
    assert store._data[ENTITY] == {} and store._data[LOGIC] == {}


async def test_reinvite_after_a_restart_continues_the_cseq_and_is_persisted():
    store = MemoryStore()
    old = persisted_bench(store)
    inv_b, ok_a = established(old)
    old.feed(in_dialog_a("INFO", ok_a, 2, "z9hG4bK-i1"), A)
    info = old.take_one(B, "INFO")
    old.feed(reply_b(info, 200), B)
    old.engine.persist.sync_now()
    bench = await restarted(store)
    bench.feed(in_dialog_a("INVITE", ok_a, 3, "z9hG4bK-re1", body=SDP_A), A)
    re = bench.take_one(B, "INVITE")
    assert re.cseq.number == 3 and re.body == SDP_A and re.to.tag == "btag-1"
    bench.feed(reply_b(re, 200, SDP_B, contact="sip:bob@10.0.0.2:5099"), B)
    ok = bench.take_one(A, 200)
    assert ok.cseq.number == 3 and ok.body == SDP_B
    bench.feed(in_dialog_a("ACK", ok, 3, "z9hG4bK-re1ack"), A)
    assert bench.take_one(("10.0.0.2", 5099), "ACK").cseq.number == 3
    bench.engine.persist.sync_now()
    rec = store._data[ENTITY][entity_key(bench.engine.tuples[next(iter(bench.engine.tuples))].client)]
    assert rec["local_cseq"] == 3 and rec["remote_target"] == "sip:bob@10.0.0.2:5099"


async def test_max_duration_resumes_from_the_stored_deadline():
    script = SimpleNamespace(
        modparams=[SimpleNamespace(module="b2b_logic", param="max_duration", value=100)], globals=[]
    )
    store = MemoryStore()
    old = persisted_bench(store, script)
    established(old)
    old.advance(40)
    old.engine.persist.sync_now()
    bench = await restarted(store, script)
    bench.advance(59.5)
    assert bench.take(A) == [] and bench.take(B) == []
    bench.advance(1)
    assert bench.take_one(A, "BYE") and bench.take_one(B, "BYE")
    assert bench.engine.tuple_count == 0


async def test_an_early_call_is_restored_and_ends_at_its_setup_timeout():
    store = MemoryStore()
    old = persisted_bench(store)
    old.feed(invite_a(), A)
    old.engine.persist.sync_now()
    bench = await restarted(store)
    tup = next(iter(bench.engine.tuples.values()))
    assert tup.state == -1 and bench.engine.list_tuples()[0]["key"] == tup.key
    bench.advance(61)
    assert bench.engine.tuple_count == 0
    bench.engine.persist.sync_now()
    assert store._data[LOGIC] == {}


async def test_new_calls_after_a_restart_do_not_reuse_keys():
    store = MemoryStore()
    old = persisted_bench(store)
    established(old)
    old.engine.persist.sync_now()
    old_tup = next(iter(old.engine.tuples.values()))
    bench = await restarted(store)
    assert await bench.engine.persist.load() == 0  # loading twice changes nothing
    assert len(store._data[LOGIC]) == 1
    bench.feed(invite_a(call_id="second@10.0.0.1", branch="z9hG4bK-2"), A)
    keys = set(bench.engine.tuples)
    assert len(keys) == 2
    new_key = (keys - {old_tup.key}).pop()
    assert int(new_key.split(".")[1]) > int(old_tup.key.split(".")[1])
    new_client = bench.engine.tuples[new_key].client
    assert int(new_client.key.split(".")[2]) > int(old_tup.client.key.split(".")[2])


async def test_orphan_records_are_deleted_at_load():
    store = MemoryStore()
    store.put(ENTITY, "1$a$b$c", {"server": 0, "key": "c", "tuple": "9.9", "call_id": "c", "local_tag": "a"})
    store.put(LOGIC, "8.8", {"key": "8.8", "scenario": "top hiding"})
    bench = persisted_bench(store)
    assert await bench.engine.persist.load() == 0
    assert store._data[ENTITY] == {} and store._data[LOGIC] == {}


# ------------------------------------------------------------------ write-behind rules


def test_a_call_that_starts_and_ends_within_one_period_is_never_written():
    class Counting(MemoryStore):
        ops = 0

        def put(self, kind, key, record):
            Counting.ops += 1
            super().put(kind, key, record)

        def delete(self, kind, key):
            Counting.ops += 1
            super().delete(kind, key)

    store = Counting()
    bench = persisted_bench(store)
    inv_b, ok_a = established(bench)
    bench.feed(in_dialog_a("BYE", ok_a, 2, "z9hG4bK-bye1"), A)
    bench.feed(reply_b(bench.take_one(B, "BYE"), 200), B)
    assert len(bench.engine.persist.dirty) == 1
    bench.engine.persist.sync_now()
    assert Counting.ops == 0


def test_the_client_entity_record_follows_its_key_when_the_remote_tag_is_learnt():
    store = MemoryStore()
    bench = persisted_bench(store)
    bench.feed(invite_a(), A)
    inv_b = bench.take_one(B, "INVITE")
    bench.engine.persist.sync_now()
    early = {k for k in store._data[ENTITY] if k.startswith("1$")}
    assert len(early) == 1 and early.pop().startswith(f"1${inv_b.from_.tag}$$")
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    bench.engine.persist.sync_now()
    clients = [k for k in store._data[ENTITY] if k.startswith("1$")]
    assert clients == [f"1${inv_b.from_.tag}$btag-1${inv_b.call_id}"]
    assert len(store._data[ENTITY]) == 2


def test_without_a_store_the_engine_keeps_no_persister():
    bench = Bench()
    established(bench)
    assert bench.engine.persist is None


async def test_a_store_that_lost_its_data_is_written_again():
    store = MemoryStore()
    bench = persisted_bench(store)
    established(bench)
    persist = bench.engine.persist
    await persist.step()
    assert len(store._data[LOGIC]) == 1 and persist.resyncs == 0
    store._data.clear()  # redis-server restarted without persistence
    await persist.step()
    assert persist.resyncs == 1
    assert len(store._data[LOGIC]) == 1 and len(store._data[ENTITY]) == 2


async def test_an_outage_is_followed_by_a_full_rewrite():
    class Flaky(MemoryStore):
        up = False

        async def flush(self):
            return self.up

    store = Flaky()
    bench = persisted_bench(store)
    established(bench)
    persist = bench.engine.persist
    await persist.step()
    assert persist._outage and persist.resyncs == 0
    store.up = True
    await persist.step()
    assert not persist._outage and persist.resyncs == 1


async def test_open_persistence_reads_the_modparams(redis_server):
    script = SimpleNamespace(
        modparams=[
            SimpleNamespace(module="b2b_logic", param="cachedb_url", value=redis_server.url),
            SimpleNamespace(module="b2b_logic", param="cachedb_key_prefix", value="tl$"),
            SimpleNamespace(module="b2b_entities", param="cachedb_key_prefix", value="te$"),
            SimpleNamespace(module="b2b_entities", param="update_period", value=7),
            SimpleNamespace(module="b2b_logic", param="db_mode", value=1),
        ],
        globals=[],
    )
    bench = Bench(script=script)
    persist = await open_persistence(bench.engine, script)
    assert persist is not None and bench.engine.persist is persist
    assert persist.write_through and persist.update_period == 7
    store = persist.stores[LOGIC]
    assert store.backend == "redis" and persist.stores[ENTITY] is store
    established(bench)
    persist.sync_now()
    assert await store.flush()
    import redis

    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert len(client.smembers("tl$")) == 1 and len(client.smembers("te$")) == 2
    finally:
        client.close()
    # a second engine (the restarted process) restores the call from Redis
    again = Bench(script=script)
    persist2 = await open_persistence(again.engine, script)
    assert persist2.restored == 1 and again.engine.entity_count == 2
    await store.close()
    await persist2.stores[LOGIC].close()


async def test_no_cachedb_url_or_db_mode_0_means_no_persistence(redis_server):
    bench = Bench()
    assert await open_persistence(bench.engine, SimpleNamespace(modparams=[], globals=[])) is None
    script = SimpleNamespace(
        modparams=[
            SimpleNamespace(module="b2b_entities", param="cachedb_url", value=redis_server.url),
            SimpleNamespace(module="b2b_entities", param="db_mode", value=0),
        ],
        globals=[],
    )
    assert await open_persistence(bench.engine, script) is None
    assert bench.engine.persist is None


def test_wall_clock_is_used_for_deadlines():
    bench = Bench()
    tup = Tuple("1.1", "top hiding", InitFlags(), bench.engine.now())
    tup.lifetime = bench.engine.now() + 50
    rec = tuple_record(tup, bench.engine)
    assert float(rec["lifetime"]) == pytest.approx(time.time() + 50, abs=1)


async def test_a_deleted_entity_is_restored_out_of_the_dialog_table():
    store = MemoryStore()
    old = persisted_bench(store)
    inv_b, ok_a = established(old)
    tup = next(iter(old.engine.tuples.values()))
    old.engine._delete_entity(tup.server)  # b2b_delete_entity() on the caller's entity
    old.engine.persist.touch(tup)
    old.engine.persist.sync_now()
    assert {r["in_dialogs"] for r in store._data[ENTITY].values()} == {0, 1}
    bench = await restarted(store)
    assert bench.engine.entity_count == 1
    restored = next(iter(bench.engine.tuples.values()))
    assert restored.server.state == 2 and restored.server.peer is None and restored.client.peer is None
    # the caller's BYE no longer reaches the call; the callee's still does and is answered locally
    bench.feed(in_dialog_b("BYE", inv_b, "btag-1", 1, "z9hG4bK-bbye"), B)
    assert bench.take_one(B, 200)
    assert bench.engine.tuple_count == 0


async def test_reinvite_from_the_callee_after_a_restart():
    store = MemoryStore()
    old = persisted_bench(store)
    inv_b, ok_a = established(old)
    old.engine.persist.sync_now()
    bench = await restarted(store)
    bench.feed(in_dialog_b("INVITE", inv_b, "btag-1", 2, "z9hG4bK-bre", body=SDP_B), B)
    re = bench.take_one(A, "INVITE")
    assert re.call_id == "acall-1@10.0.0.1" and re.cseq.number == 1 and re.body == SDP_B
    assert re.to.tag == "atag-1" and re.from_.tag == ok_a.to.tag and str(re.ruri) == "sip:alice@10.0.0.1:5061"
    bench.feed(reply_a(re, 200, SDP_A), A)
    ok = bench.take_one(B, 200)
    assert ok.call_id == inv_b.call_id and ok.body == SDP_A
    bench.feed(in_dialog_b("ACK", inv_b, "btag-1", 2, "z9hG4bK-bre-ack"), B)
    assert bench.take_one(A, "ACK").cseq.number == 1
    bench.engine.persist.sync_now()
    server = next(iter(bench.engine.tuples.values())).server
    assert store._data[ENTITY][entity_key(server)]["local_cseq"] == 1
    assert store._data[ENTITY][entity_key(server)]["remote_cseq"] == 1


async def test_only_dialogs_with_a_worker_token_wait_for_a_store_lookup():
    """An unknown in-dialog request is parked for a store lookup only when its To-tag could be ours (every
    persisted run writes a worker token into its tags); a plain proxy dialog goes on at once."""
    import trio

    from pysips.sip.message import parse_message

    def bye(tag: str) -> object:
        return parse_message(
            b"BYE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-x\r\n"
            b"From: <sip:a@h>;tag=f1\r\nTo: <sip:b@h>;tag=" + tag.encode() + b"\r\n"
            b"Call-ID: c-" + tag.encode() + b"\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
        )

    bench = persisted_bench(MemoryStore())
    persist = bench.engine.persist
    async with trio.open_nursery() as nursery:
        persist._nursery = nursery
        assert not persist.find_call(bye("plain-proxy-tag"), A, None)
        assert persist.lookups == 0
        assert persist.find_call(bye("B2B.1.2.3.0123cafew1.77"), A, None)
        assert persist.lookups == 1
        nursery.cancel_scope.cancel()


async def test_a_call_is_found_from_an_in_dialog_request_alone():
    """Another node finds a call by the request's Call-ID and tags: entity key -> tuple -> the other entities."""
    store = MemoryStore()
    old = persisted_bench(store)
    inv_b, ok_a = established(old)
    old.engine.persist.sync_now()
    assert set(store._data) == {ENTITY, LOGIC}  # no Call-ID index is written
    # from the caller's side (its BYE: From = caller's tag, To = our tag)
    node = persisted_bench(store)
    assert await node.engine.persist._restore_call(ok_a.call_id, ok_a.from_.tag, ok_a.to.tag)
    assert node.engine.tuple_count == 1 and node.engine.entity_count == 2
    # from the callee's side (From = callee's tag, To = ours), on a third node
    node = persisted_bench(store)
    assert await node.engine.persist._restore_call(inv_b.call_id, "btag-1", inv_b.from_.tag)
    assert node.engine.tuple_count == 1 and node.engine.entity_count == 2
    # an unknown dialog is not found
    node = persisted_bench(store)
    assert not await node.engine.persist._restore_call("nobody@x", "a", "b")
    assert node.engine.tuple_count == 0
