from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pysips.errors import SIPParseError
from pysips.sip import headers
from pysips.sip.headers import (
    COMPACT,
    CSeq,
    NameAddr,
    Via,
    canonical_name,
    parse_cseq,
    parse_name_addr,
    parse_name_addr_list,
    parse_via,
    split_values,
)


def test_canonical_names() -> None:
    assert canonical_name("v") == "via" and canonical_name("V") == "via"
    assert canonical_name("Call-ID") == "call-id" and canonical_name("i") == "call-id"
    assert canonical_name(" Content-Length ") == "content-length"
    assert canonical_name("X-Custom") == "x-custom"
    for short, full in COMPACT.items():
        assert canonical_name(short) == full.lower()
    assert {"i", "m", "e", "l", "f", "s", "k", "t", "v", "o", "r", "b", "u", "x", "c", "y"} <= set(COMPACT)


def test_split_values() -> None:
    assert split_values("a, b ,c") == ["a", "b", "c"]
    assert split_values('"Doe, John" <sip:j@x>, <sip:k@y;a=1,2>') == [
        '"Doe, John" <sip:j@x>',
        "<sip:k@y;a=1,2>",
    ]
    assert split_values('"quote \\" , inside" <sip:a@b>') == ['"quote \\" , inside" <sip:a@b>']
    assert split_values("<sip:a@b>,,<sip:c@d>") == ["<sip:a@b>", "<sip:c@d>"]
    assert split_values("   ") == []
    with pytest.raises(SIPParseError):
        split_values('"unterminated, x')


def test_name_addr_forms() -> None:
    na = parse_name_addr('"Alice \\"A\\"" <sip:alice@example.com;transport=tcp>;tag=abc;expires=60')
    assert na.display == '"Alice \\"A\\""' and na.display_text == 'Alice "A"'
    assert na.uri.user == "alice" and na.uri.get_param("transport") == "tcp"
    assert na.tag == "abc" and na.get_param("expires") == "60"
    plain = parse_name_addr("sip:bob@example.com;tag=9")
    assert plain.display is None and plain.uri.params == [] and plain.tag == "9"
    tokens = parse_name_addr("Bob Smith <sip:bob@example.com>")
    assert tokens.display == "Bob Smith" and tokens.tag is None


def test_name_addr_serialization_and_edits() -> None:
    text = '"Alice" <sip:alice@example.com>;tag=1'
    na = parse_name_addr(text)
    assert str(na) == text
    na.tag = "2"
    assert str(na) == '"Alice" <sip:alice@example.com>;tag=2'
    na.uri.host = "example.net"
    assert str(na) == '"Alice" <sip:alice@example.net>;tag=2'
    na.display = "Alice, Queen"
    assert str(na).startswith('"Alice, Queen" <sip:')
    built = NameAddr("sip:x@y", None, [("tag", "t")])
    assert str(built) == "<sip:x@y>;tag=t"
    copied = na.copy()
    copied.tag = None
    assert na.tag == "2" and copied.tag is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        '"unterminated <sip:a@b>',
        "Bell, Alexander <sip:a@b>",
        "< sip:a@b >",
        "<sip:a@b",
        "<sip:a@b> junk",
        "sip:a@b?x=y",
        "<sip:a@b>;;tag=1",
        "<sip:a@b>;tag=",
        "nouri",
    ],
)
def test_bad_name_addrs(text: str) -> None:
    with pytest.raises(SIPParseError):
        parse_name_addr(text)


def test_name_addr_list() -> None:
    lst = parse_name_addr_list('<sip:p1.example.com;lr>, "X, Y" <sip:p2.example.com;lr>')
    assert [n.uri.host for n in lst] == ["p1.example.com", "p2.example.com"]
    assert lst[1].display_text == "X, Y"


def test_via() -> None:
    vias = parse_via(
        "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport;received=10.0.0.1, SIP/2.0/tcp [2001:db8::1]"
    )
    v1, v2 = vias
    assert (v1.protocol, v1.transport, v1.host, v1.port) == ("SIP/2.0", "UDP", "192.0.2.1", 5060)
    assert v1.branch == "z9hG4bK1" and v1.rport == "" and v1.received == "10.0.0.1"
    assert v1.maddr is None and v1.ttl is None
    assert (v2.transport, v2.host, v2.port, v2.branch) == ("TCP", "[2001:db8::1]", None, None)
    assert str(v1) == "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport;received=10.0.0.1"
    v1.rport = "5062"
    v1.received = "192.0.2.200"
    assert str(v1) == "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport=5062;received=192.0.2.200"
    spaced = parse_via("SIP / 2.0 / UDP  host.example.com ; maddr = 224.2.0.1 ; ttl=16")[0]
    assert (spaced.host, spaced.maddr, spaced.ttl) == ("host.example.com", "224.2.0.1", "16")
    built = Via("udp", "192.0.2.5", 5060, [("branch", "z9hG4bKx")])
    assert str(built) == "SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKx"


@pytest.mark.parametrize(
    "text",
    ["SIP/2.0/UDP", "SIP/2.0 UDP host", "SIP/2.0/UDP host:abc", "SIP/2.0/UDP host;;", "SIP/2.0/UDP ho st"],
)
def test_bad_via(text: str) -> None:
    with pytest.raises(SIPParseError):
        parse_via(text)


def test_cseq() -> None:
    assert parse_cseq("  0009   INVITE ") == CSeq(9, "INVITE")
    assert str(parse_cseq("4294967295 BYE")) == "4294967295 BYE"
    for bad in (
        "INVITE",
        "1",
        "-1 INVITE",
        "4294967296 INVITE",
        "1 INV ITE",
        "x INVITE",
        "1" * 5000 + " BYE",
    ):
        with pytest.raises(SIPParseError):
            parse_cseq(bad)


def _outcome(parse, text: str):  # type: ignore[no-untyped-def]
    """What a parser makes of ``text``: the error class, or every field that is visible to callers."""
    try:
        obj = parse(text)
    except SIPParseError:
        return "error"
    if isinstance(obj, NameAddr):
        return ("na", obj._display, obj._uri_text, obj._params, obj._raw, str(obj))
    if isinstance(obj, Via):
        return ("via", obj._protocol, obj._transport, obj._host, obj._port, obj._params, obj._raw, str(obj))
    return ("cseq", obj.number, obj.method)


_FAST_PATH_SAMPLES = [
    '"Alice" <sip:alice@atlanta.example.com>;tag=1928301774',
    "Bob <sip:bob@biloxi.example.com>",
    "Bob  Smith\t<sip:bob@biloxi.example.com;transport=tcp>;tag=a;expires=60;+sip.instance",
    "<sip:proxy1.example.com;lr>",
    "<sip:alice@[2001:db8::1]:5060>;received=[2001:db8::2]",
    "<tel:+1-201-555-0123;phone-context=x>",
    "sip:alice@example.com;tag=9",
    "sip:alice@example.com",
    "<sip:a@b>;tag=",
    "<sip:a@b>;;tag=1",
    "<sip:a@b>;tag=1 ",
    '"" <sip:a@b>',
    "<:a@b>",
    "<sip:>",
    "<1sip:a@b>",
    "sip:a@b;tag=x=y",
    "SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport",
    "SIP/2.0/UDP 192.0.2.1:65535;branch=z9hG4bK1;received=10.0.0.1",
    "SIP/2.0/UDP 192.0.2.1:65536;branch=z9hG4bK1",
    "SIP/2.0/UDP 192.0.2.1:00005",
    "SIP/2.0/TLS host_name.example.com",
    "SIP/2.0/UDP host;branch",
    "SIP/2.0/UDP host;branch=",
    "SIP/2.0/udp host",
    "314159 INVITE",
    "4294967295 BYE",
    "4294967296 BYE",
    "0000000001 ACK",
    "1 INV@ITE",
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(_FAST_PATH_SAMPLES),
    st.lists(st.tuples(st.integers(0, 200), st.sampled_from(list(' \t"<>;=:,@[]\\/.0aZ%é'))), max_size=3),
)
def test_fast_paths_agree_with_general_parsers(sample: str, edits: list[tuple[int, str]]) -> None:
    # The regex fast paths must accept only what the general parsers accept, and build the same objects.
    text = sample
    for pos, ch in edits:
        i = pos % (len(text) + 1)
        text = text[:i] + ch + text[i + 1 :]
    assert _outcome(headers.parse_name_addr, text) == _outcome(headers._parse_name_addr, text)
    assert _outcome(headers.parse_via_value, text) == _outcome(headers._parse_via_value, text)
    assert _outcome(headers.parse_cseq, text) == _outcome(headers._parse_cseq, text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_FAST_PATH_SAMPLES[:16]), min_size=1, max_size=3),
    st.sampled_from([",", ", ", " ,\t", ",,"]),
    st.lists(st.tuples(st.integers(0, 300), st.sampled_from(list(' \t"<>;=:,@\\0a'))), max_size=3),
)
def test_name_addr_list_fast_path_agrees(items: list[str], sep: str, edits: list[tuple[int, str]]) -> None:
    text = sep.join(items)
    for pos, ch in edits:
        i = pos % (len(text) + 1)
        text = text[:i] + ch + text[i + 1 :]

    def general(t: str) -> list[NameAddr]:
        return [headers._parse_name_addr(v) for v in split_values(t)]

    def outcome(parse):  # type: ignore[no-untyped-def]
        try:
            return [_outcome(lambda na: na, na) for na in parse(text)]
        except SIPParseError:
            return "error"

    assert outcome(parse_name_addr_list) == outcome(general)


def test_unquoted_display_name_with_non_token_characters_is_tolerated():
    # OpenSIPS's parse_to accepts it and SIPp scenarios produce it (`To:[$remote_from]` after a capture of ": <...>")
    na = parse_name_addr(": <sip:callee@127.0.0.1:5060>;tag=abc")
    assert na.display == ":"
    assert na.tag == "abc"
    assert str(na.uri) == "sip:callee@127.0.0.1:5060"
