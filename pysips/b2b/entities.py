"""b2b_entities: the two kinds of dialog legs a B2BUA holds, and the keys that name them.

A *server* leg is the dialog with the caller (we are its UAS); a *client* leg is a dialog we opened as UAC.
Each leg keeps what RFC 3261 section 12 calls the dialog state (Call-ID, local/remote tags and URIs, CSeq
numbers, route set, remote target) plus the few fields the engine needs to bridge INVITE/ACK across the two
legs. Legs are plain slotted objects: no task and no timer per leg; the engine drives them from SIP events and
the process timer heap.

Keys follow OpenSIPS (b2b_entities/dlg.c ``b2b_generate_key``): ``<prefix>.<hash>.<local>.<time>.<rand>``. The
server key is the To-tag we give the caller, the client key is the Call-ID of the callee leg. With worker
processes the worker's token goes before the random part (``B2B.<hash>.<local>.<time>.<token>w<id>.<rand>``) and
before From-tags, so the indices of the numeric parts stay those of OpenSIPS.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from typing import Any

EARLY = 0  # no final 2xx yet
CONFIRMED = 1  # 2xx sent / received
ENDED = 2


class KeyGen:
    """Entity keys and From-tags. One per engine; the counters make keys unique within the process."""

    __slots__ = ("prefix", "server_mask", "client_mask", "token", "_local", "_tag_prefix", "_tags", "_rand")

    def __init__(
        self, prefix: str = "B2B", server_hsize: int = 9, client_hsize: int = 9, token: str = ""
    ) -> None:
        self.prefix = prefix
        # with worker processes: core.workers.tag_token, written into every key and tag so that an in-dialog
        # message reaching another worker can be handed to the one holding the call (pysips.proxy.workers)
        self.token = token
        self.server_mask = (1 << max(1, min(server_hsize, 20))) - 1
        self.client_mask = (1 << max(1, min(client_hsize, 20))) - 1
        self._local = itertools.count(random.randrange(1 << 16))
        self._tag_prefix = os.urandom(12).hex()
        self._tags = itertools.count(1)
        self._rand = random.Random(os.urandom(8))

    def server_key(self, call_id: str) -> str:
        return (
            f"{self.prefix}.{hash(call_id) & self.server_mask}.{next(self._local)}."
            f"{int(time.time())}.{self.token}{self._rand.getrandbits(31)}"
        )

    def client_key(self, seed: str) -> str:
        return (
            f"{self.prefix}.{hash(seed) & self.client_mask}.{next(self._local)}."
            f"{int(time.time())}.{self.token}{self._rand.getrandbits(31)}"
        )

    def from_tag(self) -> str:
        # OpenSIPS uses MD5(call-id, tags, R-URI)-CRC; anything unique that tells nothing about the caller will do
        return f"{self.token}{self._tag_prefix}-{next(self._tags):x}"


class Leg:
    """One b2b entity (one dialog). ``server`` True: we are the UAS of this dialog."""

    __slots__ = (
        "server",
        "key",
        "tup",
        "peer",
        "call_id",
        "local_tag",
        "remote_tag",
        "local_hdr",
        "remote_hdr",
        "local_cseq",
        "remote_cseq",
        "route_set",
        "remote_target",
        "transport",
        "dest",
        "state",
        "contact",
        "inv_srv",
        "inv_cli",
        "ack_wait",
        "ack_srv",
        "ack_resp",
        "ack_peer",
        "ack_timer",
        "ack_interval",
        "ack_deadline",
        "ack_cseq",
        "ack_data",
        "to_uri",
        "from_uri",
        "eid",
        "sdp",
    )

    def __init__(self, server: bool, tup: Any, call_id: str, local_tag: str) -> None:
        self.server = server
        self.tup = tup
        self.peer: Leg | None = None
        self.call_id = call_id
        self.local_tag = local_tag
        self.key = local_tag if server else call_id
        self.remote_tag: str | None = None
        self.local_hdr = ""  # our From (with tag) in requests we send on this leg
        self.remote_hdr = ""  # the To (with the remote tag once known) in requests we send
        self.local_cseq = 0
        self.remote_cseq: int | None = None
        self.route_set: list[str] = []
        self.remote_target = ""
        self.transport: Any = None
        self.dest: tuple | None = None  # resolved (ip, port) of route_set[0] / remote_target; None = resolve
        self.state = EARLY
        self.contact = ""  # our Contact header value on this leg
        self.inv_srv: Any = None  # SrvRef of an INVITE received on this leg, until its final reply
        self.inv_cli: Any = None  # CliRef of an INVITE sent on this leg, until its final reply
        # 2xx we sent on this leg, retransmitted until the ACK (RFC 3261 13.3.1.4)
        self.ack_wait: int | None = None  # CSeq of that INVITE
        self.ack_srv: Any = None
        self.ack_resp: Any = None
        self.ack_peer: Leg | None = None  # the leg whose 2xx we relayed: it gets our ACK when this one ACKs
        self.ack_timer: Any = None
        self.ack_interval = 0.0
        self.ack_deadline = 0.0
        # 2xx we received on this leg: CSeq of the INVITE and the ACK we sent for it (re-sent on retransmissions)
        self.ack_cseq: int | None = None
        self.ack_data: bytes | None = None
        self.to_uri = ""  # for b2b_list
        self.from_uri = ""
        self.eid = ""  # the script's entity id (b2b_server_new / b2b_client_new); "" for top hiding
        self.sdp: tuple | None = None  # (body, Content-Type) of the last SDP this entity sent us

    @property
    def from_tag(self) -> str | None:
        return self.remote_tag if self.server else self.local_tag

    @property
    def to_tag(self) -> str | None:
        return self.local_tag if self.server else self.remote_tag

    def __repr__(self) -> str:
        return f"<Leg {'server' if self.server else 'client'} {self.key} state={self.state}>"


class SrvRef:
    """A request received on a leg (``txn.user_data`` of its server transaction)."""

    __slots__ = ("leg", "req", "txn", "transport", "cli", "final")

    def __init__(self, leg: Leg, req: Any, txn: Any, transport: Any) -> None:
        self.leg = leg
        self.req = req
        self.txn = txn
        self.transport = transport
        self.cli: CliRef | None = None  # the request we sent on the peer leg for it
        self.final = False


class CliRef:
    """A request we sent on a leg (``txn.user_data`` of its client transaction)."""

    __slots__ = (
        "leg",
        "srv",
        "txn",
        "transport",
        "method",
        "cseq",
        "initial",
        "bridge",
        "timer",
        "timed_out",
    )

    def __init__(
        self, leg: Leg, srv: SrvRef | None, transport: Any, method: str, cseq: int, initial: bool = False
    ) -> None:
        self.leg = leg
        self.srv = srv  # where its replies are relayed (None: nobody waits for them)
        self.txn: Any = None
        self.transport = transport
        self.method = method
        self.cseq = cseq
        self.initial = initial
        self.bridge: Any = None  # a Bridge in progress this request belongs to
        self.timer: Any = None  # tm fr_timeout / fr_inv_timeout (bridge INVITEs)
        self.timed_out = False  # a local 408 was generated; late replies are ignored


class ClientSpec:
    """b2b_client_new(id, dest_uri, [proxy], [from_dname], [adv_contact]) waiting for b2b_init_request / b2b_bridge."""

    __slots__ = ("eid", "dest", "proxy", "dname", "adv_contact", "headers")

    def __init__(
        self,
        eid: str,
        dest: str,
        proxy: str | None,
        dname: str | None,
        adv_contact: str | None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.eid = eid
        self.dest = dest
        self.proxy = proxy or None
        self.dname = dname or None
        self.adv_contact = adv_contact or None
        self.headers = headers or []  # extra headers of the initial INVITE (XML <header>, header AVPs)


class Bridge:
    """b2b_bridge(old, new) in progress: INVITE (no SDP) to `new`, re-INVITE `old` with its offer, ACK both."""

    __slots__ = (
        "old",
        "new",
        "max_duration",
        "initiator",
        "notify",
        "rollback",
        "prev",
        "refer_id",
        "spec",
        "prov_spec",
        "prov",
        "phase",
        "offer",
    )

    def __init__(self, old: Leg, new: Leg, max_duration: int | None) -> None:
        self.old = old
        self.new = new
        self.max_duration = max_duration
        self.initiator: Leg | None = None  # the entity whose request triggered b2b_bridge (REFER sender)
        self.notify = False
        self.rollback = False
        self.prev: tuple = (None, None)  # tup.server / tup.client before the bridge
        self.refer_id = 0
        self.spec: Any = None  # ClientSpec of the new entity
        self.prov_spec: Any = None  # ClientSpec of the provisional media server (b2b_bridge 3rd parameter)
        self.prov: Leg | None = None
        self.phase = "new"  # provisional media: old_offer -> prov -> new -> old_final
        self.offer: Any = None  # the old entity's 2xx carrying its SDP offer


class B2BCall:
    """What the b2b_logic route functions act on (``ctx.b2b``): the tuple, the entity the message belongs to, and
    the request's server transaction or the reply's client transaction."""

    __slots__ = ("engine", "tup", "leg", "peer", "srv", "cli", "msg", "done")

    def __init__(
        self, engine: Any, tup: Any, leg: Leg, srv: SrvRef | None, cli: CliRef | None, msg: Any
    ) -> None:
        self.engine = engine
        self.tup = tup
        self.leg = leg
        self.peer = leg.peer  # "peer" in b2b_bridge() even after b2b_end_dlg_leg() / b2b_delete_entity()
        self.srv = srv
        self.cli = cli
        self.msg = msg
        self.done = False  # passed / handled
