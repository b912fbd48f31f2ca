"""Shared SIP messages and Context builders for the module tests."""

from __future__ import annotations

from typing import Any

from pysips.script.context import Context, Env
from pysips.sip.message import parse_message

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: Bob <sip:bob@example.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@10.0.0.1>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 32\r\n"
    b"\r\n"
    b"v=0\r\no=alice 1 1 IN IP4 10.0.0.1"
)

BYE = (
    b"BYE sip:alice@10.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKnashds7\r\n"
    b"Max-Forwards: 70\r\n"
    b"Route: <sip:127.0.0.1;lr;ftag=1928301774;nat=yes>\r\n"
    b"From: Bob <sip:bob@example.com>;tag=a6c85cf\r\n"
    b"To: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 231 BYE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

REPLY_180 = (
    b"SIP/2.0 180 Ringing\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n"
    b"To: Bob <sip:bob@example.com>;tag=a6c85cf\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def msg(data: bytes = INVITE) -> Any:
    return parse_message(data)


def make_ctx(data: bytes = INVITE, *, local: tuple[str, int] = ("127.0.0.1", 5060), **kw: Any) -> Context:
    return Context(parse_message(data), src=("10.0.0.1", 5060), local=local, env=Env(), **kw)


def header_lines(ctx: Context) -> list[str]:
    head = ctx.msg.to_bytes().split(b"\r\n\r\n", 1)[0].decode()
    return head.split("\r\n")[1:]
