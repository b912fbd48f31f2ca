"""Core functions: flags, R-URI rewriting, branches, dst URI, sockets, is_myself, cache_* with the local engine."""

from __future__ import annotations

import pytest

from pysips.modules import core
from pysips.modules.cachedb_local import collection, reset_collections
from pysips.script.pvars import parse_pv
from tests.modules._msgs import REPLY_180, make_ctx


def test_message_flags_by_number_and_name() -> None:
    c = make_ctx()
    assert core.w_isflagset(c, core.flag_fixup(3)) == -1
    assert core.w_setflag(c, core.flag_fixup("3")) == 1
    assert c.flags == 1 << 3
    bit = core.flag_fixup("MODTEST_NAT")
    assert core.w_setflag(c, bit) == 1
    assert core.w_isflagset(c, bit) == 1
    assert core.w_resetflag(c, bit) == 1
    assert core.w_isflagset(c, bit) == -1
    assert c.flags == 1 << 3


def test_flag_fixup_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="out of range"):
        core.flag_fixup(32)


def test_branch_flags_on_message_and_appended_branch() -> None:
    c = make_ctx()
    assert core.w_setbflag(c, 2) == 1
    assert c.bflags == 4
    assert core.w_isbflagset(c, 2, 1) == -1  # no branch 1 yet
    core.w_append_branch(c, "sip:carol@example.org")
    assert core.w_setbflag(c, 5, 1) == 1
    assert c.branches[0].flags == 4 | 32
    assert core.w_isbflagset(c, 5, 1) == 1
    assert core.w_resetbflag(c, 2, 0) == 1 and c.bflags == 0


@pytest.mark.parametrize(
    ("fn", "arg", "expected"),
    [
        (
            core.w_seturi,
            "sip:carol@example.org:5070;transport=tcp",
            "sip:carol@example.org:5070;transport=tcp",
        ),
        (core.w_sethost, "biloxi.com", "sip:bob@biloxi.com"),
        (core.w_sethostport, "biloxi.com:5080", "sip:bob@biloxi.com:5080"),
        (core.w_setuser, "carol", "sip:carol@example.com"),
        (core.w_setuserpass, "carol:secret", "sip:carol:secret@example.com"),
        (core.w_setport, "5090", "sip:bob@example.com:5090"),
        (core.w_prefix, "+40", "sip:+40bob@example.com"),
        (core.w_strip, 1, "sip:ob@example.com"),
        (core.w_strip_tail, 2, "sip:b@example.com"),
        (core.w_strip, 10, "sip:example.com"),
    ],
)
def test_ruri_rewrites_change_the_request_line(fn, arg, expected) -> None:  # noqa: ANN001
    c = make_ctx()
    assert fn(c, arg) == 1
    assert str(c.msg.ruri) == expected
    assert c.msg.to_bytes().startswith(f"INVITE {expected} SIP/2.0\r\n".encode())
    assert c.ouri == "sip:bob@example.com"


def test_sethost_drops_maddr_and_revert_uri_restores() -> None:
    c = make_ctx()
    core.w_seturi(c, "sip:bob@a.com;maddr=1.2.3.4;lr")
    assert core.w_sethost(c, "b.com") == 1
    assert str(c.msg.ruri) == "sip:bob@b.com;lr"
    assert core.w_revert_uri(c) == 1
    assert str(c.msg.ruri) == "sip:bob@example.com"


def test_ruri_functions_fail_on_replies() -> None:
    c = make_ctx(REPLY_180, route_type="onreply")
    assert core.w_setuser(c, "x") == -1
    assert core.w_seturi(c, "sip:x@y") == -1


def test_seturi_with_a_bad_uri_fails() -> None:
    c = make_ctx()
    assert core.w_seturi(c, "not a uri") == -1
    assert str(c.msg.ruri) == "sip:bob@example.com"


def test_dst_uri_functions() -> None:
    c = make_ctx()
    assert core.w_isdsturiset(c) == -1
    assert core.w_setdsturi(c, "sip:10.0.0.9:5070") == 1
    assert c.du == "sip:10.0.0.9:5070" and core.w_isdsturiset(c) == 1
    assert core.w_resetdsturi(c) == 1 and c.du is None


def test_append_branch_without_uri_moves_the_ruri_and_resets_branch_state() -> None:
    c = make_ctx()
    c.du = "sip:proxy.example.com"
    c.bflags = 8
    assert core.w_append_branch(c, None, core._q_fixup("0.5")) == 1
    b = c.branches[0]
    assert (b.uri, b.du, b.q, b.flags) == ("sip:bob@example.com", "sip:proxy.example.com", 500, 8)
    assert c.du is None and c.bflags == 0
    assert core.w_append_branch(c, "sip:carol@example.org") == 1
    assert c.branches[1].uri == "sip:carol@example.org" and c.branches[1].q == -1
    assert core.w_remove_branch(c, 0) == 1 and [x.uri for x in c.branches] == ["sip:carol@example.org"]


def test_q_fixup_range() -> None:
    assert core._q_fixup("1") == 1000
    with pytest.raises(ValueError):
        core._q_fixup("1.5")


def test_socket_and_transport_settings_are_recorded_on_the_context() -> None:
    c = make_ctx()
    assert core.w_force_send_socket(c, core._socket_fixup("tcp:127.0.0.1:5070")) == 1
    assert c.force_socket == "tcp:127.0.0.1:5070"
    assert core._socket_fixup("127.0.0.2") == "udp:127.0.0.2:5060"
    with pytest.raises(ValueError):
        core._socket_fixup("udp:1.2.3.4:99999")
    assert core.w_force_rport(c) == 1 and c.force_rport is True
    assert core.w_add_local_rport(c) == 1 and c.add_local_rport is True
    assert core.w_set_advertised_address(c, "203.0.113.5") == 1 and c.advertised_address == "203.0.113.5"
    assert core.w_set_advertised_port(c, "5080") == 1 and c.advertised_port == "5080"
    assert core.w_set_advertised_port(c, "x") == -1


def test_forward_and_send_go_to_the_env() -> None:
    c = make_ctx()
    assert core.w_forward(c) == 1
    assert core.w_forward(c, "udp:10.0.0.5:5080") == 1
    assert core.w_send(c, "10.0.0.6") == 1
    kinds = [(a["kind"], a.get("dest")) for a in c.env.actions]
    assert kinds == [("forward", None), ("forward", "udp:10.0.0.5:5080"), ("send", "10.0.0.6")]


def test_is_myself_default_and_env_override() -> None:
    c = make_ctx(local=("127.0.0.1", 5060))
    assert core.w_is_myself(c, "127.0.0.1") == 1
    assert core.w_is_myself(c, "127.0.0.1:5060") == 1
    assert core.w_is_myself(c, "127.0.0.1", 5999) == -1
    assert core.w_is_myself(c, "example.com") == -1

    class MyEnv(type(c.env)):
        def is_myself(self, host: str, port: int | None) -> bool:
            return host == "example.com"

    c.env = MyEnv()
    assert core.w_is_myself(c, "example.com") == 1


def test_pv_printf_and_get_timestamp_write_variables() -> None:
    c = make_ctx()
    assert core.w_pv_printf(c, parse_pv("$var(out)"), "x-y") == 1
    assert c.vars["out"] == "x-y"
    assert core.w_get_timestamp(c, parse_pv("$var(s)"), parse_pv("$var(us)")) == 1
    assert c.vars["s"] > 1_600_000_000 and 0 <= c.vars["us"] < 1_000_000


def test_cache_functions_with_the_local_engine() -> None:
    reset_collections()
    c = make_ctx()
    out = parse_pv("$var(v)")
    assert core.w_cache_fetch(c, "local", "k", out) == -2
    assert core.w_cache_store(c, "local", "k", "hello", 0) == 1
    assert core.w_cache_fetch(c, "local", "k", out) == 1 and c.vars["v"] == "hello"
    assert core.w_cache_remove(c, "local", "k") == 1
    assert core.w_cache_fetch(c, "local", "k", out) == -2
    assert core.w_cache_add(c, "local", "n", 5, 0, out) == 1 and c.vars["v"] == 5
    assert core.w_cache_sub(c, "local", "n", 2, 0) == 1
    assert core.w_cache_counter_fetch(c, "local", "n", out) == 1 and c.vars["v"] == 3
    # a collection of its own
    assert core.w_cache_store(c, "local:other", "k", "x") == 1
    assert collection("other").fetch("k") == "x" and collection("").fetch("k") is None
    # adding to a string value is an error
    core.w_cache_store(c, "local", "s", "abc")
    assert core.w_cache_add(c, "local", "s", 1, 0) == -1


def test_cache_with_an_unknown_engine_fails() -> None:
    c = make_ctx()
    assert core.w_cache_store(c, "redis:main", "k", "v") == -1
    assert any(a["kind"] == "log" and "not available" in a["text"] for a in c.env.actions)


def test_construct_uri() -> None:
    c = make_ctx()
    assert (
        core.w_construct_uri(c, "sip", "bob", "example.com", "5070", "transport=tcp", parse_pv("$var(u)"))
        == 1
    )
    assert c.vars["u"] == "sip:bob@example.com:5070;transport=tcp"


def test_core_spec_aliases_and_route_types() -> None:
    f = core.MODULE.functions
    assert f["rewriteuri"] is f["seturi"]
    assert f["setu"] is f["setuser"]  # 2.x cfg.lex: setu = setuser
    assert f["setduri"] is f["setdsturi"] and f["isduriset"] is f["isdsturiset"]
    assert f["avp_printf"] is f["pv_printf"]
    assert core.MODULE.core is True
    assert f["cache_fetch"].min_args == 3 and f["cache_store"].max_args == 4


def test_serial_forking_by_q_classes() -> None:
    c = make_ctx()
    c.ruri_q = 1000
    core.w_append_branch(c, "sip:b@x", core._q_fixup("0.5"))
    core.w_append_branch(c, "sip:c@x", core._q_fixup("0.5"))
    core.w_append_branch(c, "sip:d@x", core._q_fixup("0.1"))
    assert core.w_serialize_branches(c, 1) == 1
    assert c.branches == []
    # first class: the R-URI alone (q=1.0)
    assert core.w_next_branches(c) == 1
    assert str(c.msg.ruri) == "sip:bob@example.com" and c.branches == []
    # second class: b and c in parallel
    c.route_type = "failure"
    assert core.w_next_branches(c) == 1
    assert str(c.msg.ruri) == "sip:b@x" and [b.uri for b in c.branches] == ["sip:c@x"]
    c.branches = []
    assert core.w_next_branches(c) == 2  # the last class
    assert str(c.msg.ruri) == "sip:d@x"
    assert core.w_next_branches(c) == -1


def test_serialize_branches_keep_order_and_same_q() -> None:
    c = make_ctx()
    core.w_append_branch(c, "sip:b@x")
    assert core.w_serialize_branches(c, 1) == 1  # all the same q: nothing to do
    assert [b.uri for b in c.branches] == ["sip:b@x"]
    assert core.w_serialize_branches(c, 1, 1) == 1
    assert core.w_next_branches(c) == 1 and str(c.msg.ruri) == "sip:bob@example.com"
    assert core.w_next_branches(c) == 2 and str(c.msg.ruri) == "sip:b@x"
