"""Transformations, family by family, with OpenSIPS's edge cases (NULL in/out, negative offsets, partial ints)."""

from __future__ import annotations

import pytest

from pysips.script.context import Context
from pysips.script.pvars import PVError, parse_pv
from pysips.script.transformations import TRANSFORMATIONS, register_transformation

NULL = None


def tr(expr: str, value: object, **vars: object) -> object:
    ctx = Context(None)
    if value is not None:
        ctx.vars["x"] = value
    ctx.vars.update(vars)
    return parse_pv(f"$(var(x){expr})").get(ctx)


def check(expr: str, value: object, expected: object) -> None:
    got = tr(expr, value)
    assert got == expected, (expr, value, got)
    assert type(got) is type(expected), (expr, value, type(got))


S_CASES = [
    ("{s.len}", "abc", 3),
    ("{s.len}", "", 0),
    ("{s.len}", 12345, 5),
    ("{s.len}", None, NULL),
    ("{s.int}", "12abc", 12),
    ("{s.int}", "abc", 0),
    ("{s.int}", "-5x", -5),
    ("{s.int}", "", 0),
    ("{s.int}", 7, 7),
    ("{s.md5}", "abc", "900150983cd24fb0d6963f7d28e17f72"),
    ("{s.crc32}", "abc", "891568578"),
    ("{s.sha1}", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("{s.sha256}", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    (
        "{s.sha256_hmac,key}",
        "The quick brown fox jumps over the lazy dog",
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
    ),
    ("{s.tolower}", "AbC-Ä", "abc-Ä"),
    ("{s.toupper}", "abc", "ABC"),
    ("{s.toupper}", 5, "5"),
    ("{s.encode.hexa}", "ab", "6162"),
    ("{s.decode.hexa}", "6162", "ab"),
    ("{s.decode.hexa}", "zz", NULL),
    ("{s.hex2dec}", "ff", 255),
    ("{s.hex2dec}", "zz", NULL),
    ("{s.hex2dec}", 10, 10),
    ("{s.dec2hex}", 255, "ff"),
    ("{s.dec2hex}", "255", "ff"),
    ("{s.dec2hex}", -1, "ffffffff"),
    ("{s.dec2hex}", "x1", NULL),
    ("{s.date2unix}", "Thu, 01 Jan 1970 00:01:40 GMT", "100"),
    ("{s.date2unix}", "yesterday", NULL),
    ("{s.escape.common}", "a'b\"c\\", "a\\'b\\\"c\\\\"),
    ("{s.unescape.common}", "a\\'b\\\"c\\\\", "a'b\"c\\"),
    ("{s.escape.user}", "a b@c", "a%20b%40c"),
    ("{s.escape.user}", "a&=+$,;?/", "a&=+$,;?/"),
    ("{s.unescape.user}", "a%20b%40c", "a b@c"),
    ("{s.unescape.user}", "a%zz", NULL),
    ("{s.escape.param}", "a;b=c", "a%3bb%3dc"),
    ("{s.unescape.param}", "a%3bb", "a;b"),
    ("{s.substr,1,2}", "abcdef", "bc"),
    ("{s.substr,-2,0}", "abcdef", "ef"),
    ("{s.substr,2,0}", "abcdef", "cdef"),
    ("{s.substr,2,-1}", "abcdef", "cde"),
    ("{s.substr,4,10}", "abcdef", "ef"),
    ("{s.substr,10,1}", "abcdef", NULL),
    ("{s.substr,-10,1}", "abcdef", NULL),
    ("{s.substr,0,2}", 12345, "12"),
    ("{s.select,1,,}", "a,b,c", "b"),
    ("{s.select,-1,,}", "a,b,c", "c"),
    ("{s.select,-3,,}", "a,b,c", "a"),
    ("{s.select,-4,,}", "a,b,c", NULL),
    ("{s.select,3,,}", "a,b,c", NULL),
    ("{s.select,0,|}", "x|y", "x"),
    ("{s.select,0,,}", "", ""),
    ("{s.index,o}", "hello world", 4),
    ("{s.index,o,5}", "hello world", 7),
    ("{s.index,o,-5}", "hello world", 7),
    ("{s.index,zz}", "hello world", NULL),
    ("{s.index,o,20}", "hello world", NULL),
    ("{s.rindex,o}", "hello world", 7),
    ("{s.rindex,o,5}", "hello world", 4),
    ("{s.rindex,hello}", "hello world", 0),
    ("{s.rindex,x}", "hello world", NULL),
    ("{s.fill.left,0,5}", "42", "00042"),
    ("{s.fill.left,0,5}", 42, "00042"),
    ("{s.fill.left,0,1}", "42", "42"),
    ("{s.fill.right,x,4}", "ab", "abxx"),
    ("{s.fill.left,'ab',5}", "1", "abab1"),
    ("{s.fill.left,'abc',5}", "1", "cabc1"),
    ("{s.fill.right,'abc',5}", "1", "1abca"),
    ("{s.fill.left,' ',4}", "1", "   1"),
    ("{s.width,5}", "abc", "abc  "),
    ("{s.width,3}", "abcdef", "abc"),
    ("{s.b64encode}", "hello", "aGVsbG8="),
    ("{s.b64decode}", "aGVsbG8=", "hello"),
    ("{s.b64decode}", "aGVsbG8", "hello"),
    ("{s.trim}", "  a b \t", "a b"),
    ("{s.trimr}", "  a b \t", "  a b"),
    ("{s.triml}", "  a b \t", "a b \t"),
    ("{s.trim}", 5, 5),
    ("{s.reverse}", "abc", "cba"),
]


@pytest.mark.parametrize(("expr", "value", "expected"), S_CASES, ids=[f"{c[0]}:{c[1]!r}" for c in S_CASES])
def test_string_family(expr: str, value: object, expected: object) -> None:
    check(expr, value, expected)


def test_s_xor_round_trip() -> None:
    once = tr("{s.xor,key}", "secret")
    assert once != "secret" and len(once) == 6  # type: ignore[arg-type]
    assert tr("{s.xor,key}{s.xor,key}", "secret") == "secret"


def test_s_eval_expands_pvs() -> None:
    assert tr("{s.eval}", "hi $var(y)!", y="there") == "hi there!"
    assert tr("{s.eval}", "bad $nope") is None


def test_params_may_be_pvs() -> None:
    assert tr("{s.substr,$var(i),$var(j)}", "abcdef", i=1, j=3) == "bcd"
    assert tr("{s.substr,$var(i),1}", "abcdef", i="1") is None  # a string is not PV_VAL_INT
    assert tr("{s.index,$var(n)}", "abcdef", n="cd") == 2
    assert tr("{uri.param,$var(p)}", "sip:a@b;foo=bar", p="foo") == "bar"
    assert tr("{param.value,$var(p)}", "a=1;b=2", p="b") == "2"
    assert tr("{s.substr,$var(i),1}", "abcdef") is None  # unset PV parameter


def test_chains_apply_left_to_right_and_stop_at_null() -> None:
    assert tr("{s.substr,0,5}{s.len}", "abcdefgh") == 5
    assert tr("{s.toupper}{s.reverse}", "abc") == "CBA"
    assert tr("{s.substr,10,1}{s.len}", "abc") is None
    assert tr("{uri.user}{s.len}", "sip:host") is None
    with pytest.raises(PVError):  # blanks before the first '{' are not OpenSIPS syntax (between two are fine)
        parse_pv("$(var(x) {s.len})")
    assert tr("{s.len} {s.int}", "abc") == 3


URI = "sip:alice:pw@atlanta.com:5070;transport=tcp;lr;user=phone;maddr=1.2.3.4;ttl=5;method=INVITE?subject=x"
URI_CASES = [
    ("{uri.user}", URI, "alice"),
    ("{uri.host}", URI, "atlanta.com"),
    ("{uri.domain}", URI, "atlanta.com"),
    ("{uri.passwd}", URI, "pw"),
    ("{uri.port}", URI, 5070),
    ("{uri.params}", URI, "transport=tcp;lr;user=phone;maddr=1.2.3.4;ttl=5;method=INVITE"),
    ("{uri.param,transport}", URI, "tcp"),
    ("{uri.param,TRANSPORT}", URI, "tcp"),
    ("{uri.param,lr}", URI, ""),
    ("{uri.param,nope}", URI, NULL),
    ("{uri.headers}", URI, "subject=x"),
    ("{uri.transport}", URI, "tcp"),
    ("{uri.uparam}", URI, "phone"),
    ("{uri.maddr}", URI, "1.2.3.4"),
    ("{uri.ttl}", URI, "5"),
    ("{uri.method}", URI, "INVITE"),
    ("{uri.lr}", URI, NULL),
    ("{uri.r2}", URI, NULL),
    ("{uri.schema}", URI, "sip"),
    ("{uri.schema}", "sips:a@b", "sips"),
    ("{uri.user}", "sip:host", NULL),
    ("{uri.port}", "sip:host", NULL),
    ("{uri.params}", "sip:host", NULL),
    ("{uri.param,x}", "sip:host", NULL),
    ("{uri.host}", "garbage", NULL),
    ("{uri.user}", "", NULL),
    ("{uri.user}", None, NULL),
    ("{uri.user}", "tel:+15551234", "+15551234"),
]


@pytest.mark.parametrize(
    ("expr", "value", "expected"), URI_CASES, ids=[f"{c[0]}:{c[1]!r}" for c in URI_CASES]
)
def test_uri_family(expr: str, value: object, expected: object) -> None:
    check(expr, value, expected)


PARAM_CASES = [
    ("{param.value,b}", "a=1;b=2;c", "2"),
    ("{param.value,B}", "a=1;b=2;c", "2"),
    ("{param.value,c}", "a=1;b=2;c", ""),
    ("{param.value,d}", "a=1;b=2;c", NULL),
    ("{param.value,a}", ";a=1", "1"),
    ("{param.value,q}", 'q="x;y";r=1', '"x;y"'),
    ("{param.valueat,0}", "a=1;b=2;c", "1"),
    ("{param.valueat,-1}", "a=1;b=2;c", ""),
    ("{param.valueat,5}", "a=1;b=2;c", NULL),
    ("{param.name,1}", "a=1;b=2;c", "b"),
    ("{param.name,-1}", "a=1;b=2;c", "c"),
    ("{param.count}", "a=1;b=2;c", 3),
    ("{param.count}", " a = 1 ; b ", 2),
    ("{param.exist,c}", "a=1;b=2;c", 1),
    ("{param.exist,z}", "a=1;b=2;c", 0),
    ("{param.count}", "", NULL),
]


@pytest.mark.parametrize(
    ("expr", "value", "expected"), PARAM_CASES, ids=[f"{c[0]}:{c[1]!r}" for c in PARAM_CASES]
)
def test_param_family(expr: str, value: object, expected: object) -> None:
    check(expr, value, expected)


NA = '"Bob" <sip:b@x>;tag=1;foo'
NA_CASES = [
    ("{nameaddr.uri}", NA, "sip:b@x"),
    ("{nameaddr.name}", NA, '"Bob"'),
    ("{nameaddr.param,tag}", NA, "1"),
    ("{nameaddr.param,foo}", NA, NULL),
    ("{nameaddr.param,TAG}", NA, NULL),
    ("{nameaddr.params}", NA, "tag=1;foo"),
    ("{nameaddr.len}", NA, len(NA)),
    ("{nameaddr.uri}", "sip:b@x;tag=1", "sip:b@x"),
    ("{nameaddr.param,tag}", "sip:b@x;tag=1", "1"),
    ("{nameaddr.name}", "<sip:b@x>", NULL),
    ("{nameaddr.params}", "<sip:b@x>", NULL),
    ("{nameaddr.uri}", "Bob Smith <sip:b@x>", "sip:b@x"),
    ("{nameaddr.name}", "Bob Smith <sip:b@x>", "Bob Smith"),
    ("{nameaddr.uri}", '"a,<b>" <sip:q@x>', "sip:q@x"),
    ("{nameaddr.1.uri}", '<sip:a@x>, "B" <sip:b@y>', "sip:b@y"),
    ("{nameaddr.-1.name}", '<sip:a@x>, "B" <sip:b@y>', '"B"'),
    ("{nameaddr.0.uri}", '<sip:a@x>, "B" <sip:b@y>', "sip:a@x"),
    ("{nameaddr.5.uri}", '<sip:a@x>, "B" <sip:b@y>', NULL),
    ("{nameaddr.1.param,t}", "<sip:a@x>, <sip:b@y>;t=2", "2"),
    ("{nameaddr.uri}", '"unterminated <sip:a@x>', NULL),
    ("{nameaddr.uri}", "<sip:a@x", NULL),
]


@pytest.mark.parametrize(("expr", "value", "expected"), NA_CASES, ids=[f"{c[0]}:{c[1]!r}" for c in NA_CASES])
def test_nameaddr_family(expr: str, value: object, expected: object) -> None:
    check(expr, value, expected)


def test_nameaddr_pv_index() -> None:
    assert tr("{nameaddr.$var(i).uri}", "<sip:a@x>, <sip:b@y>", i=1) == "sip:b@y"


VIA = "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;rport;received=1.2.3.4"
VIA_CASES = [
    ("{via.name}", VIA, "SIP"),
    ("{via.version}", VIA, "2.0"),
    ("{via.transport}", VIA, "UDP"),
    ("{via.host}", VIA, "10.0.0.1"),
    ("{via.port}", VIA, 5060),
    ("{via.port}", "SIP/2.0/TCP h.example.com;branch=z9hG4bKx", NULL),
    ("{via.branch}", VIA, "z9hG4bK1"),
    ("{via.received}", VIA, "1.2.3.4"),
    ("{via.rport}", VIA, NULL),
    ("{via.rport}", "SIP/2.0/UDP h;rport=5061;branch=z9hG4bKx", "5061"),
    ("{via.params}", VIA, "branch=z9hG4bK1;rport;received=1.2.3.4"),
    ("{via.param,branch}", VIA, "z9hG4bK1"),
    ("{via.param,rport}", VIA, ""),
    ("{via.param,nope}", VIA, NULL),
    ("{via.host}", "x", NULL),
    ("{via.host}", "not a via at all", NULL),
]


@pytest.mark.parametrize(
    ("expr", "value", "expected"), VIA_CASES, ids=[f"{c[0]}:{c[1]!r}" for c in VIA_CASES]
)
def test_via_family(expr: str, value: object, expected: object) -> None:
    check(expr, value, expected)


CSV_CASES = [
    ("{csv.count}", 'a,"b,c",d', 3),
    ("{csv.value,1}", 'a,"b,c",d', "b,c"),
    ("{csv.value,-1}", 'a,"b,c",d', "d"),
    ("{csv.value,0}", 'a,"b""q",d', "a"),
    ("{csv.value,1}", 'a,"b""q",d', 'b"q'),
    ("{csv.value,5}", "a,b", NULL),
    ("{csv.value,-5}", "a,b", NULL),
    ("{csv.count}", "", NULL),
]


@pytest.mark.parametrize(
    ("expr", "value", "expected"), CSV_CASES, ids=[f"{c[0]}:{c[1]!r}" for c in CSV_CASES]
)
def test_csv_family(expr: str, value: object, expected: object) -> None:
    check(expr, value, expected)


IP_CASES = [
    ("{ip.isip}", "1.2.3.4", 1),
    ("{ip.isip}", "::1", 1),
    ("{ip.isip}", "[::1]", 1),
    ("{ip.isip}", "example.com", 0),
    ("{ip.isip4}", "::1", 0),
    ("{ip.isip4}", "10.0.0.1", 1),
    ("{ip.isip6}", "::1", 1),
    ("{ip.isip6}", "10.0.0.1", 0),
    ("{ip.isprivate}", "10.1.2.3", 1),
    ("{ip.isprivate}", "172.20.0.1", 1),
    ("{ip.isprivate}", "192.168.0.5", 1),
    ("{ip.isprivate}", "100.64.0.1", 1),
    ("{ip.isprivate}", "127.0.0.1", 1),
    ("{ip.isprivate}", "8.8.8.8", 0),
    ("{ip.isprivate}", "::1", 0),
    ("{ip.matches,10.0.0.0/8}", "10.1.1.1", 1),
    ("{ip.matches,10.0.0.0/8}", "11.0.0.1", 0),
    ("{ip.matches,2001:db8::/32}", "2001:db8::5", 1),
    ("{ip.matches,10.0.0.0/8}", "2001:db8::5", NULL),
    ("{ip.matches,10.0.0.0}", "10.1.1.1", NULL),
    ("{ip.matches,10.0.0.0/33}", "10.1.1.1", NULL),
    ("{ip.matches,10.0.0.0/8}", "nope", NULL),
    ("{ip.pton}{ip.family}", "192.168.1.1", "INET"),
    ("{ip.pton}{ip.family}", "::1", "INET6"),
    ("{ip.pton}{ip.ntop}", "192.168.1.1", "192.168.1.1"),
    ("{ip.pton}{s.len}", "192.168.1.1", 4),
    ("{ip.pton}", "nope", NULL),
    ("{ip.family}", "1.2.3.4", NULL),
    ("{ip.resolve}", "127.0.0.1", "127.0.0.1"),
    ("{ip.resolve4}", "localhost", "127.0.0.1"),
]


@pytest.mark.parametrize(("expr", "value", "expected"), IP_CASES, ids=[f"{c[0]}:{c[1]!r}" for c in IP_CASES])
def test_ip_family(expr: str, value: object, expected: object) -> None:
    check(expr, value, expected)


RE_CASES = [
    ("{re.subst,/o/0/g}", "hello world", "hell0 w0rld"),
    ("{re.subst,/o/0/}", "hello world", "hell0 world"),
    ("{re.subst,/O/0/i}", "hello world", "hell0 world"),
    ("{re.subst,/O/0/}", "hello world", "hello world"),
    ("{re.subst,/(\\w+) (\\w+)/\\2 \\1/}", "hello world", "world hello"),
    ("{re.subst,/a{2}/b/}", "caat", "cbt"),
    ("{re.subst,/^sip:([^@]+)@.*$/\\1/}", "sip:alice@x", "alice"),
    ("{re.subst,#/#-#g}", "a/b/c", "a-b-c"),
    ("{re.subst,/x\\,y/z/}", "ax,yb", "azb"),
    ("{re.subst,/(/x/}", "abc", NULL),
    ("{re.subst,/a/\\3/}", "abc", NULL),
]


@pytest.mark.parametrize(("expr", "value", "expected"), RE_CASES, ids=[f"{c[0]}:{c[1]!r}" for c in RE_CASES])
def test_re_family(expr: str, value: object, expected: object) -> None:
    check(expr, value, expected)


def test_re_subst_expression_from_a_pv() -> None:
    assert tr("{re.subst,$var(e)}", "abc", e="/b/B/") == "aBc"


@pytest.mark.parametrize(
    "expr",
    [
        "{s.len}",
        "{s.int}",
        "{s.substr,0,1}",
        "{uri.user}",
        "{param.count}",
        "{nameaddr.uri}",
        "{via.host}",
        "{csv.count}",
        "{ip.isip}",
        "{re.subst,/a/b/}",
        "{s.md5}",
    ],
)
def test_null_in_gives_null_out(expr: str) -> None:
    assert tr(expr, None) is None


def test_registry_has_every_family_and_is_extensible() -> None:
    families = {name.split(".", 1)[0] for name in TRANSFORMATIONS}
    assert {"s", "uri", "param", "nameaddr", "via", "csv", "ip", "re"} <= families
    register_transformation("json.test_upper", "", lambda v, p, ctx: str(v).upper())
    assert tr("{json.test_upper}", "ab") == "AB"
    assert tr("{JSON.TEST_UPPER}", "ab") == "AB"  # names are case-insensitive as in OpenSIPS


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("$(var(x){s.nope})", "E302"),
        ("$(var(x){nope})", "E302"),
        ("$(var(x){s.substr})", "E307"),
        ("$(var(x){s.select,1})", "E307"),
        ("$(var(x){uri.param})", "E307"),
        ("$(var(x){s.fill.left,,3})", "E307"),
        ("$(var(x){s.fill.left,'',3})", "E307"),
        ("$(var(x){re.subst})", "E307"),
        ("$(var(x){nameaddr.1.nope})", "E302"),
        ("$(var(x){s.len}", "E303"),
    ],
)
def test_transformation_parse_errors(text: str, code: str) -> None:
    with pytest.raises(PVError) as e:
        parse_pv(text)
    assert e.value.code == code
