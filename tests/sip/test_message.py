from __future__ import annotations

import pytest

from pysips.errors import SIPParseError
from pysips.sip.headers import NameAddr
from pysips.sip.message import Request, Response, make_request, make_response, parse_message, reason_phrase
from pysips.sip.uri import parse_uri

SDP = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r\n'
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com>\r\n"
    b"X-Odd:   spacing kept  \r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: " + str(len(SDP)).encode() + b"\r\n"
    b"\r\n" + SDP
)


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def test_reads() -> None:
    msg = parse_message(INVITE)
    assert isinstance(msg, Request) and msg.is_request
    assert (
        msg.method == "INVITE" and msg.ruri_raw == "sip:bob@biloxi.example.com" and msg.version == "SIP/2.0"
    )
    assert (
        msg.via.branch == "z9hG4bK776asdhds"
        and msg.via.rport == ""
        and msg.via.host == "pc33.atlanta.example.com"
    )
    assert msg.from_.tag == "1928301774" and msg.to.tag is None and msg.to.display == "Bob"
    assert msg.call_id == "a84b4c76e66710@pc33.atlanta.example.com"
    assert (msg.cseq.number, msg.cseq.method) == (314159, "INVITE")
    assert msg.max_forwards == 70
    assert [r.uri.host for r in msg.routes] == ["p1.example.com", "p2.example.com"]
    assert msg.contacts[0].uri.host == "pc33.atlanta.example.com"
    assert msg.content_length == len(SDP) and msg.content_type == "application/sdp" and msg.body == SDP
    assert msg.get_header("x-odd") == "spacing kept"
    assert msg.get_header("i") == msg.call_id and msg.get_header("Nope") is None
    assert msg.get_values("Route") == ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
    assert msg.get_headers("route") == ["<sip:p1.example.com;lr>, <sip:p2.example.com;lr>"]
    assert msg.header_names()[:3] == ["Via", "Max-Forwards", "Route"]
    assert msg.has_header("m") and not msg.has_header("Record-Route")


def test_untouched_message_is_byte_exact() -> None:
    assert parse_message(INVITE).to_bytes() == INVITE
    assert parse_message(b"\r\n\r\n" + INVITE).to_bytes() == INVITE


def test_compact_forms_and_folding() -> None:
    data = (
        b"OPTIONS sip:x@example.com SIP/2.0\r\n"
        b"v: SIP/2.0/UDP h1;branch=z9hG4bKa,\r\n SIP/2.0/TCP h2;branch=z9hG4bKb\r\n"
        b"V: SIP/2.0/UDP h3\r\n"
        b"f: <sip:a@example.com>;tag=1\r\n"
        b"t: <sip:x@example.com>\r\n"
        b"i: cid\r\n"
        b"CSeq: 1\r\n\tOPTIONS\r\n"
        b"X-Folded: one\r\n two\r\n"
        b"l: 0\r\n\r\n"
    )
    msg = parse_message(data)
    assert [v.host for v in msg.vias] == ["h1", "h2", "h3"]
    assert msg.get_header("X-Folded") == "one two"
    assert msg.cseq.method == "OPTIONS" and msg.call_id == "cid" and msg.from_.tag == "1"
    assert msg.to_bytes() == data
    msg.add_header("X-New", "1")
    out = msg.to_bytes()
    assert b"X-Folded: one\r\n two\r\n" in out and out.endswith(b"X-New: 1\r\n\r\n")


def test_header_editing() -> None:
    msg = parse_message(INVITE)
    msg.add_header("X-Last", "z")
    msg.add_header("X-First", "a", first=True)
    assert msg.header_names()[0] == "X-First" and msg.header_names()[-1] == "X-Last"
    msg.add_header("X-Odd", "second")
    assert msg.get_headers("X-Odd") == ["spacing kept", "second"]
    assert msg.remove_header("x-odd") == 2 and not msg.has_header("X-Odd")
    assert msg.remove_header("X-Missing") == 0
    msg.set_header("Max-Forwards", "69")
    assert msg.max_forwards == 69
    out = msg.to_bytes()
    lines = _lines(out)
    assert lines[0] == b"INVITE sip:bob@biloxi.example.com SIP/2.0"
    assert b"Max-Forwards: 69" in lines and lines.index(b"Max-Forwards: 69") == 3
    # Untouched lines still go out as they came in.
    for line in _lines(INVITE)[1:]:
        if not line.startswith((b"Max-Forwards", b"X-Odd")):
            assert line in lines
    again = parse_message(out)
    assert again.get_header("X-First") == "a" and again.max_forwards == 69
    with pytest.raises(ValueError):
        msg.add_header("X-Bad", "a\r\nInjected: 1")


def test_via_push_pop() -> None:
    msg = parse_message(INVITE)
    msg.push_via("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKproxy")
    assert msg.via.host == "192.0.2.10" and len(msg.vias) == 2
    assert msg.header_names()[0] == "Via"
    popped = msg.pop_via()
    assert popped == "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKproxy"
    assert msg.to_bytes() == INVITE
    two = parse_message(INVITE.replace(b"rport\r\n", b"rport, SIP/2.0/TCP second.example.com\r\n", 1))
    assert two.pop_via() == "SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport"
    assert two.via.host == "second.example.com" and two.get_headers("Via") == [
        "SIP/2.0/TCP second.example.com"
    ]
    assert two.pop_via() == "SIP/2.0/TCP second.example.com" and two.pop_via() is None and two.via is None


def test_route_and_record_route_editing() -> None:
    msg = parse_message(INVITE)
    assert msg.pop_value("Route") == "<sip:p1.example.com;lr>"
    assert [r.uri.host for r in msg.routes] == ["p2.example.com"]
    msg.push_value("Record-Route", "<sip:rr2.example.com;lr>")
    msg.push_value("Record-Route", "<sip:rr1.example.com;lr>")
    assert [r.uri.host for r in msg.record_routes] == ["rr1.example.com", "rr2.example.com"]
    again = parse_message(msg.to_bytes())
    assert [r.uri.host for r in again.record_routes] == ["rr1.example.com", "rr2.example.com"]
    assert again.get_values("Route") == ["<sip:p2.example.com;lr>"]
    assert again.remove_header("Record-Route") == 2 and again.record_routes == []


def test_views_write_through() -> None:
    msg = parse_message(INVITE)
    msg.via.received = "192.0.2.77"
    msg.to.tag = "totag"
    msg.contacts[0].uri.port = 5070
    msg.routes[1].uri.set_param("ttl", "1")
    out = msg.to_bytes()
    again = parse_message(out)
    assert again.via.received == "192.0.2.77" and again.to.tag == "totag"
    assert again.contacts[0].uri.port == 5070
    assert again.get_values("Route")[1] == "<sip:p2.example.com;lr;ttl=1>"
    assert b'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r\n' in out
    # An edit made before a header-API change is not lost.
    msg2 = parse_message(INVITE)
    msg2.via.received = "10.1.1.1"
    msg2.push_via("SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKp")
    assert msg2.vias[1].received == "10.1.1.1"


def test_request_uri_editing() -> None:
    msg = parse_message(INVITE)
    msg.ruri.user = "carol"
    assert _lines(msg.to_bytes())[0] == b"INVITE sip:carol@biloxi.example.com SIP/2.0"
    msg.ruri = "sip:dave@192.0.2.3:5080;transport=tcp"
    assert msg.ruri.port == 5080
    assert _lines(msg.to_bytes())[0] == b"INVITE sip:dave@192.0.2.3:5080;transport=tcp SIP/2.0"
    msg.ruri = parse_uri("sip:eve@example.org")
    assert msg.ruri_raw == "sip:eve@example.org"


def test_body_replacement_recomputes_content_length() -> None:
    msg = parse_message(INVITE)
    msg.set_body(b"hello", "text/plain")
    assert msg.content_length == 5 and msg.content_type == "text/plain"
    again = parse_message(msg.to_bytes())
    assert again.body == b"hello" and again.content_length == 5
    msg.body = b""
    assert parse_message(msg.to_bytes()).content_length == 0
    compact = parse_message(INVITE.replace(b"Content-Length:", b"l:"))
    compact.set_body(b"xy")
    assert b"\r\nl: 2\r\n" in compact.to_bytes()


def test_content_length_added_when_missing() -> None:
    data = INVITE.split(b"Content-Length")[0] + b"\r\n" + SDP
    msg = parse_message(data)
    assert msg.content_length is None and msg.body == SDP
    out = msg.to_bytes()
    assert f"Content-Length: {len(SDP)}\r\n\r\n".encode() in out
    assert parse_message(out).body == SDP


def test_trailing_bytes_after_content_length_are_dropped() -> None:
    msg = parse_message(INVITE + b"garbage")
    assert msg.body == SDP and msg.to_bytes() == INVITE


def test_copy_is_independent() -> None:
    msg = parse_message(INVITE)
    dup = msg.copy()
    dup.ruri.user = "zed"
    dup.via.branch = "z9hG4bKother"
    dup.from_.tag = "newtag"
    dup.add_header("X-Copy", "1")
    dup.set_body(b"x")
    assert msg.to_bytes() == INVITE
    assert msg.ruri.user == "bob" and msg.via.branch == "z9hG4bK776asdhds" and msg.from_.tag == "1928301774"
    out = parse_message(dup.to_bytes())
    assert out.ruri.user == "zed" and out.via.branch == "z9hG4bKother" and out.from_.tag == "newtag"
    assert out.body == b"x" and out.has_header("X-Copy")


def test_make_response_rfc3261_8_2_6() -> None:
    req = parse_message(INVITE.replace(b"Contact:", b"Record-Route: <sip:rr.example.com;lr>\r\nContact:", 1))
    req.push_via("SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKtop")
    resp = make_response(req, 180, to_tag="abc", headers=[("Contact", "<sip:bob@192.0.2.4>")])
    assert isinstance(resp, Response) and not resp.is_request
    data = resp.to_bytes()
    assert data.startswith(b"SIP/2.0 180 Ringing\r\n")
    parsed = parse_message(data)
    assert [v.branch for v in parsed.vias] == ["z9hG4bKtop", "z9hG4bK776asdhds"]
    assert parsed.from_.tag == "1928301774" and parsed.to.tag == "abc"
    assert parsed.call_id == req.call_id and parsed.cseq == req.cseq
    assert [r.uri.host for r in parsed.record_routes] == ["rr.example.com"]
    assert parsed.contacts[0].uri.host == "192.0.2.4" and parsed.content_length == 0
    assert not parsed.has_header("Route") and not parsed.has_header("Max-Forwards")
    trying = parse_message(make_response(req, 100).to_bytes())
    assert trying.to.tag is None and not trying.has_header("Record-Route")
    tagged = parse_message(make_response(parsed_request_with_tag(), 200, to_tag="new").to_bytes())
    assert tagged.to.tag == "existing"
    busy = make_response(req, 486, "Busy Now", body=b"x")
    assert (
        busy.to_bytes().startswith(b"SIP/2.0 486 Busy Now\r\n")
        and parse_message(busy.to_bytes()).body == b"x"
    )


def parsed_request_with_tag() -> Request:
    msg = parse_message(
        INVITE.replace(b"To: Bob <sip:bob@biloxi.example.com>", b"To: <sip:b@x>;tag=existing")
    )
    assert isinstance(msg, Request)
    return msg


def test_make_request() -> None:
    req = make_request(
        "OPTIONS",
        "sip:bob@example.com",
        headers=[
            ("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx"),
            ("Max-Forwards", "70"),
            ("From", "<sip:a@example.com>;tag=1"),
            ("To", "<sip:bob@example.com>"),
            ("Call-ID", "c1"),
            ("CSeq", "1 OPTIONS"),
        ],
    )
    assert req.ruri.user == "bob" and req.via.branch == "z9hG4bKx" and req.cseq.number == 1
    data = req.to_bytes()
    assert data.startswith(b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: ") and data.endswith(
        b"Content-Length: 0\r\n\r\n"
    )
    assert parse_message(data).from_.tag == "1"
    built = Request("BYE", parse_uri("sip:x@y"), [("Call-ID", "z")], b"")
    assert built.call_id == "z"


def test_status_line_editing() -> None:
    resp = parse_message(make_response(parse_message(INVITE), 183).to_bytes())
    resp.status = 180
    resp.reason = "Ringing"
    assert resp.to_bytes().startswith(b"SIP/2.0 180 Ringing\r\n")


def test_reason_phrases() -> None:
    assert reason_phrase(200) == "OK" and reason_phrase(481) == "Call/Transaction Does Not Exist"
    assert reason_phrase(499) == "Client Error" and reason_phrase(699) == "Global Failure"


def test_name_addr_view_type() -> None:
    assert isinstance(parse_message(INVITE).from_, NameAddr)


@pytest.mark.parametrize(
    ("mutate", "status", "text"),
    [
        (lambda d: d.replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), 505, "version"),
        (lambda d: d.replace(b"INVITE sip:", b"INVITE  sip:", 1), 400, "request line"),
        (lambda d: d.replace(b"sip:bob@biloxi", b"sip:bob@bil oxi", 1), 400, "request line"),
        (lambda d: d.replace(b"sip:bob@biloxi.example.com SIP", b"sip:bob@[x] SIP", 1), 400, "URI"),
        (lambda d: d.replace(b"INVITE sip", b"INV(ITE sip", 1), 400, "method"),
        (lambda d: d.replace(b"To: Bob <sip:bob@biloxi.example.com>\r\n", b""), 400, "To"),
        (lambda d: d.replace(b"CSeq: 314159 INVITE\r\n", b""), 400, "CSeq"),
        (lambda d: d.replace(b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n", b""), 400, "Call-ID"),
        (lambda d: d.replace(b"Via: SIP", b"X-Via: SIP"), 400, "Via"),
        (lambda d: d.replace(b"CSeq: 314159 INVITE", b"CSeq: 314159 BYE"), 400, "CSeq method"),
        (lambda d: d.replace(b"CSeq: 314159", b"CSeq: -1"), 400, "CSeq"),
        (lambda d: d.replace(b"CSeq: 314159", b"CSeq: abc"), 400, "CSeq"),
        (lambda d: d.replace(b"Max-Forwards: 70", b"Max-Forwards: -1"), 400, "Max-Forwards"),
        (lambda d: d.replace(b"Max-Forwards: 70", b"Max-Forwards: seventy"), 400, "Max-Forwards"),
        (lambda d: d.replace(b"Max-Forwards: 70", b"Max-Forwards: 256"), 400, "Max-Forwards"),
        (lambda d: d.replace(b"Content-Length: ", b"Content-Length: 9"), 400, "Content-Length"),
        (lambda d: d.replace(b"Content-Length: ", b"Content-Length: -"), 400, "Content-Length"),
        (lambda d: d.replace(b"Content-Length: ", b"Content-Length: x"), 400, "Content-Length"),
        (lambda d: d.replace(b"X-Odd:", b"X-Odd"), 400, "without ':'"),
        (lambda d: d.replace(b"X-Odd:", b"X Odd:"), 400, "header name"),
        (lambda d: d.split(b"\r\n\r\n")[0], 400, "empty line"),
        (lambda d: d + b"x" * 70000, 413, "exceeds"),
    ],
)
def test_validation(mutate, status: int, text: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SIPParseError) as info:
        parse_message(mutate(INVITE))
    assert info.value.status == status
    assert text in str(info.value)


def test_max_size_parameter() -> None:
    with pytest.raises(SIPParseError) as info:
        parse_message(INVITE, max_size=100)
    assert info.value.status == 413
    assert parse_message(INVITE, max_size=len(INVITE)).call_id


def test_bad_response_lines() -> None:
    base = make_response(parse_message(INVITE), 200).to_bytes()
    for line in (b"SIP/2.0 20 OK", b"SIP/2.0 2000 OK", b"SIP/2.0 abc OK", b"SIP/2.0 700 X", b"SIP/2.0 099 X"):
        with pytest.raises(SIPParseError):
            parse_message(base.replace(b"SIP/2.0 200 OK", line, 1))
    with pytest.raises(SIPParseError) as info:
        parse_message(base.replace(b"SIP/2.0 200 OK", b"SIP/3.0 200 OK", 1))
    assert info.value.status == 505


def test_folded_lines_after_known_names() -> None:
    # Every name here is already known, so only the continuation lines can send parsing to the general path.
    data = INVITE.replace(b"X-Odd:   spacing kept  \r\n", b"X-Odd: a\r\n b: c\r\nX-Odd2: d\r\n\te\r\n", 1)
    for _ in range(2):
        msg = parse_message(data)
        assert msg.get_header("X-Odd") == "a b: c" and msg.get_header("X-Odd2") == "d e"
        assert msg.header_names()[-4:] == ["X-Odd", "X-Odd2", "Content-Type", "Content-Length"]
        assert msg.to_bytes() == data
    with pytest.raises(SIPParseError) as info:
        parse_message(INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards 70"))
    assert "without ':'" in str(info.value)


def test_untouched_output_does_not_follow_a_mutable_input() -> None:
    buf = bytearray(INVITE)
    msg = parse_message(buf)  # type: ignore[arg-type]
    buf[:6] = b"XXXXXX"
    assert msg.to_bytes() == INVITE and isinstance(msg.to_bytes(), bytes)
