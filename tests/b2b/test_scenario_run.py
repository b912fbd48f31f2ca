"""XML scenarios at run time (2.x b2b_init_request with parameters, rules on in-dialog requests), MI
b2b_trigger_scenario (3.2+ entities and 2.x extern scenarios), b2b_bridge_request and b2be_list, driven with parsed
messages on the network-free bench."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pysips.b2b.scenario_xml import load_scenario_file
from pysips.modules import b2b_entities as E
from pysips.modules import b2b_logic as M
from tests.b2b._harness import SDP_A, SDP_B, A, B, Bench, in_dialog_a, in_dialog_b, invite_a, reply_a, reply_b

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ("10.0.0.5", 5070)
CALLEE = ("10.0.0.6", 5080)
MEDIA2 = ("10.0.0.7", 5090)
SDP_A2 = SDP_A.replace(b"4000", b"4002")


class XmlProgram:
    """route { b2b_init_request("<id>", "sip:balance@media", "sip:bob@carrier", "sip:after@media2"); exit; }"""

    def __init__(self, sid: str, params: tuple[str, ...]) -> None:
        self.routes = {("request", None): 1}
        self.sid = sid
        self.params = params
        self.rc: list[int] = []

    def run(self, kind: str, name: str | None, ctx: Any) -> int:
        if ctx.msg.to.tag is not None or ctx.msg.method != "INVITE":
            return 0
        self.rc.append(M.w_b2b_init_request(ctx, self.sid, *self.params))
        return 0


def _bench(file: str, kind: str, program: Any = None) -> Bench:
    sc, diags = load_scenario_file(str(ROOT / "scenarios" / file), kind)
    assert sc is not None, [d.format() for d in diags]
    bench = Bench(program)
    bench.engine.scenarios = {sc.id: sc}
    return bench


PARAMS = ("sip:balance@10.0.0.5:5070", "sip:bob@10.0.0.6:5080", "sip:after@10.0.0.7:5090")


def _connect_media(bench: Bench) -> tuple[Any, Any]:
    bench.feed(invite_a(), A)
    inv_m = bench.take_one(MEDIA, "INVITE")
    assert inv_m.body == SDP_A and str(inv_m.ruri) == PARAMS[0]
    bench.feed(reply_b(inv_m, 200, SDP_B, tag="mtag", contact="sip:ms@10.0.0.5:5070"), MEDIA)
    ok_a = bench.take_one(A, 200)
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    assert bench.take_one(MEDIA, "ACK")
    return inv_m, ok_a


def _bridge_after_bye(bench: Bench, bye: bytes, src: tuple, new: tuple, ruri: str, cseq_a: int) -> Any:
    """The sender's BYE is answered locally, the caller is re-INVITEd without SDP, its offer goes to the new
    entity, whose answer returns in the ACK to the caller (the new entity's ACK has no body)."""
    bench.feed(bye, src)
    assert bench.take_one(src, 200).cseq.method == "BYE"
    reinv = bench.take_one(A, "INVITE")
    assert reinv.body == b"" and reinv.cseq.number == cseq_a
    assert bench.take(new) == []  # the new entity waits for the caller's offer
    bench.feed(reply_a(reinv, 200, SDP_A2), A)
    inv_n = bench.take_one(new, "INVITE")
    assert inv_n.body == SDP_A2 and str(inv_n.ruri) == ruri and inv_n.call_id.startswith("B2B.")
    assert inv_n.from_.uri_text == "sip:alice@example.com"
    bench.feed(reply_b(inv_n, 180, tag="ntag", contact=f"sip:n@{new[0]}:{new[1]}"), new)
    assert bench.take(A) == []
    bench.feed(reply_b(inv_n, 200, SDP_B, tag="ntag", contact=f"sip:n@{new[0]}:{new[1]}"), new)
    ack_n = bench.take_one(new, "ACK")
    assert ack_n.body == b""
    ack_a = bench.take_one(A, "ACK")
    assert ack_a.body == SDP_B and ack_a.cseq.number == cseq_a
    return inv_n


def test_seed_ex1_caller_ends_with_the_carrier():
    prog = XmlProgram("seed-ex1", PARAMS[:2])
    bench = _bench("seed-ex1.xml", "script", prog)
    inv_m, ok_a = _connect_media(bench)
    assert prog.rc == [1]
    (tup,) = bench.engine.tuples.values()
    assert tup.sstate == 1 and tup.scenario == "seed-ex1"
    bye = in_dialog_b("BYE", inv_m, "mtag", 2, "z9hG4bK-mbye", sent_by="10.0.0.5:5070")
    inv_c = _bridge_after_bye(bench, bye, MEDIA, CALLEE, PARAMS[1], 1)
    assert tup.sstate == 2 and set(tup.ents) == {"server1", "client2"}
    # no rule for a BYE in state 2: it passes to the carrier and ends the call
    bench.feed(in_dialog_a("BYE", ok_a, 2, "z9hG4bK-abye"), A)
    bye_c = bench.take_one(CALLEE, "BYE")
    assert bye_c.call_id == inv_c.call_id
    bench.feed(reply_b(bye_c, 200), CALLEE)
    assert bench.take_one(A, 200).cseq.method == "BYE"
    assert bench.engine.tuple_count == 0


def test_seed_ex15_back_to_the_media_server():
    prog = XmlProgram("seed-ex1.5", PARAMS)
    bench = _bench("seed-ex1.5.xml", "script", prog)
    inv_m, _ = _connect_media(bench)
    (tup,) = bench.engine.tuples.values()
    bye = in_dialog_b("BYE", inv_m, "mtag", 2, "z9hG4bK-mbye", sent_by="10.0.0.5:5070")
    inv_c = _bridge_after_bye(bench, bye, MEDIA, CALLEE, PARAMS[1], 1)
    assert tup.sstate == 2
    bye2 = in_dialog_b("BYE", inv_c, "ntag", 2, "z9hG4bK-cbye", sent_by="10.0.0.6:5080")
    _bridge_after_bye(bench, bye2, CALLEE, MEDIA2, PARAMS[2], 2)
    assert tup.sstate == 3 and "client3" in tup.ents and "client2" not in tup.ents


def test_unmatched_sender_passes_to_the_peer():
    prog = XmlProgram("seed-ex1", PARAMS[:2])
    bench = _bench("seed-ex1.xml", "script", prog)
    inv_m, ok_a = _connect_media(bench)
    # the rule wants a BYE from client1: the caller's BYE is passed on, the call ends
    bench.feed(in_dialog_a("BYE", ok_a, 2, "z9hG4bK-abye"), A)
    bye_m = bench.take_one(MEDIA, "BYE")
    bench.feed(reply_b(bye_m, 200), MEDIA)
    assert bench.take_one(A, 200).cseq.method == "BYE"
    assert bench.take(A) == [] and bench.engine.tuple_count == 0


def _answer_3pcc(bench: Bench, first: tuple, second: tuple) -> tuple[Any, Any]:
    inv1 = bench.take_one(first, "INVITE")
    assert inv1.body == b"" and inv1.call_id.startswith("B2B.")
    assert bench.take(second) == []
    c1, c2 = f"sip:x@{first[0]}:{first[1]}", f"sip:y@{second[0]}:{second[1]}"
    bench.feed(reply_b(inv1, 180, tag="t1", contact=c1), first)
    bench.feed(reply_b(inv1, 200, SDP_A, tag="t1", contact=c1), first)
    inv2 = bench.take_one(second, "INVITE")
    assert inv2.body == SDP_A
    bench.feed(reply_b(inv2, 200, SDP_B, tag="t2", contact=c2), second)
    assert bench.take_one(second, "ACK").body == b""
    assert bench.take_one(first, "ACK").body == SDP_B
    return inv1, inv2


def test_mi_trigger_scenario_3x():
    bench = Bench()
    params = {
        "scenario_id": "marketing",
        "entity1": "customer,sip:cust@10.0.0.1:5061",
        "entity2": "media,sip:ann@10.0.0.5:5070,Offers",
        "context": ["operator_uri=sip:op@10.0.0.6:5080"],
    }
    assert M.mi_b2b_trigger_scenario(bench.core, params) == "OK"
    inv1, inv2 = _answer_3pcc(bench, A, MEDIA)
    assert inv1.from_.uri_text == "sip:ann@10.0.0.5:5070" and inv2.from_.display == '"Offers"'
    (tup,) = bench.engine.tuples.values()
    assert tup.vals == {"operator_uri": "sip:op@10.0.0.6:5080"} and tup.state == 0
    assert tup.ents["customer"].peer is tup.ents["media"]
    ents = E.mi_b2be_list(bench.core, {})["Entities"]
    assert {e.get("id") for e in ents} == {"customer", "media"} and all(e["state"] == 1 for e in ents)
    # the media server hangs up: the BYE passes to the customer (no script route here)
    bench.feed(in_dialog_b("BYE", inv2, "t2", 1, "z9hG4bK-mb", sent_by="10.0.0.5:5070"), MEDIA)
    assert bench.take_one(A, "BYE")


def test_mi_trigger_scenario_2x_extern_xml():
    bench = _bench("marketing.xml", "extern")
    params = {
        "scenario_id": "marketing",
        "entity1": "sip:cust@10.0.0.1:5061",
        "entity2": "sip:offer@10.0.0.5:5070",
        "scenario_param3": "sip:agent@10.0.0.6:5080",
    }
    # three positional 2.x params arrive under the 3.x names; the fourth under scenario_param3
    assert M.mi_b2b_trigger_scenario(bench.core, params) == "OK"
    inv1, inv2 = _answer_3pcc(bench, A, MEDIA)
    assert inv1.from_.display == '"Special offers"'
    (tup,) = bench.engine.tuples.values()
    assert tup.xml is not None and tup.sstate == 1 and tup.params[2] == "sip:agent@10.0.0.6:5080"


def test_mi_trigger_unknown_scenario_2x():
    from pysips.errors import MIError

    bench = Bench()
    try:
        M.mi_b2b_trigger_scenario(
            bench.core, {"scenario_id": "nope", "entity1": "sip:a@h", "entity2": "sip:b@h"}
        )
    except MIError as e:
        assert e.code == 404
    else:
        raise AssertionError("unknown 2.x scenario accepted")


class Parking:
    """route { if ($rU == "pickup") b2b_bridge_request(key, 0); else b2b_init_request("top hiding"); }"""

    def __init__(self) -> None:
        self.routes = {("request", None): 1}
        self.key: str | None = None
        self.rc: list[int] = []

    def run(self, kind: str, name: str | None, ctx: Any) -> int:
        if ctx.msg.to.tag is not None or ctx.msg.method != "INVITE":
            return 0
        if ctx.msg.ruri.user == "pickup":
            self.rc.append(M.w_b2b_bridge_request(ctx, self.key, 0))
        else:
            self.rc.append(M.w_b2b_init_request(ctx, "top hiding"))
            self.key = ctx.b2b_key
        return 0


def test_bridge_request_replaces_the_callee():
    prog = Parking()
    bench = Bench(prog)
    bench.feed(invite_a(), A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    ok_a = bench.take_one(A, 200)
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    assert bench.take_one(B, "ACK")
    P = ("10.0.0.9", 5099)
    pick = invite_a(call_id="pick-1", branch="z9hG4bK-p1", body=SDP_A2, ruri="sip:pickup@127.0.0.1:5060")
    pick = pick.replace(b"10.0.0.1:5061", b"10.0.0.9:5099")
    bench.feed(pick, P)
    assert prog.rc == [1, 1]
    assert bench.take_one(B, "BYE")
    reinv = bench.take_one(A, "INVITE")
    assert reinv.body == SDP_A2
    bench.feed(reply_a(reinv, 200, SDP_A), A)
    ok_p = bench.take_one(P, 200)
    assert ok_p.body == SDP_A and ok_p.to.tag
    ack = in_dialog_a("ACK", ok_p, 1, "z9hG4bK-pack", call_id="pick-1").replace(
        b"10.0.0.1:5061", b"10.0.0.9:5099"
    )
    bench.feed(ack, P)
    assert bench.take_one(A, "ACK").cseq.number == reinv.cseq.number
    # the picked-up caller hangs up: the BYE reaches the one who picked up
    bench.feed(in_dialog_b("BYE", reinv, "atag-1", 5, "z9hG4bK-abye", sent_by="10.0.0.1:5061"), A)
    assert bench.take_one(P, "BYE")


def test_bridge_request_unknown_key():
    prog = Parking()
    prog.key = "1.999"
    bench = Bench(prog)
    bench.feed(invite_a(ruri="sip:pickup@127.0.0.1:5060"), A)
    assert prog.rc == [-1]


def test_prack_answered_locally():
    bench = Bench()
    bench.feed(invite_a(extra="Supported: 100rel\r\n"), A)
    inv_b = bench.take_one(B, "INVITE")
    rel = [("Require", "100rel"), ("RSeq", "7")]
    bench.feed(reply_b(inv_b, 183, SDP_B, extra=rel), B)
    prack_b = bench.take_one(B, "PRACK")
    assert prack_b.get_header("RAck") == f"7 {inv_b.cseq.number} INVITE"
    assert prack_b.call_id == inv_b.call_id and prack_b.to.tag == "btag-1"
    r183 = bench.take_one(A, 183)
    assert r183.get_header("RSeq") == "7" and r183.get_header("Require") == "100rel"
    bench.feed(in_dialog_a("PRACK", r183, 2, "z9hG4bK-pr", extra="RAck: 7 1 INVITE\r\n"), A)
    assert bench.take_one(A, 200).cseq.method == "PRACK"
    assert bench.take(B) == []  # the callee was PRACKed by us already
    bench.feed(reply_b(prack_b, 200), B)
    assert bench.take(A) == []


def test_second_2xx_from_a_fork_gets_ack_and_bye():
    bench = Bench()
    bench.feed(invite_a(), A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    assert bench.take_one(A, 200)
    FORK = ("10.0.0.8", 5088)
    fork_ok = reply_b(inv_b, 200, SDP_B, tag="fork-2", contact="sip:fork@10.0.0.8:5088")
    bench.feed(fork_ok, FORK)
    msgs = bench.take(FORK)
    assert [m.method for m in msgs] == ["ACK", "BYE"]
    assert all(m.to.tag == "fork-2" and m.call_id == inv_b.call_id for m in msgs)
    assert msgs[1].cseq.number == inv_b.cseq.number + 1
    assert bench.take(A) == []
    bench.feed(fork_ok, FORK)  # a retransmission of the fork's 2xx: ACK again, no second BYE
    assert [m.method for m in bench.take(FORK)] == ["ACK"]
    (tup,) = bench.engine.tuples.values()
    assert tup.client.remote_tag == "btag-1" and tup.client.state == 1


def test_prepaid_xml_headers_and_initial_destination():
    prog = XmlProgram("prepaid", ("sip:credit@10.0.0.5:5070", "sip:goodbye@10.0.0.7:5090"))
    bench = _bench("prepaid.xml", "script", prog)
    bench.feed(invite_a().replace(b"To: <sip:bob@example.net>", b"To: <sip:bob@10.0.0.6:5080>"), A)
    inv_m = bench.take_one(MEDIA, "INVITE")
    assert inv_m.get_header("X-Prepaid-Step") == "credit"
    bench.feed(reply_b(inv_m, 200, SDP_B, tag="mtag", contact="sip:ms@10.0.0.5:5070"), MEDIA)
    ok_a = bench.take_one(A, 200)
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    bye = in_dialog_b("BYE", inv_m, "mtag", 2, "z9hG4bK-mbye", sent_by="10.0.0.5:5070")
    # the callee is the To URI of the caller's INVITE (value type "initial")
    inv_c = _bridge_after_bye(bench, bye, MEDIA, CALLEE, "sip:bob@10.0.0.6:5080", 1)
    assert inv_c.get_header("X-Prepaid-Step") is None
    bye2 = in_dialog_b("BYE", inv_c, "ntag", 2, "z9hG4bK-cbye", sent_by="10.0.0.6:5080")
    bench.feed(bye2, CALLEE)
    reinv = bench.take_one(A, "INVITE")
    bench.feed(reply_a(reinv, 200, SDP_A2), A)
    inv_g = bench.take_one(MEDIA2, "INVITE")
    assert inv_g.get_header("X-Prepaid-Step") == "goodbye" and str(inv_g.ruri) == "sip:goodbye@10.0.0.7:5090"
    (tup,) = bench.engine.tuples.values()
    assert tup.sstate == 2 and tup.next_sstate == 3  # state 3 once the goodbye leg answers


def test_refer_xml_blind_transfer():
    prog = XmlProgram("refer", ("sip:bob@10.0.0.2:5062",))
    bench = _bench("refer.xml", "script", prog)
    bench.feed(invite_a(), A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    ok_a = bench.take_one(A, 200)
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    assert bench.take_one(B, "ACK")
    # the callee transfers the caller to 10.0.0.6: 202, BYE to the callee, the caller is bridged to the target
    refer = in_dialog_b("REFER", inv_b, "btag-1", 1, "z9hG4bK-ref")
    refer = refer.replace(b"Content-Length: 0", b"Refer-To: <sip:carol@10.0.0.6:5080>\r\nContent-Length: 0")
    bench.feed(refer, B)
    msgs = bench.take(B)
    assert [m.status if not m.is_request else m.method for m in msgs] == [202, "BYE"]
    reinv = bench.take_one(A, "INVITE")
    assert reinv.body == b""
    bench.feed(reply_a(reinv, 200, SDP_A2), A)
    inv_c = bench.take_one(CALLEE, "INVITE")
    assert str(inv_c.ruri) == "sip:carol@10.0.0.6:5080" and inv_c.body == SDP_A2


def test_mi_trigger_positional_2x_params_bind():
    from pysips.mi import build_registry

    bench = _bench("marketing.xml", "extern")
    cmd = build_registry(["b2b_logic"]).lookup("b2b_logic:trigger_scenario")
    params = cmd.bind_params(["marketing", "sip:cust@10.0.0.1:5061", "sip:offer@10.0.0.5:5070", "sip:ag@h"])
    assert M.mi_b2b_trigger_scenario(bench.core, params) == "OK"
    (tup,) = bench.engine.tuples.values()
    assert tup.params == ["sip:cust@10.0.0.1:5061", "sip:offer@10.0.0.5:5070", "sip:ag@h"]
    params5 = cmd.bind_params(["marketing", "sip:c@10.0.0.1:5061", "sip:o@10.0.0.5:5070", "sip:a@h", "x"])
    assert M.mi_b2b_trigger_scenario(bench.core, params5) == "OK"
    assert sorted(len(t.params) for t in bench.engine.tuples.values()) == [3, 4]


def test_use_init_sdp_gives_the_new_entity_the_first_offer():
    prog = XmlProgram("seed-ex1", PARAMS[:2])
    bench = _bench("seed-ex1.xml", "script", prog)
    bench.engine.use_init_sdp = True  # modparam("b2b_logic", "use_init_sdp", 1)
    inv_m, _ = _connect_media(bench)
    (tup,) = bench.engine.tuples.values()
    bench.feed(in_dialog_b("BYE", inv_m, "mtag", 2, "z9hG4bK-mbye", sent_by="10.0.0.5:5070"), MEDIA)
    assert bench.take_one(MEDIA, 200)
    inv_c = bench.take_one(CALLEE, "INVITE")
    assert inv_c.body == SDP_A and bench.take(A) == []
    bench.feed(reply_b(inv_c, 200, SDP_B, tag="ctag", contact="sip:c@10.0.0.6:5080"), CALLEE)
    assert bench.take_one(CALLEE, "ACK").body == b""
    reinv = bench.take_one(A, "INVITE")
    assert reinv.body == SDP_B
    bench.feed(reply_a(reinv, 200, SDP_A2), A)
    assert bench.take_one(A, "ACK").body == b""
    assert tup.sstate == 2 and tup.bridge is None and tup.ents["server1"].peer is tup.ents["client2"]


def test_bridge_lifetime_sets_the_tuple_duration():
    prog = XmlProgram("prepaid", ("sip:credit@10.0.0.5:5070", "sip:goodbye@10.0.0.7:5090"))
    bench = _bench("prepaid.xml", "script", prog)
    bench.feed(invite_a().replace(b"To: <sip:bob@example.net>", b"To: <sip:bob@10.0.0.6:5080>"), A)
    inv_m = bench.take_one(MEDIA, "INVITE")
    bench.feed(reply_b(inv_m, 200, SDP_B, tag="mtag", contact="sip:ms@10.0.0.5:5070"), MEDIA)
    ok_a = bench.take_one(A, 200)
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    bye = in_dialog_b("BYE", inv_m, "mtag", 2, "z9hG4bK-mbye", sent_by="10.0.0.5:5070")
    _bridge_after_bye(bench, bye, MEDIA, CALLEE, "sip:bob@10.0.0.6:5080", 1)
    (tup,) = bench.engine.tuples.values()
    assert tup.lifetime == bench.clock.t + 3600  # <lifetime>3600</lifetime> of rule 10's bridge


def test_mi_bridge_bad_uri_leaves_the_call_alone_and_list_layout():
    from pysips.errors import MIError

    bench = Bench()
    bench.feed(invite_a(), A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    ok_a = bench.take_one(A, 200)
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    bench.take()
    (tup,) = bench.engine.tuples.values()
    try:
        M.mi_b2b_bridge(bench.core, {"dialog_id": tup.key, "new_uri": "not a uri"})
    except MIError as e:
        assert (e.code, str(e)) == (404, "Invalid uri for the new destination")
    else:
        raise AssertionError("bad uri accepted")
    assert bench.take() == [] and tup.server.state == 1 and tup.client.state == 1
    # flag 1 keeps the callee: A is gone, B and the new client are CLIENTS[0], [1]
    assert (
        M.mi_b2b_bridge(bench.core, {"dialog_id": tup.key, "new_uri": "sip:c@10.0.0.6:5080", "flag": "1"})
        == "OK"
    )
    (row,) = M.mi_b2b_list(bench.core, {})["Tuples"]
    assert row["SERVERS"] == [] and [e["index"] for e in row["CLIENTS"]] == [0, 1]
    assert [e["key"] for e in row["BRIDGE_ENTITIES"]] == [e["key"] for e in row["CLIENTS"]]
