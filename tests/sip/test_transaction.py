"""RFC 3261 section 17 transactions, driven with a fake clock (plain floats, no sleeping)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pysips.sip.message import parse_message
from pysips.sip.timers import TimerConfig, TimerHeap
from pysips.sip.transaction import (
    Kind,
    SendEvent,
    State,
    TerminatedEvent,
    TimeoutEvent,
    TransactionLayer,
    TransportErrorEvent,
    new_branch,
)

SRC = ("10.0.0.1", 5060)
DEST = ("10.0.0.2", 5060)


def request(
    method: str = "INVITE",
    *,
    branch: str | None = "z9hG4bKclient1",
    via_host: str = "10.0.0.1",
    via_port: int = 5060,
    transport: str = "UDP",
    cseq: int = 1,
    cseq_method: str | None = None,
    ruri: str = "sip:bob@example.com",
    from_tag: str = "fromtag1",
    to_tag: str | None = None,
    call_id: str = "call-1@10.0.0.1",
    routes: tuple[str, ...] = (),
):
    via = f"SIP/2.0/{transport} {via_host}:{via_port}"
    if branch is not None:
        via += f";branch={branch}"
    to = "<sip:bob@example.com>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} {ruri} SIP/2.0",
        f"Via: {via}",
        *(f"Route: {r}" for r in routes),
        "Max-Forwards: 70",
        f"From: Alice <sip:alice@example.com>;tag={from_tag}",
        f"To: {to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {cseq_method or method}",
        "Contact: <sip:alice@10.0.0.1>",
        "Content-Length: 0",
    ]
    return parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())


def response(req, status: int, *, to_tag: str | None = "totag9", reason: str = "Reason"):
    """A response as the next hop would send it: same Vias, From, Call-ID, CSeq; To with a tag."""
    to = req.get_header("To")
    if to_tag and ";tag=" not in to:
        to += f";tag={to_tag}"
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {v}" for v in req.get_values("Via")]
    lines += [
        f"From: {req.get_header('From')}",
        f"To: {to}",
        f"Call-ID: {req.get_header('Call-ID')}",
        f"CSeq: {req.get_header('CSeq')}",
        "Content-Length: 0",
    ]
    return parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())


def sends(events) -> list[bytes]:
    return [e.data for e in events if isinstance(e, SendEvent)]


def run_timers(layer: TransactionLayer, limit: int = 100) -> list[tuple[float, object]]:
    """Fire every timer in deadline order; returns (time, event) pairs. Bounded by `limit` wake-ups."""
    out = []
    for _ in range(limit):
        deadline = layer.get_timer()
        if deadline is None:
            return out
        out.extend((deadline, ev) for ev in layer.handle_timer(deadline))
    raise AssertionError("timers never stopped")


def send_times(timeline) -> list[float]:
    return [t for t, ev in timeline if isinstance(ev, SendEvent)]


# ----------------------------------------------------------------------------------- retransmission schedules
def test_invite_client_timer_a_doubles_without_cap_then_timer_b_times_out():
    layer = TransactionLayer()
    inv = request()
    txn = layer.new_client_transaction(inv, DEST, 0.0)
    first = layer.take_events()
    assert [type(e) for e in first] == [SendEvent]
    assert first[0].data == inv.to_bytes() and first[0].dest == DEST and first[0].transport == "UDP"
    timeline = run_timers(layer)
    assert send_times(timeline) == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert all(ev.data == first[0].data for _, ev in timeline if isinstance(ev, SendEvent))
    tail = [(t, type(ev)) for t, ev in timeline if not isinstance(ev, SendEvent)]
    assert tail == [(32.0, TimeoutEvent), (32.0, TerminatedEvent)]
    assert next(ev for _, ev in timeline if isinstance(ev, TimeoutEvent)).timer == "B"
    assert txn.state == State.TERMINATED
    assert len(layer) == 0


def test_non_invite_client_timer_e_caps_at_t2_then_timer_f_times_out():
    layer = TransactionLayer()
    layer.new_client_transaction(request("OPTIONS"), DEST, 0.0)
    layer.take_events()
    timeline = run_timers(layer)
    assert send_times(timeline) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    timeouts = [(t, ev.timer) for t, ev in timeline if isinstance(ev, TimeoutEvent)]
    assert timeouts == [(32.0, "F")]
    assert len(layer) == 0


def test_non_invite_client_in_proceeding_retransmits_every_t2():
    layer = TransactionLayer()
    req = request("REGISTER")
    txn = layer.new_client_transaction(req, DEST, 0.0)
    layer.take_events()
    assert send_times(run_until(layer, 0.6)) == [0.5]
    assert layer.receive_response(response(req, 100, to_tag=None), DEST, 0.6) == (txn, False)
    assert txn.state == State.PROCEEDING
    timeline = run_timers(layer)
    # the timer armed at 0.5 (interval 1) still fires at 1.5, then every T2 = 4 s
    assert send_times(timeline) == [1.5, 5.5, 9.5, 13.5, 17.5, 21.5, 25.5, 29.5]
    assert [ev.timer for _, ev in timeline if isinstance(ev, TimeoutEvent)] == ["F"]


def test_custom_timer_config_scales_the_schedule():
    layer = TransactionLayer(TimerConfig(t1=0.25, t2=1.0, t4=2.0))
    layer.new_client_transaction(request("OPTIONS"), DEST, 10.0)
    layer.take_events()
    timeline = run_timers(layer)
    assert send_times(timeline) == [
        10.25,
        10.75,
        11.75,
        12.75,
        13.75,
        14.75,
        15.75,
        16.75,
        17.75,
        18.75,
        19.75,
        20.75,
        21.75,
        22.75,
        23.75,
        24.75,
        25.75,
    ]
    assert [(t, ev.timer) for t, ev in timeline if isinstance(ev, TimeoutEvent)] == [(26.0, "F")]


def test_timer_config_rejects_nonsense():
    with pytest.raises(ValueError, match="T1 must be > 0"):
        TimerConfig(t1=0)
    with pytest.raises(ValueError, match="T2"):
        TimerConfig(t1=1.0, t2=0.5)


def run_until(layer: TransactionLayer, now: float) -> list[tuple[float, object]]:
    out = []
    for _ in range(100):
        deadline = layer.get_timer()
        if deadline is None or deadline > now:
            return out
        out.extend((deadline, ev) for ev in layer.handle_timer(deadline))
    raise AssertionError("too many timers")


# ----------------------------------------------------------------------------------------- INVITE client
def test_2xx_terminates_invite_client_transaction_rfc3261():
    layer = TransactionLayer()
    inv = request()
    txn = layer.new_client_transaction(inv, DEST, 0.0)
    layer.take_events()
    assert layer.receive_response(response(inv, 180), DEST, 0.1) == (txn, False)
    assert txn.state == State.PROCEEDING
    # no retransmission after a provisional, and Timer B no longer runs
    assert layer.get_timer() is None
    ok = response(inv, 200)
    assert layer.receive_response(ok, DEST, 0.2) == (txn, False)
    assert txn.state == State.TERMINATED and txn.last_response is ok
    assert [type(e) for e in layer.take_events()] == [TerminatedEvent]
    assert len(layer) == 0 and not layer.has_events
    # a 2xx retransmission is a stray now (a proxy forwards it statelessly)
    assert layer.receive_response(response(inv, 200), DEST, 0.3) == (None, False)


def test_2xx_moves_invite_client_to_accepted_with_rfc6026():
    layer = TransactionLayer(rfc6026=True)
    inv = request()
    txn = layer.new_client_transaction(inv, DEST, 0.0)
    assert layer.receive_response(response(inv, 200), DEST, 1.0) == (txn, False)
    assert txn.state == State.ACCEPTED
    # 2xx retransmissions reach the TU, no ACK is generated by the transaction
    assert layer.receive_response(response(inv, 200), DEST, 2.0) == (txn, False)
    assert sends(layer.take_events()) == [inv.to_bytes()]
    assert layer.get_timer() == 1.0 + 32.0  # Timer M
    layer.handle_timer(33.0)
    assert txn.state == State.TERMINATED and len(layer) == 0


@pytest.mark.parametrize("status", [302, 404, 486, 503, 603])
def test_invite_client_acks_non_2xx_final(status):
    layer = TransactionLayer()
    inv = request(
        routes=("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"),
        ruri="sip:bob@b.example.com;transport=udp",
    )
    txn = layer.new_client_transaction(inv, DEST, 0.0)
    layer.take_events()
    final = response(inv, status, to_tag="xyz")
    assert layer.receive_response(final, DEST, 0.2) == (txn, False)
    assert txn.state == State.COMPLETED
    events = layer.take_events()
    assert len(events) == 1 and events[0].dest == DEST and events[0].transport == "UDP"
    ack = parse_message(events[0].data)
    assert ack.method == "ACK"
    assert str(ack.ruri) == "sip:bob@b.example.com;transport=udp"
    assert len(ack.vias) == 1 and ack.via.branch == "z9hG4bKclient1"
    assert ack.to.tag == "xyz"
    assert ack.from_.tag == "fromtag1"
    assert ack.call_id == "call-1@10.0.0.1"
    assert (ack.cseq.number, ack.cseq.method) == (1, "ACK")
    assert [str(r.uri) for r in ack.routes] == ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]
    assert ack.body == b""
    # a retransmitted final is absorbed and answered with the same ACK
    assert layer.receive_response(response(inv, status, to_tag="xyz"), DEST, 1.0) == (txn, True)
    assert sends(layer.take_events()) == [events[0].data]
    # Timer D (32 s on UDP) removes the transaction
    assert layer.get_timer() == 0.2 + 32.0
    assert [type(e) for e in layer.handle_timer(32.2)] == [TerminatedEvent]
    assert len(layer) == 0


def test_late_provisional_after_final_is_absorbed_by_client():
    layer = TransactionLayer(keep_messages=True)
    inv = request()
    txn = layer.new_client_transaction(inv, DEST, 0.0)
    layer.receive_response(response(inv, 486), DEST, 0.1)
    layer.take_events()
    assert layer.receive_response(response(inv, 180), DEST, 0.2) == (txn, True)
    assert layer.take_events() == []
    assert txn.last_response.status == 486


def test_response_matching_uses_branch_and_cseq_method():
    layer = TransactionLayer()
    inv = request()
    txn = layer.new_client_transaction(inv, DEST, 0.0)
    other_branch = request(branch="z9hG4bKsomethingelse")
    assert layer.receive_response(response(other_branch, 180), DEST, 0.1) == (None, False)
    # same branch, CSeq method CANCEL: belongs to the CANCEL transaction, not the INVITE
    cancel_like = request("CANCEL")
    assert layer.receive_response(response(cancel_like, 200), DEST, 0.1) == (None, False)
    assert txn.state == State.CALLING
    assert layer.find_client("z9hG4bKclient1", "INVITE") is txn
    assert txn.last_status == 0


def test_timer_c_reports_but_keeps_the_transaction():
    layer = TransactionLayer()
    inv = request()
    txn = layer.new_client_transaction(inv, DEST, 0.0, timer_c=180.0)
    layer.take_events()
    layer.receive_response(response(inv, 100, to_tag=None), DEST, 0.1)
    assert layer.get_timer() is None  # a 100 does not arm Timer C
    layer.receive_response(response(inv, 180), DEST, 1.0)
    layer.receive_response(response(inv, 183), DEST, 5.0)  # resets Timer C
    assert layer.get_timer() == 185.0
    events = layer.handle_timer(185.0)
    assert [(type(e), getattr(e, "timer", None)) for e in events] == [(TimeoutEvent, "C")]
    assert txn.state == State.PROCEEDING and len(layer) == 1
    layer.terminate(txn)
    assert len(layer) == 0 and [type(e) for e in layer.take_events()] == [TerminatedEvent]


# ------------------------------------------------------------------------------------------ INVITE server
def test_invite_server_absorbs_retransmissions_and_resends_last_response():
    layer = TransactionLayer()
    inv = request()
    assert layer.receive_request(inv, SRC, 0.0) == (None, False)
    txn = layer.new_server_transaction(inv, SRC, 0.0)
    assert txn.kind == Kind.IST and txn.state == State.PROCEEDING
    # retransmission before any response: absorbed, nothing to resend
    assert layer.receive_request(request(), SRC, 0.1) == (txn, True)
    assert layer.take_events() == []
    trying = response(inv, 100, to_tag=None)
    ringing = response(inv, 180, to_tag="srv")
    assert layer.send_response(txn, trying, 0.1) is True
    assert layer.send_response(txn, ringing, 0.2) is True
    assert sends(layer.take_events()) == [trying.to_bytes(), ringing.to_bytes()]
    assert layer.receive_request(request(), SRC, 0.5) == (txn, True)
    assert sends(layer.take_events()) == [ringing.to_bytes()]
    busy = response(inv, 486, to_tag="srv")
    assert layer.send_response(txn, busy, 1.0) is True
    events = layer.take_events()
    assert sends(events) == [busy.to_bytes()] and events[0].dest == SRC
    assert txn.state == State.COMPLETED
    assert layer.receive_request(request(), SRC, 1.2) == (txn, True)
    assert sends(layer.take_events()) == [busy.to_bytes()]


def test_invite_server_timer_g_schedule_and_timer_h():
    layer = TransactionLayer()
    inv = request()
    layer.receive_request(inv, SRC, 0.0)
    txn = layer.new_server_transaction(inv, SRC, 0.0)
    final = response(inv, 404, to_tag="srv")
    layer.send_response(txn, final, 0.0)
    layer.take_events()
    timeline = run_timers(layer)
    assert send_times(timeline) == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert all(ev.data == final.to_bytes() for _, ev in timeline if isinstance(ev, SendEvent))
    assert [(t, ev.timer) for t, ev in timeline if isinstance(ev, TimeoutEvent)] == [(32.0, "H")]
    assert txn.state == State.TERMINATED and len(layer) == 0


def test_invite_server_ack_confirms_then_timer_i_cleans_up():
    layer = TransactionLayer()
    inv = request()
    layer.receive_request(inv, SRC, 0.0)
    txn = layer.new_server_transaction(inv, SRC, 0.0)
    layer.send_response(txn, response(inv, 486, to_tag="srv"), 0.0)
    run_until(layer, 1.0)  # one Timer G retransmission at 0.5
    ack = request("ACK", to_tag="srv")
    assert layer.receive_request(ack, SRC, 1.0) == (txn, True)
    assert txn.state == State.CONFIRMED
    layer.take_events()
    # Timer G stopped; only Timer I (T4) remains
    assert layer.get_timer() == 1.0 + 5.0
    # retransmitted ACK and INVITE are absorbed silently in Confirmed
    assert layer.receive_request(request("ACK", to_tag="srv"), SRC, 2.0) == (txn, True)
    assert layer.receive_request(request(), SRC, 2.0) == (txn, True)
    assert layer.take_events() == []
    assert [type(e) for e in layer.handle_timer(6.0)] == [TerminatedEvent]
    assert len(layer) == 0 and layer.get_timer() is None


def test_ack_for_2xx_does_not_match_the_invite_server_transaction():
    layer = TransactionLayer()
    inv = request()
    layer.receive_request(inv, SRC, 0.0)
    txn = layer.new_server_transaction(inv, SRC, 0.0)
    layer.send_response(txn, response(inv, 200, to_tag="srv"), 0.1)
    assert txn.state == State.TERMINATED and len(layer) == 0
    ack2xx = request("ACK", branch="z9hG4bKnewbranch", to_tag="srv")
    assert layer.receive_request(ack2xx, SRC, 0.2) == (None, False)
    with pytest.raises(ValueError, match="ACK never creates"):
        layer.new_server_transaction(ack2xx, SRC, 0.2)


def test_invite_server_accepted_state_with_rfc6026():
    layer = TransactionLayer(rfc6026=True)
    inv = request()
    layer.receive_request(inv, SRC, 0.0)
    txn = layer.new_server_transaction(inv, SRC, 0.0)
    ok = response(inv, 200, to_tag="srv")
    assert layer.send_response(txn, ok, 0.1) is True
    assert txn.state == State.ACCEPTED
    layer.take_events()
    # INVITE retransmission absorbed without resending (2xx retransmission is the TU's job)
    assert layer.receive_request(request(), SRC, 0.5) == (txn, True)
    assert layer.take_events() == []
    # the TU retransmits its 2xx through the transaction; a 1xx or a non-2xx final is refused
    assert layer.send_response(txn, ok, 0.6) is True
    assert sends(layer.take_events()) == [ok.to_bytes()]
    assert layer.send_response(txn, response(inv, 180, to_tag="srv"), 0.7) is False
    assert layer.send_response(txn, response(inv, 500, to_tag="srv"), 0.7) is False
    assert layer.take_events() == []
    assert layer.get_timer() == 0.1 + 32.0  # Timer L
    layer.handle_timer(32.1)
    assert len(layer) == 0


# -------------------------------------------------------------------------------------- non-INVITE server
def test_non_invite_server_retransmissions_and_timer_j():
    layer = TransactionLayer()
    bye = request("BYE", to_tag="srv", cseq=2)
    assert layer.receive_request(bye, SRC, 0.0) == (None, False)
    txn = layer.new_server_transaction(bye, SRC, 0.0)
    assert txn.kind == Kind.NIST and txn.state == State.TRYING
    # Trying: a retransmission is discarded
    assert layer.receive_request(request("BYE", to_tag="srv", cseq=2), SRC, 0.1) == (txn, True)
    assert layer.take_events() == []
    ok = response(bye, 200)
    assert layer.send_response(txn, ok, 0.2) is True
    assert txn.state == State.COMPLETED
    assert sends(layer.take_events()) == [ok.to_bytes()]
    assert layer.receive_request(request("BYE", to_tag="srv", cseq=2), SRC, 0.3) == (txn, True)
    assert sends(layer.take_events()) == [ok.to_bytes()]
    # no retransmission timer on the server side of a non-INVITE: only Timer J (64*T1)
    assert layer.get_timer() == 0.2 + 32.0
    assert [type(e) for e in layer.handle_timer(32.2)] == [TerminatedEvent]
    assert len(layer) == 0


def test_non_invite_server_resends_last_provisional_in_proceeding():
    layer = TransactionLayer()
    msg = request("MESSAGE")
    layer.receive_request(msg, SRC, 0.0)
    txn = layer.new_server_transaction(msg, SRC, 0.0)
    prov = response(msg, 100, to_tag=None)
    layer.send_response(txn, prov, 0.0)
    assert txn.state == State.PROCEEDING
    layer.take_events()
    assert layer.receive_request(request("MESSAGE"), SRC, 0.5) == (txn, True)
    assert sends(layer.take_events()) == [prov.to_bytes()]


# --------------------------------------------------------------------------------------------- ordering
def test_no_provisional_after_final_invite_server():
    layer = TransactionLayer(keep_messages=True)
    inv = request()
    layer.receive_request(inv, SRC, 0.0)
    txn = layer.new_server_transaction(inv, SRC, 0.0)
    r100, r180, r486 = response(inv, 100, to_tag=None), response(inv, 180), response(inv, 486)
    assert layer.send_response(txn, r100, 0.0)
    assert layer.send_response(txn, r180, 0.1)
    assert layer.send_response(txn, r486, 0.2)
    assert layer.send_response(txn, response(inv, 100, to_tag=None), 0.3) is False
    assert layer.send_response(txn, response(inv, 183), 0.3) is False
    assert layer.send_response(txn, response(inv, 500), 0.3) is False
    assert layer.send_response(txn, response(inv, 200), 0.3) is False
    assert sends(layer.take_events()) == [r100.to_bytes(), r180.to_bytes(), r486.to_bytes()]
    assert txn.last_response is r486


def test_no_100_trying_after_200_ok():
    for method in ("INVITE", "OPTIONS"):
        layer = TransactionLayer()
        req = request(method)
        layer.receive_request(req, SRC, 0.0)
        txn = layer.new_server_transaction(req, SRC, 0.0)
        ok = response(req, 200)
        assert layer.send_response(txn, ok, 0.0) is True
        assert layer.send_response(txn, response(req, 100, to_tag=None), 0.0) is False
        assert sends(layer.take_events()) == [ok.to_bytes()]


# ---------------------------------------------------------------------------------------------- matching
def test_server_matching_needs_same_branch_sent_by_and_method():
    layer = TransactionLayer()
    inv = request()
    layer.receive_request(inv, SRC, 0.0)
    txn = layer.new_server_transaction(inv, SRC, 0.0)
    assert layer.receive_request(request(via_host="10.0.0.9"), SRC, 0.1) == (None, False)
    assert layer.receive_request(request(via_port=5070), SRC, 0.1) == (None, False)
    assert layer.receive_request(request(branch="z9hG4bKother"), SRC, 0.1) == (None, False)
    assert layer.receive_request(request("OPTIONS"), SRC, 0.1) == (None, False)
    assert layer.receive_request(request(), SRC, 0.1) == (txn, True)
    assert layer.find_server(request("ACK")) is txn


def test_sent_by_host_case_is_ignored():
    layer = TransactionLayer()
    inv = request(via_host="proxy.example.com")
    layer.receive_request(inv, SRC, 0.0)
    txn = layer.new_server_transaction(inv, SRC, 0.0)
    assert layer.receive_request(request(via_host="PROXY.Example.com"), SRC, 0.1) == (txn, True)


def test_cancel_has_its_own_server_transaction_and_finds_the_invite():
    layer = TransactionLayer()
    inv = request()
    layer.receive_request(inv, SRC, 0.0)
    ist = layer.new_server_transaction(inv, SRC, 0.0)
    cancel = request("CANCEL")
    assert layer.receive_request(cancel, SRC, 1.0) == (None, False)
    assert layer.find_invite_for_cancel(cancel) is ist
    cst = layer.new_server_transaction(cancel, SRC, 1.0)
    assert cst is not ist and cst.kind == Kind.NIST
    assert layer.server_count == 2
    assert layer.receive_request(request("CANCEL"), SRC, 1.1) == (cst, True)
    assert layer.find_invite_for_cancel(request("CANCEL", branch="z9hG4bKunknown")) is None
    assert layer.find_invite_for_cancel(request("CANCEL", via_host="10.9.9.9")) is None


def test_rfc2543_fallback_matching():
    layer = TransactionLayer()
    inv = request(branch=None)
    assert layer.receive_request(inv, SRC, 0.0) == (None, False)
    txn = layer.new_server_transaction(inv, SRC, 0.0)
    assert txn.branch is None
    assert layer.receive_request(request(branch=None), SRC, 0.1) == (txn, True)
    # a branch without the magic cookie is also RFC 2543
    old = request(branch="1234abcd", call_id="old-1")
    layer.receive_request(old, SRC, 0.0)
    old_txn = layer.new_server_transaction(old, SRC, 0.0)
    assert layer.receive_request(request(branch="1234abcd", call_id="old-1"), SRC, 0.1) == (old_txn, True)
    # any differing field is another transaction
    for changed in (
        request(branch=None, from_tag="other"),
        request(branch=None, call_id="call-2"),
        request(branch=None, cseq=2),
        request(branch=None, ruri="sip:carol@example.com"),
        request(branch=None, via_host="10.0.0.7"),
        request(branch=None, to_tag="sometag"),
    ):
        assert layer.receive_request(changed, SRC, 0.1) == (None, False)
    # the ACK matches by the To tag of the final response
    layer.send_response(txn, response(inv, 603, to_tag="srvtag"), 0.2)
    assert layer.receive_request(request("ACK", branch=None, to_tag="wrong"), SRC, 0.3) == (None, False)
    assert txn.state == State.COMPLETED
    assert layer.receive_request(request("ACK", branch=None, to_tag="srvtag"), SRC, 0.3) == (txn, True)
    assert txn.state == State.CONFIRMED


def test_rfc2543_cancel_lookup():
    layer = TransactionLayer()
    inv = request(branch=None)
    layer.receive_request(inv, SRC, 0.0)
    ist = layer.new_server_transaction(inv, SRC, 0.0)
    assert layer.find_invite_for_cancel(request("CANCEL", branch=None)) is ist
    assert layer.find_invite_for_cancel(request("CANCEL", branch=None, from_tag="x")) is None


def test_client_cancel_waits_for_a_provisional():
    layer = TransactionLayer()
    inv = request(routes=("<sip:p1.example.com;lr>",))
    ict = layer.new_client_transaction(inv, DEST, 0.0)
    layer.take_events()
    # RFC 3261 9.1: no CANCEL before a provisional response
    assert layer.cancel(ict, 0.1, [("Reason", 'SIP;cause=200;text="Call completed elsewhere"')]) is None
    assert layer.take_events() == []
    assert layer.receive_response(response(inv, 180), DEST, 0.2) == (ict, False)
    ctxn = ict.cancel_txn
    assert ctxn is not None and ctxn.kind == Kind.NICT and ctxn.method == "CANCEL"
    cancel = parse_message(sends(layer.take_events())[0])
    assert cancel.method == "CANCEL" and str(cancel.ruri) == "sip:bob@example.com"
    assert cancel.via.branch == "z9hG4bKclient1" and len(cancel.vias) == 1
    assert (cancel.cseq.number, cancel.cseq.method) == (1, "CANCEL")
    assert cancel.to.tag is None and cancel.from_.tag == "fromtag1"
    assert cancel.get_header("Reason") == 'SIP;cause=200;text="Call completed elsewhere"'
    assert len(cancel.routes) == 1
    # the 200 for CANCEL goes to the CANCEL transaction, the 487 to the INVITE one
    assert layer.receive_response(response(cancel, 200), DEST, 0.3) == (ctxn, False)
    assert layer.receive_response(response(inv, 487), DEST, 0.4) == (ict, False)
    assert ict.state == State.COMPLETED and ctxn.state == State.COMPLETED
    assert parse_message(sends(layer.take_events())[0]).method == "ACK"
    # asking again returns the same CANCEL transaction, nothing new is sent
    assert layer.cancel(ict, 0.5) is ctxn
    assert layer.take_events() == []


def test_client_cancel_in_proceeding_is_sent_at_once_and_not_after_final():
    layer = TransactionLayer()
    inv = request()
    ict = layer.new_client_transaction(inv, DEST, 0.0)
    layer.receive_response(response(inv, 100, to_tag=None), DEST, 0.1)
    layer.take_events()
    ctxn = layer.cancel(ict, 0.2)
    assert ctxn is not None and layer.find_client("z9hG4bKclient1", "CANCEL") is ctxn
    assert parse_message(sends(layer.take_events())[0]).method == "CANCEL"
    layer2 = TransactionLayer()
    ict2 = layer2.new_client_transaction(inv, DEST, 0.0)
    layer2.receive_response(response(inv, 486), DEST, 0.1)
    assert layer2.cancel(ict2, 0.2) is None
    with pytest.raises(ValueError, match="only a client INVITE"):
        layer2.cancel(layer2.new_client_transaction(request("OPTIONS", branch="z9hG4bKo"), DEST, 0.0), 0.3)


# -------------------------------------------------------------------------------------- reliable transport
def test_reliable_transport_has_no_retransmissions_and_zero_cleanup_timers():
    layer = TransactionLayer()
    inv = request(transport="TCP")
    ict = layer.new_client_transaction(inv, DEST, 0.0)
    assert ict.reliable and ict.transport == "TCP"
    assert layer.get_timer() == 32.0  # only Timer B
    layer.take_events()
    layer.receive_response(response(inv, 486), DEST, 1.0)
    events = layer.take_events()
    assert [type(e) for e in events] == [SendEvent, TerminatedEvent]  # ACK, then Timer D = 0
    assert parse_message(events[0].data).method == "ACK" and events[0].transport == "TCP"

    opt = request("OPTIONS", transport="TCP", branch="z9hG4bKopt")
    layer.new_client_transaction(opt, DEST, 0.0)
    assert layer.get_timer() == 32.0  # only Timer F
    layer.receive_response(response(opt, 200), DEST, 1.0)
    assert len(layer) == 0  # Timer K = 0

    sinv = request(transport="TCP", branch="z9hG4bKsrv")
    layer.receive_request(sinv, SRC, 0.0)
    ist = layer.new_server_transaction(sinv, SRC, 0.0)
    layer.send_response(ist, response(sinv, 480), 0.0)
    assert layer.get_timer() == 64 * 0.5  # Timer H only, no Timer G
    layer.receive_request(request("ACK", transport="TCP", branch="z9hG4bKsrv", to_tag="totag9"), SRC, 0.1)
    assert ist.state == State.TERMINATED and len(layer) == 0  # Timer I = 0

    bye = request("BYE", transport="TCP", branch="z9hG4bKbye")
    layer.receive_request(bye, SRC, 0.0)
    nist = layer.new_server_transaction(bye, SRC, 0.0)
    layer.send_response(nist, response(bye, 200), 0.0)
    assert nist.state == State.TERMINATED and len(layer) == 0  # Timer J = 0
    assert layer.get_timer() is None


def test_explicit_reliable_flag_overrides_via_transport():
    layer = TransactionLayer()
    layer.new_client_transaction(request("OPTIONS"), DEST, 0.0, transport="TLS", reliable=True)
    assert layer.get_timer() == 32.0
    assert layer.take_events()[0].transport == "TLS"


# ------------------------------------------------------------------------------------------------- memory
def test_wait_states_release_parsed_messages_but_keep_working():
    layer = TransactionLayer()
    inv = request()
    ict = layer.new_client_transaction(request(branch="z9hG4bKout"), DEST, 0.0)
    assert ict.request is not None
    layer.take_events()
    layer.receive_response(response(request(branch="z9hG4bKout"), 486), DEST, 0.1)
    assert ict.state == State.COMPLETED and ict.request is None and ict.last_response is None
    ack = sends(layer.take_events())
    assert parse_message(ack[0]).method == "ACK"
    layer.receive_response(response(request(branch="z9hG4bKout"), 486), DEST, 0.2)
    assert sends(layer.take_events()) == ack  # the ACK still goes out again
    layer.receive_request(inv, SRC, 0.0)
    ist = layer.new_server_transaction(inv, SRC, 0.0)
    assert ist.request is inv
    busy = response(inv, 486)
    layer.send_response(ist, busy, 0.1)
    assert ist.request is None and ist.last_response is None and ist.method == "INVITE"
    assert ist.last_status == 486 and ict.last_status == 486
    assert layer.has_events
    layer.take_events()
    assert layer.receive_request(request(), SRC, 0.2) == (ist, True)
    assert sends(layer.take_events()) == [busy.to_bytes()]


def test_keep_messages_keeps_them():
    layer = TransactionLayer(keep_messages=True)
    inv = request()
    layer.receive_request(inv, SRC, 0.0)
    ist = layer.new_server_transaction(inv, SRC, 0.0)
    busy = response(inv, 486)
    layer.send_response(ist, busy, 0.1)
    assert ist.request is inv and ist.last_response is busy


# -------------------------------------------------------------------------------------------- misc events
def test_transport_error_terminates_with_event():
    layer = TransactionLayer()
    txn = layer.new_client_transaction(request(), DEST, 0.0)
    layer.take_events()
    layer.transport_error(txn, 0.1)
    assert [type(e) for e in layer.take_events()] == [TransportErrorEvent, TerminatedEvent]
    assert len(layer) == 0 and layer.get_timer() is None


def test_all_transactions_cleaned_up_after_a_full_call():
    layer = TransactionLayer()
    for i in range(50):
        branch = f"z9hG4bKcall{i}"
        inv = request(branch=branch, call_id=f"c{i}")
        layer.receive_request(inv, SRC, 0.0)
        ist = layer.new_server_transaction(inv, SRC, 0.0)
        out = request(branch=branch + "out", call_id=f"c{i}")
        ict = layer.new_client_transaction(out, DEST, 0.0)
        layer.send_response(ist, response(inv, 100, to_tag=None), 0.0)
        layer.receive_response(response(out, 486), DEST, 0.1)
        layer.send_response(ist, response(inv, 486), 0.1)
        layer.receive_request(request("ACK", branch=branch, call_id=f"c{i}", to_tag="totag9"), SRC, 0.2)
        assert ict.state == State.COMPLETED and ist.state == State.CONFIRMED
    assert len(layer) == 100
    run_timers(layer)
    assert len(layer) == 0 and layer.server_count == 0 and layer.client_count == 0
    assert layer.get_timer() is None


def test_client_transaction_argument_errors():
    layer = TransactionLayer()
    layer.new_client_transaction(request(), DEST, 0.0)
    with pytest.raises(ValueError, match="already exists"):
        layer.new_client_transaction(request(), DEST, 0.0)
    with pytest.raises(ValueError, match="no client transaction"):
        layer.new_client_transaction(request("ACK"), DEST, 0.0)
    with pytest.raises(ValueError, match="no branch"):
        layer.new_client_transaction(request(branch=None), DEST, 0.0)


def test_new_branch_is_rfc3261_and_unique():
    branches = {new_branch() for _ in range(1000)}
    assert len(branches) == 1000
    assert all(b.startswith("z9hG4bK") for b in branches)


def test_user_data_slot_is_free_for_the_tu():
    layer = TransactionLayer()
    txn = layer.new_client_transaction(request(), DEST, 0.0)
    txn.user_data = {"branch_idx": 3}
    assert txn.user_data == {"branch_idx": 3}


# --------------------------------------------------------------------------------------------- timer heap
def test_timer_heap_order_cancel_and_sweep():
    heap = TimerHeap()
    a = heap.push(2.0, "a", "X")
    heap.push(1.0, "b", "Y")
    heap.push(1.0, "c", "Z", priority=0)
    assert heap.next_deadline() == 1.0
    heap.cancel(a)
    heap.cancel(a)
    assert len(heap) == 2
    assert heap.pop_due(1.0) == ("c", "Z")  # lower priority value first at the same deadline
    assert heap.pop_due(1.0) == ("b", "Y")
    assert heap.pop_due(5.0) is None and heap.next_deadline() is None
    entries = [heap.push(100.0 + i, i, "T") for i in range(5000)]
    for e in entries[:4000]:
        heap.cancel(e)
    assert len(heap) == 1000
    assert len(heap._heap) < 5000  # dead entries were swept
    assert heap.next_deadline() == 4100.0


# ------------------------------------------------------------------------------------ property: ordering
@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["INVITE", "OPTIONS"]),
    transport=st.sampled_from(["UDP", "TCP"]),
    rfc6026=st.booleans(),
    steps=st.lists(
        st.one_of(
            st.sampled_from([100, 180, 183, 200, 202, 302, 486, 603]),
            st.sampled_from(["retransmit", "ack", "tick"]),
        ),
        max_size=12,
    ),
)
def test_server_never_sends_a_provisional_after_a_final(method, transport, rfc6026, steps):
    layer = TransactionLayer(rfc6026=rfc6026)
    req = request(method, transport=transport)
    layer.receive_request(req, SRC, 0.0)
    txn = layer.new_server_transaction(req, SRC, 0.0)
    now = 0.0
    statuses = []
    for step in steps:
        now += 0.3
        if step == "retransmit":
            layer.receive_request(request(method, transport=transport), SRC, now)
        elif step == "ack":
            layer.receive_request(request("ACK", transport=transport, to_tag="totag9"), SRC, now)
        elif step == "tick":
            run_until(layer, now)
        else:
            layer.send_response(txn, response(req, step), now)
        statuses += [int(d.split(b" ", 2)[1]) for d in sends(layer.take_events())]
    run_timers(layer)
    finals = [i for i, s in enumerate(statuses) if s >= 200]
    if finals:
        assert all(s >= 200 for s in statuses[finals[0] :]), statuses
        final_set = {s for s in statuses if s >= 200}
        if rfc6026 and method == "INVITE" and statuses[finals[0]] < 300:
            # Accepted: further 2xx (e.g. from other forks) go out, nothing else
            assert all(200 <= s < 300 for s in final_set), statuses
        else:
            # one final status only (possibly retransmitted)
            assert len(final_set) == 1, statuses
    assert len(layer) == 0 or txn.state in (State.PROCEEDING, State.TRYING)
