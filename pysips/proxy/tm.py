"""The stateful forwarding engine behind the tm module (t_relay, t_reply, failure_route, onreply_route).

One server transaction (the request as received) owns N branches, each a client transaction towards one
destination (RFC 3261 section 16). Replies from the branches are run through onreply_route and relayed upstream;
when every branch has a final reply the best one is picked (16.7), failure_route may fork again (serial forking),
and otherwise the best reply goes upstream. fr_timeout / fr_inv_timeout bound how long a branch may stay silent or
ring, as in OpenSIPS (a local 408 is synthesized and a ringing branch is CANCELled).

Everything runs inside the trio loop but nothing here awaits: the sans-IO transaction layer returns events that
are dispatched to the transports at once, and the layer's timers live in the process timer heap.
"""

from __future__ import annotations

from typing import Any

import trio

from pysips.errors import PysipsError, ScriptRuntimeError, SIPParseError
from pysips.net.timers import SansIOTimer, TimerHeap
from pysips.script.context import Context
from pysips.sip.message import Request, Response, make_response
from pysips.sip.transaction import (
    SendEvent,
    TerminatedEvent,
    TimeoutEvent,
    TimerConfig,
    Transaction,
    TransactionLayer,
    TransportErrorEvent,
    new_branch,
)

NO_DNS_FAILOVER = 0x04  # t_relay flag "no-dns-failover" (pysips.modules.tm.T_RELAY_FLAGS)


def _int(v: Any, default: int) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


class UAS:
    """State tm keeps for a server transaction (``txn.user_data``)."""

    __slots__ = (
        "txn",
        "req",
        "transport",
        "src",
        "branches",
        "ctx",
        "on_failure",
        "on_reply",
        "on_branch",
        "final_sent",
        "cancelled",
        "local_replied",
        "failure_ran",
        "ext",
        "fr_inv",
    )

    def __init__(self, txn: Transaction, req: Request, transport: Any, src: tuple) -> None:
        self.txn = txn
        self.req = req
        self.transport = transport
        self.src = src
        self.branches: list[Branch] = []
        self.ctx: Any = None
        self.on_failure: str | None = None
        self.on_reply: str | None = None
        self.on_branch: str | None = None
        self.final_sent = False
        self.cancelled = False
        self.local_replied: str | None = None  # "last" / "branch" ... for t_local_replied
        self.failure_ran = False
        self.fr_inv: float | None = None  # $T_fr_inv_timeout set by the script for this transaction
        self.ext: dict | None = None  # per-transaction state of other modules (dialog, topology_hiding)


class Branch:
    """One forwarded copy of the request (``txn.user_data`` of its client transaction)."""

    __slots__ = (
        "uas",
        "idx",
        "txn",
        "request",
        "transport",
        "dest",
        "code",
        "final",
        "local",
        "timer",
        "ringing",
        "uri",
        "alternatives",
    )

    def __init__(self, uas: UAS, idx: int, request: Request, transport: Any, dest: tuple, uri: str) -> None:
        self.uas = uas
        self.idx = idx
        self.txn: Transaction | None = None
        self.request = request
        self.transport = transport
        self.dest = dest
        self.code = 0  # last reply code seen on this branch
        self.final: Response | None = None
        self.local = False  # the final reply was synthesized here (408 timeout, 503 send failure)
        self.timer: Any = None
        self.ringing = False
        self.uri = uri
        # DNS failover: the destinations this branch moves on to after a 503 or a timeout without any reply
        self.alternatives: list[tuple[str, str, int]] = []


class TM:
    """Transactions of the proxy. The core calls absorb_request / on_response; the script's Env calls the rest."""

    def __init__(self, core: Any, timers: TimerHeap, script: Any = None) -> None:
        from pysips.server import modparam

        self.core = core
        self.log = core.log
        self.timers = timers
        self.layer = TransactionLayer(TimerConfig(), rfc6026=True)
        self.binding = SansIOTimer(timers, self.layer.get_timer, self._on_layer_timer)
        mp = (lambda name, d: modparam(script, "tm", name, d)) if script is not None else (lambda name, d: d)
        self.fr_timeout = _int(mp("fr_timeout", 5), 5)
        self.fr_inv_timeout = _int(mp("fr_inv_timeout", 120), 120)
        self.restart_fr = bool(_int(mp("restart_fr_on_each_reply", 1), 1))
        self.has_global_onreply = False
        self._nursery: Any = None
        # Transaction callbacks for other modules (OpenSIPS TMCB_*), run in registration order:
        #   request_out(uas, branch, out, ctx)  a request copy about to leave on a branch (our Via on top); may edit it
        #   reply_in(branch, resp)              a reply arrived on a branch, before onreply_route
        #   reply_out(uas, out)                 a reply about to be sent upstream (relayed or local); may edit it
        self.callbacks: dict[str, list] = {"request_out": [], "reply_in": [], "reply_out": []}

    def register(self, event: str, fn: Any) -> None:
        """Add a transaction callback (see ``callbacks``)."""
        self.callbacks[event].append(fn)

    def start(self, nursery: Any) -> None:
        self._nursery = nursery
        program = self.core.program
        self.has_global_onreply = program is not None and ("onreply", None) in getattr(program, "routes", {})

    async def drain(self, timeout: float) -> None:
        """On shutdown: let in-flight transactions finish, within `timeout` seconds."""
        with trio.move_on_after(timeout):
            while self.layer.server_count or self.layer.client_count:
                await trio.sleep(0.05)

    def on_send_error(self, proto: str, addr: tuple) -> None:
        """A TCP / TLS connection to `addr` could not be opened (refused, handshake failed) after its data was
        queued: the branches waiting on it fail now with a local 503 (DNS failover may move them on) instead of
        at their fr_timeout."""
        now = trio.current_time()
        dest = (addr[0], addr[1])
        for txn in self.layer.client_transactions():
            ud = txn.user_data
            if type(ud) is Branch and ud.final is None and ud.dest == dest and ud.transport.proto == proto:
                self.layer.transport_error(txn, now)
        self._flush()

    # ---------------------------------------------------------------- plumbing

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
            if type(ev) is SendEvent:
                ud = ev.txn.user_data
                transport = ud.transport if ud is not None else core.pick_transport(ev.transport.lower())
                if transport is None or not transport.send(ev.data, ev.dest):
                    if transport is not None and transport.proto != "udp":
                        self.layer.transport_error(ev.txn, trio.current_time())
            elif type(ev) is TerminatedEvent:
                # Break the reference cycles (txn <-> UAS/Branch, UAS <-> Context) so reference counting frees
                # a finished call at once instead of leaving ~200 objects per call to the cyclic GC.
                txn = ev.txn
                ud = txn.user_data
                txn.user_data = None
                if type(ud) is Branch:
                    if ud.timer is not None:
                        self.timers.cancel(ud.timer)
                        ud.timer = None
                    ud.txn = None
                elif type(ud) is UAS:
                    ctx = ud.ctx
                    if ctx is not None:
                        ctx.__dict__.pop("tm_uas", None)
                    ud.ctx = None
                    for b in ud.branches:
                        b.uas = None
                    ud.branches = []
            elif type(ev) is TimeoutEvent:
                ud = ev.txn.user_data
                if ev.timer in ("B", "F"):
                    if type(ud) is Branch:
                        self._branch_timeout(ud)
                    elif (
                        ud is not None
                        and getattr(ud, "on_reply", None) is not None
                        and ev.txn.request is not None
                    ):
                        ud.on_reply(ud, make_response(ev.txn.request, 408, "Request Timeout"))
            elif type(ev) is TransportErrorEvent:
                ud = ev.txn.user_data
                if type(ud) is Branch:
                    self._local_final(ud, 503, "Service Unavailable")
        if self.layer.has_events:
            self._dispatch(self.layer.take_events())

    def now(self) -> float:
        return trio.current_time()

    # ---------------------------------------------------------------- requests

    def absorb_request(self, req: Request, addr: tuple, transport: Any) -> bool:
        """Before the script: retransmissions and hop-by-hop ACKs end here (True)."""
        txn, absorbed = self.layer.receive_request(req, addr, self.now())
        if absorbed:
            self._flush()
            return True
        return False

    def server_txn(self, ctx: Any, create: bool = True) -> UAS | None:
        """The UAS state of the current request (t_newtran); created on demand."""
        uas = getattr(ctx, "tm_uas", None)
        if uas is not None or not create:
            return uas
        req: Request = ctx.msg
        if req.method == "ACK":
            return None
        layer = self.layer
        txn = layer.find_server(req)
        if txn is None:
            transport = ctx.transport
            src = (ctx.src_ip, ctx.src_port)
            dest = self.core.response_destination(req.via, src) if transport.proto == "udp" else src
            txn = layer.new_server_transaction(
                req, src, self.now(), transport=transport.proto.upper(), response_dest=dest
            )
            txn.user_data = UAS(txn, req, transport, src)
            self.core.stats["UAS_transactions"] += 1
        uas = txn.user_data
        uas.ctx = ctx
        ctx.tm_uas = uas
        return uas

    def t_newtran(self, ctx: Any) -> int:
        if ctx.msg.method == "ACK":
            return -1
        self.server_txn(ctx)
        return 1

    def t_check_trans(self, ctx: Any) -> int:
        req: Request = ctx.msg
        if req.method == "CANCEL":
            return 1 if self.layer.find_invite_for_cancel(req) is not None else -1
        txn = self.layer.find_server(req)
        if txn is None:
            return -1
        if req.method == "ACK":
            return 1 if (txn.last_status or 0) >= 300 else -2
        return 0  # a retransmission: the script stops

    def t_reply(self, ctx: Any, code: int, reason: str | None) -> int:
        uas = self.server_txn(ctx)
        if uas is None:
            return -1
        from pysips.proxy.env import reply_header_pairs

        return self.reply_uas(uas, code, reason, headers=reply_header_pairs(ctx))

    def reply_uas(
        self, uas: UAS, code: int, reason: str | None, headers: list | None = None, body: bytes = b""
    ) -> int:
        req = uas.req
        to_tag = self.core.to_tag if code > 100 and req.to.tag is None else None
        resp = make_response(req, code, reason, to_tag=to_tag, headers=headers or [], body=body)
        stats = self.core.stats
        if code >= 200:
            uas.final_sent = True
            uas.local_replied = "last"
            stats[_CLASS_STAT[code // 100]] += 1
        stats["local_replies"] += 1
        for cb in self.callbacks["reply_out"]:
            cb(uas, resp)
        ok = self.layer.send_response(uas.txn, resp, self.now())
        self._flush()
        self.core.stats["sent_replies"] += 1
        return 1 if ok else -1

    def relay(self, ctx: Any, flags: Any = None, outbound: str | None = None) -> int:
        """t_relay(): forward statefully to $du / $ru (and every appended branch)."""
        req: Request = ctx.msg
        core = self.core
        if req.method == "ACK":
            return core.forward_stateless(ctx, outbound)
        if req.method == "CANCEL":
            return self._relay_cancel(ctx)
        uas = self.server_txn(ctx)
        if uas is None:
            return -1
        if uas.final_sent:
            return -1
        for name in ("t_on_failure", "t_on_reply", "t_on_branch"):
            v = getattr(ctx, name, None)
            if v is not None:
                setattr(uas, name[2:], v)
        fr_inv = getattr(ctx, "t_fr_inv_timeout", None)
        if fr_inv:
            uas.fr_inv = fr_inv
        if req.method == "INVITE" and not uas.branches and not uas.txn.last_status:
            self.reply_uas(uas, 100, "Giving it a try")
        targets = [(ctx.msg.ruri, outbound or ctx.du)]
        for b in getattr(ctx, "_branches", None) or ():
            targets.append((b.uri, b.du))
        if getattr(ctx, "_branches", None):
            ctx.branches = []
        sent = 0
        last_err = -3
        failover = not (int(flags or 0) & NO_DNS_FAILOVER) and not self.core.settings.get(
            "disable_dns_failover"
        )
        for uri, du in targets:
            rc = self._new_branch(uas, ctx, req, uri, du, failover)
            if rc > 0:
                sent += 1
            else:
                last_err = rc
        self._flush()
        return 1 if sent else last_err

    def _new_branch(
        self, uas: UAS, ctx: Any, req: Request, uri: Any, du: str | None, failover: bool = False
    ) -> int:
        core = self.core
        try:
            if failover:
                dests = core.branch_destinations(du, uri)
                proto, ip, port = dests[0]
            else:
                dests = []
                proto, ip, port = core.dest_destination(du) if du else core.uri_destination(uri)
        except (OSError, SIPParseError, ValueError) as e:
            self.log.error(f"t_relay: bad destination {du or uri}: {e}", "tm")
            return -4
        force = getattr(ctx, "force_socket", None)
        transport = None
        if force:
            fproto, _, rest = force.partition(":")
            fhost, _, fport = rest.rpartition(":")
            for t in core.transports:
                if t.proto == fproto and t.local[0] == fhost.strip("[]") and str(t.local[1]) == fport:
                    transport = t
        if transport is None:
            transport = core.pick_transport(proto, ip)
        if transport is None:
            self.log.error(f"t_relay: no socket for protocol {proto}", "tm")
            return -4
        out = req.copy()
        if out.ruri is not uri and str(uri) != str(out.ruri):
            out.ruri = uri if not isinstance(uri, str) else _parse_uri(uri)
        if transport is not ctx.transport and getattr(ctx, "rr_added", None):
            self._double_rr(out, ctx, transport)
        out.push_via(core.make_via(transport, new_branch()))
        branch = Branch(uas, len(uas.branches), out, transport, (ip, port), str(uri))
        if len(dests) > 1:
            branch.alternatives = dests[1:]
        uas.branches.append(branch)
        for cb in self.callbacks["request_out"]:
            cb(uas, branch, out, ctx)
        if uas.on_branch:
            bctx = self._route_ctx(out, uas, "branch")
            bctx.du = du
            bctx.t_branch_idx = branch.idx
            bctx.t_branch_ruri = branch.uri
            self._run("branch", uas.on_branch, bctx)
            if bctx.dropped:
                branch.final = make_response(out, 500, "Branch Dropped")
                branch.local = True
                return -1
        now = self.now()
        txn = self.layer.new_client_transaction(out, (ip, port), now, transport=transport.proto.upper())
        txn.user_data = branch
        branch.txn = txn
        fr = getattr(ctx, "t_fr_timeout", None) or self.fr_timeout
        branch.timer = self.timers.schedule(now + fr, lambda _n, b=branch: self._fr_expired(b))
        core.stats["fwd_requests"] += 1
        return 1

    def replicate(self, ctx: Any, uri: str) -> int:
        """t_replicate(): a copy of the request statefully to `uri`; its replies are absorbed here."""
        core = self.core
        req: Request = ctx.msg
        try:
            proto, ip, port = core.dest_destination(uri)
        except (OSError, SIPParseError, ValueError) as e:
            self.log.error(f"t_replicate: bad destination {uri}: {e}", "tm")
            return -1
        transport = core.pick_transport(proto, ip)
        if transport is None:
            return -1
        out = req.copy()
        out.push_via(core.make_via(transport, new_branch()))
        txn = self.layer.new_client_transaction(
            out, (ip, port), self.now(), transport=transport.proto.upper()
        )
        txn.user_data = _Replica(transport)
        self._flush()
        return 1

    def cancel_branches(self, ctx: Any, which: str | None) -> int:
        """t_cancel_branch(): "a" all pending branches, "o" all but the current one, default the current one."""
        uas = getattr(ctx, "tm_uas", None)
        if uas is None:
            return -1
        current = getattr(ctx, "t_branch_idx", None)
        now = self.now()
        for b in uas.branches:
            if b.final is not None or b.txn is None:
                continue
            if which == "a" or (which == "o" and b.idx != current) or (not which and b.idx == current):
                self.layer.cancel(b.txn, now)
        self._flush()
        return 1

    def _double_rr(self, out: Request, ctx: Any, transport: Any) -> None:
        """The request leaves on another socket than it came in: record both (rr enable_double_rr, r2=on)."""
        from pysips.modules import rr
        from pysips.sip.headers import parse_name_addr

        if not rr._settings.get("enable_double_rr", 1) or len(ctx.rr_added) != 1:
            return
        top = out.pop_value("Record-Route")
        if top is None:
            return
        inbound = parse_name_addr(top)
        inbound.uri.set_param("r2", "on")
        outbound = parse_name_addr(str(inbound))
        host, port = self.core.advertised(transport)
        outbound.uri.host = host
        outbound.uri.port = port if port != 5060 else None
        if transport.proto == "udp":
            outbound.uri.remove_param("transport")
        else:
            outbound.uri.set_param("transport", transport.proto)
        out.push_value("Record-Route", str(inbound))
        out.push_value("Record-Route", str(outbound))

    def _relay_cancel(self, ctx: Any) -> int:
        req: Request = ctx.msg
        itxn = self.layer.find_invite_for_cancel(req)
        if itxn is None:
            return self.core.forward_stateless(ctx)
        uas = self.server_txn(ctx)  # the CANCEL's own transaction
        if uas is None:
            return -1
        self.reply_uas(uas, 200, "OK")
        iuas: UAS = itxn.user_data
        if iuas is None:
            return 1
        iuas.cancelled = True
        now = self.now()
        reason = [(n, v) for n in ("Reason",) for v in req.get_headers(n)]
        for b in iuas.branches:
            if b.final is None and b.txn is not None:
                self.layer.cancel(b.txn, now, reason)
        self._flush()
        if not iuas.branches and not iuas.final_sent:
            self.reply_uas(iuas, 487, "Request Terminated")
        return 1

    # ---------------------------------------------------------------- replies

    def on_response(self, resp: Response, addr: tuple, transport: Any) -> bool:
        """A reply arrived. False when no transaction knows it (the core forwards it along the Via)."""
        txn, absorbed = self.layer.receive_response(resp, addr, self.now())
        if txn is None:
            self._flush()
            return False
        if absorbed:
            self._flush()
            return True
        branch = txn.user_data
        if type(branch) is Branch and branch.uas is None:
            # the server side already ended (a late 2xx retransmission): forward it along the Via statelessly
            self._flush()
            return False
        if type(branch) is not Branch:
            # a reply to a request pysips generated (our CANCEL, a dialog module's PRACK / OPTIONS ping...)
            cb = getattr(branch, "on_reply", None)
            if cb is not None:
                cb(branch, resp)
            self._flush()
            return True
        self._branch_reply(branch, resp, addr, transport)
        self._flush()
        return True

    def _branch_reply(self, branch: Branch, resp: Response, addr: tuple, transport: Any) -> None:
        uas = branch.uas
        status = resp.status
        self.core.stats["received_replies"] += 1
        for cb in self.callbacks["reply_in"]:
            cb(branch, resp)
        if self.has_global_onreply or uas.on_reply:
            rctx = self._route_ctx(resp, uas, "onreply", src=addr, transport=transport)
            rctx.t_branch_idx = branch.idx
            rctx.t_branch_ruri = branch.uri
            if self.has_global_onreply:
                self._run("onreply", None, rctx)
            if uas.on_reply and not rctx.dropped:
                self._run("onreply", uas.on_reply, rctx)
            if rctx.dropped and status < 200:
                return
        if status < 200:
            branch.code = status
            if status > 100 and (not branch.ringing or self.restart_fr):
                branch.ringing = True
                self._restart_fr(branch, uas.fr_inv or self.fr_inv_timeout)
            if status == 100 or uas.final_sent:
                return
            self._send_upstream(uas, resp)
            return
        self._branch_final(branch, resp)

    def _branch_final(self, branch: Branch, resp: Response) -> None:
        uas = branch.uas
        status = resp.status
        first = branch.final is None
        branch.code = status
        if branch.timer is not None:
            self.timers.cancel(branch.timer)
            branch.timer = None
        if 200 <= status < 300:
            branch.final = branch.final or resp
            self._send_upstream(uas, resp)  # every 2xx goes up (forking may produce several)
            if first:
                uas.final_sent = True
                self._cancel_others(uas, branch)
            return
        if not first:
            return
        branch.final = resp
        if (
            branch.alternatives
            and not uas.cancelled
            and (status == 503 or (status == 408 and branch.local and not branch.ringing))
        ):
            self._dns_failover(branch)
        if status >= 600:
            self._cancel_others(uas, branch)
        if uas.final_sent:
            return
        if any(b.final is None for b in uas.branches):
            return
        self._all_branches_done(uas)

    def _all_branches_done(self, uas: UAS) -> None:
        best = _best_reply([b for b in uas.branches if b.final is not None and b.final.status >= 200])
        if best is None:
            return
        if uas.on_failure and not uas.cancelled:
            route = uas.on_failure
            uas.on_failure = None  # failure_route runs once per arming; t_on_failure() in it re-arms
            nbranches = len(uas.branches)
            fctx = self._route_ctx(uas.req.copy(), uas, "failure")
            fctx.reply = best.final
            fctx.tm_best = best
            fctx.t_branch_idx = best.idx
            fctx.t_branch_ruri = best.uri
            self._run("failure", route, fctx)
            if getattr(fctx, "t_on_failure", None):
                uas.on_failure = fctx.t_on_failure
            if uas.final_sent:
                return
            if len(uas.branches) > nbranches and any(b.final is None for b in uas.branches):
                return  # serial forking: wait for the new branch
        self._send_upstream(uas, best.final, local=best.local)

    def _send_upstream(self, uas: UAS, resp: Response, local: bool = False) -> None:
        if local:
            out = make_response(uas.req, resp.status, resp.reason, to_tag=self.core.to_tag)
            uas.local_replied = "last"
        else:
            out = resp.copy()
            out.pop_via()
        stats = self.core.stats
        if out.status >= 200:
            uas.final_sent = True
            stats[_CLASS_STAT[out.status // 100]] += 1
        for cb in self.callbacks["reply_out"]:
            cb(uas, out)
        if self.layer.send_response(uas.txn, out, self.now()):
            stats["fwd_replies"] += 1
            stats["local_replies" if local else "relayed_replies"] += 1

    def _cancel_others(self, uas: UAS, winner: Branch) -> None:
        now = self.now()
        for b in uas.branches:
            if b is not winner and b.final is None and b.txn is not None:
                self.layer.cancel(b.txn, now, [("Reason", 'SIP;cause=200;text="Call completed elsewhere"')])

    def _dns_failover(self, failed: Branch) -> None:
        """The next DNS destination of a branch that got a 503 or no reply at all (OpenSIPS tm's DNS failover):
        the same request, a new Via branch, a new client transaction; the failed one stays among the finals in
        case every destination fails."""
        core = self.core
        uas = failed.uas
        while failed.alternatives:
            (proto, ip, port), rest = failed.alternatives[0], failed.alternatives[1:]
            failed.alternatives = []
            transport = core.pick_transport(proto, ip)
            if transport is None:
                failed.alternatives = rest
                continue
            out = failed.request.copy()
            out.pop_via()
            out.push_via(core.make_via(transport, new_branch()))
            branch = Branch(uas, len(uas.branches), out, transport, (ip, port), failed.uri)
            branch.alternatives = rest
            uas.branches.append(branch)
            now = self.now()
            txn = self.layer.new_client_transaction(out, (ip, port), now, transport=transport.proto.upper())
            txn.user_data = branch
            branch.txn = txn
            branch.timer = self.timers.schedule(
                now + self.fr_timeout, lambda _n, b=branch: self._fr_expired(b)
            )
            core.stats["fwd_requests"] += 1
            self.log.info(f"DNS failover: {failed.uri} -> {proto}:{ip}:{port}", "tm")
            return

    def _restart_fr(self, branch: Branch, seconds: float) -> None:
        if branch.timer is not None:
            self.timers.cancel(branch.timer)
        branch.timer = self.timers.schedule(self.now() + seconds, lambda _n, b=branch: self._fr_expired(b))

    def _fr_expired(self, branch: Branch) -> None:
        branch.timer = None
        if branch.final is not None or branch.txn is None:
            return
        if branch.ringing:
            self.layer.cancel(branch.txn, self.now())
        else:
            self.layer.terminate(branch.txn)
        self._branch_timeout(branch)
        self._flush()

    def _branch_timeout(self, branch: Branch) -> None:
        if branch.final is None:
            self._local_final(branch, 408, "Request Timeout")

    def _local_final(self, branch: Branch, code: int, reason: str) -> None:
        branch.local = True
        self._branch_final(branch, make_response(branch.request, code, reason))

    # ---------------------------------------------------------------- script helpers

    def _route_ctx(
        self, msg: Any, uas: UAS, kind: str, src: tuple | None = None, transport: Any = None
    ) -> Any:
        core = self.core
        t = transport or uas.transport
        ctx = Context(
            msg,
            src=src or uas.src,
            proto=t.proto,
            local=t.local,
            env=core.env,
            vars=core.vars,
            shv=core.shv,
            req=uas.req,
            route_type=kind,
        )
        ctx.transport = t
        ctx.tm_uas = uas
        if uas.ctx is not None:
            ctx.avps = uas.ctx.avps
            ctx.flags = uas.ctx.flags
        return ctx

    def _run(self, kind: str, name: str | None, ctx: Any) -> int:
        program = self.core.program
        if program is None or (kind, name) not in program.routes:
            return 1
        try:
            return program.run(kind, name, ctx)
        except (ScriptRuntimeError, PysipsError) as e:
            self.log.error(f"script error in {kind} route {name or ''}: {e}", "tm")
            return -1


class _Replica:
    """user_data of a t_replicate() client transaction: replies go nowhere."""

    __slots__ = ("transport",)

    def __init__(self, transport: Any) -> None:
        self.transport = transport

    def on_reply(self, _txn_data: Any, _resp: Response) -> None:
        return None


_CLASS_STAT = {2: "2xx_transactions", 3: "3xx_transactions", 4: "4xx_transactions", 5: "5xx_transactions",
               6: "6xx_transactions"}  # fmt: skip


def _parse_uri(s: str) -> Any:
    from pysips.sip.uri import parse_uri

    return parse_uri(s)


def _best_reply(branches: list[Branch]) -> Branch | None:
    """RFC 3261 16.7 step 6: a 6xx wins; else the lowest class; 503 counts as 500."""
    best = None
    best_key = None
    for b in branches:
        s = b.final.status
        key = (0 if s >= 600 else s // 100, 500 if s == 503 else s)
        if best_key is None or key < best_key:
            best, best_key = b, key
    return best
