"""Context, Env, AVP store, named flags and StrInt values."""

from __future__ import annotations

import time

import pytest

from pysips.script.context import AvpStore, Branch, Context, Env, FlagNames, StrInt, is_intlike
from pysips.sip.message import parse_message

REQ = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
    b"From: <sip:alice@atlanta.com>;tag=abc\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"Call-ID: c1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)
REPLY = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
    b"From: <sip:alice@atlanta.com>;tag=abc\r\n"
    b"To: <sip:bob@example.com>;tag=t\r\n"
    b"Call-ID: c1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


# ---------------------------------------------------------------- AvpStore


def test_avp_push_makes_newest_index_zero() -> None:
    s = AvpStore()
    s.push("a", 1)
    s.push("a", 2)
    assert s.get("a") == 2
    assert s.get("a", 1) == 1
    assert s.get("a", -1) == 1
    assert s.get("a", 2) is None
    assert s.get("a", -3) is None
    assert s.get_all("a") == [2, 1]
    assert s.count("a") == 2
    assert s.get("missing") is None and s.get_all("missing") == []


def test_avp_set_all_replace_append_delete() -> None:
    s = AvpStore()
    for v in (1, 2, 3):
        s.push("a", v)
    s.set_all("a", "x")
    assert s.get_all("a") == ["x"]
    s.push("a", "y")
    assert s.replace("a", 1, "X") and s.get_all("a") == ["y", "X"]
    assert s.replace("a", -1, "Z") and s.get_all("a") == ["y", "Z"]
    assert not s.replace("a", 5, "no")
    assert not s.replace("none", 0, "no")
    s.append("a", "tail")
    assert s.get_all("a") == ["y", "Z", "tail"]
    s.delete("a")
    assert s.get_all("a") == ["Z", "tail"]
    s.delete("a", -1)
    assert s.get_all("a") == ["Z"]
    s.delete("a", 9)
    assert s.get_all("a") == ["Z"]
    s.delete("a")
    assert "a" not in s and len(s) == 0
    s.push("b", 1)
    s.delete_all("b")
    assert s.names() == []


def test_avp_get_all_is_a_copy_and_copy_is_deep() -> None:
    s = AvpStore()
    s.push("a", 1)
    s.get_all("a").append(99)
    assert s.get_all("a") == [1]
    c = s.copy()
    c.push("a", 2)
    assert s.get_all("a") == [1] and c.get_all("a") == [2, 1]
    assert s.as_dict() == {"a": [1]}


# ---------------------------------------------------------------- flags


def test_flag_names_allocate_bits_in_order_and_print_newest_first() -> None:
    f = FlagNames()
    assert f.bit("NAT") == 0
    assert f.bit("ACC") == 1
    assert f.bit("NAT") == 0
    assert f.mask("ACC") == 2
    assert f.names(3) == "ACC NAT"
    assert f.names(0) == ""
    assert f.bit("B", "branch") == 0  # branch flags are a separate list


def test_flag_names_limit() -> None:
    f = FlagNames()
    for i in range(32):
        f.bit(f"F{i}")
    with pytest.raises(ValueError):
        f.bit("one_too_many")


# ---------------------------------------------------------------- StrInt


def test_strint_is_a_string_comparing_numerically_with_ints() -> None:
    v = StrInt("5060")
    assert isinstance(v, str) and v == "5060" and v == 5060 and v != 5061
    assert v < 6000 and v > 10 and v <= 5060 and v >= 5060
    assert v.ival == 5060
    assert v + "x" == "5060x"
    assert {v: 1}["5060"] == 1
    assert type(str(v)) is str
    assert is_intlike(v) and is_intlike(3) and not is_intlike("3")


# ---------------------------------------------------------------- Env


def test_env_records_calls() -> None:
    env = Env()
    ctx = Context(parse_message(REQ), env=env)
    ctx.du = "sip:proxy"
    assert env.reply(ctx, 404, "Not Here", False) == 1
    assert env.forward(ctx, "udp:1.2.3.4:5060") == 1
    assert env.relay(ctx, 0, None) == 1
    env.log(ctx, 1, "hello")
    env.record("b2b_init_request", scenario="top hiding")
    assert env.actions == [
        {"kind": "reply", "code": 404, "reason": "Not Here", "stateful": False},
        {"kind": "forward", "dest": "udp:1.2.3.4:5060", "ruri": "sip:bob@example.com", "du": "sip:proxy"},
        {"kind": "relay", "flags": 0, "outbound": None, "ruri": "sip:bob@example.com", "du": "sip:proxy"},
        {"kind": "log", "level": 1, "text": "hello"},
        {"kind": "b2b_init_request", "scenario": "top hiding"},
    ]


# ---------------------------------------------------------------- Context


def test_context_defaults() -> None:
    m = parse_message(REQ)
    ctx = Context(m, src=("1.2.3.4", 5070), proto="tcp", local=("5.6.7.8", 5080), now=12.5)
    assert (ctx.src_ip, ctx.src_port, ctx.proto, ctx.local_ip, ctx.local_port) == (
        "1.2.3.4",
        5070,
        "tcp",
        "5.6.7.8",
        5080,
    )
    assert ctx.du is None and ctx.flags == 0 and ctx.bflags == 0 and ctx.rc == 1
    assert ctx.now == 12.5 and ctx.route_type == "request" and ctx.params == ()
    assert isinstance(ctx.env, Env)
    assert ctx.dropped is False and ctx.trace is None and ctx.ruri_q == -1
    assert ctx.branches == [] and len(ctx.avps) == 0 and ctx.vars == {} and ctx.shv == {}


def test_context_now_defaults_to_wall_clock() -> None:
    before = time.time()
    ctx = Context(None)
    assert before <= ctx.now <= time.time()


def test_context_lazy_parts_are_per_instance() -> None:
    a = Context(None)
    b = Context(None)
    a.avps.push("x", 1)
    a.branches.append(Branch("sip:a@b"))
    assert len(b.avps) == 0 and b.branches == []
    a.dropped = True
    assert b.dropped is False
    a.t_on_failure = "missed"  # other layers may attach attributes
    assert a.t_on_failure == "missed"


def test_context_shares_given_vars_and_avps_can_be_moved() -> None:
    shared: dict = {"k": 1}
    a = Context(None, vars=shared)
    assert a.vars is shared
    store = AvpStore()
    store.push("t", "v")
    a.avps = store
    assert a.avps.get("t") == "v"


def test_set_ruri_keeps_the_original_and_revert() -> None:
    ctx = Context(parse_message(REQ))
    ctx.set_ruri("sip:carol@chicago.com")
    assert str(ctx.msg.ruri) == "sip:carol@chicago.com"
    ctx.set_ruri("sip:dave@x.com")
    assert ctx.ouri == "sip:bob@example.com"
    assert ctx.msg.to_bytes().startswith(b"INVITE sip:dave@x.com SIP/2.0")
    ctx.revert_ruri()
    assert ctx.msg.to_bytes().startswith(b"INVITE sip:bob@example.com SIP/2.0")


def test_request_and_reply_selection() -> None:
    req = parse_message(REQ)
    rep = parse_message(REPLY)
    onreply = Context(rep, req=req, route_type="onreply")
    assert onreply.request_msg() is req and onreply.reply_msg() is rep
    failure = Context(req, route_type="failure")
    assert failure.request_msg() is req and failure.reply_msg() is None
    failure.reply = rep
    assert failure.reply_msg() is rep
