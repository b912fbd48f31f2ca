from __future__ import annotations

import pytest

from pysips.errors import SIPParseError
from pysips.sip.framing import StreamFramer, content_length_of
from pysips.sip.message import parse_message


def _msg(n: int, body: bytes = b"") -> bytes:
    return (
        f"OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK{n}\r\nFrom: <sip:a@b>;tag={n}\r\n"
        f"To: <sip:x@example.com>\r\nCall-ID: c{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_content_length_of() -> None:
    assert content_length_of(b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 12") == 12
    assert content_length_of(b"INVITE sip:a@b SIP/2.0\r\nl : 3\r\nX: y") == 3
    assert content_length_of(b"INVITE sip:a@b SIP/2.0\r\nX: y") is None
    # Only a header line's own name counts: not the start line, another header's value or a longer name.
    assert content_length_of(b"INVITE sip:l:5@b SIP/2.0\r\nX: Content-Length: 7\r\nLr: 2") is None
    assert content_length_of(b"INVITE sip:a@b SIP/2.0\r\nX: 1\r\nCONTENT-LENGTH:007 \r\nl: 9") == 7
    with pytest.raises(SIPParseError):
        content_length_of(b"INVITE sip:a@b SIP/2.0\r\nContent-Length: -1")


def test_messages_split_across_and_within_chunks() -> None:
    stream = _msg(1, b"hello") + _msg(2) + _msg(3, b"\r\n\r\nbody with blank lines")
    framer = StreamFramer()
    got: list[bytes] = []
    for i in range(0, len(stream), 7):
        got.extend(framer.feed(stream[i : i + 7]))
    assert got == [_msg(1, b"hello"), _msg(2), _msg(3, b"\r\n\r\nbody with blank lines")]
    assert framer.buffered == 0
    assert parse_message(got[2]).body == b"\r\n\r\nbody with blank lines"
    framer2 = StreamFramer()
    assert framer2.feed(stream) == got


def test_keepalives_are_ignored() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n") == []
    assert framer.feed(b"\r\n") == []
    assert framer.feed(b"\r\n\r\n" + _msg(1) + b"\r\n\r\n\r\n" + _msg(2)) == [_msg(1), _msg(2)]
    assert framer.feed(b"\r\n") == [] and framer.buffered == 0


def test_missing_content_length_is_an_error() -> None:
    framer = StreamFramer()
    with pytest.raises(SIPParseError) as info:
        framer.feed(_msg(1).replace(b"Content-Length: 0\r\n", b""))
    assert info.value.status == 400


def test_oversize_messages() -> None:
    framer = StreamFramer(max_size=300)
    with pytest.raises(SIPParseError) as info:
        framer.feed(_msg(1, b"x" * 400)[:250])
    assert info.value.status == 413
    head_only = StreamFramer(max_size=100)
    with pytest.raises(SIPParseError) as info:
        head_only.feed(b"INVITE sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * 30)
    assert info.value.status == 413
    assert StreamFramer(max_size=300).feed(_msg(1, b"x" * 10)) == [_msg(1, b"x" * 10)]


def test_good_messages_before_a_framing_error_are_delivered_first() -> None:
    bad = _msg(3).replace(b"Content-Length: 0\r\n", b"")
    framer = StreamFramer()
    assert framer.feed(_msg(1) + _msg(2, b"ab") + bad) == [_msg(1), _msg(2, b"ab")]
    assert framer.pending_error is not None and "missing Content-Length" in str(framer.pending_error)
    # The error sticks: the stream has no recoverable message boundary any more.
    for _ in range(2):
        with pytest.raises(SIPParseError) as info:
            framer.feed(_msg(4))
        assert info.value.status == 400 and "missing Content-Length" in str(info.value)
    oversize = StreamFramer(max_size=300)
    assert oversize.feed(_msg(1) + _msg(2, b"x" * 400)) == [_msg(1)]
    assert oversize.pending_error is not None and oversize.pending_error.status == 413
    with pytest.raises(SIPParseError):
        oversize.feed(b"")
    clean = StreamFramer()
    assert clean.feed(_msg(1)) == [_msg(1)] and clean.pending_error is None
