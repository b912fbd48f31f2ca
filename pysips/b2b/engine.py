"""The B2BUA engine: b2b_init_request("top hiding") and everything that follows on both legs.

The core hands every request and reply to ``on_request`` / ``on_response`` before tm and the script; they
return True for messages that belong to a b2b transaction or dialog. Once the script called
``b2b_init_request`` on an initial INVITE, the engine owns the call:

* the caller's INVITE gets a server transaction (our own TransactionLayer, RFC 6026 mode, so nothing collides
  with tm's) and a 100 Trying; a new INVITE goes to ``$ru`` (via ``$du`` when set) with a new Call-ID
  (the client key), new From-tag, our Via only, no Route/Record-Route, our Contact, the caller's CSeq number,
  Max-Forwards - 1, the whitelisted headers (OpenSIPS records.c ``b2b_extra_headers``) and the body;
* replies come back with our To-tag (the server key), our Contact and the whitelisted headers; 100 is not relayed;
* a 2xx is retransmitted to the caller until its ACK, and the ACK for the callee is generated when the caller's
  ACK arrives (so a late-SDP ACK body reaches the callee);
* in-dialog requests from either side are passed to the other leg with that leg's Call-ID, tags, CSeq, route set
  and target; their replies are relayed back; each INVITE gets a 100; a second INVITE from the same side while the
  first is pending gets 500, one crossing an INVITE of the other side 491 (sipssert b2b/28);
* CANCEL from the caller: 200 to the CANCEL, 487 to the INVITE, CANCEL on the client leg;
* BYE ends the tuple: passed to the peer when it is confirmed, else the peer leg is cancelled / answered 487;
* reliable 1xx are PRACKed by us and the caller's PRACK is answered locally (b2b_entities passthru_prack=0);
  a 2xx from a second fork of the callee gets an ACK and a BYE.

XML scenarios, MI/script b2b_trigger_scenario and b2b_bridge_request live in pysips/b2b/scenario_run.py (a mixin).

Script scenarios (3.2+): ``b2b_server_new`` / ``b2b_client_new`` / ``b2b_init_request(id, ...)`` build the same two
legs from the script's entities; in-dialog requests (and replies, with a reply route) then run the b2b_logic
route instead of the default pass-through, whose functions act on ``ctx.b2b`` (a B2BCall). ``b2b_bridge`` connects
an existing entity to a new client: late SDP by default (INVITE without SDP, its offer re-INVITEs the old entity),
or ``no-late-sdp`` (the old entity's SDP first, then a renegotiation), ``hold``, a provisional media server, and
``notify`` / ``rollback-failed`` (RFC 3515 NOTIFYs to the transferor, keep the call when the target fails).

Timers (setup timeout, max_duration, 2xx retransmission, tm fr_timeout / fr_inv_timeout of bridge INVITEs, the
2.1 s bridge retry after a 491) are entries in the process TimerHeap; transaction timers come from the layer
through one SansIOTimer. Nothing runs per call as a task.
"""

from __future__ import annotations

import os
import re
from typing import Any

import trio

from pysips.b2b.entities import (
    CONFIRMED,
    EARLY,
    ENDED,
    B2BCall,
    Bridge,
    ClientSpec,
    CliRef,
    KeyGen,
    Leg,
    SrvRef,
)
from pysips.b2b.logic import TOP_HIDING, InitFlags, Tuple, split_scenario
from pysips.b2b.scenario_run import ScenarioRunner
from pysips.errors import PysipsError, ScriptRuntimeError, SIPParseError
from pysips.net.timers import SansIOTimer, TimerHeap
from pysips.sip.message import Request, Response, make_response
from pysips.sip.transaction import (
    SendEvent,
    TimeoutEvent,
    TimerConfig,
    TransactionLayer,
    TransportErrorEvent,
    new_branch,
)
from pysips.sip.uri import parse_uri

# OpenSIPS records.c b2b_extra_headers: the only headers that cross from one leg to the other (plus the
# custom_headers / custom_headers_regexp modparams). Everything else is dropped.
WHITELIST = (
    "Content-Type",
    "Supported",
    "Allow",
    "Proxy-Require",
    "Session-Expires",
    "Min-SE",
    "Event",
    "Require",
    "RSeq",
    "Subscription-State",
)
_AUTH_HEADERS = ("WWW-Authenticate", "Proxy-Authenticate")
_GLARE_METHODS = ("INVITE", "UPDATE")
_SDP_METHODS = ("INVITE", "ACK", "UPDATE")


def _hold_sdp(sdp: tuple | None) -> tuple | None:
    """OpenSIPS sdp_get_hold_body: the same SDP with every active stream marked a=inactive."""
    if sdp is None or not sdp[0]:
        return None
    lines = sdp[0].decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    while lines and not lines[-1]:
        lines.pop()
    out: list[str] = []
    in_media = False
    for line in lines:
        if line.startswith("m="):
            if in_media:
                out.append("a=inactive")
            in_media = True
        elif line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive") and in_media:
            continue
        out.append(line)
    if in_media:
        out.append("a=inactive")
    return ("\r\n".join(out) + "\r\n").encode(), sdp[1] or "application/sdp"


def _int(v: Any, default: int) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


_now = trio.current_time


class B2BEngine(ScenarioRunner):
    """One per process. ``B2BEngine(core, script)``; the server then calls ``start(nursery)``."""

    def __init__(
        self, core: Any, script: Any = None, *, clock: Any = None, timers: TimerHeap | None = None
    ) -> None:
        self.core = core
        self.log = core.log
        self.timers: TimerHeap = timers if timers is not None else core.timers
        self.now = clock or _now
        self.layer = TransactionLayer(TimerConfig(), rfc6026=True)
        self.t1 = self.layer.config.t1
        self.t2 = self.layer.config.t2
        self.binding = SansIOTimer(self.timers, self.layer.get_timer, self._on_layer_timer)
        if script is not None:
            from pysips.server import modparam

            def mp(module: str, name: str, default: Any) -> Any:
                return modparam(script, module, name, default)
        else:

            def mp(module: str, name: str, default: Any) -> Any:
                return default

        workers = getattr(core, "workers", None)
        token = workers.tag_token if workers is not None else ""
        if not token and (mp("b2b_logic", "cachedb_url", None) or mp("b2b_entities", "cachedb_url", None)):
            # persisted calls carry a worker token even in one process, so that a later run with workers (or
            # another node) can tell which worker restores them and which dialogs are worth a store lookup
            token = f"{os.urandom(4).hex()}w0."
        self.keys = KeyGen(
            str(mp("b2b_entities", "b2b_key_prefix", "B2B")),
            _int(mp("b2b_entities", "server_hsize", 9), 9),
            _int(mp("b2b_entities", "client_hsize", 9), 9),
            token,
        )
        # tuple keys (MI b2b_list / b2b_terminate_call) name the worker too: "<hash>.<local>.<token>w<id>"
        self._tkey_suffix = f".{token[:-1]}" if token else ""
        self.hash_mask = (1 << max(1, min(_int(mp("b2b_logic", "hash_size", 9), 9), 20))) - 1
        self.init_timeout = _int(mp("b2b_logic", "b2bl_th_init_timeout", 60), 60)
        self.max_duration = _int(mp("b2b_logic", "max_duration", 43200), 43200)
        self.contact_user = bool(_int(mp("b2b_logic", "contact_user", 0), 0))
        self.server_address = mp("b2b_logic", "server_address", None) or mp(
            "b2b_entities", "advertised_contact", None
        )
        self.init_callid_hdr = mp("b2b_logic", "init_callid_hdr", None)
        custom = mp("b2b_logic", "custom_headers", None)
        names = list(WHITELIST)
        if custom:
            names += [h.strip() for h in str(custom).split(";") if h.strip()]
        self.passed = tuple(dict.fromkeys(names))
        rx = mp("b2b_logic", "custom_headers_regexp", None)
        self.passed_re = re.compile(str(rx), re.I) if rx else None
        # b2b_entities sends through tm in OpenSIPS: its fr timers bound how long a bridged entity may ring
        self.fr_timeout = _int(mp("tm", "fr_timeout", 5), 5)
        self.fr_inv_timeout = _int(mp("tm", "fr_inv_timeout", 120), 120)
        self.req_route = mp("b2b_logic", "script_req_route", None) or None
        self.reply_route = mp("b2b_logic", "script_reply_route", None) or None
        # b2b_entities passthru_prack=0: we PRACK reliable 1xx ourselves and answer the caller's PRACK locally
        self.passthru_prack = bool(_int(mp("b2b_entities", "passthru_prack", 0), 0))
        self._forks: dict[tuple[str, str], Leg] = {}  # (Call-ID, To-tag) of second 2xx we ACKed and BYEd
        self.tuples: dict[str, Tuple] = {}
        self.dialogs: dict[tuple[str, str], Leg] = {}  # (Call-ID, our tag) -> leg
        self._tuple_local = 0
        self._contacts: dict[int, str] = {}
        self.persist: Any = None  # pysips.b2b.persist.Persister when a cachedb_url is set
        self.scenarios: dict[str, Any] = {}  # XML scenarios by id (b2b_logic script/extern_scenario)

    def _new_tuple_key(self, seed: str) -> str:
        self._tuple_local += 1
        return f"{hash(seed) & self.hash_mask}.{self._tuple_local}{self._tkey_suffix}"

    def start(self, nursery: Any = None) -> None:
        """Nothing to spawn: timers live in the core's heap. Kept for the server's start-up sequence."""

    # ------------------------------------------------------------------ counters (tests, MI)

    @property
    def tuple_count(self) -> int:
        return len(self.tuples)

    @property
    def entity_count(self) -> int:
        return len(self.dialogs)

    # ------------------------------------------------------------------ plumbing

    def _flush(self) -> None:
        events = self.layer.take_events()
        if events:
            self._dispatch(events)
        self.binding.update()

    def _on_layer_timer(self, now: float) -> None:
        events = self.layer.handle_timer(now)
        if events:
            self._dispatch(events)

    def _dispatch(self, events: list) -> None:
        core = self.core
        for ev in events:
            t = type(ev)
            if t is SendEvent:
                ud = ev.txn.user_data
                transport = ud.transport if ud is not None else core.pick_transport(ev.transport.lower())
                if transport is None or not transport.send(ev.data, ev.dest):
                    if transport is not None and transport.proto != "udp":
                        self.layer.transport_error(ev.txn, self.now())
            elif t is TimeoutEvent:
                ud = ev.txn.user_data
                if type(ud) is CliRef and ev.timer in ("B", "F"):
                    self._cli_failed(ud, 408, "Request Timeout")
            elif t is TransportErrorEvent:
                ud = ev.txn.user_data
                if type(ud) is CliRef:
                    self._cli_failed(ud, 503, "Service Unavailable")
        if self.layer.has_events:
            self._dispatch(self.layer.take_events())

    def _contact(self, transport: Any, user: str | None = None) -> str:
        if self.server_address:
            sa = str(self.server_address)
            return sa if sa.startswith("<") else f"<{sa}>"
        if user is None:
            c = self._contacts.get(id(transport))
            if c is not None:
                return c
        host, port = self.core.advertised(transport)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        c = f"<sip:{user + '@' if user else ''}{host}:{port}>"
        if user is None:
            self._contacts[id(transport)] = c
        return c

    def _passed(self, msg: Any, auth: bool = False, extra: tuple[str, ...] = ()) -> list[tuple[str, str]]:
        """The whitelisted headers of `msg` (first occurrence of each, like OpenSIPS)."""
        out = []
        get = msg.get_header
        for name in self.passed:
            v = get(name)
            if v is not None:
                out.append((name, v))
        for name in extra:
            v = get(name)
            if v is not None:
                out.append((name, v))
        if auth:
            for name in _AUTH_HEADERS:
                for v in msg.get_headers(name):
                    out.append((name, v))
        rx = self.passed_re
        if rx is not None:
            have = {n.lower() for n, _ in out}
            for name, v in msg.headers():
                if name.lower() not in have and rx.search(name):
                    out.append((name, v))
        return out

    # ------------------------------------------------------------------ entry points from the core

    def on_request(self, req: Request, addr: tuple, transport: Any) -> bool:
        layer = self.layer
        now = self.now()
        txn, absorbed = layer.receive_request(req, addr, now)
        if txn is not None:
            if absorbed:
                self._flush()
                return True
            # an ACK for our 2xx that reused the INVITE's branch (RFC 6026 Accepted)
            srv = txn.user_data
            if type(srv) is SrvRef:
                self._on_ack(srv.leg, req)
                self._flush()
                return True
            return False
        tag = req.to.tag
        method = req.method
        if tag is None:
            if method == "CANCEL":
                itxn = layer.find_invite_for_cancel(req)
                if itxn is not None and type(itxn.user_data) is SrvRef:
                    self._on_cancel(itxn.user_data, req, addr, transport, now)
                    self._flush()
                    return True
            return False
        leg = self.dialogs.get((req.call_id, tag))
        if leg is None:
            # the call may have been set up by another node sharing the store
            return self.persist is not None and self.persist.find_call(req, addr, transport)
        if self.persist is not None:
            self.persist.touch(leg.tup)
        if req.body and method in _SDP_METHODS:
            leg.sdp = (req.body, req.get_header("Content-Type"))
        if method == "ACK":
            self._on_ack(leg, req)
        else:
            self._in_dialog(leg, req, addr, transport, now)
        self._flush()
        return True

    def on_response(self, resp: Response, addr: tuple, transport: Any) -> bool:
        layer = self.layer
        txn, absorbed = layer.receive_response(resp, addr, self.now())
        if txn is None:
            return False
        if not absorbed:
            cli = txn.user_data
            if type(cli) is CliRef:
                if cli.timed_out:
                    self._flush()
                    return True
                if cli.timer is not None:
                    if resp.status >= 200:
                        self.timers.cancel(cli.timer)
                        cli.timer = None
                    elif resp.status > 100:
                        self._arm_fr(cli, self.fr_inv_timeout)
                self._dispatch_reply(cli, resp, addr, transport)
        self._flush()
        return True

    def _arm_fr(self, cli: CliRef, seconds: float) -> None:
        self.timers.cancel(cli.timer)
        cli.timer = self.timers.schedule(self.now() + seconds, lambda _n, c=cli: self._fr_expired(c))

    def _fr_expired(self, cli: CliRef) -> None:
        """tm fr_timeout / fr_inv_timeout on a bridge INVITE: CANCEL it (if it rang) and act on a local 408."""
        cli.timer = None
        txn = cli.txn
        req = txn.request if txn is not None else None
        if req is None or txn.state not in ("Calling", "Proceeding") or cli.leg.state == ENDED:
            return
        resp = make_response(req, 408, "Request Timeout")
        if txn.state == "Proceeding":
            self.layer.cancel(txn, self.now())
        else:
            self.layer.terminate(txn)
        cli.timed_out = True
        if cli.leg.inv_cli is cli:
            cli.leg.inv_cli = None
        self._dispatch_reply(cli, resp, cli.leg.dest or ("0.0.0.0", 0), cli.transport)
        self._flush()

    def _dispatch_reply(self, cli: CliRef, resp: Response, addr: tuple, transport: Any) -> None:
        if resp.body and 200 <= resp.status < 300 and cli.method == "INVITE":
            cli.leg.sdp = (resp.body, resp.get_header("Content-Type"))
        tup = cli.leg.tup
        if self.persist is not None:
            self.persist.touch(tup)
        if tup.reply_route is not None and resp.status > 100 and not tup.ended and cli.method == "INVITE":
            call = B2BCall(self, tup, cli.leg, None, cli, resp)
            if not self._run_route(tup.reply_route, resp, call, addr, transport):
                self._handle_reply(cli, resp)
        elif cli.bridge is not None:
            self._bridge_reply(cli, resp)
        elif tup.reply_route is not None and resp.status > 100 and not tup.ended:
            call = B2BCall(self, tup, cli.leg, None, cli, resp)
            if not self._run_route(tup.reply_route, resp, call, addr, transport):
                self._handle_reply(cli, resp)
        else:
            self._handle_reply(cli, resp)

    def _handle_reply(self, cli: CliRef, resp: Response) -> None:
        """The default handling of a reply (b2b_handle_reply): relay it to the request it answers."""
        if cli.bridge is not None:
            self._bridge_reply(cli, resp)
        elif cli.method == "INVITE":
            self._invite_reply(cli, resp)
        elif resp.status >= 200:
            srv = cli.srv
            if srv is not None:
                self._reply(srv, resp.status, resp.reason, resp)
        elif resp.status > 100 and cli.srv is not None:
            self._reply(cli.srv, resp.status, resp.reason, resp)

    # ------------------------------------------------------------------ b2b_init_request

    def init_request(
        self,
        ctx: Any,
        scenario: str | None = None,
        flags: str | None = None,
        req_route: str | None = None,
        reply_route: str | None = None,
    ) -> int:
        """b2b_init_request(): 1 on success, -1 on error (the script should then reply itself)."""
        try:
            sid, iflags = split_scenario(scenario or "", flags)
        except ValueError as e:
            self.log.error(f"b2b_init_request: {e}", "b2b_logic")
            return -1
        req = ctx.msg
        if req is None or not req.is_request or req.method != "INVITE" or req.to.tag is not None:
            self.log.error("b2b_init_request: must be called on an initial INVITE", "b2b_logic")
            return -1
        sspec = cspec = None
        if sid != TOP_HIDING:
            sspec = getattr(ctx, "b2b_server", None)
            clients = getattr(ctx, "b2b_clients", None)
            if sspec is None or not clients:
                self.log.error(
                    f"b2b_init_request({sid!r}): create the entities first with b2b_server_new() "
                    "and b2b_client_new()",
                    "b2b_logic",
                )
                return -1
            cspec = next(iter(clients.values()))
        try:
            rc = self._start(ctx, req, iflags, sid, sspec, cspec)
            if rc > 0 and sid != TOP_HIDING:
                tup = self.tuples[ctx.b2b_key]
                tup.req_route = req_route or self.req_route
                tup.reply_route = reply_route or self.reply_route
                ctx.b2b_clients = {}
        except (SIPParseError, OSError, ValueError) as e:
            self.log.error(f"b2b_init_request: {e}", "b2b_logic")
            rc = -1
        self._flush()
        return rc

    def _start(
        self,
        ctx: Any,
        req: Request,
        flags: InitFlags,
        sid: str = TOP_HIDING,
        sspec: tuple | None = None,
        cspec: ClientSpec | None = None,
    ) -> int:
        core = self.core
        layer = self.layer
        now = self.now()
        src = (ctx.src_ip, ctx.src_port)
        transport = ctx.transport
        if layer.find_server(req) is not None:
            return 0  # a retransmission racing the first copy
        call_id = req.call_id
        tkey = self._new_tuple_key(call_id)
        tup = Tuple(tkey, sid, flags, now)
        pending_vals = getattr(ctx, "b2b_vals", None)
        if pending_vals:
            tup.vals.update(pending_vals)

        # ---- server leg (the caller)
        s = Leg(True, tup, call_id, self.keys.server_key(call_id))
        s.transport = transport
        s.remote_hdr = req.get_header("From") or ""
        s.local_hdr = f"{req.get_header('To')};tag={s.local_tag}"
        s.remote_cseq = req.cseq.number
        s.local_cseq = 0
        s.route_set = req.get_values("Record-Route")
        contacts = req.contacts
        s.remote_target = contacts[0].uri_text if contacts else str(req.from_.uri)
        s.contact = self._contact(transport)
        if sspec is not None:
            s.eid = sspec[0]
            if sspec[1]:
                s.contact = sspec[1] if sspec[1].startswith("<") else f"<{sspec[1]}>"
        s.to_uri = req.to.uri_text
        if req.body:
            s.sdp = (req.body, req.get_header("Content-Type"))
        s.from_uri = req.from_.uri_text
        rdest = core.response_destination(req.via, src) if transport.proto == "udp" else src
        stxn = layer.new_server_transaction(
            req, src, now, transport=transport.proto.upper(), response_dest=rdest
        )
        srv = SrvRef(s, req, stxn, transport)
        stxn.user_data = srv
        s.inv_srv = srv
        self._reply(srv, 100, "Trying")

        # ---- client leg (the callee)
        if cspec is None:
            ruri = req.ruri
            du = ctx.du
        else:
            ruri = parse_uri(cspec.dest)
            du = cspec.proxy
        proto, ip, port = core.dest_destination(du) if du else core.uri_destination(ruri)
        out_t = core.pick_transport(proto, ip)
        if out_t is None:
            self._reply(srv, 500, "No socket for destination")
            return -1
        c = Leg(False, tup, self.keys.client_key(call_id), self.keys.from_tag())
        c.transport = out_t
        fr = req.from_
        disp = fr.display
        if cspec is not None and cspec.dname:
            disp = cspec.dname if cspec.dname.startswith('"') else f'"{cspec.dname}"'
        furi = fr.uri_text
        tup.from_hdr = f"{disp} <{furi}>" if disp else f"<{furi}>"
        c.local_hdr = f"{tup.from_hdr};tag={c.local_tag}"
        if flags.preserve_to and cspec is None:
            to_uri = req.to.uri_text
        else:
            to_uri = f"{ruri.scheme}:{ruri.user + '@' if ruri.user else ''}{ruri.host}"
            if ruri.port:
                to_uri += f":{ruri.port}"
        c.remote_hdr = f"<{to_uri}>"
        c.to_uri = to_uri
        c.from_uri = furi
        c.local_cseq = req.cseq.number
        c.contact = self._contact(out_t, fr.uri.user if self.contact_user else None)
        if cspec is not None:
            c.eid = cspec.eid
            if cspec.adv_contact:
                c.contact = (
                    cspec.adv_contact if cspec.adv_contact.startswith("<") else f"<{cspec.adv_contact}>"
                )
            tup.ents[s.eid] = s
            tup.ents[c.eid] = c
        mf = req.max_forwards
        mf = mf - 1 if mf is not None and mf > 0 else 70
        headers = [
            ("Via", core.make_via(out_t, new_branch())),
            ("Max-Forwards", str(mf)),
            ("From", c.local_hdr),
            ("To", c.remote_hdr),
            ("Call-ID", c.call_id),
            ("CSeq", f"{c.local_cseq} INVITE"),
            ("Contact", c.contact),
        ]
        headers += self._passed(req)
        if cspec is not None and cspec.headers:
            headers += cspec.headers
        if self.init_callid_hdr:
            headers.append((str(self.init_callid_hdr), call_id))
        out = Request("INVITE", str(ruri), headers, req.body)
        cli = CliRef(c, srv, out_t, "INVITE", c.local_cseq, initial=True)
        srv.cli = cli
        c.inv_cli = cli
        ctxn = layer.new_client_transaction(out, (ip, port), now, transport=out_t.proto.upper())
        ctxn.user_data = cli
        cli.txn = ctxn

        s.peer = c
        c.peer = s
        tup.server = s
        tup.client = c
        self.tuples[tkey] = tup
        self.dialogs[(s.call_id, s.local_tag)] = s
        self.dialogs[(c.call_id, c.local_tag)] = c
        timeout = flags.setup_timeout if flags.setup_timeout else self.init_timeout
        tup.lifetime = now + timeout
        tup.timer = self.timers.schedule(tup.lifetime, lambda _n, t=tup: self._setup_expired(t))
        if self.persist is not None:
            self.persist.touch(tup)
        ctx.b2b_key = tkey
        return 1

    # ------------------------------------------------------------------ replies

    def _reply(
        self,
        srv: SrvRef,
        status: int,
        reason: str | None,
        src: Any = None,
        body: bytes | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> Response | None:
        """Answer a request received on a leg; `src` is the reply being relayed (headers and body come from it)."""
        if srv.final:
            return None
        req = srv.req
        leg = srv.leg
        to_tag = leg.local_tag if status > 100 and req.to.tag is None else None
        headers = [("Contact", leg.contact)]
        if extra:
            headers += extra
        if src is not None:
            status_auth = status in (401, 407) and leg.tup.flags.transparent_auth
            headers += self._passed(src, auth=status_auth)
            if body is None:
                body = src.body
        resp = make_response(req, status, reason, to_tag=to_tag, headers=headers, body=body or b"")
        if status >= 200:
            srv.final = True
            srv.req = None  # the transaction lives on for 32 s; a parsed message is ~20 GC-tracked objects
            if leg.inv_srv is srv:
                leg.inv_srv = None
        self.layer.send_response(srv.txn, resp, self.now())
        return resp

    def _invite_reply(self, cli: CliRef, resp: Response) -> None:
        status = resp.status
        if status == 100:
            return
        leg = cli.leg
        srv = cli.srv
        tup = leg.tup
        if status < 200:
            if cli.initial and leg.state == EARLY:
                tag = resp.to.tag
                if tag is not None and leg.remote_tag != tag:
                    self._learn_remote(leg, resp, early=True)
            if not self.passthru_prack and leg.state == EARLY:
                self._prack(leg, cli, resp)
            if srv is not None and not srv.final:
                self._reply(srv, status, resp.reason, resp)
            return
        if status < 300:
            if cli.initial and leg.state == CONFIRMED and resp.to.tag != leg.remote_tag:
                self._kill_fork(leg, cli, resp)
                return
            if leg.ack_cseq == cli.cseq:
                # a retransmitted 2xx: our ACK was lost (or the caller has not ACKed yet)
                if leg.ack_data is not None:
                    self._send_raw(leg, leg.ack_data)
                return
            if leg.inv_cli is cli:
                leg.inv_cli = None
            if cli.initial:
                self._learn_remote(leg, resp, early=False)
                leg.state = CONFIRMED
            else:
                self._refresh_target(leg, resp)
                if tup.retry is not None:
                    self.timers.cancel(tup.retry)
                    tup.retry = None
            leg.ack_cseq = cli.cseq
            leg.ack_data = None
            if srv is None or srv.final or tup.ended:
                # nobody upstream takes this 2xx any more (cancelled, timed out): close the callee leg
                self._send_ack(leg, None)
                self._send_bye(leg)
                return
            x = srv.leg
            if x.state == EARLY and not cli.initial:
                x.state = CONFIRMED  # b2b_bridge_request: a new caller answered by an existing entity
            if cli.initial:
                x.state = CONFIRMED
                tup.state = 0
                self.timers.cancel(tup.timer)
                tup.lifetime = self.now() + self.max_duration
                tup.timer = self.timers.schedule(tup.lifetime, lambda _n, t=tup: self._lifetime_expired(t))
            out = self._reply(srv, status, resp.reason, resp)
            if out is None:
                return
            self._await_ack(x, srv, out, leg)
            return
        # 3xx-6xx (the layer ACKed it)
        if leg.inv_cli is cli:
            leg.inv_cli = None
        if srv is not None and not srv.final:
            self._reply(srv, status, resp.reason, resp)
            if not cli.initial and srv.leg.state == EARLY and srv.leg.server:
                self._delete_entity(srv.leg)  # a b2b_bridge_request caller the entity refused
        if cli.initial:
            self._end_tuple(tup)

    def _cli_failed(self, cli: CliRef, status: int, reason: str) -> None:
        """No reply from the far end (Timer B/F) or the send failed: answer locally, as tm would."""
        leg = cli.leg
        if cli.method == "INVITE" and leg.inv_cli is cli:
            leg.inv_cli = None
        srv = cli.srv
        if srv is not None and not srv.final:
            self._reply(srv, status, reason)
        if cli.initial:
            self._end_tuple(leg.tup)

    def _prack(self, leg: Leg, cli: CliRef, resp: Response) -> None:
        """PRACK a reliable provisional reply (RFC 3262) on the leg that sent it."""
        rseq = resp.get_header("RSeq")
        if rseq is None or "100rel" not in (resp.get_header("Require") or "").lower():
            return
        if resp.to.tag is not None and leg.remote_tag != resp.to.tag:
            return  # a provisional of another fork: its early dialog is not ours
        rack = f"{rseq.strip()} {cli.cseq} INVITE"
        # the PRACK belongs to the early dialog: its target is the 1xx's Contact, its route set the 1xx's RR
        self._send_request(leg, "PRACK", None, None, extra=[("RAck", rack)])

    def _kill_fork(self, leg: Leg, cli: CliRef, resp: Response) -> None:
        """A 2xx from a second fork of the callee after the first one was accepted: ACK it and BYE it."""
        tag = resp.to.tag
        forks = self._forks
        done = forks.get((leg.call_id, tag))
        if done is not None:
            if done.ack_data is not None:
                self._send_raw(done, done.ack_data)  # a retransmission of that 2xx
            return
        f = Leg(False, leg.tup, leg.call_id, leg.local_tag)
        f.local_hdr = leg.local_hdr
        f.contact = leg.contact
        f.transport = leg.transport
        self._learn_remote(f, resp, early=False)
        f.local_cseq = cli.cseq
        f.ack_cseq = cli.cseq
        f.state = CONFIRMED
        for k in [k for k, x in forks.items() if x.tup.ended]:
            del forks[k]
        forks[(leg.call_id, tag)] = f
        self.log.info(f"b2b: second 2xx (To-tag {tag}) on {leg.key}: ACK and BYE", "b2b_entities")
        self._send_ack(f, None)
        self._send_bye(f)

    def _learn_remote(self, leg: Leg, resp: Response, early: bool) -> None:
        leg.remote_hdr = resp.get_header("To") or leg.remote_hdr
        leg.remote_tag = resp.to.tag
        leg.route_set = list(reversed(resp.get_values("Record-Route")))
        contacts = resp.contacts
        if contacts:
            leg.remote_target = contacts[0].uri_text
        leg.dest = None

    def _refresh_target(self, leg: Leg, msg: Any) -> None:
        if msg.has_header("Contact"):
            contacts = msg.contacts
            if contacts and contacts[0].uri_text != leg.remote_target:
                leg.remote_target = contacts[0].uri_text
                leg.dest = None

    # ------------------------------------------------------------------ 2xx retransmission / ACK

    def _await_ack(self, x: Leg, srv: SrvRef, resp: Response, peer: Leg) -> None:
        x.ack_wait = resp.cseq.number
        x.ack_srv = srv
        x.ack_resp = resp
        x.ack_peer = peer
        now = self.now()
        x.ack_interval = self.t1
        x.ack_deadline = now + 64 * self.t1
        if not srv.txn.reliable:
            x.ack_timer = self.timers.schedule(now + self.t1, lambda n, leg=x: self._retransmit_2xx(leg, n))
        else:
            x.ack_timer = self.timers.schedule(x.ack_deadline, lambda n, leg=x: self._retransmit_2xx(leg, n))

    def _retransmit_2xx(self, x: Leg, now: float) -> None:
        x.ack_timer = None
        if x.ack_wait is None:
            return
        if now >= x.ack_deadline:
            # RFC 3261 13.3.1.4: no ACK within 64*T1 -> the dialog is over; close both legs
            self.log.warn(f"b2b: no ACK for 2xx on {x.key}; terminating", "b2b_logic")
            self._terminate(x.tup)
            self._flush()
            return
        self.layer.send_response(x.ack_srv.txn, x.ack_resp, now)
        x.ack_interval = min(x.ack_interval * 2, self.t2)
        x.ack_timer = self.timers.schedule(
            min(now + x.ack_interval, x.ack_deadline), lambda n, leg=x: self._retransmit_2xx(leg, n)
        )
        self._flush()

    def _on_ack(self, x: Leg, ack: Request) -> None:
        if x.ack_wait is None or ack.cseq.number != x.ack_wait:
            return  # a retransmitted ACK, or one for nothing we sent
        x.ack_wait = None
        self.timers.cancel(x.ack_timer)
        x.ack_timer = None
        x.ack_resp = None
        x.ack_srv = None
        peer = x.ack_peer
        x.ack_peer = None
        if peer is not None and peer.state != ENDED and peer.ack_data is None:
            self._send_ack(peer, ack)

    # ------------------------------------------------------------------ requests on a leg

    def _dest(self, leg: Leg) -> tuple:
        if leg.dest is None:
            target = leg.route_set[0] if leg.route_set else leg.remote_target
            if target.startswith("<"):
                target = target[1 : target.index(">")]
            proto, ip, port = self.core.uri_destination(target)
            leg.dest = (ip, port)
            if leg.transport is None or leg.transport.proto != proto:
                leg.transport = self.core.pick_transport(proto, ip) or leg.transport
        return leg.dest

    def _build(
        self,
        leg: Leg,
        method: str,
        cseq: int,
        src: Any = None,
        body: bytes = b"",
        branch: str | None = None,
        extra: list[tuple[str, str]] | None = None,
    ) -> Request:
        headers = [
            ("Via", self.core.make_via(leg.transport, branch or new_branch())),
            ("Max-Forwards", "70"),
            ("From", leg.local_hdr),
            ("To", leg.remote_hdr),
            ("Call-ID", leg.call_id),
            ("CSeq", f"{cseq} {method}"),
        ]
        for r in leg.route_set:
            headers.append(("Route", r))
        headers.append(("Contact", leg.contact))
        if src is not None:
            mf = src.max_forwards
            if mf is not None and mf > 0:
                headers[1] = ("Max-Forwards", str(mf - 1))
            headers += self._passed(src, extra=("RAck",) if method == "PRACK" else ())
        if extra:
            headers += extra
        if body and not any(n == "Content-Type" for n, _ in headers):
            headers.append(("Content-Type", "application/sdp"))  # a peer may send SDP without Content-Type
        return Request(method, leg.remote_target, headers, body)

    def _send_request(
        self,
        leg: Leg,
        method: str,
        src: Any,
        srv: SrvRef | None,
        extra: list[tuple[str, str]] | None = None,
        body: bytes | None = None,
    ) -> CliRef | None:
        try:
            dest = self._dest(leg)
        except (OSError, SIPParseError, ValueError) as e:
            self.log.error(f"b2b: cannot resolve the target of {leg.key}: {e}", "b2b_entities")
            if srv is not None:
                self._reply(srv, 500, "Server Internal Error")
            return None
        leg.local_cseq += 1
        if body is None:
            body = src.body if src is not None else b""
        req = self._build(leg, method, leg.local_cseq, src, body, extra=extra)
        cli = CliRef(leg, srv, leg.transport, method, leg.local_cseq)
        txn = self.layer.new_client_transaction(req, dest, self.now(), transport=leg.transport.proto.upper())
        txn.user_data = cli
        cli.txn = txn
        if srv is not None:
            srv.cli = cli
        return cli

    def _send_ack(self, leg: Leg, src: Any, sdp: tuple | None = None) -> None:
        """The ACK for the 2xx `leg` sent us; its body comes from `src` (a message) or `sdp` (body, type)."""
        try:
            self._dest(leg)
        except (OSError, SIPParseError, ValueError) as e:
            self.log.error(f"b2b: cannot send ACK on {leg.key}: {e}", "b2b_entities")
            return
        extra = None
        body = src.body if src is not None else b""
        if sdp is not None and sdp[0]:
            body = sdp[0]
            extra = [("Content-Type", sdp[1] or "application/sdp")]
        req = self._build(leg, "ACK", leg.ack_cseq or leg.local_cseq, src, body, extra=extra)
        data = req.to_bytes()
        leg.ack_data = data
        self._send_raw(leg, data)

    def _send_raw(self, leg: Leg, data: bytes) -> None:
        if leg.dest is not None and leg.transport is not None:
            leg.transport.send(data, leg.dest)

    def _send_bye(self, leg: Leg) -> None:
        if leg.state == ENDED:
            return
        leg.state = ENDED
        self._send_request(leg, "BYE", None, None)

    def _in_dialog(self, leg: Leg, req: Request, addr: tuple, transport: Any, now: float) -> None:
        layer = self.layer
        method = req.method
        if method == "CANCEL":
            self._in_dialog_cancel(leg, req, addr, transport, now)
            return
        rdest = self.core.response_destination(req.via, addr) if transport.proto == "udp" else addr
        txn = layer.new_server_transaction(
            req, addr, now, transport=transport.proto.upper(), response_dest=rdest
        )
        srv = SrvRef(leg, req, txn, transport)
        txn.user_data = srv
        # OpenSIPS does not enforce CSeq order inside b2b dialogs (sipssert b2b/28 sends BYE 2 after INVITE 3)
        cseq = req.cseq.number
        if leg.remote_cseq is None or cseq > leg.remote_cseq:
            leg.remote_cseq = cseq
        if method == "INVITE":
            self._reply(srv, 100, "Trying")
        tup = leg.tup
        if tup.ended:
            self._reply(srv, 481, "Call/Transaction Does Not Exist")
            return
        if method == "PRACK" and not self.passthru_prack:
            # the other leg's reliable 1xx was PRACKed by us already (OpenSIPS dlg.c, passthru_prack=0)
            self._reply(srv, 200, "OK")
            return
        if tup.req_route is not None and tup.bridge is None:
            call = B2BCall(self, tup, leg, srv, None, req)
            if self._run_route(tup.req_route, req, call, addr, transport):
                return
        if tup.xml is not None and tup.bridge is None and self._xml_request(leg, srv, req):
            return
        self._pass(leg, srv, req)

    def _pass(self, leg: Leg, srv: SrvRef, req: Request) -> int:
        """The default handling of an in-dialog request: pass it to the peer entity (b2b_pass_request)."""
        method = req.method
        peer = leg.peer
        if peer is None or peer.state == ENDED:
            if method == "BYE":
                # OpenSIPS: a BYE with no peer is answered locally and the entity is gone
                self._reply(srv, 200, "OK")
                br = leg.tup.bridge
                leg.state = ENDED
                self._delete_entity(leg)
                if br is not None and br.initiator is leg:
                    # the transferor hung up before the transfer completed: the whole session ends
                    self._terminate(leg.tup)
                return 1
            self._reply(srv, 481, "Call/Transaction Does Not Exist")
            return -1
        if method == "BYE":
            self._on_bye(leg, peer, srv, req)
            return 1
        if method == "INVITE" and leg.inv_srv is not None:
            # RFC 3261 14.2: a second INVITE from the same side before the first one got its final reply
            self._reply(srv, 500, "Server Internal Error", extra=[("Retry-After", "1")])
            return -1
        if method in _GLARE_METHODS and self._offer_pending(leg, peer, method == "INVITE"):
            self._reply(srv, 491, "Request Pending")
            return -1
        if peer.remote_tag is None and not peer.server:
            self._reply(srv, 481, "Call/Transaction Does Not Exist")
            return -1
        if method == "INVITE" or method == "UPDATE":
            self._refresh_target(leg, req)
        cli = self._send_request(peer, method, req, srv)
        if cli is None:
            return -1
        if method == "INVITE":
            leg.inv_srv = srv
            peer.inv_cli = cli
        return 1

    @staticmethod
    def _offer_pending(leg: Leg, peer: Leg, initial_counts: bool) -> bool:
        """An INVITE is in progress on the tuple (RFC 3261 14.2 / RFC 3311 5.2: answer 491). The initial INVITE
        blocks a re-INVITE but not an early-dialog UPDATE."""
        for x in (leg, peer):
            cli = x.inv_cli
            if cli is not None and (initial_counts or not cli.initial):
                return True
            srv = x.inv_srv
            if srv is not None and (initial_counts or srv.cli is None or not srv.cli.initial):
                return True
        return False

    def _on_bye(self, leg: Leg, peer: Leg, srv: SrvRef, req: Request) -> None:
        tup = leg.tup
        leg.state = ENDED
        self._stop_ack_wait(leg)
        self._stop_ack_wait(peer)
        if peer.state == CONFIRMED:
            peer.state = ENDED
            if self._send_request(peer, "BYE", req, srv) is None:
                self._reply(srv, 200, "OK")
        else:
            self._end_leg(peer)
            self._reply(srv, 200, "OK")
        if leg.inv_srv is not None and not leg.inv_srv.final:
            self._reply(leg.inv_srv, 487, "Request Terminated")
        self._end_tuple(tup)

    def _in_dialog_cancel(self, leg: Leg, req: Request, addr: tuple, transport: Any, now: float) -> None:
        itxn = self.layer.find_invite_for_cancel(req)
        rdest = self.core.response_destination(req.via, addr) if transport.proto == "udp" else addr
        txn = self.layer.new_server_transaction(
            req, addr, now, transport=transport.proto.upper(), response_dest=rdest
        )
        srv = SrvRef(leg, req, txn, transport)
        txn.user_data = srv
        if itxn is None or type(itxn.user_data) is not SrvRef:
            self._reply(srv, 481, "Call/Transaction Does Not Exist")
            return
        self._reply(srv, 200, "OK")
        isrv: SrvRef = itxn.user_data
        if not isrv.final and isrv.cli is not None and isrv.cli.txn is not None:
            self.layer.cancel(isrv.cli.txn, now, [("Reason", v) for v in req.get_headers("Reason")])

    def _on_cancel(self, isrv: SrvRef, req: Request, addr: tuple, transport: Any, now: float) -> None:
        """CANCEL of the initial INVITE: 200 to the CANCEL, 487 to the INVITE, CANCEL on the client leg."""
        s = isrv.leg
        rdest = self.core.response_destination(req.via, addr) if transport.proto == "udp" else addr
        txn = self.layer.new_server_transaction(
            req, addr, now, transport=transport.proto.upper(), response_dest=rdest
        )
        srv = SrvRef(s, None, txn, transport)
        txn.user_data = srv
        resp = make_response(req, 200, "OK", to_tag=s.local_tag)
        srv.final = True
        self.layer.send_response(txn, resp, now)
        if isrv.final:
            return
        self._reply(isrv, 487, "Request Terminated")
        tup = s.tup
        tup.cancelled = True
        cli = isrv.cli
        if cli is not None and cli.txn is not None and cli.leg.state == EARLY:
            self.layer.cancel(cli.txn, now, [("Reason", v) for v in req.get_headers("Reason")])
        self._end_tuple(tup)

    # ------------------------------------------------------------------ the 3.2+ script API

    def _run_route(self, route: str, msg: Any, call: B2BCall, addr: tuple, transport: Any) -> bool:
        """Run a b2b_logic request/reply route on `msg`; False when the script has no such route."""
        program = self.core.program
        if program is None or ("request", route) not in program.routes:
            self.log.error(
                f"b2b: route[{route}] is not defined; handling the message by default", "b2b_logic"
            )
            return False
        from pysips.script.context import Context

        core = self.core
        ctx = Context(
            msg,
            src=addr,
            proto=transport.proto,
            local=transport.local,
            env=core.env,
            vars=core.vars,
            shv=core.shv,
            req=msg if msg.is_request else None,
        )
        ctx.transport = transport
        ctx.b2b = call
        try:
            program.run("request", route, ctx)
        except (ScriptRuntimeError, PysipsError) as e:
            self.log.error(f"script error in route[{route}]: {e}", "b2b_logic")
        return True

    @staticmethod
    def current(ctx: Any) -> B2BCall | None:
        return getattr(ctx, "b2b", None)

    def tuple_of(self, ctx: Any) -> Tuple | None:
        call = getattr(ctx, "b2b", None)
        if call is not None:
            return call.tup
        key = getattr(ctx, "b2b_key", None)
        return self.tuples.get(key) if key else None

    def new_server(self, ctx: Any, eid: str, adv_contact: str | None = None) -> int:
        req = ctx.msg
        if req is None or not req.is_request or req.method != "INVITE" or req.to.tag is not None:
            self.log.error("b2b_server_new: must be called on an initial INVITE", "b2b_logic")
            return -1
        ctx.b2b_server = (eid, adv_contact or None)
        return 1

    def new_client(
        self,
        ctx: Any,
        eid: str,
        dest: str,
        proxy: str | None = None,
        dname: str | None = None,
        adv_contact: str | None = None,
    ) -> int:
        dest = dest.strip()
        if dest.startswith("<") and ">" in dest:
            dest = dest[1 : dest.index(">")]  # a name-addr, e.g. $hdr(Refer-To)
        try:
            parse_uri(dest)
            if proxy:
                self.core.dest_destination(proxy)
        except (SIPParseError, OSError, ValueError) as e:
            self.log.error(f"b2b_client_new({eid!r}): bad destination: {e}", "b2b_logic")
            return -1
        clients = getattr(ctx, "b2b_clients", None)
        if clients is None:
            clients = ctx.b2b_clients = {}
        clients[eid] = ClientSpec(eid, dest, proxy, dname, adv_contact)
        return 1

    def pass_request(self, ctx: Any) -> int:
        call = self.current(ctx)
        if call is None or call.srv is None or call.done:
            return -1
        call.done = True
        rc = self._pass(call.leg, call.srv, call.msg)
        return rc

    def handle_reply(self, ctx: Any) -> int:
        call = self.current(ctx)
        if call is None or call.cli is None or call.done:
            return -1
        call.done = True
        self._handle_reply(call.cli, call.msg)
        return 1

    def send_reply(
        self, ctx: Any, code: int, reason: str, headers: str | None = None, body: str | bytes | None = None
    ) -> int:
        call = self.current(ctx)
        if call is None or call.srv is None or call.srv.final:
            return -1
        extra = []
        for line in (headers or "").replace("\r\n", "\n").split("\n"):
            name, sep, value = line.partition(":")
            if sep and name.strip():
                extra.append((name.strip(), value.strip()))
        if isinstance(body, str):
            body = body.encode()
        self._reply(call.srv, int(code), reason, body=body or b"", extra=extra)
        return 1

    def delete_entity(self, ctx: Any) -> int:
        call = self.current(ctx)
        if call is None:
            return -1
        self._delete_entity(call.leg)
        return 1

    def end_dlg_leg(self, ctx: Any) -> int:
        call = self.current(ctx)
        if call is None:
            return -1
        self._end_leg(call.leg)
        self._delete_entity(call.leg)
        return 1

    def _delete_entity(self, leg: Leg) -> None:
        tup = leg.tup
        self._stop_ack_wait(leg)
        leg.state = ENDED
        if self.dialogs.get((leg.call_id, leg.local_tag)) is leg:
            del self.dialogs[(leg.call_id, leg.local_tag)]
        for eid, other in list(tup.ents.items()):
            if other is leg:
                del tup.ents[eid]
        peer = leg.peer
        if peer is not None and peer.peer is leg:
            peer.peer = None
        leg.peer = None
        if all(x is None or x.state == ENDED for x in (tup.server, tup.client, *tup.ents.values())):
            self._end_tuple(tup)

    def bridge(
        self, ctx: Any, e1: str, e2: str, provmedia: str | None = None, flags: str | None = None
    ) -> int:
        """b2b_bridge(entity1, entity2): connect an existing, confirmed entity with a new client entity."""
        call = self.current(ctx)
        if call is None:
            self.log.error("b2b_bridge: only in a b2b_logic route", "b2b_logic")
            return -1
        tup = call.tup
        clients = getattr(ctx, "b2b_clients", None) or {}

        def resolve(e: str) -> Any:
            if e == "this":
                return call.leg
            if e == "peer":
                return call.leg.peer or call.peer
            leg = tup.ents.get(e)
            if leg is not None and leg.state != ENDED:
                return leg
            return clients.get(e)

        a, b = resolve(str(e1)), resolve(str(e2))
        old, spec = (a, b) if isinstance(b, ClientSpec) else (b, a)
        if not isinstance(old, Leg) or not isinstance(spec, ClientSpec):
            self.log.error(
                f"b2b_bridge({e1!r}, {e2!r}): need an existing entity and a new client", "b2b_logic"
            )
            return -1
        if old.state != CONFIRMED or tup.bridge is not None or tup.ended:
            self.log.error(f"b2b_bridge: entity {old.eid or old.key} cannot be bridged now", "b2b_logic")
            return -1
        max_duration = None
        notify = rollback = no_late = hold = False
        for item in (flags or "").split(","):
            name, _, value = item.strip().partition("=")
            if name == "max_duration" and value.strip().isdigit():
                max_duration = int(value)
            elif name == "notify":
                notify = True
            elif name == "rollback-failed":
                rollback = True
            elif name == "no-late-sdp":
                no_late = True
            elif name == "hold":
                hold = True
        new = None
        try:
            if provmedia:
                prov_spec = ClientSpec("", str(provmedia).strip("<>"), None, None, None)
                parse_uri(prov_spec.dest)
                core_dest = self.core.uri_destination(prov_spec.dest)
                if core_dest is None:
                    raise ValueError("no destination")
            elif hold:
                # the SDP the old entity's former peer gave it, with the media made inactive
                former = call.leg if call.leg is not old else call.peer
                hold_sdp = _hold_sdp((former.sdp if former is not None else None) or old.sdp)
                if hold_sdp is None:
                    raise ValueError("no SDP to put the old entity on hold with")
            else:
                new = self._new_client_leg(tup, spec, offer=old.sdp if no_late else None)
        except (SIPParseError, OSError, ValueError) as e:
            self.log.error(f"b2b_bridge: cannot reach {provmedia or spec.dest}: {e}", "b2b_logic")
            return -1
        clients.pop(spec.eid, None)
        br = Bridge(old, new, max_duration)
        br.spec = spec
        initiator = call.leg if call.leg is not old and call.leg.state != ENDED else None
        br.initiator = initiator
        br.notify = notify and initiator is not None
        br.rollback = rollback
        br.prev = (tup.server, tup.client)
        msg = call.msg
        br.refer_id = msg.cseq.number if msg is not None and msg.is_request else 0
        if br.notify:
            self._bridge_notify(br, None)
        tup.bridge = br
        tup.state = -1
        if old.peer is not None and old.peer.peer is old:
            old.peer.peer = None
        if new is None and hold:
            # hold: re-INVITE the old entity with its media inactive first, then call the new entity
            br.phase = "hold"
            old.peer = None
            cli = self._send_request(
                old, "INVITE", None, None, extra=[("Content-Type", hold_sdp[1])], body=hold_sdp[0]
            )
            if cli is None:
                self._terminate(tup)
                return -1
            cli.bridge = br
            old.inv_cli = cli
            self._flush()
            return 1
        if new is None:
            # provisional media: re-INVITE the old entity without SDP; its offer goes to the media server first,
            # then to the new entity, which replaces the media server when it answers
            br.prov_spec = prov_spec
            br.phase = "old_offer"
            old.peer = None
            cli = self._send_request(old, "INVITE", None, None, body=b"")
            if cli is None:
                self._terminate(tup)
                return -1
            cli.bridge = br
            old.inv_cli = cli
            self._flush()
            return 1
        new.inv_cli.bridge = br
        if no_late and old.sdp is not None:
            br.phase = "nl_new"
        old.peer = new
        new.peer = old
        tup.server, tup.client = old, new  # $b2b_logic.entity[0] / [1] after a bridge
        self._flush()
        return 1

    def bridge_retry(self, ctx: Any, eid: str) -> int:
        """b2b_bridge_retry(new_entity) in the reply route: the new entity of a bridge refused; call another."""
        call = self.current(ctx)
        if call is None or call.cli is None or call.cli.bridge is None or call.msg.status < 300:
            self.log.error("b2b_bridge_retry: only for a negative reply of a bridged entity", "b2b_logic")
            return -1
        br: Bridge = call.cli.bridge
        spec = (getattr(ctx, "b2b_clients", None) or {}).get(eid)
        if spec is None or call.leg is not br.new:
            self.log.error(f"b2b_bridge_retry: no new client entity {eid!r}", "b2b_logic")
            return -1
        call.done = True
        tup = call.tup
        failed = br.new
        if failed.inv_cli is call.cli:
            failed.inv_cli = None
        failed.state = ENDED
        try:
            new = self._new_client_leg(tup, spec)
        except (SIPParseError, OSError, ValueError) as e:
            self.log.error(f"b2b_bridge_retry: cannot reach {spec.dest}: {e}", "b2b_logic")
            self._delete_entity(failed)
            self._terminate(tup)
            return -1
        ctx.b2b_clients.pop(eid, None)
        self._delete_entity(failed)
        br.new = new
        br.spec = spec
        new.inv_cli.bridge = br
        br.old.peer = new
        new.peer = br.old
        tup.server, tup.client = br.old, new
        self._flush()
        return 1

    def _new_client_leg(self, tup: Tuple, spec: ClientSpec, offer: Any = None) -> Leg:
        """A client entity for b2b_bridge: INVITE without SDP (the offer comes in its 2xx: late negotiation), or
        with the SDP of `offer` (provisional media)."""
        core = self.core
        ruri = parse_uri(spec.dest)
        proto, ip, port = core.dest_destination(spec.proxy) if spec.proxy else core.uri_destination(ruri)
        out_t = core.pick_transport(proto, ip)
        if out_t is None:
            raise ValueError(f"no socket for protocol {proto}")
        n = Leg(False, tup, self.keys.client_key(spec.dest), self.keys.from_tag())
        n.eid = spec.eid
        n.transport = out_t
        from_hdr = tup.from_hdr
        if spec.dname:
            uri_part = from_hdr[from_hdr.index("<") :]
            from_hdr = f'"{spec.dname.strip(chr(34))}" {uri_part}'
        n.local_hdr = f"{from_hdr};tag={n.local_tag}"
        to_uri = f"{ruri.scheme}:{ruri.user + '@' if ruri.user else ''}{ruri.host}"
        if ruri.port:
            to_uri += f":{ruri.port}"
        n.remote_hdr = f"<{to_uri}>"
        n.to_uri = to_uri
        n.from_uri = from_hdr[from_hdr.index("<") + 1 : from_hdr.index(">")]
        n.contact = self._contact(out_t)
        if spec.adv_contact:
            n.contact = spec.adv_contact if spec.adv_contact.startswith("<") else f"<{spec.adv_contact}>"
        n.local_cseq = 1
        headers = [
            ("Via", core.make_via(out_t, new_branch())),
            ("Max-Forwards", "70"),
            ("From", n.local_hdr),
            ("To", n.remote_hdr),
            ("Call-ID", n.call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", n.contact),
        ]
        body = b""
        if isinstance(offer, tuple):  # (body, content type) remembered from a leg
            if offer[0]:
                body = offer[0]
                headers.append(("Content-Type", offer[1] or "application/sdp"))
        elif offer is not None and offer.body:
            body = offer.body
            headers.append(("Content-Type", offer.get_header("Content-Type") or "application/sdp"))
        if spec.headers:
            headers += spec.headers
        out = Request("INVITE", spec.dest, headers, body)
        cli = CliRef(n, None, out_t, "INVITE", 1, initial=True)
        n.inv_cli = cli
        self._arm_fr(cli, self.fr_timeout)
        txn = self.layer.new_client_transaction(out, (ip, port), self.now(), transport=out_t.proto.upper())
        txn.user_data = cli
        cli.txn = txn
        if spec.eid:
            tup.ents[spec.eid] = n
        self.dialogs[(n.call_id, n.local_tag)] = n
        if self.persist is not None:
            self.persist.touch(tup)
        return n

    def _bridge_notify(self, br: Bridge, resp: Response | None) -> None:
        """RFC 3515 progress of a transfer to the entity that asked for it (OpenSIPS send_bridge_notify)."""
        ini = br.initiator
        if ini is None or ini.state == ENDED:
            return
        event = f"refer;id={br.refer_id}" if br.refer_id else "refer"
        if resp is None:
            state, frag = "active;expires=60", "SIP/2.0 100 Trying"
        else:
            state, frag = "terminated;reason=noresource", f"SIP/2.0 {resp.status} {resp.reason}"
        extra = [("Event", event), ("Content-Type", "message/sipfrag"), ("Subscription-State", state)]
        self._send_request(ini, "NOTIFY", None, None, extra=extra, body=frag.encode())

    def _rollback(self, br: Bridge) -> None:
        """rollback-failed: the new entity refused; the old one stays with whom it talked to before."""
        tup = br.old.tup
        new = br.new
        new.state = ENDED
        self._delete_entity(new)
        prev_server, prev_client = br.prev
        tup.server, tup.client = prev_server, prev_client
        other = br.initiator if br.initiator is not None and br.initiator.state != ENDED else None
        br.old.peer = other
        if other is not None:
            other.peer = br.old
        tup.bridge = None
        tup.state = 0

    def _bridge_reply_prov(self, cli: CliRef, resp: Response) -> None:
        """b2b_bridge with a provisional media server (see bridge())."""
        br: Bridge = cli.bridge
        status = resp.status
        leg = cli.leg
        tup = br.old.tup
        if br.phase in ("rb_old", "rb_ini"):
            self._rollback_reply(br, cli, resp)
            return
        if status < 200:
            if leg is not br.old and resp.to.tag is not None and leg.state == EARLY:
                self._learn_remote(leg, resp, early=True)
            return
        if leg.inv_cli is cli:
            leg.inv_cli = None
        if status < 300 and leg.ack_cseq == cli.cseq:
            if leg.ack_data is not None:
                self._send_raw(leg, leg.ack_data)
            return
        if status < 300:
            if leg is not br.old:
                self._learn_remote(leg, resp, early=False)
                leg.state = CONFIRMED
            leg.ack_cseq = cli.cseq
            leg.ack_data = None
        if leg is br.old:
            if status >= 300 or tup.ended:
                self._terminate(tup)
                return
            if br.phase == "old_offer":
                br.offer = resp
                try:
                    br.prov = self._new_client_leg(tup, br.prov_spec, offer=resp)
                except (SIPParseError, OSError, ValueError) as e:
                    self.log.error(f"b2b_bridge: provisional media unreachable: {e}", "b2b_logic")
                    self._terminate(tup)
                    return
                br.prov.inv_cli.bridge = br
                br.phase = "prov"
                return
            # the old entity took the new entity's SDP: the bridge is complete
            self._send_ack(leg, None)
            self._bridge_done(br)
            return
        if leg is br.prov:
            if status >= 300:
                br.prov = None
                leg.state = ENDED
                self._delete_entity(leg)
                self._send_ack(br.old, None)
            else:
                self._send_ack(leg, None)
                self._send_ack(br.old, resp)
            try:
                br.new = self._new_client_leg(tup, br.spec, offer=br.offer)
            except (SIPParseError, OSError, ValueError) as e:
                self.log.error(f"b2b_bridge: cannot reach {br.spec.dest}: {e}", "b2b_logic")
                self._terminate(tup)
                return
            br.new.inv_cli.bridge = br
            br.phase = "new"
            return
        # the new entity answered
        if br.notify:
            self._bridge_notify(br, resp)
        prov = br.prov
        if status >= 300:
            if prov is not None:
                self._end_leg(prov)
                self._delete_entity(prov)
            leg.state = ENDED
            self._delete_entity(leg)
            if br.rollback and br.old.state == CONFIRMED:
                ini = br.initiator if br.initiator is not None and br.initiator.state == CONFIRMED else None
                self._rollback(br)
                if ini is not None:
                    # the old entity was moved to the media server: renegotiate it with its former peer
                    rb = Bridge(br.old, ini, None)
                    rb.prov_spec = br.prov_spec
                    rb.phase = "rb_old"
                    cli2 = self._send_request(br.old, "INVITE", None, None, body=b"")
                    if cli2 is not None:
                        cli2.bridge = rb
                        br.old.inv_cli = cli2
            else:
                self._terminate(tup)
            return
        self._send_ack(leg, None)
        ini = br.initiator
        if ini is not None and ini is not br.old and ini.state != ENDED:
            self._end_leg(ini)
            self._delete_entity(ini)
        if prov is not None:
            self._end_leg(prov)
            self._delete_entity(prov)
            br.prov = None
        cli2 = self._send_request(br.old, "INVITE", resp, None)
        if cli2 is None:
            self._terminate(tup)
            return
        cli2.bridge = br
        br.old.inv_cli = cli2
        br.phase = "old_final"

    def _bridge_reply_hold(self, br: Bridge, cli: CliRef, resp: Response) -> None:
        """The old entity accepted (or refused) to be put on hold: ACK it, then call the new entity (late SDP)."""
        status = resp.status
        leg = cli.leg
        tup = br.old.tup
        if status < 200:
            return
        if leg.inv_cli is cli:
            leg.inv_cli = None
        if status >= 300:
            self._terminate(tup)
            return
        if leg.ack_cseq == cli.cseq:
            if leg.ack_data is not None:
                self._send_raw(leg, leg.ack_data)
            return
        leg.ack_cseq = cli.cseq
        leg.ack_data = None
        self._send_ack(leg, None)
        try:
            new = self._new_client_leg(tup, br.spec)
        except (SIPParseError, OSError, ValueError) as e:
            self.log.error(f"b2b_bridge: cannot reach {br.spec.dest}: {e}", "b2b_logic")
            self._terminate(tup)
            return
        br.new = new
        br.phase = "new"
        new.inv_cli.bridge = br
        br.old.peer = new
        new.peer = br.old
        tup.server, tup.client = br.old, new

    def _bridge_reply_nolate(self, br: Bridge, cli: CliRef, resp: Response) -> None:
        """no-late-sdp, after the new entity answered: the old entity's fresh offer (nl_old) is sent to the new
        entity (nl_reneg); the new entity's answer ACKs both."""
        status = resp.status
        leg = cli.leg
        tup = br.old.tup
        if status < 200:
            return
        if leg.inv_cli is cli:
            leg.inv_cli = None
        if status == 491 and br.phase == "nl_reneg":
            # the new entity is renegotiating itself (OpenSIPS: ACK the old entity with the SDP the new one
            # answered first, consider the bridge done; the new entity's re-INVITE then passes through)
            self._send_ack(br.old, None, sdp=br.new.sdp)
            self._bridge_done(br)
            # OpenSIPS retries the renegotiation after 2.1 s unless an INVITE between the two succeeds first
            tup.retry = self.timers.schedule(self.now() + 2.1, lambda _n, b=br: self._bridge_retry(b))
            return
        if status >= 300:
            self._terminate(tup)
            return
        if leg.ack_cseq == cli.cseq:
            if leg.ack_data is not None:
                self._send_raw(leg, leg.ack_data)
            return
        leg.ack_cseq = cli.cseq
        leg.ack_data = None
        if br.phase == "nl_old":
            cli2 = self._send_request(br.new, "INVITE", resp, None)
            if cli2 is None:
                self._terminate(tup)
                return
            cli2.bridge = br
            br.new.inv_cli = cli2
            br.phase = "nl_reneg"
            return
        self._send_ack(leg, None)
        self._send_ack(br.old, resp)
        self._bridge_done(br)

    def _rollback_reply(self, br: Bridge, cli: CliRef, resp: Response) -> None:
        """Re-connect the old entity with its former peer after a failed bridge through provisional media: the
        old entity's offer (re-INVITE without SDP) goes to the peer in a re-INVITE; its answer ACKs both."""
        status = resp.status
        leg = cli.leg
        if status < 200:
            return
        if leg.inv_cli is cli:
            leg.inv_cli = None
        if status >= 300:
            self._terminate(leg.tup)
            return
        if leg.ack_cseq == cli.cseq:
            if leg.ack_data is not None:
                self._send_raw(leg, leg.ack_data)
            return
        leg.ack_cseq = cli.cseq
        leg.ack_data = None
        if br.phase == "rb_old":
            cli2 = self._send_request(br.new, "INVITE", resp, None)
            if cli2 is None:
                self._terminate(leg.tup)
                return
            cli2.bridge = br
            br.new.inv_cli = cli2
            br.phase = "rb_ini"
            return
        self._send_ack(leg, None)
        self._send_ack(br.old, resp)

    def _bridge_retry(self, br: Bridge) -> None:
        tup = br.old.tup
        tup.retry = None
        if tup.ended or tup.bridge is not None or br.old.state != CONFIRMED or br.new.state != CONFIRMED:
            return
        if br.old.inv_cli is not None or br.old.inv_srv is not None or br.new.inv_cli is not None:
            return
        cli = self._send_request(br.old, "INVITE", None, None, body=b"")
        if cli is None:
            return
        tup.bridge = br
        tup.state = -1
        cli.bridge = br
        br.old.inv_cli = cli
        br.phase = "nl_old"
        self._flush()

    def _bridge_done(self, br: Bridge) -> None:
        tup = br.old.tup
        br.old.peer = br.new
        br.new.peer = br.old
        tup.server, tup.client = br.old, br.new
        tup.bridge = None
        tup.state = 0
        self.timers.cancel(tup.timer)
        tup.lifetime = self.now() + (br.max_duration or self.max_duration)
        tup.timer = self.timers.schedule(tup.lifetime, lambda _n, t=tup: self._lifetime_expired(t))

    def _bridge_reply(self, cli: CliRef, resp: Response) -> None:
        br: Bridge = cli.bridge
        if br.phase in ("of_old", "of_new", "of_init", "of_reinv"):
            self._offer_bridge_reply(br, cli, resp)
            return
        if br.prov_spec is not None:
            self._bridge_reply_prov(cli, resp)
            return
        if br.phase in ("nl_old", "nl_reneg"):
            self._bridge_reply_nolate(br, cli, resp)
            return
        if br.phase == "hold":
            self._bridge_reply_hold(br, cli, resp)
            return
        status = resp.status
        if status == 100:
            return
        tup = br.old.tup
        leg = cli.leg
        if status >= 200 and leg.inv_cli is cli and status >= 300:
            leg.inv_cli = None
        if leg is br.new:
            if status < 200:
                tag = resp.to.tag
                if tag is not None and leg.remote_tag != tag and leg.state == EARLY:
                    self._learn_remote(leg, resp, early=True)
                return
            if status >= 300:
                self.log.info(f"b2b: bridging {leg.eid} failed with {status}", "b2b_logic")
                if br.notify:
                    self._bridge_notify(br, resp)
                if br.rollback and br.old.state == CONFIRMED:
                    self._rollback(br)
                    return
                leg.state = ENDED
                self._terminate(tup)
                return
            if leg.ack_cseq == cli.cseq:
                if leg.ack_data is not None:
                    self._send_raw(leg, leg.ack_data)
                return
            leg.inv_cli = None
            self._learn_remote(leg, resp, early=False)
            leg.state = CONFIRMED
            leg.ack_cseq = cli.cseq
            leg.ack_data = None
            if br.notify:
                self._bridge_notify(br, resp)
            ini = br.initiator
            if ini is not None and ini is not br.old and ini.state != ENDED:
                # OpenSIPS ends the bridge initiator (the REFER sender) once the new entity answered
                self._end_leg(ini)
                self._delete_entity(ini)
            if tup.ended or br.old.state != CONFIRMED or tup.bridge is not br:
                self._send_ack(leg, None)
                self._send_bye(leg)
                return
            if br.phase == "nl_new":
                # no-late-sdp: the new entity answered the old entity's last SDP; ask the old one for a fresh offer
                self._send_ack(leg, None)
                cli2 = self._send_request(br.old, "INVITE", None, None, body=b"")
                if cli2 is None:
                    self._terminate(tup)
                    return
                cli2.bridge = br
                br.old.inv_cli = cli2
                br.phase = "nl_old"
                return
            # the new entity's offer goes to the old one in a re-INVITE; its answer completes both legs
            cli2 = self._send_request(br.old, "INVITE", resp, None)
            if cli2 is None:
                self._terminate(tup)
                return
            cli2.bridge = br
            br.old.inv_cli = cli2
            return
        # the old entity's answer to our re-INVITE
        if status < 200:
            return
        if status >= 300:
            self.log.info(
                f"b2b: re-INVITE of {leg.eid or leg.key} failed with {status}; ending the call", "b2b_logic"
            )
            self._terminate(tup)
            return
        if leg.ack_cseq == cli.cseq:
            if leg.ack_data is not None:
                self._send_raw(leg, leg.ack_data)
            return
        leg.inv_cli = None
        leg.ack_cseq = cli.cseq
        leg.ack_data = None
        self._send_ack(leg, None)
        self._send_ack(br.new, resp)
        tup.bridge = None
        tup.state = 0
        self.timers.cancel(tup.timer)
        tup.lifetime = self.now() + (br.max_duration or self.max_duration)
        tup.timer = self.timers.schedule(tup.lifetime, lambda _n, t=tup: self._lifetime_expired(t))

    # ------------------------------------------------------------------ ending legs and tuples

    def _stop_ack_wait(self, leg: Leg) -> None:
        """Stop waiting for an ACK on `leg`; the leg whose 2xx we relayed still gets its ACK (before any BYE)."""
        if leg.ack_wait is not None:
            leg.ack_wait = None
            self.timers.cancel(leg.ack_timer)
            peer = leg.ack_peer
            leg.ack_timer = None
            leg.ack_resp = None
            leg.ack_srv = None
            leg.ack_peer = None
            if peer is not None and peer.ack_data is None and peer.ack_cseq is not None:
                self._send_ack(peer, None)

    def _end_leg(self, leg: Leg) -> None:
        """Close one leg whatever its state: BYE when confirmed; an early client leg is CANCELled and an
        unanswered caller gets 408 (OpenSIPS dlg.c: "BYE" on an unconfirmed dialog)."""
        if leg.state == ENDED:
            return
        self._stop_ack_wait(leg)
        if leg.state == CONFIRMED:
            self._send_bye(leg)
            return
        leg.state = ENDED
        if leg.server:
            if leg.inv_srv is not None and not leg.inv_srv.final:
                self._reply(leg.inv_srv, 408, "Request Timeout")
        elif leg.inv_cli is not None and leg.inv_cli.txn is not None:
            self.layer.cancel(leg.inv_cli.txn, self.now())

    def _terminate(self, tup: Tuple) -> None:
        """Tear the whole call down (timeouts, MI b2b_terminate_call)."""
        for leg in (tup.server, tup.client):
            if leg is not None:
                self._end_leg(leg)
        self._end_tuple(tup)

    def _end_tuple(self, tup: Tuple) -> None:
        if tup.ended:
            return
        tup.ended = True
        if self.persist is not None:
            self.persist.touch(tup)
        self.timers.cancel(tup.timer)
        tup.timer = None
        self.timers.cancel(tup.retry)
        tup.retry = None
        dialogs = self.dialogs
        for leg in {tup.server, tup.client, *tup.ents.values()}:
            if leg is not None:
                self._stop_ack_wait(leg)
                if dialogs.get((leg.call_id, leg.local_tag)) is leg:
                    del dialogs[(leg.call_id, leg.local_tag)]
        self.tuples.pop(tup.key, None)

    def _setup_expired(self, tup: Tuple) -> None:
        tup.timer = None
        if tup.ended or tup.state == 0:
            return
        self.log.info(f"b2b: tuple {tup.key} not answered within its setup timeout; terminating", "b2b_logic")
        self._terminate(tup)
        self._flush()

    def _lifetime_expired(self, tup: Tuple) -> None:
        tup.timer = None
        if tup.ended:
            return
        self.log.info(f"b2b: tuple {tup.key} reached max_duration; sending BYEs", "b2b_logic")
        self._terminate(tup)
        self._flush()

    # ------------------------------------------------------------------ MI helpers

    def terminate_call(self, key: str) -> bool:
        tup = self._find_tuple(key)
        if tup is None:
            return False
        self._terminate(tup)
        self._flush()
        return True

    def mi_bridge(self, key: str, new_uri: str, flag: int = 0, prov_media: str | None = None) -> bool:
        """MI b2b_bridge: keep the caller (flag 0) or the callee (flag 1), BYE the other side and bridge the kept
        entity to `new_uri` (optionally through provisional media)."""
        from types import SimpleNamespace

        tup = self._find_tuple(key)
        if tup is None or tup.bridge is not None:
            return False
        try:
            # OpenSIPS checks the new URI before touching the call (404 "Invalid uri for the new destination")
            parse_uri(new_uri.strip("<>"))
        except SIPParseError as e:
            raise ValueError(f"invalid uri {new_uri!r}: {e}") from None
        keep, drop = (tup.client, tup.server) if flag else (tup.server, tup.client)
        if keep is None or keep.state != CONFIRMED:
            return False
        if drop is not None and drop.state != ENDED:
            self._end_leg(drop)
            self._delete_entity(drop)
        ctx = SimpleNamespace(
            b2b=B2BCall(self, tup, keep, None, None, None),
            b2b_clients={"_mi": ClientSpec("_mi", new_uri, None, None, None)},
        )
        return self.bridge(ctx, "this", "_mi", prov_media or None) > 0

    def _find_tuple(self, key: str) -> Tuple | None:
        tup = self.tuples.get(key)
        if tup is None and key.count(";") == 2:
            callid, ftag, ttag = key.split(";")
            leg = self.dialogs.get((callid, ttag)) or self.dialogs.get((callid, ftag))
            tup = leg.tup if leg is not None else None
        return tup

    def list_tuples(self) -> list[dict]:
        """b2b_list (3.x JSON shape, 3.6 b2b_logic.c mi_b2b_list): the live server entities, the live client
        entities (in the order the tuple got them) and the bridged pair, each array numbered from 0."""
        out = []
        for tup in self.tuples.values():
            live = []
            for leg in (tup.server, tup.client, *tup.ents.values()):
                if (
                    leg is not None
                    and leg not in live
                    and self.dialogs.get((leg.call_id, leg.local_tag)) is leg
                ):
                    live.append(leg)
            servers = [x for x in live if x.server]
            clients = [x for x in live if not x.server]
            pair = [x for x in (tup.server, tup.client) if x is not None]
            out.append(
                {
                    "id": int(tup.key.split(".")[1]),
                    "key": tup.key,
                    "state": tup.state,
                    "lifetime": int(tup.lifetime),
                    "db_flag": 0,
                    "scenario": tup.scenario,
                    "SERVERS": [self._list_entity(x, i) for i, x in enumerate(servers)],
                    "CLIENTS": [self._list_entity(x, i) for i, x in enumerate(clients)],
                    "BRIDGE_ENTITIES": [self._list_entity(x, i) for i, x in enumerate(pair)],
                }
            )
        return out

    @staticmethod
    def _list_entity(leg: Leg, index: int) -> dict:
        e = {
            "index": index,
            "key": leg.key,
            "disconnected": 1 if leg.state == ENDED else 0,
            "state": leg.state,
            "no": index,
            "type": 0 if leg.server else 1,
            "to_uri": leg.to_uri,
            "from_uri": leg.from_uri,
        }
        if leg.eid:
            e["scenario_id"] = leg.eid
        if leg.peer is not None:
            e["peer"] = leg.peer.key
        return e
