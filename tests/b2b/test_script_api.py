"""The 3.2+ script API (b2b_server_new / b2b_client_new / b2b_init_request(id) / b2b_logic routes / b2b_bridge)
driven with parsed messages: the prepaid flow of the OpenSIPS b2b tutorial."""

from __future__ import annotations

from typing import Any

from pysips.modules import b2b_logic as M
from pysips.script.pvars import parse_pv
from tests.b2b._harness import SDP_A, SDP_B, A, B, Bench, in_dialog_a, in_dialog_b, invite_a, reply_a, reply_b

MEDIA = ("10.0.0.5", 5070)
CALLEE = ("10.0.0.6", 5080)
M_CT = "sip:media@10.0.0.5:5070"
C_CT = "sip:bob@10.0.0.6:5080"


def pv(text: str, ctx: Any) -> Any:
    return parse_pv(text).get(ctx)


class Prepaid:
    """route { b2b_server_new("caller"); b2b_client_new("media", ...); b2b_init_request("prepaid"); }
    route[b2b_request] { on BYE from media: 200, delete, client_new("callee"), bridge; else pass }"""

    def __init__(self) -> None:
        self.routes = {("request", None): 1, ("request", "b2b_request"): 1}
        self.seen: list[tuple] = []

    def run(self, kind: str, name: str | None, ctx: Any) -> int:
        if name is None:
            if ctx.msg.to.tag is not None:
                return 0
            assert M.w_b2b_server_new(ctx, "caller") == 1
            assert M.w_b2b_client_new(ctx, "media", "sip:balance@10.0.0.5:5070") == 1
            M._set_ctx(ctx, "state", "=", "media")
            assert M.w_b2b_init_request(ctx, "prepaid", None, "b2b_request") == 1
            assert pv("$b2b_logic.scenario", ctx) == "prepaid"
            return 0
        self.seen.append(
            (
                ctx.msg.method,
                pv("$b2b_logic.entity(id)", ctx),
                pv("$b2b_logic.ctx(state)", ctx),
                pv("$(b2b_logic.entity(id)[1])", ctx),
            )
        )
        if ctx.msg.method == "BYE" and pv("$b2b_logic.entity(id)", ctx) == "media":
            assert M.w_b2b_send_reply(ctx, 200, "OK") == 1
            assert M.w_b2b_delete_entity(ctx) == 1
            M._set_ctx(ctx, "state", "=", "callee")
            assert M.w_b2b_client_new(ctx, "callee", "sip:bob@10.0.0.6:5080") == 1
            assert M.w_b2b_bridge(ctx, "caller", "callee") == 1
            return 0
        return M.w_b2b_pass_request(ctx)


def test_prepaid_flow():
    bench = Bench(Prepaid())
    bench.feed(invite_a(), A)
    inv_m = bench.take_one(MEDIA, "INVITE")
    assert inv_m.body == SDP_A and str(inv_m.ruri) == "sip:balance@10.0.0.5:5070"
    bench.feed(reply_b(inv_m, 200, SDP_B, tag="mtag", contact=M_CT), MEDIA)
    ok_a = bench.take_one(A, 200)
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    assert bench.take_one(MEDIA, "ACK")
    # the media server hangs up: the script answers it and bridges the caller to the callee
    bench.feed(in_dialog_b("BYE", inv_m, "mtag", 1, "z9hG4bK-mbye", sent_by="10.0.0.5:5070"), MEDIA)
    assert bench.take_one(MEDIA, 200).cseq.method == "BYE"
    inv_c = bench.take_one(CALLEE, "INVITE")
    assert inv_c.body == b"" and inv_c.call_id.startswith("B2B.")
    assert (
        inv_c.from_.uri_text == "sip:alice@example.com"
        and inv_c.get_header("To") == "<sip:bob@10.0.0.6:5080>"
    )
    assert bench.take(A) == []  # nothing for the caller until the callee answers
    bench.feed(reply_b(inv_c, 180, tag="ctag", contact=C_CT), CALLEE)
    assert bench.take(A) == []
    bench.feed(reply_b(inv_c, 200, SDP_B, tag="ctag", contact=C_CT), CALLEE)
    reinv = bench.take_one(A, "INVITE")
    assert reinv.body == SDP_B and reinv.to.tag == "atag-1" and reinv.from_.tag == ok_a.to.tag
    assert bench.take(CALLEE) == []  # its ACK waits for the caller's answer
    bench.feed(reply_a(reinv, 200, SDP_A), A)
    assert bench.take_one(A, "ACK").cseq.number == reinv.cseq.number
    ack_c = bench.take_one(CALLEE, "ACK")
    assert ack_c.body == SDP_A and ack_c.to.tag == "ctag"
    # bridged: the caller's BYE goes through the request route to the callee
    bench.feed(in_dialog_a("BYE", ok_a, 2, "z9hG4bK-bye"), A)
    bye = bench.take_one(CALLEE, "BYE")
    bench.feed(reply_b(bye, 200), CALLEE)
    assert bench.take_one(A, 200).cseq.method == "BYE"
    assert bench.program.seen == [("BYE", "media", "media", "media"), ("BYE", "caller", "callee", "callee")]
    assert bench.engine.tuple_count == 0 and bench.engine.entity_count == 0


def test_bridge_failure_ends_the_call():
    bench = Bench(Prepaid())
    bench.feed(invite_a(), A)
    inv_m = bench.take_one(MEDIA, "INVITE")
    bench.feed(reply_b(inv_m, 200, SDP_B, tag="mtag", contact=M_CT), MEDIA)
    ok_a = bench.take_one(A, 200)
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    bench.feed(in_dialog_b("BYE", inv_m, "mtag", 1, "z9hG4bK-mbye", sent_by="10.0.0.5:5070"), MEDIA)
    inv_c = bench.take_one(CALLEE, "INVITE")
    bench.feed(reply_b(inv_c, 486, tag="ctag", contact=C_CT), CALLEE)
    assert bench.take_one(A, "BYE")
    assert bench.engine.tuple_count == 0


def test_init_request_without_entities_fails():
    class NoEntities:
        routes = {("request", None): 1}
        rc = None

        def run(self, kind, name, ctx):
            NoEntities.rc = M.w_b2b_init_request(ctx, "prepaid")
            return 0

    bench = Bench(NoEntities())
    bench.feed(invite_a(), A)
    assert NoEntities.rc == -1 and bench.engine.tuple_count == 0


class Refer:
    """sipssert b2b/03: on REFER, 202 + end the referrer's leg + bridge its peer to the Refer-To target."""

    def __init__(self) -> None:
        self.routes = {("request", None): 1, ("request", "b2b_logic_request"): 1, ("request", "b2b_reply"): 1}
        self.replies: list[int] = []

    def run(self, kind: str, name: str | None, ctx: Any) -> int:
        if name is None:
            if ctx.msg.to.tag is not None:
                return 0
            M.w_b2b_server_new(ctx, "caller")
            M.w_b2b_client_new(ctx, "callee", "sip:bob@10.0.0.2:5062")
            M.w_b2b_init_request(ctx, "refer", None, "b2b_logic_request", "b2b_reply")
            return 0
        if name == "b2b_reply":
            self.replies.append(ctx.msg.status)
            return M.w_b2b_handle_reply(ctx)
        if ctx.msg.method != "REFER":
            return M.w_b2b_pass_request(ctx)
        M.w_b2b_send_reply(ctx, 202, "Accepted")
        M.w_b2b_end_dlg_leg(ctx)
        M.w_b2b_client_new(ctx, "referee", ctx.msg.get_header("Refer-To"))
        return M.w_b2b_bridge(ctx, "peer", "referee")


def test_refer_bridges_the_peer_to_the_target_and_reply_route_sees_replies():
    bench = Bench(Refer())
    inv_b, ok_a = _setup_refer_call(bench)
    assert 180 in bench.program.replies and 200 in bench.program.replies
    # the callee transfers the caller to 10.0.0.6
    refer = in_dialog_b("REFER", inv_b, "btag-1", 1, "z9hG4bK-ref")
    refer = refer.replace(b"Content-Length: 0", b"Refer-To: <sip:carol@10.0.0.6:5080>\r\nContent-Length: 0")
    bench.feed(refer, B)
    got_b = bench.take(B)
    assert sorted(str(m.status if not m.is_request else m.method) for m in got_b) == ["202", "BYE"]
    inv_c = bench.take_one(CALLEE, "INVITE")
    assert inv_c.body == b"" and str(inv_c.ruri) == "sip:carol@10.0.0.6:5080"
    bench.feed(reply_b(inv_c, 200, SDP_B, tag="ctag", contact=C_CT), CALLEE)
    reinv = bench.take_one(A, "INVITE")
    bench.feed(reply_a(reinv, 200, SDP_A), A)
    assert bench.take_one(CALLEE, "ACK").body == SDP_A
    assert bench.take_one(A, "ACK")
    bench.feed(in_dialog_a("BYE", ok_a, 2, "z9hG4bK-bye"), A)
    assert bench.take_one(CALLEE, "BYE")


def _setup_refer_call(bench: Bench):
    bench.feed(invite_a(), A)
    inv_b = bench.take_one(B, "INVITE")
    bench.feed(reply_b(inv_b, 180), B)
    bench.feed(reply_b(inv_b, 200, SDP_B), B)
    ok_a = bench.take_one(A, 200)
    bench.feed(in_dialog_a("ACK", ok_a, 1, "z9hG4bK-ack1"), A)
    bench.take()
    return inv_b, ok_a


class ReferNotify(Refer):
    """sipssert b2b/07 and b2b/29: bridge("peer", "referee", , "notify[,rollback-failed]") without ending the referrer."""

    def __init__(self, flags: str) -> None:
        super().__init__()
        self.flags = flags

    def run(self, kind: str, name: str | None, ctx: Any) -> int:
        if name != "b2b_logic_request" or ctx.msg.method != "REFER":
            return super().run(kind, name, ctx)
        M.w_b2b_send_reply(ctx, 202, "Accepted")
        M.w_b2b_client_new(ctx, "referee", ctx.msg.get_header("Refer-To"))
        return M.w_b2b_bridge(ctx, "peer", "referee", None, self.flags)


def _refer_from_b(bench: Bench, inv_b) -> None:
    refer = in_dialog_b("REFER", inv_b, "btag-1", 7, "z9hG4bK-ref")
    refer = refer.replace(b"Content-Length: 0", b"Refer-To: <sip:carol@10.0.0.6:5080>\r\nContent-Length: 0")
    bench.feed(refer, B)


def test_refer_with_notify_reports_progress_then_ends_the_referrer():
    bench = Bench(ReferNotify("notify"))
    inv_b, ok_a = _setup_refer_call(bench)
    _refer_from_b(bench, inv_b)
    got = bench.take(B)
    assert [str(m.status) if not m.is_request else m.method for m in got] == ["202", "NOTIFY"]
    n1 = got[1]
    assert (
        n1.get_header("Event") == "refer;id=7" and n1.get_header("Subscription-State") == "active;expires=60"
    )
    assert n1.get_header("Content-Type") == "message/sipfrag" and n1.body == b"SIP/2.0 100 Trying"
    bench.feed(reply_b(n1, 200), B)
    inv_c = bench.take_one(CALLEE, "INVITE")
    bench.feed(reply_b(inv_c, 200, SDP_B, tag="ctag", contact=C_CT), CALLEE)
    got = [m for m in bench.take(B) if m.is_request]
    assert [m.method for m in got] == ["NOTIFY", "BYE"]
    assert got[0].body == b"SIP/2.0 200 OK"
    assert got[0].get_header("Subscription-State") == "terminated;reason=noresource"
    assert bench.take_one(A, "INVITE").body == SDP_B


def test_refer_rollback_keeps_the_call_when_the_target_fails():
    bench = Bench(ReferNotify("notify,rollback-failed"))
    inv_b, ok_a = _setup_refer_call(bench)
    _refer_from_b(bench, inv_b)
    bench.take(B)
    inv_c = bench.take_one(CALLEE, "INVITE")
    bench.feed(reply_b(inv_c, 486, tag="ctag", contact=C_CT), CALLEE)
    got = [m for m in bench.take(B) if m.is_request]
    assert [m.method for m in got] == ["NOTIFY"] and got[0].body == b"SIP/2.0 486 Busy Here"
    assert bench.take(A) == []
    # the caller and the callee still talk to each other
    bench.feed(in_dialog_a("INFO", ok_a, 2, "z9hG4bK-info"), A)
    assert bench.take_one(B, "INFO")
    assert bench.engine.tuple_count == 1


class ReferFlags(ReferNotify):
    """b2b_bridge("peer", "referee", provmedia, flags) after b2b_end_dlg_leg() (sipssert b2b/11, 22, 23)."""

    def __init__(self, flags: str | None, prov: str | None) -> None:
        super().__init__(flags or "")
        self.prov = prov

    def run(self, kind: str, name: str | None, ctx: Any) -> int:
        if name != "b2b_logic_request" or ctx.msg.method != "REFER":
            return super().run(kind, name, ctx)
        M.w_b2b_send_reply(ctx, 202, "Accepted")
        M.w_b2b_end_dlg_leg(ctx)
        M.w_b2b_client_new(ctx, "referee", ctx.msg.get_header("Refer-To"))
        return M.w_b2b_bridge(ctx, "peer", "referee", self.prov, self.flags)


PROV = ("10.0.0.7", 5066)


def test_bridge_through_provisional_media():
    bench = Bench(ReferFlags(None, "sip:ringing@10.0.0.7:5066"))
    inv_b, ok_a = _setup_refer_call(bench)
    _refer_from_b(bench, inv_b)  # the callee refers the caller: the caller (old) goes to media, then to carol
    assert [m.method for m in bench.take(B) if m.is_request] == ["BYE"]
    reinv1 = bench.take_one(A, "INVITE")
    assert reinv1.body == b""  # the caller is asked for an offer
    bench.feed(reply_a(reinv1, 200, SDP_A), A)
    inv_m = bench.take_one(PROV, "INVITE")
    assert inv_m.body == SDP_A
    bench.feed(reply_b(inv_m, 200, SDP_B, tag="ptag", contact="sip:ringing@10.0.0.7:5066"), PROV)
    assert bench.take_one(PROV, "ACK")
    assert bench.take_one(A, "ACK").body == SDP_B
    inv_c = bench.take_one(CALLEE, "INVITE")
    assert inv_c.body == SDP_A
    bench.feed(reply_b(inv_c, 200, SDP_B, tag="ctag", contact=C_CT), CALLEE)
    assert bench.take_one(CALLEE, "ACK")
    assert bench.take_one(PROV, "BYE")
    reinv2 = bench.take_one(A, "INVITE")
    assert reinv2.body == SDP_B
    bench.feed(reply_a(reinv2, 200, SDP_A), A)
    assert bench.take_one(A, "ACK")
    bench.feed(in_dialog_a("BYE", ok_a, 2, "z9hG4bK-bye"), A)
    assert bench.take_one(CALLEE, "BYE")


def test_bridge_no_late_sdp_renegotiates():
    bench = Bench(ReferFlags("no-late-sdp", None))
    inv_b, ok_a = _setup_refer_call(bench)
    _refer_from_b(bench, inv_b)
    bench.take(B)
    inv_c = bench.take_one(CALLEE, "INVITE")
    assert inv_c.body == SDP_A  # the caller's last SDP (its initial offer)
    bench.feed(reply_b(inv_c, 200, SDP_B, tag="ctag", contact=C_CT), CALLEE)
    assert bench.take_one(CALLEE, "ACK").body == b""
    reinv = bench.take_one(A, "INVITE")
    assert reinv.body == b""
    bench.feed(reply_a(reinv, 200, SDP_A), A)
    reneg = bench.take_one(CALLEE, "INVITE")
    assert reneg.body == SDP_A and reneg.get_header("Content-Type") == "application/sdp"
    bench.feed(reply_b(reneg, 200, SDP_B, tag="ctag", contact=C_CT), CALLEE)
    assert bench.take_one(CALLEE, "ACK").cseq.number == reneg.cseq.number
    assert bench.take_one(A, "ACK").body == SDP_B
    assert bench.engine.tuples[next(iter(bench.engine.tuples))].bridge is None


def test_mi_b2b_bridge_keeps_the_callee():
    from pysips.modules.b2b_logic import mi_b2b_bridge, mi_b2b_list

    bench = Bench(Refer())
    inv_b, ok_a = _setup_refer_call(bench)
    key = mi_b2b_list(bench.core, {})["Tuples"][0]["key"]
    assert (
        mi_b2b_bridge(bench.core, {"dialog_id": key, "new_uri": "sip:carol@10.0.0.6:5080", "flag": "1"})
        == "OK"
    )
    assert bench.take_one(A, "BYE")
    inv_c = bench.take_one(CALLEE, "INVITE")
    bench.feed(reply_b(inv_c, 200, SDP_B, tag="ctag", contact=C_CT), CALLEE)
    reinv = bench.take_one(B, "INVITE")
    assert reinv.body == SDP_B


def test_bridge_hold_puts_the_old_entity_on_hold_first():
    bench = Bench(ReferFlags("hold", None))
    inv_b, ok_a = _setup_refer_call(bench)
    _refer_from_b(bench, inv_b)
    bench.take(B)
    hold = bench.take_one(A, "INVITE")
    assert b"a=inactive" in hold.body and bench.take(CALLEE) == []
    bench.feed(reply_a(hold, 200, SDP_A), A)
    assert bench.take_one(A, "ACK")
    inv_c = bench.take_one(CALLEE, "INVITE")
    assert inv_c.body == b""
    bench.feed(reply_b(inv_c, 200, SDP_B, tag="ctag", contact=C_CT), CALLEE)
    reinv = bench.take_one(A, "INVITE")
    assert reinv.body == SDP_B
