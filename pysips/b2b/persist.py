"""b2b persistence: mirror tuples and entities into a pysips.store and rebuild them after a restart.

OpenSIPS keeps b2b_logic tuples and b2b_entities dialogs in a database or, from 3.3, in Redis (``cachedb_url``,
keys ``b2bl$<key>`` / ``b2be$<type>$<tag0>$<tag1>$<callid>``); ``db_mode`` 1 writes through, 2 (the default)
writes back every ``update_period`` seconds, 0 writes nothing.

Here the engine only *marks* a tuple as changed (``Persister.touch``: one set insertion, the whole cost on the SIP
path); a background task turns the marked tuples into flat records (``tuple_record`` / ``leg_record``) and hands
them to the store, every ``update_period`` seconds or, in write-through mode, as soon as the loop is free. A tuple
created and ended within one period is never written. Records hold what the dialogs need to go on after a
restart (Call-ID, tags, From/To, CSeq numbers, route set, remote target, Contact, last SDP, the socket) and the
tuple's timers as absolute wall-clock deadlines; transactions in flight are not kept, so a restart loses calls
still being set up (their tuples are restored and end at their setup timeout) but not established ones.

The store may lose what it had (Redis restarted without persistence): the task reads back one saved tuple each
period and after every outage, and writes every live tuple again when it finds it missing.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Iterable
from typing import Any

import trio

from pysips.b2b.entities import CONFIRMED, Leg
from pysips.b2b.logic import InitFlags, Tuple
from pysips.proxy.workers import TOKEN_RE
from pysips.store import (
    DEFAULT_PREFIXES,
    NO_DB,
    WRITE_BACK,
    WRITE_THROUGH,
    Record,
    Store,
    b2be_key,
    open_store,
)

ENTITY, LOGIC = "b2be", "b2bl"
# A node that never saw a call finds it from an in-dialog request alone: the request's Call-ID and tags give the
# entity's store key (``b2be$<type>$<from-tag>$<to-tag>$<callid>``, either type), the entity names its tuple and
# the tuple record lists the store keys of all its entities (``ekeys``). No separate index is written.
LOOKUP_TIMEOUT = 2.0  # seconds a request for an unknown dialog waits for the store before going on unmatched
_MAX_PARKED = 8  # requests held per Call-ID while it is looked up (retransmissions beyond are dropped)

# Leg slots that are not persisted: transactions and 2xx retransmission state die with the process, ``dest`` is
# resolved again from the route set / remote target, ``tup`` is the enclosing record.
LEG_TRANSIENT = frozenset(
    {
        "tup",
        "dest",
        "inv_srv",
        "inv_cli",
        "ack_wait",
        "ack_srv",
        "ack_resp",
        "ack_peer",
        "ack_timer",
        "ack_interval",
        "ack_deadline",
        "ack_data",
    }
)
TUPLE_TRANSIENT = frozenset({"timer", "ended", "bridge", "retry"})
_SYNC_CHUNK = 500  # tuples turned into records between two checkpoints of the background task
# write-through: changes made within this many seconds after the first go to the store in one round trip (a call's
# INVITE, 200 and ACK usually land in one batch); one round trip per change cost ~0.25 ms CPU per call
COALESCE = 0.01
LOST_CHECK_EVERY = 1.0  # seconds between two read-backs of a saved tuple (a store that lost its data)


# ------------------------------------------------------------------ records


def entity_key(leg: Leg) -> str:
    """The store key of a leg, OpenSIPS's ``<type>$<from-tag>$<to-tag>$<callid>``."""
    return b2be_key(0 if leg.server else 1, leg.from_tag or "", leg.to_tag or "", leg.call_id)


def _transport_name(transport: Any) -> str | None:
    if transport is None:
        return None
    local = getattr(transport, "local", None)
    if not local:
        return None
    return f"{transport.proto}:{local[0]}:{local[1]}"


def leg_record(leg: Leg) -> Record:
    """A flat record of every persisted field of `leg` (absent fields stand for None)."""
    rec: Record = {
        "server": 1 if leg.server else 0,
        "key": leg.key,
        "tuple": leg.tup.key,
        "call_id": leg.call_id,
        "local_tag": leg.local_tag,
        "local_hdr": leg.local_hdr,
        "remote_hdr": leg.remote_hdr,
        "local_cseq": leg.local_cseq,
        "route_set": _json(leg.route_set),
        "remote_target": leg.remote_target,
        "state": leg.state,
        "contact": leg.contact,
        "to_uri": leg.to_uri,
        "from_uri": leg.from_uri,
        "eid": leg.eid,
    }
    if leg.peer is not None:
        rec["peer"] = leg.peer.key
    if leg.remote_tag is not None:
        rec["remote_tag"] = leg.remote_tag
    if leg.remote_cseq is not None:
        rec["remote_cseq"] = leg.remote_cseq
    if leg.ack_cseq is not None:
        rec["ack_cseq"] = leg.ack_cseq
    transport = _transport_name(leg.transport)
    if transport is not None:
        rec["transport"] = transport
    sdp = leg.sdp
    if sdp is not None:
        # latin-1 maps every byte to one code point: any body survives a UTF-8 store unchanged
        rec["sdp"] = (sdp[0] or b"").decode("latin-1")
        if sdp[1] is not None:
            rec["sdp_type"] = sdp[1]
    return rec


def _json(value: Any) -> str:
    """json.dumps, without its cost for the empty list / dict most records carry."""
    if not value:
        return "[]" if isinstance(value, list) else "{}" if isinstance(value, dict) else json.dumps(value)
    return json.dumps(value)


def _wall(engine: Any, deadline: float) -> str:
    """An engine-clock instant as wall-clock seconds (the engine clock restarts with the process)."""
    return repr(time.time() + (deadline - engine.now()))


def _timer_kind(tup: Tuple) -> str:
    if tup.timer is None:
        return ""
    if tup.state != 0 and (tup.server is None or tup.server.state != CONFIRMED):
        return "setup"
    return "lifetime"


def tuple_record(tup: Tuple, engine: Any) -> Record:
    """A flat record of every persisted field of `tup`; entities are named by their keys."""
    flags = tup.flags
    rec: Record = {
        "key": tup.key,
        "scenario": tup.scenario,
        "state": tup.state,
        "created": _wall(engine, tup.created),
        "lifetime": _wall(engine, tup.lifetime),
        "timer": _timer_kind(tup),
        "cancelled": 1 if tup.cancelled else 0,
        "ents": json.dumps({eid: leg.key for eid, leg in tup.ents.items()}) if tup.ents else "{}",
        "vals": _json(tup.vals),
        "from_hdr": tup.from_hdr,
        "transparent_auth": 1 if flags.transparent_auth else 0,
        "preserve_to": 1 if flags.preserve_to else 0,
        "pass_legs_upstream": 1 if flags.pass_legs_upstream else 0,
    }
    if tup.server is not None:
        rec["server"] = tup.server.key
    if tup.client is not None:
        rec["client"] = tup.client.key
    if flags.setup_timeout is not None:
        rec["setup_timeout"] = flags.setup_timeout
    if tup.req_route is not None:
        rec["req_route"] = tup.req_route
    if tup.reply_route is not None:
        rec["reply_route"] = tup.reply_route
    # XML scenarios: the scenario by id (the same files are loaded again at start-up), its state and parameters
    if tup.xml is not None:
        rec["xml"] = tup.xml.id
    rec["sstate"] = tup.sstate
    if tup.next_sstate is not None:
        rec["next_sstate"] = tup.next_sstate
    if tup.params:
        rec["params"] = json.dumps(tup.params)
    if tup.init_to is not None:
        rec["init_to"] = tup.init_to
    if tup.init_sdp is not None:
        rec["init_sdp"] = (tup.init_sdp[0] or b"").decode("latin-1")
        if tup.init_sdp[1] is not None:
            rec["init_sdp_type"] = tup.init_sdp[1]
    return rec


def _opt_int(rec: Record, name: str) -> int | None:
    v = rec.get(name)
    return None if v is None or v == "" else int(v)


def _str(rec: Record, name: str, default: str = "") -> str:
    v = rec.get(name)
    return default if v is None else str(v)


def leg_from_record(rec: Record, tup: Any, transports: Iterable[Any] = ()) -> Leg:
    """A Leg from `leg_record`'s output (``peer`` is linked by ``restore``, which knows the other legs)."""
    leg = Leg(bool(int(rec["server"])), tup, _str(rec, "call_id"), _str(rec, "local_tag"))
    leg.key = _str(rec, "key", leg.key)
    leg.remote_tag = rec.get("remote_tag")  # type: ignore[assignment]
    if leg.remote_tag is not None:
        leg.remote_tag = str(leg.remote_tag)
    leg.local_hdr = _str(rec, "local_hdr")
    leg.remote_hdr = _str(rec, "remote_hdr")
    leg.local_cseq = int(rec.get("local_cseq", 0))
    leg.remote_cseq = _opt_int(rec, "remote_cseq")
    leg.ack_cseq = _opt_int(rec, "ack_cseq")
    leg.route_set = list(json.loads(_str(rec, "route_set", "[]")))
    leg.remote_target = _str(rec, "remote_target")
    leg.state = int(rec.get("state", 0))
    leg.contact = _str(rec, "contact")
    leg.to_uri = _str(rec, "to_uri")
    leg.from_uri = _str(rec, "from_uri")
    leg.eid = _str(rec, "eid")
    if "sdp" in rec:
        ctype = rec.get("sdp_type")
        leg.sdp = (_str(rec, "sdp").encode("latin-1"), None if ctype is None else str(ctype))
    name = rec.get("transport")
    if name:
        proto, _, addr = str(name).partition(":")
        host, _, port = addr.rpartition(":")
        for t in transports:
            local = getattr(t, "local", None)
            if t.proto == proto and local and local[0] == host and str(local[1]) == port:
                leg.transport = t
                break
    return leg


def tuple_from_record(rec: Record, engine: Any) -> Tuple:
    """A Tuple from `tuple_record`'s output, its deadlines moved to the engine clock; no legs, no timer yet."""
    flags = InitFlags(
        setup_timeout=_opt_int(rec, "setup_timeout"),
        transparent_auth=bool(int(rec.get("transparent_auth", 0))),
        preserve_to=bool(int(rec.get("preserve_to", 0))),
        pass_legs_upstream=bool(int(rec.get("pass_legs_upstream", 0))),
    )
    now, wall = engine.now(), time.time()
    tup = Tuple(_str(rec, "key"), _str(rec, "scenario"), flags, now + float(rec.get("created", wall)) - wall)
    tup.state = int(rec.get("state", -1))
    tup.lifetime = now + float(rec.get("lifetime", wall)) - wall
    tup.cancelled = bool(int(rec.get("cancelled", 0)))
    tup.vals = {str(k): str(v) for k, v in json.loads(_str(rec, "vals", "{}")).items()}
    tup.from_hdr = _str(rec, "from_hdr")
    tup.req_route = None if rec.get("req_route") is None else str(rec["req_route"])
    tup.reply_route = None if rec.get("reply_route") is None else str(rec["reply_route"])
    xml = rec.get("xml")
    if xml is not None:
        tup.xml = (getattr(engine, "scenarios", None) or {}).get(str(xml))
    if "sstate" in rec:
        tup.sstate = int(rec["sstate"])
    tup.next_sstate = _opt_int(rec, "next_sstate")
    tup.params = list(json.loads(_str(rec, "params", "[]")))
    tup.init_to = None if rec.get("init_to") is None else str(rec["init_to"])
    if "init_sdp" in rec:
        ctype = rec.get("init_sdp_type")
        tup.init_sdp = (_str(rec, "init_sdp").encode("latin-1"), None if ctype is None else str(ctype))
    return tup


def _key_local(key: str, index: int) -> int | None:
    parts = key.split(".")
    try:
        return int(parts[index])
    except (IndexError, ValueError):
        return None


def restore(
    engine: Any, tuples: dict[str, Record], entities: dict[str, Record]
) -> tuple[list[Tuple], list[tuple[str, str]]]:
    """Rebuild tuples and their legs in `engine` from loaded records.

    Returns (restored tuples, (kind, key) of records to delete: entities without a tuple, tuples without legs).
    Tuples already live in the engine are left alone. Timers are re-armed from the stored wall-clock deadlines (past ones fire
    at once); the engine's key counters move past the restored keys so new calls never reuse them.
    """
    by_tuple: dict[str, dict[str, tuple[str, Record]]] = {}
    for skey, rec in entities.items():
        by_tuple.setdefault(_str(rec, "tuple"), {})[_str(rec, "key")] = (skey, rec)
    stale: list[tuple[str, str]] = []
    done: list[Tuple] = []
    transports = list(getattr(engine.core, "transports", ()) or ())
    max_tuple = max_entity = -1
    for tkey, rec in tuples.items():
        ents = by_tuple.pop(tkey, {})
        if tkey in engine.tuples:
            continue  # loaded twice: the live tuple wins and keeps its records
        if not ents:
            stale.append((LOGIC, tkey))
            stale += [(ENTITY, skey) for skey, _ in ents.values()]
            continue
        tup = tuple_from_record(rec, engine)
        legs = {k: leg_from_record(r, tup, transports) for k, (_, r) in ents.items()}
        for k, (_, r) in ents.items():
            peer = r.get("peer")
            legs[k].peer = legs.get(str(peer)) if peer is not None else None
        tup.server = legs.get(_str(rec, "server"))
        tup.client = legs.get(_str(rec, "client"))
        tup.ents = {eid: legs[k] for eid, k in json.loads(_str(rec, "ents", "{}")).items() if k in legs}
        engine.tuples[tkey] = tup
        for (_skey, r), leg in zip(ents.values(), legs.values(), strict=True):
            if int(r.get("in_dialogs", 1)):
                engine.dialogs[(leg.call_id, leg.local_tag)] = leg
            n = _key_local(leg.key, 2)
            if n is not None:
                max_entity = max(max_entity, n)
        kind = _str(rec, "timer")
        if kind:
            cb = engine._setup_expired if kind == "setup" else engine._lifetime_expired
            tup.timer = engine.timers.schedule(tup.lifetime, lambda _n, t=tup, f=cb: f(t))
        n = _key_local(tkey, 1)
        if n is not None:
            max_tuple = max(max_tuple, n)
        done.append(tup)
    for ents in by_tuple.values():
        stale += [(ENTITY, skey) for skey, _ in ents.values()]
    if max_tuple >= engine._tuple_local:
        engine._tuple_local = max_tuple
    if max_entity >= 0:
        keys = engine.keys
        nxt = next(keys._local)
        keys._local = itertools.count(max(nxt, max_entity + 1))
    return done, stale


# ------------------------------------------------------------------ the write-behind task


class Persister:
    """Marks changed tuples (``touch``) and writes them to the store(s) from a background task (``serve``)."""

    def __init__(
        self,
        engine: Any,
        stores: dict[str, Store],
        *,
        db_mode: int = 2,
        update_period: float = 100.0,
    ) -> None:
        self.engine = engine
        # kind -> store; the kinds may share one store; the Call-ID index lives with the tuples unless given
        self.stores = dict(stores)
        self.write_through = db_mode == WRITE_THROUGH
        self.update_period = float(update_period) if update_period and update_period > 0 else math.inf
        self.dirty: set[Tuple] = set()
        self.saved: dict[str, set[str]] = {}  # tuple key -> entity keys written for it
        self._wake = trio.Event()
        self._outage = False
        self.writes = 0  # records put
        self.deletes = 0  # records deleted
        self.resyncs = 0  # times every live tuple was written again (the store had lost them)
        self.restored = 0
        self.lookups = 0  # in-dialog requests for unknown dialogs looked up in the store
        self.found = 0  # of which the call was found and restored
        self._nursery: trio.Nursery | None = None
        self._parked: dict[str, list[tuple[bytes, tuple, Any]]] = {}
        self._passthru: str | None = None
        self._next_lost_check = 0.0

    # ---------------------------------------------------------------- hot path

    def touch(self, tup: Tuple) -> None:
        """`tup` changed (created, confirmed, a request or reply on one of its legs, ended)."""
        self.dirty.add(tup)
        if self.write_through:
            self._wake.set()

    # ---------------------------------------------------------------- building records

    def _legs(self, tup: Tuple) -> list[Leg]:
        seen: dict[int, Leg] = {}
        for leg in (tup.server, tup.client, *tup.ents.values()):
            if leg is not None:
                seen.setdefault(id(leg), leg)
        return list(seen.values())

    def write_tuple(self, tup: Tuple) -> None:
        """Put `tup` and its legs (or delete them once it ended); drop entity records it no longer has."""
        engine = self.engine
        saved = self.saved.get(tup.key)
        if tup.ended or engine.tuples.get(tup.key) is not tup:
            if saved is not None:
                self._delete(tup.key, saved)
                del self.saved[tup.key]
            return
        put_e = self.stores[ENTITY].put
        dialogs = engine.dialogs
        keys: set[str] = set()
        for leg in self._legs(tup):
            rec = leg_record(leg)
            rec["in_dialogs"] = 1 if dialogs.get((leg.call_id, leg.local_tag)) is leg else 0
            k = entity_key(leg)
            put_e(ENTITY, k, rec)
            keys.add(k)
        trec = tuple_record(tup, engine)
        trec["ekeys"] = json.dumps(sorted(keys))  # how a node that never saw the call finds all its entities
        self.stores[LOGIC].put(LOGIC, tup.key, trec)
        self.writes += len(keys) + 1
        if saved:
            gone = saved - keys
            if gone:
                delete = self.stores[ENTITY].delete
                for k in gone:
                    delete(ENTITY, k)
                self.deletes += len(gone)
        self.saved[tup.key] = keys

    def _delete(self, tkey: str, ekeys: Iterable[str]) -> None:
        delete = self.stores[ENTITY].delete
        n = 0
        for k in ekeys:
            delete(ENTITY, k)
            n += 1
        self.stores[LOGIC].delete(LOGIC, tkey)
        self.deletes += n + 1

    def sync_now(self) -> int:
        """Write every marked tuple at once (tests, shutdown); returns how many."""
        dirty, self.dirty = self.dirty, set()
        for tup in dirty:
            self.write_tuple(tup)
        return len(dirty)

    async def sync(self) -> int:
        """Write every marked tuple, yielding to the SIP loop every _SYNC_CHUNK tuples."""
        dirty, self.dirty = self.dirty, set()
        for i, tup in enumerate(dirty, 1):
            self.write_tuple(tup)
            if i % _SYNC_CHUNK == 0:
                await trio.sleep(0)
        return len(dirty)

    def mark_all(self) -> None:
        self.dirty.update(self.engine.tuples.values())

    def _distinct_stores(self) -> list[Store]:
        out: list[Store] = []
        for s in self.stores.values():
            if all(s is not o for o in out):
                out.append(s)
        return out

    async def flush(self) -> bool:
        ok = True
        for s in self._distinct_stores():
            ok = await s.flush() and ok
        return ok

    # ---------------------------------------------------------------- loading

    async def load(self) -> int:
        """Read every stored tuple and entity and restore them into the engine; returns the tuples restored."""
        tuples = await self.stores[LOGIC].load_all(LOGIC)
        entities = await self.stores[ENTITY].load_all(ENTITY)
        workers = getattr(self.engine.core, "workers", None)
        if workers is not None:
            # every worker reads the store and restores its share: the calls whose token names it (modulo the
            # worker count); dialog_owner sends their in-dialog requests to the same worker
            workers.foreign_tokens = True
            mine = workers.id
            part = workers.partition
            tuples = {k: r for k, r in tuples.items() if part(k) == mine}
            entities = {k: r for k, r in entities.items() if part(_str(r, "tuple")) == mine}
        done, stale = restore(self.engine, tuples, entities)
        for tup in done:
            self.saved[tup.key] = {entity_key(leg) for leg in self._legs(tup)}
        for kind, key in stale:
            self.stores[kind].delete(kind, key)
        self.restored = len(done)
        return len(done)

    # ---------------------------------------------------------------- calls set up by another node

    def find_call(self, req: Any, addr: tuple, transport: Any) -> bool:
        """An in-dialog request matched no local dialog: park it and look its dialog up in the store.

        Returns True when the request is taken (it comes back through ``core.on_message`` once the lookup ends,
        found or not); False when it must go on unmatched (no background task yet, or it is coming back now).
        """
        cid = req.call_id
        nursery = self._nursery
        if nursery is None or cid == self._passthru:
            return False
        tag = req.to.tag
        if not tag or TOKEN_RE.search(tag.encode()) is None:
            # not a tag this engine family writes (every persisted run puts a worker token in its tags): a
            # dialog of the proxy or of somebody else, it goes on at once
            return False
        parked = self._parked.get(cid)
        if parked is not None:
            if len(parked) < _MAX_PARKED:
                parked.append((req.to_bytes(), addr, transport))
            return True
        self._parked[cid] = [(req.to_bytes(), addr, transport)]
        self.lookups += 1
        nursery.start_soon(self._fetch_call, cid, req.from_.tag or "", tag)
        return True

    async def _fetch_call(self, cid: str, from_tag: str, to_tag: str) -> None:
        try:
            with trio.move_on_after(LOOKUP_TIMEOUT):
                if await self._restore_call(cid, from_tag, to_tag):
                    self.found += 1
        finally:
            parked = self._parked.pop(cid, [])
            on_message = self.engine.core.on_message
            self._passthru = cid
            try:
                for data, addr, transport in parked:
                    on_message(data, addr, transport)
            finally:
                self._passthru = None

    async def _restore_call(self, cid: str, from_tag: str, to_tag: str) -> bool:
        """Find the entity of a request (From / To tags and Call-ID) in the store, then its tuple and the tuple's
        other entities, and restore them. The request comes from the remote party: our tag is its To-tag, so it
        is a server entity (the caller's side) or a client one ``1$<to>$<from>``."""
        store = self.stores[ENTITY]
        erec = None
        # a server entity's key carries no remote tag here (``Leg.from_tag`` of a server leg is unset): "0$$<to>"
        candidates = (
            b2be_key(0, "", to_tag, cid),
            b2be_key(1, to_tag, from_tag, cid),
            b2be_key(0, from_tag, to_tag, cid),
        )
        for ekey in candidates:
            erec = await store.get(ENTITY, ekey)
            if erec is not None:
                break
        if erec is None:
            return False
        tkey = _str(erec, "tuple")
        if tkey in self.engine.tuples:
            return True
        trec = await self.stores[LOGIC].get(LOGIC, tkey)
        if trec is None:
            return (
                False  # the tuple was dropped (its call ended, or stale at a start-up): nothing to go on with
            )
        ents: dict[str, Record] = {}
        for k in json.loads(_str(trec, "ekeys", "[]")):
            rec = erec if k == ekey else await store.get(ENTITY, str(k))
            if rec is not None:
                ents[str(k)] = rec
        done, _stale = restore(self.engine, {tkey: trec}, ents)
        for tup in done:
            self.saved[tup.key] = set(ents)
            self.engine.log.info(f"b2b: call {cid} restored from the store (tuple {tup.key})", "b2b_logic")
        return bool(done)

    # ---------------------------------------------------------------- background

    async def _lost(self) -> bool:
        """True when a tuple we wrote (and did not change since) is missing from the store."""
        for tkey in self.saved:
            tup = self.engine.tuples.get(tkey)
            if tup is None or tup in self.dirty:
                continue
            return await self.stores[LOGIC].get(LOGIC, tkey) is None
        return False

    async def _lost_now(self) -> bool:
        """``_lost``, at most once per LOST_CHECK_EVERY (write-through steps run many times a second)."""
        now = trio.current_time()
        if self.write_through and now < self._next_lost_check:
            return False
        self._next_lost_check = now + LOST_CHECK_EVERY
        return await self._lost()

    async def step(self) -> None:
        """One round of the background task: write marked tuples, flush, check the store still has our data."""
        await self.sync()
        ok = await self.flush()
        if not ok:
            self._outage = True
            return
        if self._outage or await self._lost_now():
            # after an outage (or a store that forgot everything) nothing says what survived: write it all again
            self._outage = False
            self.resyncs += 1
            self.mark_all()
            await self.sync()
            if not await self.flush():
                self._outage = True

    async def serve(self) -> None:
        """Run until cancelled: the stores' own flushers plus the record builder; a last write on the way out."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for s in self._distinct_stores():
                    await s.start(nursery)
                while True:
                    if self.write_through:
                        # wake on the first change; still look at the store once per period
                        with trio.move_on_after(self.update_period):
                            await self._wake.wait()
                        await trio.sleep(COALESCE)
                        self._wake = trio.Event()
                    else:
                        await trio.sleep(self.update_period)
                    await self.step()
        finally:
            self._nursery = None
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                self.sync_now()
                for s in self._distinct_stores():
                    await s.close()


# ------------------------------------------------------------------ configuration


def _mp(script: Any, module: str, name: str, default: Any) -> Any:
    if script is None:
        return default
    from pysips.server import modparam

    value = modparam(script, module, name, None)
    return default if value is None or value == "" else value


def _num(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


async def open_persistence(engine: Any, script: Any, **store_options: Any) -> Persister | None:
    """The Persister for the script's ``cachedb_url`` modparams, with the stored calls already restored into
    `engine` (and ``engine.persist`` set); None when no cachedb_url is set or db_mode is 0.

    b2b_logic's URL stores tuples, b2b_entities's stores entities; when only one is set it is used for both.
    The write mode is write-through if either module asks for it, the period the shorter of the two.
    """
    url_l = _mp(script, "b2b_logic", "cachedb_url", None)
    url_e = _mp(script, "b2b_entities", "cachedb_url", None)
    if not url_l and not url_e:
        return None
    url_l = str(url_l or url_e)
    url_e = str(url_e or url_l)
    log = engine.log
    modes = {int(_num(_mp(script, m, "db_mode", 2), 2)) for m in ("b2b_logic", "b2b_entities")}
    if NO_DB in modes:
        log.info("b2b: db_mode 0, calls are not persisted", "b2b_logic")
        return None
    mode = WRITE_THROUGH if WRITE_THROUGH in modes else 2
    period = min(_num(_mp(script, m, "update_period", 100), 100.0) for m in ("b2b_logic", "b2b_entities"))
    prefixes = {
        LOGIC: str(_mp(script, "b2b_logic", "cachedb_key_prefix", DEFAULT_PREFIXES[LOGIC])),
        ENTITY: str(_mp(script, "b2b_entities", "cachedb_key_prefix", DEFAULT_PREFIXES[ENTITY])),
    }
    core = engine.core
    # the Persister decides when to write (it flushes right after building records in write-through mode): the
    # stores themselves only write back each period and retry after an outage
    opts = dict(db_mode=WRITE_BACK, update_period=period, prefixes=prefixes, core=core)
    if url_l.lower().startswith(("redis", "rediss")):
        # records are packed into Redis commands by a child process, off the SIP process's GIL
        opts["writer_process"] = True
    opts.update(store_options)
    store_l = open_store(url_l, **opts)
    store_e = store_l if url_e == url_l else open_store(url_e, **opts)
    persist = Persister(engine, {LOGIC: store_l, ENTITY: store_e}, db_mode=mode, update_period=period)
    n = await persist.load()
    engine.persist = persist
    # NOTICE (shown at the usual log_level 2): once per start, and what an operator checks after a restart
    getattr(log, "notice", log.info)(
        f"b2b: state in {store_l.backend} ({'write-through' if mode == WRITE_THROUGH else 'write-back'}, "
        f"update_period {period:g} s); restored {n} calls",
        "b2b_logic",
    )
    return persist
