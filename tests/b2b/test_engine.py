"""The B2BUA engine ("top hiding") driven with parsed messages: no network, manual clock."""

from __future__ import annotations

import gc

import pytest

from pysips.b2b.entities import CliRef, Leg, SrvRef
from pysips.b2b.logic import Tuple
from tests.b2b._harness import (
    SDP_A,
    SDP_B,
    A,
    B,
    Bench,
    Program,
    in_dialog_a,
    in_dialog_b,
    invite_a,
    reply_a,
    reply_b,
)

CONTACT_US = "<sip:127.0.0.1:5060>"


def setup_call(bench: Bench, invite: bytes | None = None):
    """INVITE from A, 180 + 200 from B. Returns (INVITE seen by B, 200 seen by A)."""
    bench.feed(invite or invite_a(), A)
    trying = bench.take_one(A, 100)
    assert trying.to.tag is None
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 180), B)
    bench.take_one(A, 180)
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    ok_a = bench.take_one(A, 200)
    return inv_b, ok_a


def confirm(bench: Bench, ok_a, branch: str = "z9hG4bK-ack1"):
    bench.feed(in_dialog_a("ACK", ok_a, 1, branch), A)
    return bench.take_one(B, "ACK")


# ------------------------------------------------------------------ the initial INVITE on the callee leg


def test_callee_invite_is_top_hidden():
    bench = Bench()
    bench.feed(invite_a(), A)
    assert bench.take_one(A, 100).get_header("Call-ID") == "acall-1@10.0.0.1"
    inv = bench.take_one(B, "INVITE")
    assert str(inv.ruri) == "sip:bob@10.0.0.2:5062"
    assert inv.call_id.startswith("B2B.") and inv.call_id.count(".") == 4
    assert len(inv.vias) == 1 and inv.via.host == "127.0.0.1" and inv.via.port == 5060
    assert not inv.has_header("Route") and not inv.has_header("Record-Route")
    assert inv.get_header("Contact") == CONTACT_US
    assert inv.cseq.number == 1 and inv.cseq.method == "INVITE"
    assert inv.max_forwards == 69
    assert inv.get_header("To") == "<sip:bob@10.0.0.2:5062>"
    assert inv.from_.display == '"Alice"' or inv.from_.display == "Alice"
    assert inv.from_.uri_text == "sip:alice@example.com"
    assert inv.from_.tag and inv.from_.tag != "atag-1"
    for hidden in ("User-Agent", "X-Secret", "P-Asserted-Identity"):
        assert not inv.has_header(hidden), hidden
    assert inv.get_header("Supported") == "timer"
    assert inv.get_header("Allow") == "INVITE, ACK, BYE, CANCEL"
    assert inv.get_header("Content-Type") == "application/sdp"
    assert inv.body == SDP_A
    assert bench.engine.tuple_count == 1 and bench.engine.entity_count == 2


def test_caller_cseq_number_is_reused_and_du_is_the_outbound_proxy():
    bench = Bench(Program(du="sip:10.0.0.9:5070"))
    bench.feed(invite_a(cseq=77), A)
    inv = bench.take_one(("10.0.0.9", 5070), "INVITE")
    assert inv.cseq.number == 77
    assert str(inv.ruri) == "sip:bob@10.0.0.2:5062"


def test_preserve_to_flag_keeps_the_to_uri():
    bench = Bench(Program(flags="preserve-to"))
    bench.feed(invite_a(), A)
    inv = bench.take_one(B, "INVITE")
    assert inv.get_header("To") == "<sip:bob@example.net>"


def test_init_request_refuses_unknown_scenarios_and_non_invites():
    bench = Bench(Program(scenario="prepaid"))
    bench.feed(invite_a(), A)
    assert bench.program.rc == [-1]
    assert bench.take(B) == []
    assert bench.engine.tuple_count == 0


def test_invite_retransmission_is_absorbed():
    bench = Bench()
    bench.feed(invite_a(), A)
    bench.feed(invite_a(), A)
    assert bench.program.ran == 1
    assert len([m for m in bench.take(B) if m.is_request]) == 1
    # the retransmission gets the last reply again (100 Trying)
    assert [m.status for m in bench.take(A)] == [100, 100]


# ------------------------------------------------------------------ replies and ACK


def test_replies_carry_our_tag_and_contact_and_hide_the_callee():
    bench = Bench()
    bench.feed(invite_a(), A)
    bench.take(A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 100), B)
    assert bench.take(A) == []  # 100 is hop-by-hop
    bench.feed(reply_b(inv_b, 183, SDP_B), B)
    r183 = bench.take_one(A, 183)
    assert r183.to.tag.startswith("B2B.")
    assert r183.get_header("Contact") == CONTACT_US
    assert r183.body == SDP_B
    assert not r183.has_header("User-Agent") and not r183.has_header("Server")
    assert r183.call_id == "acall-1@10.0.0.1" and r183.cseq.number == 1
    assert r183.via.branch == "z9hG4bK-a1" and len(r183.vias) == 1
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    ok = bench.take_one(A, 200)
    assert ok.to.tag == r183.to.tag
    assert ok.body == SDP_B


def test_ack_is_generated_per_leg_with_the_late_sdp():
    bench = Bench()
    bench.feed(invite_a(body=b""), A)  # late offer: SDP in the 200, answer in the ACK
    inv_b = bench.take_one(B, "INVITE")
    assert inv_b.body == b"" and not inv_b.has_header("Content-Type")
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    ok_a = bench.take_one(A, 200)
    assert bench.take(B) == []  # no ACK to B before the caller's ACK
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1", body=SDP_A), A)
    ack = bench.take_one(B, "ACK")
    assert ack.body == SDP_A and ack.get_header("Content-Type") == "application/sdp"
    assert ack.cseq.number == 1 and ack.cseq.method == "ACK"
    assert ack.call_id == inv_b.call_id
    assert ack.to.tag == "btag-1" and ack.from_.tag == inv_b.from_.tag
    assert str(ack.ruri) == "sip:bob@10.0.0.2:5062"  # the callee's Contact
    # ACK retransmission from A: nothing more to B
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1", body=SDP_A), A)
    assert bench.take(B) == []
    # 200 retransmission from B: our ACK again
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    assert bench.take_one(B, "ACK").cseq.number == 1


def test_2xx_is_retransmitted_to_the_caller_until_the_ack():
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    bench.advance(0.5)
    assert bench.take_one(A, 200).to.tag == ok_a.to.tag
    bench.advance(1.0)
    assert bench.take_one(A, 200)
    confirm(bench, ok_a)
    bench.advance(10)
    assert bench.take(A) == []


def test_no_ack_from_the_caller_ends_the_call():
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    bench.advance(33)
    sent_b = [m for m in bench.take(B) if m.is_request]
    assert [m.method for m in sent_b[:2]] == ["ACK", "BYE"]
    assert {m.via.branch for m in sent_b[1:]} == {sent_b[1].via.branch}  # the rest are BYE retransmissions
    assert {m.method for m in bench.take(A) if m.is_request} == {"BYE"}
    assert bench.engine.tuple_count == 0 and bench.engine.entity_count == 0


def test_error_reply_is_relayed_and_acked_hop_by_hop():
    bench = Bench()
    bench.feed(invite_a(), A)
    bench.take(A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 486), B)
    busy = bench.take_one(A, 486)
    assert busy.reason == "Busy Here" and busy.to.tag.startswith("B2B.")
    ack_b = bench.take_one(B, "ACK")
    assert ack_b.via.branch == inv_b.via.branch  # the transaction's own ACK
    # A's ACK for the 486 is absorbed by our server transaction
    bench.feed(in_dialog_a("ACK", busy, 1, "z9hG4bK-a1"), A)
    assert bench.take(B) == []
    assert bench.engine.tuple_count == 0 and bench.engine.entity_count == 0


def test_401_passes_only_with_transparent_auth():
    for flags, expect in ((None, False), ("transparent-auth", True), ("t30a", True)):
        bench = Bench(Program(flags=flags))
        bench.feed(invite_a(), A)
        inv_b = bench.take_one(B, "INVITE")
        bench.feed(reply_b(inv_b, 407, extra=[("Proxy-Authenticate", 'Digest realm="b", nonce="n"')]), B)
        r = bench.take_one(A, 407)
        assert r.has_header("Proxy-Authenticate") is expect, flags


# ------------------------------------------------------------------ in-dialog requests


def test_bye_from_the_caller():
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    bench.feed(in_dialog_a("BYE", ok_a, 2, "z9hG4bK-bye1"), A)
    bye = bench.take_one(B, "BYE")
    assert bye.cseq.number == 2 and bye.call_id == inv_b.call_id
    assert bye.to.tag == "btag-1" and bye.get_header("Contact") == CONTACT_US
    assert bench.engine.tuple_count == 0 and bench.engine.entity_count == 0
    bench.feed(reply_b(bye, 200), B)
    ok = bench.take_one(A, 200)
    assert ok.cseq.method == "BYE" and ok.get_header("Contact") == CONTACT_US
    assert ok.via.branch == "z9hG4bK-bye1"


def test_bye_from_the_callee():
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    bench.feed(in_dialog_b("BYE", inv_b, "btag-1", 1, "z9hG4bK-bbye"), B)
    bye = bench.take_one(A, "BYE")
    assert bye.call_id == "acall-1@10.0.0.1"
    assert bye.from_.tag == ok_a.to.tag and bye.to.tag == "atag-1"
    assert str(bye.ruri) == "sip:alice@10.0.0.1:5061"
    assert bye.cseq.number == 1 and bye.get_header("Contact") == CONTACT_US
    bench.feed(reply_a(bye, 200), A)
    ok = bench.take_one(B, 200)
    assert ok.call_id == inv_b.call_id and ok.via.branch == "z9hG4bK-bbye"
    assert bench.engine.tuple_count == 0


def test_request_after_the_end_goes_to_the_script():
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    bench.feed(in_dialog_a("BYE", ok_a, 2, "z9hG4bK-bye1"), A)
    ran = bench.program.ran
    bench.feed(in_dialog_a("INFO", ok_a, 3, "z9hG4bK-late"), A)
    assert bench.program.ran == ran + 1


@pytest.mark.parametrize("side", ["caller", "callee"])
def test_reinvite_from_either_side(side):
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    if side == "caller":
        bench.feed(in_dialog_a("INVITE", ok_a, 2, "z9hG4bK-re1", body=SDP_A), A)
        re = bench.take_one(B, "INVITE")
        assert re.cseq.number == 2 and re.body == SDP_A and re.to.tag == "btag-1"
        bench.feed(reply_b(re, 200, SDP_B), B)
        ok = bench.take_one(A, 200)
        assert ok.cseq.number == 2 and ok.body == SDP_B
        bench.feed(in_dialog_a("ACK", ok, 2, "z9hG4bK-re1ack"), A)
        ack = bench.take_one(B, "ACK")
        assert ack.cseq.number == 2
    else:
        bench.feed(in_dialog_b("INVITE", inv_b, "btag-1", 1, "z9hG4bK-bre", body=SDP_B), B)
        re = bench.take_one(A, "INVITE")
        assert re.call_id == "acall-1@10.0.0.1" and re.cseq.number == 1 and re.body == SDP_B
        bench.feed(reply_a(re, 200, SDP_A), A)
        ok = bench.take_one(B, 200)
        assert ok.call_id == inv_b.call_id and ok.body == SDP_A
        bench.feed(in_dialog_b("ACK", inv_b, "btag-1", 1, "z9hG4bK-bre-ack"), B)
        ack = bench.take_one(A, "ACK")
        assert ack.cseq.number == 1 and ack.to.tag == "atag-1"
    assert bench.engine.tuple_count == 1


def test_glare_gets_491():
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    bench.feed(in_dialog_a("INVITE", ok_a, 2, "z9hG4bK-re1", body=SDP_A), A)
    bench.take_one(B, "INVITE")
    bench.feed(in_dialog_b("INVITE", inv_b, "btag-1", 1, "z9hG4bK-bre", body=SDP_B), B)
    r = bench.take_one(B, 491)
    assert r.reason == "Request Pending"
    bench.feed(in_dialog_b("UPDATE", inv_b, "btag-1", 2, "z9hG4bK-bup"), B)
    assert bench.take_one(B, 491)


@pytest.mark.parametrize("method", ["INFO", "MESSAGE", "OPTIONS", "NOTIFY", "REFER", "UPDATE"])
def test_other_requests_pass_both_ways(method):
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    bench.feed(in_dialog_a(method, ok_a, 2, "z9hG4bK-x1", body=b"hello", extra="Event: foo\r\n"), A)
    fwd = bench.take_one(B, method)
    assert fwd.body == b"hello" and fwd.get_header("Event") == "foo" and fwd.cseq.number == 2
    bench.feed(reply_b(fwd, 202 if method == "REFER" else 200), B)
    assert bench.take(A)[0].status in (200, 202)
    bench.feed(in_dialog_b(method, inv_b, "btag-1", 5, "z9hG4bK-x2", body=b"back"), B)
    fwd2 = bench.take_one(A, method)
    assert fwd2.body == b"back" and fwd2.call_id == "acall-1@10.0.0.1"
    bench.feed(reply_a(fwd2, 200), A)
    assert bench.take_one(B, 200).cseq.number == 5


def test_in_dialog_retransmission_is_absorbed_and_cseq_order_not_enforced():
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    bench.feed(in_dialog_a("INFO", ok_a, 5, "z9hG4bK-i1"), A)
    bench.feed(in_dialog_a("INFO", ok_a, 5, "z9hG4bK-i1"), A)
    assert len(bench.take(B)) == 1
    # like OpenSIPS b2b_entities (sipssert b2b/28 sends BYE 2 after INVITE 3): a lower CSeq still passes
    bench.feed(in_dialog_a("INFO", ok_a, 4, "z9hG4bK-i2"), A)
    assert bench.take_one(B, "INFO").cseq.number == 3


def test_overlapping_reinvite_from_the_same_side_gets_500():
    """sipssert b2b/28.top-hiding-overlapping: 100 for each re-INVITE, 500 for the second one from the same side
    while the first is pending, 491 for the other side's INVITE crossing it."""
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    bench.feed(in_dialog_b("INVITE", inv_b, "btag-1", 1, "z9hG4bK-r1", body=SDP_B), B)
    assert bench.take_one(B, 100)
    re1 = bench.take_one(A, "INVITE")
    bench.feed(in_dialog_b("INVITE", inv_b, "btag-1", 2, "z9hG4bK-r2", body=SDP_B), B)
    got = bench.take(B)
    assert [m.status for m in got] == [100, 500] and got[1].cseq.number == 2
    bench.feed(in_dialog_a("INVITE", ok_a, 2, "z9hG4bK-ar", body=SDP_A), A)
    assert [m.status for m in bench.take(A)] == [100, 491]
    bench.feed(reply_a(re1, 200, SDP_A), A)
    ok1 = bench.take_one(B, 200)
    assert ok1.cseq.number == 1


# ------------------------------------------------------------------ CANCEL and timeouts


def test_cancel_before_answer():
    bench = Bench()
    bench.feed(invite_a(), A)
    bench.take(A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 180), B)
    bench.take(A)
    cancel = (
        b"CANCEL sip:bob@10.0.0.2:5062 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bK-a1\r\n"
        b'Max-Forwards: 70\r\nFrom: "Alice" <sip:alice@example.com>;tag=atag-1\r\nTo: <sip:bob@example.net>\r\n'
        b"Call-ID: acall-1@10.0.0.1\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"
    )
    bench.feed(cancel, A)
    got = bench.take(A)
    assert sorted((m.status, m.cseq.method) for m in got) == [(200, "CANCEL"), (487, "INVITE")]
    c = bench.take_one(B, "CANCEL")
    assert c.via.branch == inv_b.via.branch and c.call_id == inv_b.call_id
    bench.feed(reply_b(c, 200), B)
    bench.feed(reply_b(inv_b, 487), B)
    assert bench.take_one(B, "ACK").via.branch == inv_b.via.branch
    assert bench.take(A) == []
    assert bench.engine.tuple_count == 0 and bench.engine.entity_count == 0
    bench.advance(40)
    assert len(bench.engine.layer) == 0


def test_answer_crossing_the_cancel_is_acked_and_byed():
    bench = Bench()
    bench.feed(invite_a(), A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 180), B)
    cancel = invite_a().replace(b"INVITE sip", b"CANCEL sip").replace(b"1 INVITE", b"1 CANCEL")
    bench.feed(cancel.split(b"\r\n\r\n")[0].replace(b"Content-Length: ", b"X-L: ") + b"\r\n\r\n", A)
    bench.take(B)
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    methods = [m.method for m in bench.take(B) if m.is_request]
    assert methods == ["ACK", "BYE"]
    assert all(m.status != 200 or m.cseq.method == "CANCEL" for m in bench.take(A))


def test_setup_timeout_flag():
    bench = Bench(Program(flags="t5"))
    bench.feed(invite_a(), A)
    bench.take(A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 180), B)
    bench.take(A)
    bench.advance(4.8)
    assert bench.take(A) == []
    bench.advance(0.4)
    assert bench.take_one(A, 408)
    assert bench.take_one(B, "CANCEL")
    assert bench.engine.tuple_count == 0


def test_callee_silent_gives_408():
    bench = Bench()
    bench.feed(invite_a(), A)
    bench.take(A)
    bench.advance(33)
    assert {m.status for m in bench.take(A)} == {408}  # sent, then retransmitted until an ACK (Timer G)
    assert bench.engine.tuple_count == 0 and bench.engine.entity_count == 0


def test_max_duration_sends_byes():
    from types import SimpleNamespace

    script = SimpleNamespace(
        modparams=[SimpleNamespace(module="b2b_logic", param="max_duration", value=10)], globals=[]
    )
    bench = Bench(script=script)
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    bench.advance(10.2)
    assert bench.take_one(A, "BYE") and bench.take_one(B, "BYE")
    assert bench.engine.tuple_count == 0


# ------------------------------------------------------------------ topology leaks and resource counts


def test_no_leak_between_legs():
    bench = Bench()
    to_b, to_a = [], []
    bench.feed(invite_a(), A)
    to_a += bench.take(A)
    inv_b = bench.take(B)[0]
    to_b.append(inv_b)
    bench.feed(reply_b(inv_b, 180), B)
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    got = bench.take(A)
    to_a += got
    ok_a = got[-1]
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    bench.feed(in_dialog_a("INFO", ok_a, 2, "z9hG4bK-info"), A)
    to_b += bench.take(B)
    bench.feed(reply_b(to_b[-1], 200), B)
    bench.feed(in_dialog_b("BYE", inv_b, "btag-1", 1, "z9hG4bK-bbye"), B)
    to_a += bench.take(A)
    bench.feed(reply_a(to_a[-1], 200), A)
    to_b += bench.take(B)
    assert len(to_b) >= 4 and len(to_a) >= 5
    caller_secrets = [
        "10.0.0.1",
        "5061",
        "acall-1",
        "atag-1",
        "z9hG4bK-a1",
        "z9hG4bK-ack1",
        "AliceUA",
        "X-Secret",
    ]
    callee_secrets = ["10.0.0.2", "5062", inv_b.call_id, "btag-1", "BobUA", "BobSrv", "z9hG4bK-bbye"]
    # headers only: bodies (SDP) pass end to end untouched, as in OpenSIPS (media anchoring is rtpengine's job)
    for m in to_b:
        text = m.to_bytes().decode().split("\r\n\r\n")[0]
        for s in caller_secrets:
            assert s not in text, (s, text)
    for m in to_a:
        text = m.to_bytes().decode().split("\r\n\r\n")[0]
        # our replies to A echo A's own Via/Call-ID (its own data, fine); B's data must not appear
        for s in callee_secrets:
            if s in ("z9hG4bK-bbye",) and not m.is_request:
                continue
            assert s not in text, (s, text)


def test_many_calls_leave_nothing_behind():
    bench = Bench()
    for i in range(2000):
        cid = f"c{i}@10.0.0.1"
        bench.feed(invite_a(call_id=cid, branch=f"z9hG4bK-i{i}"), A)
        inv_b = bench.take(B)[0]
        bench.feed(reply_b(inv_b, 200, SDP_B), B)
        ok_a = [m for m in bench.take(A) if m.status == 200][0]
        bench.feed(in_dialog_a("ACK", ok_a, 1, f"z9hG4bK-k{i}", call_id=cid), A)
        bench.feed(in_dialog_a("BYE", ok_a, 2, f"z9hG4bK-b{i}", call_id=cid), A)
        bye = [m for m in bench.take(B) if m.is_request and m.method == "BYE"][0]
        bench.feed(reply_b(bye, 200), B)
        bench.take()
    assert bench.engine.tuple_count == 0 and bench.engine.entity_count == 0
    bench.advance(40)
    assert len(bench.engine.layer) == 0
    assert len(bench.timers) <= 1
    gc.collect()
    alive = [o for o in gc.get_objects() if type(o) in (Leg, Tuple, SrvRef, CliRef)]
    assert alive == []


# ------------------------------------------------------------------ MI


def test_mi_b2b_list_and_terminate_call():
    from pysips.errors import MIError
    from pysips.modules.b2b_logic import mi_b2b_list, mi_b2b_terminate_call

    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    tuples = mi_b2b_list(bench.core, {})["Tuples"]
    assert len(tuples) == 1
    t = tuples[0]
    assert t["scenario"] == "top hiding" and t["state"] == 0 and t["key"].count(".") == 1
    assert t["SERVERS"][0]["key"] == ok_a.to.tag and t["CLIENTS"][0]["key"] == inv_b.call_id
    assert t["SERVERS"][0]["peer"] == inv_b.call_id
    assert t["CLIENTS"][0]["to_uri"] == "sip:bob@10.0.0.2:5062"
    assert mi_b2b_terminate_call(bench.core, {"key": t["key"]}) == "OK"
    assert bench.take_one(A, "BYE") and bench.take_one(B, "BYE")
    assert mi_b2b_list(bench.core, {}) == {"Tuples": []}
    with pytest.raises(MIError, match="B2B session not found"):
        mi_b2b_terminate_call(bench.core, {"key": t["key"]})


def test_mi_terminate_by_dialog_id_before_answer():
    from pysips.modules.b2b_logic import mi_b2b_terminate_call

    bench = Bench()
    bench.feed(invite_a(), A)
    bench.take(A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 180), B)
    r180 = bench.take_one(A, 180)
    assert mi_b2b_terminate_call(bench.core, {"key": f"acall-1@10.0.0.1;atag-1;{r180.to.tag}"}) == "OK"
    assert bench.take_one(A, 408) and bench.take_one(B, "CANCEL")
    assert bench.engine.tuple_count == 0


# ------------------------------------------------------------------ modparams and corner cases


def _script(params: dict):
    from types import SimpleNamespace

    mps = [SimpleNamespace(module=m, param=p, value=v) for (m, p), v in params.items()]
    return SimpleNamespace(modparams=mps, globals=[])


def test_custom_headers_callid_header_and_server_address():
    script = _script(
        {
            ("b2b_logic", "custom_headers"): "X-Secret;P-Asserted-Identity",
            ("b2b_logic", "custom_headers_regexp"): "^X-Acc-",
            ("b2b_logic", "init_callid_hdr"): "X-Orig-Callid",
            ("b2b_logic", "server_address"): "sip:198.51.100.7:5090",
        }
    )
    bench = Bench(script=script)
    bench.feed(invite_a(extra="X-Acc-Code: 42\r\nX-Other: no\r\n"), A)
    inv = bench.take_one(B, "INVITE")
    assert inv.get_header("X-Secret") == "alice-internal"
    assert inv.get_header("P-Asserted-Identity") == "<sip:alice@10.0.0.1>"
    assert inv.get_header("X-Acc-Code") == "42"
    assert not inv.has_header("X-Other") and not inv.has_header("User-Agent")
    assert inv.get_header("X-Orig-Callid") == "acall-1@10.0.0.1"
    assert inv.get_header("Contact") == "<sip:198.51.100.7:5090>"


def test_contact_user_puts_the_from_user_in_contact():
    bench = Bench(script=_script({("b2b_logic", "contact_user"): 1}))
    bench.feed(invite_a(), A)
    assert bench.take_one(B, "INVITE").get_header("Contact") == "<sip:alice@127.0.0.1:5060>"


def test_bye_before_the_ack_still_acks_the_callee():
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    bench.feed(in_dialog_a("BYE", ok_a, 2, "z9hG4bK-bye1"), A)
    assert [m.method for m in bench.take(B) if m.is_request] == ["ACK", "BYE"]
    assert bench.engine.tuple_count == 0


def test_early_update_from_the_callee_reaches_the_caller():
    bench = Bench()
    bench.feed(invite_a(), A)
    bench.take(A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 183, SDP_B), B)
    r183 = bench.take_one(A, 183)
    bench.feed(in_dialog_b("UPDATE", inv_b, "btag-1", 1, "z9hG4bK-bup", body=SDP_B), B)
    up = bench.take_one(A, "UPDATE")
    assert up.to.tag == "atag-1" and up.from_.tag == r183.to.tag and up.body == SDP_B
    bench.feed(reply_a(up, 200, SDP_A), A)
    assert bench.take_one(B, 200).body == SDP_A


def test_in_dialog_request_for_an_unknown_dialog_goes_to_the_script():
    bench = Bench()
    inv_b, ok_a = setup_call(bench)
    confirm(bench, ok_a)
    ran = bench.program.ran
    bench.feed(in_dialog_a("INFO", ok_a, 2, "z9hG4bK-x", call_id="other@10.0.0.1"), A)
    assert bench.program.ran == ran + 1
    assert bench.take(B) == []
