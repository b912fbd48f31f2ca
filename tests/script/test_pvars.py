"""Pseudo-variables: values and types per PV, writes, AVP stacks, syntax, format strings, errors."""

from __future__ import annotations

import pytest

from pysips.errors import ScriptRuntimeError
from pysips.script.context import FLAGS, Branch, Context, Env, StrInt
from pysips.script.pvars import (
    FormatString,
    PVError,
    PVSpec,
    known_pv_names,
    parse_format,
    parse_pv,
    register_pv,
)
from pysips.sip.message import parse_message

INVITE = (
    b"INVITE sip:bob@example.com:5080;transport=tcp SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport\r\n"
    b"Via: SIP/2.0/TCP 10.0.0.2;branch=z9hG4bK2\r\n"
    b'From: "Alice A" <sip:alice@atlanta.com>;tag=abc\r\n'
    b"To: Bob <sip:bob@example.com>\r\n"
    b"Call-ID: c1@host\r\n"
    b"CSeq: 101 INVITE\r\n"
    b"Contact: <sip:alice@10.0.0.1:5060>;expires=60;q=0.5, <sip:a2@h>\r\n"
    b"User-Agent: UA1\r\n"
    b"X-Foo: a\r\n"
    b"X-Foo: b\r\n"
    b"P-Asserted-Identity: <sip:pai@atlanta.com>\r\n"
    b"Refer-To: <sip:carol@chicago.com>\r\n"
    b'Diversion: "D" <sip:div@x.com>;reason=unconditional;privacy=off\r\n'
    b'P-Preferred-Identity: "P" <sip:ppi@pp.com>\r\n'
    b'Authorization: Digest username="alice@atlanta.com", realm="atlanta.com", nonce="n1", '
    b'uri="sip:bob@example.com", response="r1"\r\n'
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)

REPLY = (
    b"SIP/2.0 486 Busy Here\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
    b"From: <sip:alice@atlanta.com>;tag=abc\r\n"
    b"To: <sip:bob@example.com>;tag=xyz\r\n"
    b"Call-ID: c1@host\r\n"
    b"CSeq: 101 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

PLAIN = (
    b"OPTIONS sip:example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK9\r\n"
    b"From: <sip:x@y>;tag=1\r\n"
    b"To: <sip:example.com>\r\n"
    b"Call-ID: o1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def make_ctx(data: bytes = INVITE, **kw: object) -> Context:
    kw.setdefault("src", ("10.0.0.1", 5062))
    kw.setdefault("local", ("192.0.2.10", 5060))
    kw.setdefault("now", 1700000000.25)
    return Context(parse_message(data), **kw)  # type: ignore[arg-type]


def get(text: str, ctx: Context) -> object:
    return parse_pv(text).get(ctx)


# (pv, expected value, expected type); StrInt is checked exactly, int/str with `type(...) is`
INVITE_CASES = [
    ("$ru", "sip:bob@example.com:5080;transport=tcp", str),
    ("$ruri", "sip:bob@example.com:5080;transport=tcp", str),
    ("$rU", "bob", str),
    ("$ruri.user", "bob", str),
    ("$rd", "example.com", str),
    ("$ruri.domain", "example.com", str),
    ("$rp", "5080", StrInt),
    ("$rP", "tcp", str),
    ("$ou", "sip:bob@example.com:5080;transport=tcp", str),
    ("$oU", "bob", str),
    ("$od", "example.com", str),
    ("$op", "5080", StrInt),
    ("$du", None, type(None)),
    ("$dd", None, type(None)),
    ("$fu", "sip:alice@atlanta.com", str),
    ("$from", "sip:alice@atlanta.com", str),
    ("$fU", "alice", str),
    ("$from.user", "alice", str),
    ("$fd", "atlanta.com", str),
    ("$from.domain", "atlanta.com", str),
    ("$fn", '"Alice A"', str),
    ("$ft", "abc", str),
    ("$tu", "sip:bob@example.com", str),
    ("$to", "sip:bob@example.com", str),
    ("$tU", "bob", str),
    ("$td", "example.com", str),
    ("$tn", "Bob", str),
    ("$tt", None, type(None)),
    ("$ci", "c1@host", str),
    ("$cs", "101", str),  # pvar.c: pv_get_strval on the CSeq number
    ("$rm", "INVITE", str),
    ("$rs", None, type(None)),
    ("$rr", None, type(None)),
    ("$ua", "UA1", str),
    ("$ct", "<sip:alice@10.0.0.1:5060>;expires=60;q=0.5", str),
    ("$(ct[1])", "<sip:a2@h>", str),
    ("$(ct[-1])", "<sip:a2@h>", str),
    ("$(ct[*])", "<sip:alice@10.0.0.1:5060>;expires=60;q=0.5, <sip:a2@h>", str),
    ("$ct.fields(uri)", "sip:alice@10.0.0.1:5060", str),
    ("$ct.fields(expires)", "60", str),
    ("$ct.fields(q)", "0.5", str),
    ("$ct.fields(params)", "expires=60;q=0.5", str),
    ("$(ct.fields(uri)[1])", "sip:a2@h", str),
    ("$ct.fields(name)", None, type(None)),
    ("$cT", "application/sdp", str),
    ("$cl", 4, int),
    ("$rb", "v=0\n", str),
    ("$rb(application/sdp)", "v=0\n", str),
    ("$rb(application/json)", None, type(None)),
    ("$si", "10.0.0.1", str),
    ("$src_ip", "10.0.0.1", str),
    ("$sp", 5062, int),
    ("$hdr(X-Foo)", "a", str),
    ("$hdr(x-foo)", "a", str),
    ("$(hdr(X-Foo)[0])", "a", str),
    ("$(hdr(X-Foo)[1])", "b", str),
    ("$(hdr(X-Foo)[2])", None, type(None)),
    ("$(hdr(X-Foo)[-1])", "b", str),
    ("$(hdr(X-Foo)[-2])", "a", str),
    ("$(hdr(X-Foo)[-3])", None, type(None)),
    ("$(hdr(X-Foo)[*])", "a, b", str),
    ("$hdr(X-Missing)", None, type(None)),
    ("$hdr(f)", '"Alice A" <sip:alice@atlanta.com>;tag=abc', str),
    ("$hdr(Via)", "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport", str),
    ("$hdrcnt(Via)", 2, int),
    ("$hdrcnt(X-Foo)", 2, int),
    ("$hdrcnt(X-None)", 0, int),
    ("$hdr_name", "Via", str),
    ("$(hdr_name[2])", "From", str),
    ("$ai", "sip:pai@atlanta.com", str),
    ("$rt", "sip:carol@chicago.com", str),
    ("$di", "sip:div@x.com", str),
    ("$dir", "unconditional", str),
    ("$dip", "off", str),
    ("$pu", "sip:ppi@pp.com", str),
    ("$pU", "ppi", str),
    ("$pd", "pp.com", str),
    ("$pn", '"P"', str),
    ("$re", None, type(None)),
    ("$au", "alice", str),
    ("$aU", "alice@atlanta.com", str),
    ("$ad", "atlanta.com", str),
    ("$ar", "atlanta.com", str),
    ("$an", "n1", str),
    ("$adu", "sip:bob@example.com", str),
    ("$auth.resp", "r1", str),
    ("$Ts", 1700000000, int),
    ("$Tsm", 250000, int),
    ("$rc", 1, int),
    ("$retcode", 1, int),
    ("$cfg_line", 0, int),
    ("$log_level", 3, int),
    ("$socket_in", "udp:192.0.2.10:5060", str),
    ("$socket_in(ip)", "192.0.2.10", str),
    ("$socket_in(port)", 5060, int),
    ("$socket_in(proto)", "udp", str),
    ("$socket_in(af)", "INET", str),
    ("$socket_in(advertised_ip)", None, type(None)),
    ("$msg.is_request", 1, int),
    ("$msg.type", "request", str),
    ("$route", "route", str),
    ("$route.name", "", str),
    ("$route.type", "route", str),
    ("$C(bg)", "", str),
    ("$err.class", 0, int),
    ("$mf", "", str),
    ("$branch", None, type(None)),
    ("$var(none)", None, type(None)),
    ("$avp(none)", None, type(None)),
    ("$shv(none)", None, type(None)),
    ("$param(1)", None, type(None)),
]


@pytest.mark.parametrize(("text", "value", "typ"), INVITE_CASES, ids=[c[0] for c in INVITE_CASES])
def test_pv_value_and_type_on_invite(text: str, value: object, typ: type) -> None:
    v = get(text, make_ctx())
    assert v == value
    assert type(v) is typ


REPLY_CASES = [
    ("$rs", 486, int),
    ("$rr", "Busy Here", str),
    ("$rm", "INVITE", str),  # from CSeq in a reply
    ("$ru", None, type(None)),
    ("$rU", None, type(None)),
    ("$rp", None, type(None)),
    ("$tt", "xyz", str),
    ("$fn", None, type(None)),
    ("$cl", 0, int),
    ("$rb", None, type(None)),
    ("$msg.type", "reply", str),
    ("$msg.is_request", 0, int),
]


@pytest.mark.parametrize(("text", "value", "typ"), REPLY_CASES, ids=[c[0] for c in REPLY_CASES])
def test_pv_value_and_type_on_reply(text: str, value: object, typ: type) -> None:
    v = get(text, make_ctx(REPLY, route_type="onreply"))
    assert v == value
    assert type(v) is typ


def test_default_ports_are_ints_and_explicit_ports_strints() -> None:
    ctx = make_ctx(PLAIN)
    assert get("$rp", ctx) == 5060 and type(get("$rp", ctx)) is int
    assert get("$rP", ctx) == "udp"
    explicit = get("$rp", make_ctx())
    assert isinstance(explicit, StrInt) and explicit == 5080 and explicit == "5080"
    assert explicit + "x" == "5080x"  # a string for `+`, as in OpenSIPS


def test_sips_default_port_is_5061() -> None:
    data = PLAIN.replace(b"OPTIONS sip:example.com", b"OPTIONS sips:example.com")
    assert get("$rp", make_ctx(data)) == 5061
    assert get("$rP", make_ctx(data)) == "tls"


def test_ml_and_mb_reflect_the_message() -> None:
    ctx = make_ctx(PLAIN)
    assert get("$ml", ctx) == len(PLAIN)
    assert get("$mb", ctx) == PLAIN.decode()


def test_time_formats() -> None:
    ctx = make_ctx()
    assert get("$time(%Y)", ctx) == "2023"
    assert isinstance(get("$Tf", ctx), str) and "2023" in get("$Tf", ctx)  # type: ignore[operator]
    ctx.env.startup_time = 123
    assert get("$TS", ctx) == 123


def test_flags_print_names_newest_first() -> None:
    FLAGS.reset()
    ctx = make_ctx()
    ctx.flags = FLAGS.mask("NAT") | FLAGS.mask("ACC")
    FLAGS.mask("UNUSED")
    assert get("$mf", ctx) == "ACC NAT"
    ctx.bflags = FLAGS.mask("B1", "branch")
    assert get("$bf", ctx) == "B1"
    FLAGS.reset()


# ---------------------------------------------------------------- writes


def test_write_ru_rewrites_the_request_line_and_keeps_ou() -> None:
    ctx = make_ctx()
    parse_pv("$ru").set(ctx, "=", "sip:carol@chicago.com")
    assert ctx.msg.to_bytes().startswith(b"INVITE sip:carol@chicago.com SIP/2.0\r\n")
    assert get("$ru", ctx) == "sip:carol@chicago.com"
    assert get("$ou", ctx) == "sip:bob@example.com:5080;transport=tcp"
    assert get("$oU", ctx) == "bob"


@pytest.mark.parametrize(
    ("pv", "value", "line"),
    [
        ("$rU", "carol", b"INVITE sip:carol@example.com:5080;transport=tcp SIP/2.0"),
        ("$rd", "10.1.1.1", b"INVITE sip:bob@10.1.1.1:5080;transport=tcp SIP/2.0"),
        ("$rp", 5070, b"INVITE sip:bob@example.com:5070;transport=tcp SIP/2.0"),
        ("$rp", "5071", b"INVITE sip:bob@example.com:5071;transport=tcp SIP/2.0"),
        ("$rU", None, b"INVITE sip:example.com:5080;transport=tcp SIP/2.0"),
        ("$rp", None, b"INVITE sip:bob@example.com;transport=tcp SIP/2.0"),
    ],
)
def test_write_ruri_parts(pv: str, value: object, line: bytes) -> None:
    ctx = make_ctx()
    parse_pv(pv).set(ctx, "=", value)
    assert ctx.msg.to_bytes().split(b"\r\n")[0] == line
    assert get("$ou", ctx) == "sip:bob@example.com:5080;transport=tcp"


def test_write_ruri_on_reply_fails() -> None:
    with pytest.raises(ScriptRuntimeError):
        parse_pv("$ru").set(make_ctx(REPLY), "=", "sip:x@y")


def test_write_bad_ruri_fails_and_leaves_it() -> None:
    ctx = make_ctx()
    with pytest.raises(ScriptRuntimeError):
        parse_pv("$ru").set(ctx, "=", "not a uri")
    assert get("$ru", ctx) == "sip:bob@example.com:5080;transport=tcp"


def test_du_set_parts_and_reset() -> None:
    ctx = make_ctx()
    du = parse_pv("$du")
    du.set(ctx, "=", "sip:proxy.example.net:5070;transport=udp")
    assert ctx.du == "sip:proxy.example.net:5070;transport=udp"
    assert get("$dd", ctx) == "proxy.example.net"
    assert get("$dp", ctx) == 5070
    assert get("$dP", ctx) == "udp"
    parse_pv("$dp").set(ctx, "=", 6000)
    assert ctx.du == "sip:proxy.example.net:6000;transport=udp"
    du.set(ctx, "=", None)
    assert ctx.du is None and get("$du", ctx) is None
    # $dd on an unset $du builds it from the R-URI
    parse_pv("$dd").set(ctx, "=", "1.2.3.4")
    assert ctx.du == "sip:1.2.3.4:5080;transport=tcp"


@pytest.mark.parametrize(
    "pv", ["$fu", "$fU", "$tU", "$hdr(X-Foo)", "$ci", "$rs", "$si", "$Ts", "$(ru{s.len})"]
)
def test_read_only_pvs_refuse_writes(pv: str) -> None:
    spec = parse_pv(pv)
    assert not spec.writable
    with pytest.raises(ScriptRuntimeError, match="read-only"):
        spec.set(make_ctx(), "=", "x")


@pytest.mark.parametrize(
    "pv", ["$ru", "$rU", "$rd", "$rp", "$du", "$dd", "$dp", "$avp(a)", "$var(a)", "$shv(a)"]
)
def test_writable_flag(pv: str) -> None:
    assert parse_pv(pv).writable


def test_transformation_flag_on_left_side() -> None:
    spec = parse_pv("$(var(x){s.len})")
    assert spec.has_transformations and not spec.writable
    assert not parse_pv("$var(x)").has_transformations


def test_var_set_get_null_and_types() -> None:
    ctx = make_ctx()
    v = parse_pv("$var(x)")
    assert v.is_var and not v.is_avp
    v.set(ctx, "=", 5)
    assert get("$var(x)", ctx) == 5 and type(get("$var(x)", ctx)) is int
    v.set(ctx, "=", "5")
    assert type(get("$var(x)", ctx)) is str
    v.set(ctx, "=", StrInt("5060"))
    assert type(ctx.vars["x"]) is str  # no PV_TYPE_INT: stored as a string
    v.set(ctx, ":=", "y")
    assert ctx.vars["x"] == "y"
    v.set(ctx, "=", None)
    assert get("$var(x)", ctx) is None and "x" not in ctx.vars


def test_vars_dict_is_shared_per_worker_and_shv_global() -> None:
    shared: dict = {}
    shv: dict = {}
    a = make_ctx(vars=shared, shv=shv)
    b = make_ctx(vars=shared, shv=shv)
    parse_pv("$var(n)").set(a, "=", 7)
    parse_pv("$shv(s)").set(a, "=", "on")
    assert get("$var(n)", b) == 7
    assert get("$shv(s)", b) == "on"


# ---------------------------------------------------------------- AVP stacks


def test_avp_push_replace_append_delete() -> None:
    ctx = make_ctx()
    a = parse_pv("$avp(a)")
    assert a.is_avp
    a.set(ctx, "=", 1)
    a.set(ctx, "=", 2)
    a.set(ctx, "=", "three")
    assert parse_pv("$(avp(a)[*])").get_all(ctx) == ["three", 2, 1]
    assert get("$avp(a)", ctx) == "three"
    assert get("$(avp(a)[0])", ctx) == "three"
    assert get("$(avp(a)[1])", ctx) == 2
    assert get("$(avp(a)[-1])", ctx) == 1
    assert get("$(avp(a)[3])", ctx) is None
    assert get("$(avp(a)[*])", ctx) == "three, 2, 1"
    parse_pv("$(avp(a)[1])").set(ctx, "=", "two")
    assert ctx.avps.get_all("a") == ["three", "two", 1]
    parse_pv("$(avp(a)[append])").set(ctx, "=", "last")
    assert ctx.avps.get_all("a") == ["three", "two", 1, "last"]
    assert get("$(avp(a)[append])", ctx) is None
    a.set(ctx, "=", None)  # deletes the top value
    assert ctx.avps.get_all("a") == ["two", 1, "last"]
    parse_pv("$(avp(a)[-1])").set(ctx, "=", None)
    assert ctx.avps.get_all("a") == ["two", 1]
    a.set(ctx, ":=", "only")
    assert ctx.avps.get_all("a") == ["only"]
    a.set(ctx, "=", "x")
    parse_pv("$(avp(a)[*])").set(ctx, "=", "star")
    assert ctx.avps.get_all("a") == ["star"]
    a.set(ctx, "=", "y")
    parse_pv("$(avp(a)[*])").set(ctx, "=", None)
    assert ctx.avps.get_all("a") == []
    a.set(ctx, "=", "z")
    a.set(ctx, ":=", None)
    assert "a" not in ctx.avps


def test_avp_replace_missing_index_is_an_error() -> None:
    ctx = make_ctx()
    parse_pv("$avp(a)").set(ctx, "=", 1)
    with pytest.raises(ScriptRuntimeError):
        parse_pv("$(avp(a)[5])").set(ctx, "=", 2)
    assert ctx.avps.get_all("a") == [1]


def test_avp_dynamic_name_and_index() -> None:
    ctx = make_ctx()
    ctx.vars["n"] = "dyn"
    ctx.vars["i"] = 1
    parse_pv("$avp($var(n))").set(ctx, "=", "first")
    parse_pv("$avp($var(n))").set(ctx, "=", "second")
    assert ctx.avps.get_all("dyn") == ["second", "first"]
    assert get("$(avp($var(n))[$var(i)])", ctx) == "first"
    ctx.vars["i"] = "1"  # a string index is not PV_VAL_INT: NULL
    assert get("$(avp($var(n))[$var(i)])", ctx) is None
    ctx.vars["i"] = 0
    parse_pv("$(avp($var(n))[$var(i)])").set(ctx, "=", "replaced")
    assert ctx.avps.get_all("dyn") == ["replaced", "first"]
    del ctx.vars["n"]
    assert get("$avp($var(n))", ctx) is None


def test_hdr_dynamic_name() -> None:
    ctx = make_ctx()
    ctx.vars["h"] = "User-Agent"
    assert get("$hdr($var(h))", ctx) == "UA1"
    assert get("$hdrcnt($var(h))", ctx) == 1
    ctx.vars["h"] = "X-Foo"
    ctx.vars["i"] = -1
    assert get("$(hdr($var(h))[$var(i)])", ctx) == "b"


def test_get_all_for_iteration() -> None:
    ctx = make_ctx()
    assert parse_pv("$(hdr(X-Foo)[*])").get_all(ctx) == ["a", "b"]
    assert parse_pv("$hdr(X-Foo)").get_all(ctx) == ["a"]
    assert parse_pv("$hdr(X-None)").get_all(ctx) == []
    assert parse_pv("$(avp(none)[*])").get_all(ctx) == []
    assert parse_pv("$(hdr(X-Foo)[*]{s.toupper})").get_all(ctx) == ["A", "B"]


# ---------------------------------------------------------------- context prefix, routes, params, branches


def test_context_prefix_in_onreply_and_failure_routes() -> None:
    req = parse_message(INVITE)
    reply = parse_message(REPLY)
    onreply = Context(reply, req=req, route_type="onreply")  # type: ignore[arg-type]
    assert get("$rs", onreply) == 486
    assert get("$(<request>ru)", onreply) == "sip:bob@example.com:5080;transport=tcp"
    assert get("$(<request>hdr(User-Agent))", onreply) == "UA1"
    assert get("$(<reply>rs)", onreply) == 486
    assert onreply.msg is reply  # restored
    failure = Context(req, route_type="failure")  # type: ignore[arg-type]
    assert get("$(<reply>rs)", failure) is None
    failure.reply = reply
    assert get("$(<reply>rs)", failure) == 486
    assert get("$(<reply>tt{s.toupper})", failure) == "XYZ"
    assert get("$<request>rU", failure) == "bob"


def test_route_stack_pvs() -> None:
    ctx = make_ctx()
    ctx.route_stack = [None, "auth", "check"]
    assert get("$route", ctx) == "route[check]"
    assert get("$(route[1])", ctx) == "route[auth]"
    assert get("$(route[-1])", ctx) == "route"
    assert get("$(route[*])", ctx) == "route > route[auth] > route[check]"  # pv_get_route PV_IDX_ALL
    assert get("$route.name", ctx) == "check"
    assert get("$(route.name[-1])", ctx) == ""
    assert get("$route.type", ctx) == "route"
    f = make_ctx(route_type="failure")
    f.route_stack = ["missed"]
    assert get("$route", f) == "failure_route[missed]"
    assert get("$route.type", f) == "failure_route"


def test_route_params_are_one_based() -> None:
    ctx = make_ctx()
    ctx.params = ("a", 2)
    assert get("$param(1)", ctx) == "a"
    assert get("$param(2)", ctx) == 2
    assert get("$param(3)", ctx) is None
    ctx.vars["i"] = 2
    assert get("$param($var(i))", ctx) == 2


def test_branch_pvs() -> None:
    ctx = make_ctx()
    ctx.branches.append(Branch("sip:b1@x", du="sip:p@y", q=500))
    ctx.branches.append(Branch("sip:b2@x"))
    assert get("$branch", ctx) == "sip:b1@x"
    assert get("$branch(uri)", ctx) == "sip:b1@x"
    assert get("$(branch(uri)[1])", ctx) == "sip:b2@x"
    assert get("$(branch(uri)[*])", ctx) == "sip:b1@x, sip:b2@x"
    assert get("$branch(duri)", ctx) == "sip:p@y"
    assert get("$branch(q)", ctx) == 500
    parse_pv("$(branch(duri)[1])").set(ctx, "=", "sip:q@z")
    assert ctx.branches[1].du == "sip:q@z"
    parse_pv("$branch(q)").set(ctx, "=", 100)
    assert ctx.branches[0].q == 100
    parse_pv("$branch").set(ctx, "=", "sip:b3@x")
    assert [b.uri for b in ctx.branches] == ["sip:b1@x", "sip:b2@x", "sip:b3@x"]
    with pytest.raises(ScriptRuntimeError):
        parse_pv("$(branch(uri)[7])").set(ctx, "=", "sip:none@x")


def test_log_level_write_and_reset() -> None:
    ctx = make_ctx()
    p = parse_pv("$log_level")
    p.set(ctx, "=", 4)
    assert ctx.env.log_level == 4
    p.set(ctx, "=", None)
    assert ctx.env.log_level == ctx.env.default_log_level


def test_err_pvs_read_the_context() -> None:
    ctx = make_ctx()
    ctx.err_class = 1
    ctx.err_rcode = 400
    ctx.err_rreason = "Bad Request"
    assert get("$err.class", ctx) == 1
    assert get("$err.rcode", ctx) == 400
    assert get("$err.rreason", ctx) == "Bad Request"


# ---------------------------------------------------------------- generations


def test_2x_transport_pvs() -> None:
    ctx = make_ctx()
    assert parse_pv("$Ri", generation=2).get(ctx) == "192.0.2.10"
    assert parse_pv("$Rp", generation=2).get(ctx) == 5060
    assert parse_pv("$proto", generation=2).get(ctx) == "udp"
    assert parse_pv("$pr", generation=2).get(ctx) == "udp"
    assert parse_pv("$af", generation=2).get(ctx) == "INET"
    assert parse_pv("$Ri", generation=2).warning is None
    spec = parse_pv("$Ri", generation=3)  # still in OpenSIPS 3.0-3.2
    assert spec.get(ctx) == "192.0.2.10"
    assert spec.warning == "$Ri was removed in OpenSIPS 3.3; use $socket_in(ip)"
    assert parse_pv("$fs", generation=3).warning == "$fs was removed in OpenSIPS 3.3; use $socket_out"
    with pytest.raises(PVError) as e:
        parse_pv("$socket_in(ip)", generation=2)
    assert e.value.code == "E306"


# ---------------------------------------------------------------- register_pv


def test_register_pv_simple_and_inner() -> None:
    register_pv("T_reply_code_test", lambda ctx: 200)
    store: dict = {}
    register_pv(
        "dlg_val_test",
        lambda ctx, name: store.get(name),
        setter=lambda ctx, name, op, value: store.__setitem__(name, value),
        inner=True,
    )
    ctx = make_ctx()
    assert get("$T_reply_code_test", ctx) == 200
    p = parse_pv("$dlg_val_test(k)")
    assert p.writable
    p.set(ctx, "=", "v")
    assert store == {"k": "v"}
    assert get("$(dlg_val_test(k){s.len})", ctx) == 1
    assert "dlg_val_test(...)" in known_pv_names()


# ---------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("text", "code", "offset", "message"),
    [
        ("$foo", "E301", 1, "unknown pseudo-variable $foo"),
        ("$(foo[1])", "E301", 2, "unknown pseudo-variable $foo"),
        ("$(ru{s.nope})", "E302", 5, "unknown transformation: {s.nope}"),
        ("$(ru{zz.len})", "E302", 5, "unknown transformation class [{zz.len}]"),
        ("$(avp(x)[1)", "E303", 8, "missing ']' closing the index of $avp"),
        ("$hdr(X", "E303", 4, "missing ')' closing the name of $hdr"),
        ("$(ru", "E303", 4, "unterminated pseudo-variable $(ru: missing ')'"),
        ("$(ru{s.len}", "E303", 11, "unterminated pseudo-variable $(ru: missing ')'"),
        ("$(ru{s.len)", "E303", 4, "missing '}' closing a transformation of $ru"),
        ("$(ru x)", "E303", 4, "invalid character ' ' in pseudo-variable $(ru"),
        ("$ru(x)", "E305", 1, "pseudo-variable $ru does not take a name"),
        ("$hdr", "E305", 1, "pseudo-variable $hdr needs a name: $hdr(...)"),
        ("$hdr()", "E305", 5, "pseudo-variable $hdr does not get an empty name"),
        ("$(ru[1])", "E304", 4, "pseudo-variable $ru does not take an index"),
        ("$(avp(x)[a])", "E304", 9, "invalid index [a] in $avp"),
        ("$(hdr(X)[append])", "E304", 9, "invalid index [append] in $hdr"),
        ("$", "E303", 1, "missing pseudo-variable name after '$' (write '$$' for a literal '$')"),
        ("$ru junk", "E303", 3, "unexpected text ' junk' after pseudo-variable $ru"),
        ("$(<foo>ru)", "E303", 3, "unknown pseudo-variable context <foo>"),
        ("$socket_in(nope)", "E305", 11, "unsupported SOCKET_IN/OUT field <nope>"),
        ("$(var(x){s.substr,a,1})", "E307", 18, "invalid number 'a' in {s.substr}"),
        ("$(var(x){s.substr,1})", "E307", 17, "transformation {s.substr} takes 2 parameter(s), got 1"),
        ("$(var(x){s.len,1})", "E307", 14, "transformation {s.len} takes 0 parameter(s), got 1"),
        ("$(avp($foo))", "E301", 7, "unknown pseudo-variable $foo"),
        (
            "$(var(x){s.fill.left,$var(p),5})",
            "E307",
            21,
            "transformation {s.fill.left} does not allow variables",
        ),
    ],
)
def test_parse_errors(text: str, code: str, offset: int, message: str) -> None:
    with pytest.raises(PVError) as e:
        parse_pv(text)
    assert (e.value.code, e.value.offset, e.value.message) == (code, offset, message)


def test_syntax_forms_parse() -> None:
    for text in [
        "$(ru)",
        "$(avp(x))",
        "$(avp(x)[0])",
        "$(avp(x)[-2])",
        "$(avp(x)[*])",
        "$(avp(x)[append])",
        "$(hdr(Via)[*]{s.len})",
        "$(var(x){s.substr,0,5}{s.len})",
        "$(var(x){s.substr,0,5} {s.len})",
        "$(avp($var(n))[$var(i)])",
        "$(<request>ru)",
        "$(<reply>rs)",
        "$(var(x){re.subst,/a{2}/b/g})",
        "$(var(x){s.select,1,,})",
    ]:
        assert isinstance(parse_pv(text), PVSpec), text


# ---------------------------------------------------------------- format strings


def test_format_string_expansion_and_null() -> None:
    ctx = make_ctx()
    f = parse_format("$fU@$fd")
    assert not f.is_static
    assert f.eval(ctx) == "alice@atlanta.com"
    assert parse_format("[$var(nope)]").eval(ctx) == "[<null>]"
    assert parse_format("cost $$5 $sp").eval(ctx) == "cost $5 5062"
    assert parse_format("$(hdr(X-Foo)[*])|$(ru{uri.user})").eval(ctx) == "a, b|bob"
    assert parse_format("$rs").eval(ctx) == "<null>"


def test_format_string_static() -> None:
    f = parse_format("plain text $$ only")
    assert isinstance(f, FormatString)
    assert f.is_static and f.static_value == "plain text $ only"
    assert f.eval(make_ctx()) == "plain text $ only"
    assert parse_format("").is_static and parse_format("").static_value == ""


def test_format_string_error_offset_is_relative_to_text() -> None:
    with pytest.raises(PVError) as e:
        parse_format("hello $nope there")
    assert (e.value.code, e.value.offset) == ("E301", 7)
    with pytest.raises(PVError) as e:
        parse_format("100 $ off")
    assert (e.value.code, e.value.offset) == ("E303", 5)


def test_format_string_specs_listed() -> None:
    f = parse_format("$ru and $var(x)")
    assert [s.text for s in f.specs()] == ["$ru", "$var(x)"]


def test_env_default_is_recording() -> None:
    ctx = make_ctx()
    assert isinstance(ctx.env, Env)
    ctx.env.log(ctx, 2, parse_format("from $fU").eval(ctx))
    assert ctx.env.actions == [{"kind": "log", "level": 2, "text": "from alice"}]


def test_star_index_always_reads_as_a_string() -> None:
    ctx = make_ctx()
    parse_pv("$avp(n)").set(ctx, "=", 5)
    assert get("$(avp(n)[*])", ctx) == "5"
    assert get("$avp(n)", ctx) == 5


def test_return_values_zero_based_and_int_index_only() -> None:
    ctx = make_ctx()
    ctx.return_values = (5, "a")
    assert get("$return(0)", ctx) == 5
    assert get("$return(1)", ctx) == "a"
    assert get("$return(2)", ctx) is None
    with pytest.raises(PVError) as e:
        parse_pv("$return(x)")
    assert e.value.code == "E305"


def test_unnamed_route_name_spellings() -> None:
    ctx = make_ctx()
    ctx.route_name = ""
    assert get("$route", ctx) == "route"
    ctx.route_name = "main"
    assert get("$route", ctx) == "route[main]"


def test_bad_port_writes_fail() -> None:
    ctx = make_ctx()
    with pytest.raises(ScriptRuntimeError):
        parse_pv("$rp").set(ctx, "=", "abc")
    ctx.du = "sip:p.example.net"
    with pytest.raises(ScriptRuntimeError):
        parse_pv("$dp").set(ctx, "=", "abc")
    assert ctx.du == "sip:p.example.net"
