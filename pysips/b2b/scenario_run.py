"""Running b2b scenarios beyond top hiding: XML scenarios (b2b_logic <= 3.1, b2b_logic_xml), 3PCC calls started
over MI (``b2b_trigger_scenario``, 2.x and 3.2+ parameters) and ``b2b_bridge_request``.

A mixin of :class:`pysips.b2b.engine.B2BEngine`: the methods use the engine's legs, transactions and timers.

Media negotiation when two entities are joined "offer first" (OpenSIPS 2.4 logic.c ``process_bridge_action`` /
3.x ``b2b_scenario_trigger``): the first entity gets an INVITE without SDP (a re-INVITE when it already exists),
its 2xx carries an offer that goes into the INVITE to the second entity, whose answer is sent in the ACK to the
first one; the second entity gets an ACK without body. ``use_init_sdp`` instead gives the new entity the caller's
initial offer (then the 3.x late-SDP path of ``b2b_bridge`` renegotiates the remaining entity).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pysips.b2b.entities import CONFIRMED, EARLY, ENDED, Bridge, ClientSpec, CliRef, Leg, SrvRef
from pysips.b2b.logic import NOTDEF_STATE, InitFlags, Tuple, split_scenario
from pysips.errors import SIPParseError
from pysips.sip.message import Response

_ERRORS = (SIPParseError, OSError, ValueError)


def _uri_of(value: str | None) -> str | None:
    """The URI of a header value or name-addr (``"Bob" <sip:b@h>;tag=x`` -> ``sip:b@h``)."""
    if value is None:
        return None
    v = value.strip()
    if "<" in v and ">" in v:
        return v[v.index("<") + 1 : v.index(">")]
    return v.split(";", 1)[0].strip() or None


def _headers(specs: Any, resolve: Callable[[Any], str | None]) -> list[tuple[str, str]]:
    """The ``<header>`` elements of an entity, resolved for this call (a header whose name or value resolves to
    nothing is left out, as logic.c does)."""
    out = []
    for h in specs or ():
        name, value = resolve(h.name), resolve(h.value)
        if name and value is not None:
            out.append((name, value))
    return out


class ScenarioRunner:
    """XML scenarios, MI-triggered 3PCC and b2b_bridge_request (mixed into B2BEngine)."""

    scenarios: dict[str, Any]
    use_init_sdp = (
        False  # modparam use_init_sdp (<= 3.2): every scenario bridge gives the new entity the first offer
    )

    # ------------------------------------------------------------------ tuples without a caller

    def _new_tuple(self, sid: str, seed: str) -> Tuple:
        tkey = self._new_tuple_key(seed)
        now = self.now()
        tup = Tuple(tkey, sid, InitFlags(), now)
        tup.lifetime = now + self.init_timeout
        tup.timer = self.timers.schedule(tup.lifetime, lambda _n, t=tup: self._setup_expired(t))
        self.tuples[tkey] = tup
        return tup

    # ------------------------------------------------------------------ the offer-first bridge

    def _offer_bridge(
        self,
        tup: Tuple,
        old: Leg | ClientSpec,
        spec: ClientSpec,
        initiator: Leg | None = None,
        lifetime: int | None = None,
    ) -> bool:
        """Join `old` (an existing confirmed entity, or a client to create) with a new client `spec`."""
        if isinstance(old, ClientSpec):
            try:
                first = self._new_client_leg(tup, old)
            except _ERRORS as e:
                self.log.error(f"b2b: cannot reach {old.dest}: {e}", "b2b_logic")
                return False
            cli = first.inv_cli
        else:
            first = old
            if first.peer is not None and first.peer.peer is first:
                first.peer.peer = None
            first.peer = None
            cli = self._send_request(first, "INVITE", None, None, body=b"")
            if cli is None:
                return False
            first.inv_cli = cli
        br = Bridge(first, None, lifetime)  # <lifetime>: the tuple's duration once bridged
        br.spec = spec
        br.initiator = initiator
        br.phase = "of_old"
        cli.bridge = br
        tup.bridge = br
        tup.state = -1
        return True

    def _offer_bridge_reply(self, br: Bridge, cli: CliRef, resp: Response) -> None:
        status = resp.status
        if status == 100:
            return
        leg = cli.leg
        tup = br.old.tup
        if status < 200:
            if leg.state == EARLY and resp.to.tag is not None and leg.remote_tag != resp.to.tag:
                self._learn_remote(leg, resp, early=True)
            return
        if leg.inv_cli is cli:
            leg.inv_cli = None
        if status >= 300:
            self.log.info(f"b2b: {leg.eid or leg.key} refused the call with {status}", "b2b_logic")
            leg.state = ENDED
            if leg is br.new and br.old.ack_cseq is not None and br.old.ack_data is None:
                self._send_ack(br.old, None)  # the offer we asked for is answered with nothing: hang up next
            self._terminate(tup)
            return
        if leg.ack_cseq == cli.cseq:
            if leg.ack_data is not None:
                self._send_raw(leg, leg.ack_data)
            return
        if leg.state == EARLY:
            self._learn_remote(leg, resp, early=False)
            leg.state = CONFIRMED
        else:
            self._refresh_target(leg, resp)
        leg.ack_cseq = cli.cseq
        leg.ack_data = None
        if tup.ended:
            self._send_ack(leg, None)
            self._send_bye(leg)
            return
        if leg is br.old and br.phase == "of_old":
            try:
                new = self._new_client_leg(tup, br.spec, offer=resp)
            except _ERRORS as e:
                self.log.error(f"b2b: cannot reach {br.spec.dest}: {e}", "b2b_logic")
                self._terminate(tup)
                return
            self.timers.cancel(new.inv_cli.timer)  # the callee may ring for as long as fr_inv_timeout allows
            new.inv_cli.timer = None
            br.new = new
            br.phase = "of_new"
            new.inv_cli.bridge = br
            return
        if br.phase == "of_init":
            # use_init_sdp: the new entity answered the caller's first offer; offer that to the remaining one
            self._send_ack(leg, None)
            cli2 = self._send_request(br.old, "INVITE", resp, None)
            if cli2 is None:
                self._terminate(tup)
                return
            cli2.bridge = br
            br.old.inv_cli = cli2
            br.phase = "of_reinv"
            return
        if br.phase == "of_reinv":
            self._send_ack(leg, None)
            self._bridge_done(br)
            self._xml_bridged(tup)
            return
        # the new entity answered the offer: ACK it, its answer goes in the ACK to the first one
        self._send_ack(leg, None)
        self._send_ack(br.old, resp)
        self._bridge_done(br)
        self._xml_bridged(tup)

    def _xml_bridged(self, tup: Tuple) -> None:
        if tup.next_sstate is not None:
            tup.sstate = tup.next_sstate
            tup.next_sstate = None

    # ------------------------------------------------------------------ MI b2b_trigger_scenario

    def trigger_scenario(
        self,
        sid: str,
        entities: list[str] | None = None,
        context: list[str] | None = None,
        params: list[str] | None = None,
    ) -> bool:
        """3.2+: ``entities`` are two ``id,uri[,display]`` strings and ``context`` ``key=value`` items for
        ``$b2b_logic.ctx``; 2.x: ``params`` are the parameters of an extern XML scenario named `sid`."""
        scen = self.scenarios.get(sid)
        if entities is None and scen is not None:
            return self._trigger_xml(scen, list(params or []))
        specs = []
        for ent in entities or []:
            parts = [p.strip() for p in ent.split(",")]
            if len(parts) < 2 or not parts[0] or not parts[1]:
                self.log.error(f"b2b_trigger_scenario: bad entity {ent!r}", "b2b_logic")
                return False
            specs.append(ClientSpec(parts[0], parts[1], None, parts[2] if len(parts) > 2 else None, None))
        if len(specs) != 2:
            return False
        tup = self._new_tuple(sid, specs[0].dest)
        for item in context or []:
            k, sep, v = item.partition("=")
            if sep:
                tup.vals[k.strip()] = v.strip()
        tup.req_route = self.req_route
        tup.reply_route = self.reply_route
        return self._trigger(tup, specs[0], specs[1])

    def _trigger(self, tup: Tuple, a: ClientSpec, b: ClientSpec, lifetime: int | None = None) -> bool:
        # each entity sees the other one as the caller (OpenSIPS b2b_scenario_trigger: From = the peer's URI)
        tup.from_hdr = f"<{b.dest}>"
        ok = self._offer_bridge(tup, a, b, lifetime=lifetime)
        tup.from_hdr = f"<{a.dest}>"
        if not ok:
            self._end_tuple(tup)
        self._flush()
        return ok

    def _trigger_xml(self, scen: Any, params: list[str]) -> bool:
        ib = scen.init.bridge
        if len(ib.clients) < 2:
            self.log.error(
                f"b2b_trigger_scenario: scenario {scen.id!r} does not create two clients", "b2b_logic"
            )
            return False
        specs = []
        for c in ib.clients[:2]:
            dest = _uri_of(c.destination.resolve(params))
            if not dest:
                self.log.error(f"b2b_trigger_scenario: no destination for {c.id!r}", "b2b_logic")
                return False
            dname = c.from_dname.resolve(params) if c.from_dname is not None else None
            hdrs = _headers(c.headers, lambda v: v.resolve(params))
            specs.append(ClientSpec(c.id, dest, None, dname, None, hdrs))
        tup = self._new_tuple(scen.id, specs[0].dest)
        tup.xml = scen
        tup.params = params
        tup.next_sstate = scen.init.state if scen.init.state is not None else NOTDEF_STATE
        return self._trigger(tup, specs[0], specs[1], ib.lifetime)

    # ------------------------------------------------------------------ 2.x b2b_init_request on an XML scenario

    def xml_init_request(self, ctx: Any, scenario: str, params: list[Any]) -> int:
        try:
            sid, iflags = split_scenario(scenario, None)
        except ValueError as e:
            self.log.error(f"b2b_init_request: {e}", "b2b_logic")
            return -1
        scen = self.scenarios.get(sid)
        req = ctx.msg
        if (
            scen is None
            or req is None
            or not req.is_request
            or req.method != "INVITE"
            or req.to.tag is not None
        ):
            self.log.error(
                f"b2b_init_request({sid!r}): needs an initial INVITE and a loaded scenario", "b2b_logic"
            )
            return -1
        plist = [None if p is None or p == "" else str(p) for p in params]
        while plist and plist[-1] is None:
            plist.pop()
        ib = scen.init.bridge
        if not ib.servers or not ib.clients:
            self.log.error(
                f"b2b_init_request: scenario {sid!r} has no server and client in <init>", "b2b_logic"
            )
            return -1
        c = ib.clients[0]
        init_to = req.to.uri_text

        def header_uri(name: str) -> str | None:
            return _uri_of(req.get_header(name))

        dest = _uri_of(c.destination.resolve(plist, init_to, header_uri))
        if not dest:
            self.log.error(f"b2b_init_request({sid!r}): no destination for {c.id!r}", "b2b_logic")
            return -1
        hdrs = _headers(c.headers, lambda v: v.resolve(plist, init_to, header_uri))
        cspec = ClientSpec(c.id, dest, None, None, None, hdrs)
        try:
            rc = self._start(ctx, req, iflags, sid, (ib.servers[0].id, None), cspec)
        except _ERRORS as e:
            self.log.error(f"b2b_init_request: {e}", "b2b_logic")
            rc = -1
        if rc > 0:
            tup = self.tuples[ctx.b2b_key]
            tup.xml = scen
            tup.params = plist
            tup.init_to = init_to
            tup.sstate = scen.init.state if scen.init.state is not None else NOTDEF_STATE
            if req.body:
                tup.init_sdp = (req.body, req.get_header("Content-Type"))
        self._flush()
        return rc

    # ------------------------------------------------------------------ XML rules on in-dialog requests

    def _xml_request(self, leg: Leg, srv: SrvRef, req: Any) -> bool:
        """Apply the scenario rule for `req` (logic.c b2b_logic_notify_request); False: pass it to the peer."""
        tup = leg.tup
        rule = tup.xml.rule_for(req.method, tup.sstate)
        if rule is None:
            return False
        if not rule.sender_matches("server" if leg.server else "client", leg.eid):
            return False
        act = rule.action
        if act.state is not None:
            if act.bridge is not None:
                tup.next_sstate = act.state
            else:
                tup.sstate = act.state
        if act.bridge is not None and not self._xml_bridge(tup, leg, req, act.bridge):
            tup.next_sstate = None
        if act.send_reply is not None:
            self._reply(srv, act.send_reply.code, act.send_reply.reason)
        if act.end_dialog_leg:
            self._end_leg(leg)
        if act.delete_entity:
            self._delete_entity(leg)
        if not srv.final and req.method == "BYE" and (act.end_dialog_leg or act.delete_entity):
            self._reply(srv, 200, "OK")
        return True

    def _xml_bridge(self, tup: Tuple, leg: Leg, req: Any, action: Any) -> bool:
        params = tup.params

        def header_uri(name: str) -> str | None:
            return _uri_of(req.get_header(name))

        ends: list[Any] = []
        for ref in action.entities:
            if ref.ref == "this":
                ends.append(leg)
            elif ref.ref == "peer":
                ends.append(leg.peer)
            elif ref.new or ref.destination is not None:
                dest = ref.destination.resolve(params, tup.init_to, header_uri) if ref.destination else None
                dest = _uri_of(dest)
                if not dest:
                    self.log.error(f"b2b: scenario bridge: no destination for {ref.id!r}", "b2b_logic")
                    return False
                dname = ref.from_dname.resolve(params, tup.init_to, header_uri) if ref.from_dname else None
                hdrs = _headers(ref.headers, lambda v: v.resolve(params, tup.init_to, header_uri))
                ends.append(ClientSpec(ref.id or "", dest, None, dname, None, hdrs))
            else:
                ends.append(tup.ents.get(ref.id or ""))
        a, b = ends
        old, spec = (a, b) if isinstance(b, ClientSpec) else (b, a)
        if not isinstance(old, Leg) or not isinstance(spec, ClientSpec) or old.state != CONFIRMED:
            self.log.error("b2b: scenario bridge needs an established entity and a new client", "b2b_logic")
            return False
        if tup.bridge is not None:
            return False
        if (tup.xml.init.use_init_sdp or self.use_init_sdp) and tup.init_sdp is not None:
            # the new entity gets the caller's first offer; its answer is offered to the remaining entity in a
            # re-INVITE, whose answer completes the bridge
            try:
                new = self._new_client_leg(tup, spec, offer=tup.init_sdp)
            except _ERRORS as e:
                self.log.error(f"b2b: cannot reach {spec.dest}: {e}", "b2b_logic")
                return False
            if old.peer is not None and old.peer.peer is old:
                old.peer.peer = None
            old.peer = None
            br = Bridge(old, new, action.lifetime)
            br.spec = spec
            br.phase = "of_init"
            new.inv_cli.bridge = br
            tup.bridge = br
            tup.state = -1
            return True
        return self._offer_bridge(tup, old, spec, lifetime=action.lifetime)

    # ------------------------------------------------------------------ b2b_bridge_request

    def bridge_request(self, ctx: Any, key: str, entity_no: int, adv_contact: str | None = None) -> int:
        """b2b_bridge_request(key, entity_no) on an initial INVITE: this caller replaces the other entity of the
        tuple; entity `entity_no` (0: first, 1: second) gets the INVITE's offer in a re-INVITE, the other a BYE."""
        req = ctx.msg
        if req is None or not req.is_request or req.method != "INVITE" or req.to.tag is not None:
            self.log.error("b2b_bridge_request: must be called on an initial INVITE", "b2b_logic")
            return -1
        tup = self._find_tuple(str(key))
        if tup is None or tup.ended or tup.bridge is not None:
            self.log.error(f"b2b_bridge_request: no b2b session {key!r} to bridge", "b2b_logic")
            return -1
        target = tup.server if entity_no == 0 else tup.client
        other = tup.client if entity_no == 0 else tup.server
        if target is None or target.state != CONFIRMED:
            self.log.error(
                f"b2b_bridge_request: entity {entity_no} of {key!r} is not established", "b2b_logic"
            )
            return -1
        if self.layer.find_server(req) is not None:
            return 0
        s = self._server_leg(ctx, req, tup, adv_contact)
        srv = s.inv_srv
        if other is not None and other.state != ENDED:
            self._end_leg(other)
            self._delete_entity(other)
        if target.peer is not None and target.peer.peer is target:
            target.peer.peer = None
        target.peer = s
        s.peer = target
        tup.server, tup.client = s, target
        self.dialogs[(s.call_id, s.local_tag)] = s
        cli = self._send_request(target, "INVITE", req, srv)
        if cli is None:
            self._delete_entity(s)
            self._flush()
            return -1
        target.inv_cli = cli
        ctx.b2b_key = tup.key
        self._flush()
        return 1

    def _server_leg(self, ctx: Any, req: Any, tup: Tuple, adv_contact: str | None) -> Leg:
        """A server entity for an initial INVITE (its transaction answered with 100 Trying)."""
        now = self.now()
        transport = ctx.transport
        src = (ctx.src_ip, ctx.src_port)
        s = Leg(True, tup, req.call_id, self.keys.server_key(req.call_id))
        s.transport = transport
        s.remote_hdr = req.get_header("From") or ""
        s.local_hdr = f"{req.get_header('To')};tag={s.local_tag}"
        s.remote_cseq = req.cseq.number
        s.route_set = req.get_values("Record-Route")
        contacts = req.contacts
        s.remote_target = contacts[0].uri_text if contacts else str(req.from_.uri)
        s.contact = self._contact(transport)
        if adv_contact:
            s.contact = adv_contact if adv_contact.startswith("<") else f"<{adv_contact}>"
        s.to_uri = req.to.uri_text
        s.from_uri = req.from_.uri_text
        if req.body:
            s.sdp = (req.body, req.get_header("Content-Type"))
        rdest = self.core.response_destination(req.via, src) if transport.proto == "udp" else src
        stxn = self.layer.new_server_transaction(
            req, src, now, transport=transport.proto.upper(), response_dest=rdest
        )
        srv = SrvRef(s, req, stxn, transport)
        stxn.user_data = srv
        s.inv_srv = srv
        self._reply(srv, 100, "Trying")
        return s

    # ------------------------------------------------------------------ MI b2be_list

    def list_entities(self) -> list[dict]:
        """b2be_list: every dialog the entities layer holds (OpenSIPS 3.x field names)."""
        out = []
        for leg in self.dialogs.values():
            e: dict[str, Any] = {
                "type": "server" if leg.server else "client",
                "key": leg.key,
                "state": leg.state,
                "callid": leg.call_id,
                "from_uri": leg.from_uri,
                "to_uri": leg.to_uri,
                "tag0": leg.from_tag or "",
                "tag1": leg.to_tag or "",
                "cseq0": leg.local_cseq,
                "cseq1": leg.remote_cseq or 0,
                "contact0": leg.contact,
                "contact1": leg.remote_target,
                "logic_key": leg.tup.key,
            }
            if leg.eid:
                e["id"] = leg.eid
            if leg.route_set:
                e["route1"] = ",".join(leg.route_set)
            out.append(e)
        return out
