from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pysips.errors import SIPParseError
from pysips.sip import uri as uri_module
from pysips.sip.uri import URI, parse_uri, unescape


def test_full_sip_uri() -> None:
    uri = parse_uri(
        "sips:alice:secret@Atlanta.example.com:5061;transport=tls;lr?subject=project%20x&priority=urgent"
    )
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips",
        "alice",
        "secret",
        "Atlanta.example.com",
        5061,
    )
    assert uri.params == [("transport", "tls"), ("lr", None)]
    assert uri.headers == "subject=project%20x&priority=urgent"
    assert uri.get_param("TRANSPORT") == "tls" and uri.get_param("lr") == "" and uri.get_param("x") is None
    assert uri.has_param("lr") and not uri.has_param("maddr")


def test_host_forms() -> None:
    assert parse_uri("sip:192.0.2.1").host == "192.0.2.1"
    v6 = parse_uri("sip:alice@[2001:db8::10]:5070;transport=udp")
    assert (v6.host, v6.port, v6.get_param("transport")) == ("[2001:db8::10]", 5070, "udp")
    assert parse_uri("sip:[::1]").port is None
    assert parse_uri("sip:example.com").user is None


def test_tel_uri() -> None:
    uri = parse_uri("tel:+1-201-555-0123;phone-context=example.com")
    assert (uri.scheme, uri.user, uri.host) == ("tel", "+1-201-555-0123", "")
    assert uri.get_param("phone-context") == "example.com"
    uri.remove_param("phone-context")
    assert str(uri) == "tel:+1-201-555-0123"


def test_unknown_scheme_is_opaque() -> None:
    uri = parse_uri("urn:service:sos")
    assert (uri.scheme, uri.opaque) == ("urn", "service:sos")
    assert str(uri) == "urn:service:sos"


def test_untouched_uri_serializes_to_its_text() -> None:
    text = "SIP:Bob@Biloxi.example.com;Transport=UDP"
    assert str(parse_uri(text)) == text


def test_edits_rebuild_the_text() -> None:
    uri = parse_uri("sip:bob@biloxi.example.com;transport=udp")
    uri.user = "carol"
    uri.port = 5080
    uri.set_param("transport", "tcp")
    uri.set_param("lr")
    assert str(uri) == "sip:carol@biloxi.example.com:5080;transport=tcp;lr"
    uri.remove_param("transport")
    assert str(uri) == "sip:carol@biloxi.example.com:5080;lr"
    uri.params.append(("maddr", "192.0.2.9"))
    assert str(uri).endswith(";lr;maddr=192.0.2.9")


def test_copy_is_independent() -> None:
    uri = parse_uri("sip:bob@example.com;lr")
    dup = uri.copy()
    dup.user = "x"
    dup.set_param("ttl", "5")
    assert str(uri) == "sip:bob@example.com;lr"
    assert str(dup) == "sip:x@example.com;lr;ttl=5"


def test_build_from_parts() -> None:
    uri = URI("sip", "alice", "example.com", 5060, [("lr", None)])
    assert str(uri) == "sip:alice@example.com:5060;lr"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bob@example.com",
        "sip:",
        "sip:bob@",
        "sip:@example.com",
        "sip:bob@exa mple.com",
        "sip:bob@example.com:99999",
        "sip:bob@example.com:port",
        "sip:bob@[zz::1]",
        "sip:bob@example.com;=x",
        "sip:bob@example.com;a=b c",
        "sip:b<b@example.com",
        "<sip:bob@example.com>",
        "sip:bob@example.com?x=a b",
        "tel:",
        "1abc:x",
    ],
)
def test_malformed_uris_raise_400(text: str) -> None:
    with pytest.raises(SIPParseError) as info:
        parse_uri(text)
    assert info.value.status == 400


def test_unescape() -> None:
    assert unescape("v%61lue%25%34%31") == "value%41"
    assert unescape("null-%00-null") == "null-\x00-null"
    assert unescape("plain") == "plain"


def _uri_outcome(parse, text: str):  # type: ignore[no-untyped-def]
    try:
        u = parse(text)
    except SIPParseError:
        return "error"
    return (
        u._scheme,
        u._user,
        u._password,
        u._host,
        u._port,
        u._params,
        u._headers,
        u._raw,
        u.opaque,
        str(u),
    )


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(
        [
            "sip:bob@biloxi.example.com",
            "sips:alice@atlanta.example.com:5061;transport=tls;lr",
            "sip:proxy1.example.com;lr",
            "sip:host;maddr=x@y",
            "sip:+1%20(555)@gw.example.com;user=phone;x=",
            "sip:bob@host:65535",
            "sip:bob@host:65536",
            "sip:bob@host:0005060",
            "sip:bob:pw@host",
            "SIP:bob@host",
            "sip:bob@[::1]",
            "sip:a@b?subject=x",
            "sip:a@b;;x",
        ]
    ),
    st.lists(st.tuples(st.integers(0, 200), st.sampled_from(list(' ;=:?@[]%/.,0aZ"<é'))), max_size=3),
)
def test_fast_path_agrees_with_general_parser(sample: str, edits: list[tuple[int, str]]) -> None:
    text = sample
    for pos, ch in edits:
        i = pos % (len(text) + 1)
        text = text[:i] + ch + text[i + 1 :]
    assert _uri_outcome(uri_module.parse_uri, text) == _uri_outcome(uri_module._parse_uri, text)
