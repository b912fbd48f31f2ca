"""Mutated and truncated messages never raise anything but SIPParseError, and what parses round-trips."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysips.errors import SIPParseError
from pysips.sip.message import parse_message

SEEDS = [
    b"INVITE sip:bob@biloxi.example.com;transport=udp SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport, SIP/2.0/TCP [2001:db8::1]:5061\r\n"
    b"Max-Forwards: 70\r\n"
    b"Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    b'To: "Bob \\"B\\"" <sip:bob@biloxi.example.com>\r\n'
    b"f: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"i: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159\r\n INVITE\r\n"
    b"m: <sip:alice@pc33.atlanta.example.com>;expires=60, sip:x@y\r\n"
    b"Content-Type: application/sdp\r\n"
    b"l: 10\r\n\r\n0123456789",
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;received=10.0.0.1\r\n"
    b"Record-Route: <sip:rr.example.com;lr>\r\n"
    b"From: <sip:a@example.com>;tag=1\r\nTo: <tel:+123;phone-context=x>;tag=2\r\n"
    b"Call-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
]

ALPHABET = st.sampled_from(list(b':;,<>"\\ \t\r\n@=?[]%/0aZ\x00\xff'))


def _exercise(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except SIPParseError:
        return
    # Reading any view may legitimately raise SIPParseError (lazy parsing), nothing else.
    for attr in ("via", "vias", "from_", "to", "contacts", "routes", "record_routes", "cseq", "max_forwards"):
        try:
            getattr(msg, attr)
        except SIPParseError:
            pass
    try:
        if msg.to is not None:
            _ = msg.to.uri
    except SIPParseError:
        pass
    out = msg.to_bytes()
    again = parse_message(out)
    assert again.to_bytes() == out
    dup = msg.copy()
    dup.add_header("X-Fuzz", "1")
    assert parse_message(dup.to_bytes()).get_header("X-Fuzz") == "1"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 3), ALPHABET), max_size=6),
)
def test_mutations(seed: bytes, edits: list[tuple[int, int, int]]) -> None:
    data = bytearray(seed)
    for pos, op, byte in edits:
        if not data:
            break
        i = pos % len(data)
        if op == 0:
            data[i] = byte
        elif op == 1:
            data.insert(i, byte)
        elif op == 2:
            del data[i]
        else:
            data[i : i + 1] = data[i : i + 1] * 2
    _exercise(bytes(data))


@settings(max_examples=150, deadline=None)
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 1000))
def test_truncations(seed: bytes, cut: int) -> None:
    _exercise(seed[: cut % (len(seed) + 1)])


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _exercise(data)
