"""nathelper: nat_uac_test checks, Contact / SDP fixing, the received parameter and fix_nated_register's AVP."""

from __future__ import annotations

import pytest

from pysips.modules import nathelper as nh
from pysips.script.context import Context, Env
from pysips.sip.message import parse_message

NATED = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.168.1.20:5062;branch=z9hG4bK-n1\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: <sip:bob@example.com>\r\n"
    b"From: <sip:alice@example.com>;tag=a1\r\n"
    b"Call-ID: nat1@x\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:alice@192.168.1.20:5062;transport=udp>;expires=60, <sip:alice@192.168.1.20:5070>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 78\r\n"
    b"\r\n"
    b"v=0\r\no=- 1 1 IN IP4 192.168.1.20\r\ns=-\r\nc=IN IP4 192.168.1.20\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
)
PUBLIC = NATED.replace(b"192.168.1.20", b"203.0.113.5").replace(b":5062", b":5060")


def ctx(data: bytes = NATED, src: tuple[str, int] = ("203.0.113.9", 40000), proto: str = "udp") -> Context:
    msg = parse_message(
        data.replace(b"Content-Length: 78", b"Content-Length: %d" % len(data.split(b"\r\n\r\n")[1]))
    )
    return Context(msg, src=src, proto=proto, local=("127.0.0.1", 5060), env=Env())


@pytest.mark.parametrize(
    ("flags", "nated", "public"),
    [
        ("private-contact", 1, -1),
        ("diff-ip-src-via", 1, 1),  # the public UA still sent from another address than its Via
        ("private-via", 1, -1),
        ("private-sdp", 1, -1),
        ("diff-port-src-via", 1, 1),
        ("diff-ip-src-contact", 1, 1),
        ("diff-port-src-contact", 1, 1),
        ("19", 1, 1),  # 2.x numbers: 1 | 2 | 16
        ("private-contact,private-via,private-sdp", 1, -1),
    ],
)
def test_nat_uac_test(flags: str, nated: int, public: int) -> None:
    mask = nh.parse_flags(flags, nh.NAT_TESTS)
    assert nh.w_nat_uac_test(ctx(), mask) == nated
    assert nh.w_nat_uac_test(ctx(PUBLIC), mask) == public
    # a UA that really is where its headers say
    same = ctx(PUBLIC, src=("203.0.113.5", 5060))
    assert nh.w_nat_uac_test(same, mask) == -1


def test_carrier_grade_nat_addresses() -> None:
    cgn = NATED.replace(b"192.168.1.20", b"192.0.0.2")
    assert nh.w_nat_uac_test(ctx(cgn), nh.parse_flags("private-contact", nh.NAT_TESTS)) == -1
    assert nh.w_nat_uac_test(ctx(cgn), nh.parse_flags("private-contact,carrier-grade-nat", nh.NAT_TESTS)) == 1
    shared = NATED.replace(b"192.168.1.20", b"100.64.3.4")  # RFC 6598 counts without the flag
    assert nh.w_nat_uac_test(ctx(shared), nh.parse_flags("private-contact", nh.NAT_TESTS)) == 1


def test_unknown_flag_is_refused_at_load() -> None:
    with pytest.raises(ValueError):
        nh.parse_flags("private-contact,typo", nh.NAT_TESTS)


def test_fix_nated_contact_rewrites_the_first_contact_once() -> None:
    c = ctx()
    assert nh.w_fix_nated_contact(c, ";nat=yes") == 1
    contacts = c.msg.contacts
    assert str(contacts[0].uri) == "sip:alice@203.0.113.9:40000;transport=udp;nat=yes"
    assert contacts[0].get_param("expires") == "60"
    assert str(contacts[1].uri) == "sip:alice@192.168.1.20:5070"  # only the first one
    assert nh.w_fix_nated_contact(c) == -1  # a second call on the same message is refused


def test_add_rcv_param_header_or_uri() -> None:
    c = ctx(proto="tcp")
    assert nh.w_add_rcv_param(c) == 1
    assert c.msg.contacts[0].get_param("received") == '"sip:203.0.113.9:40000;transport=tcp"'
    c = ctx()
    assert nh.w_add_rcv_param(c, 1) == 1
    assert c.msg.contacts[0].uri.get_param("received") == "sip:203.0.113.9:40000"


def test_fix_nated_register_stores_the_received_uri_in_the_avp() -> None:
    nh.init({"received_avp": "$avp(rcv)"})
    try:
        c = ctx()
        assert nh.w_fix_nated_register(c) == 1
        assert c.avps.get("rcv") == "sip:203.0.113.9:40000"
    finally:
        nh.init({})
    assert nh.w_fix_nated_register(ctx()) == -1  # no received_avp configured


def test_fix_nated_sdp_rewrites_media_and_origin_and_adds_lines() -> None:
    c = ctx()
    flags = nh.parse_flags("add-dir-active,rewrite-media-ip,rewrite-origin-ip", nh.SDP_FLAGS)
    assert nh.w_fix_nated_sdp(c, flags) == 1
    body = c.msg.body.decode()
    assert "c=IN IP4 203.0.113.9\r\n" in body and "o=- 1 1 IN IP4 203.0.113.9\r\n" in body
    assert "a=oldcip:192.168.1.20" in body and "a=oldoip:192.168.1.20" in body
    assert "a=direction:active" in body
    assert c.msg.content_length == len(c.msg.body)
    # a given address wins over the source; a null media address stays unless rewrite-null-ips
    held = NATED.replace(b"c=IN IP4 192.168.1.20", b"c=IN IP4 0.0.0.0")
    c = ctx(held)
    assert nh.w_fix_nated_sdp(c, 0x02, "198.51.100.7") == 1
    assert b"c=IN IP4 0.0.0.0" in c.msg.body
    c = ctx(held)
    assert nh.w_fix_nated_sdp(c, 0x12, "198.51.100.7", "\\r\\na=x-attr1") == 1
    assert b"c=IN IP4 198.51.100.7" in c.msg.body and c.msg.body.endswith(b"a=x-attr1\r\n")
