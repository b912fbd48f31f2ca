"""A network-free bench for the B2BUA engine: the real Core and B2BEngine, a fake UDP transport that records what
is sent, a manual clock and the process timer heap fired by hand."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pysips.b2b.engine import B2BEngine
from pysips.modules.b2b_logic import w_b2b_init_request
from pysips.net.timers import TimerHeap
from pysips.proxy.core import Core
from pysips.proxy.log import Logger
from pysips.proxy.sockets import parse_socket
from pysips.sip.message import Request, Response, make_response, parse_message

A = ("10.0.0.1", 5061)  # the caller
B = ("10.0.0.2", 5062)  # the callee
US = ("127.0.0.1", 5060)

SDP_A = (
    b"v=0\r\no=alice 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
)
SDP_B = b"v=0\r\no=bob 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n"


class FakeTransport:
    proto = "udp"

    def __init__(self, local: tuple[str, int] = US) -> None:
        self.local = local
        self.sent: list[tuple[Any, tuple]] = []

    def send(self, data: bytes, addr: tuple) -> bool:
        self.sent.append((parse_message(data), addr))
        return True


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Program:
    """Stand-in for a compiled script: route{ $du = ...; b2b_init_request(...); exit; }."""

    def __init__(self, scenario: str = "top hiding", flags: str | None = None, du: str | None = None) -> None:
        self.routes = {("request", None): 1}
        self.scenario = scenario
        self.flags = flags
        self.du = du
        self.ran = 0
        self.rc: list[int] = []

    def run(self, kind: str, name: str | None, ctx: Any) -> int:
        self.ran += 1
        req = ctx.msg
        if req.to.tag is not None or req.method != "INVITE":
            return 0  # the script would answer 481 / 503; nothing b2b
        if self.du:
            ctx.du = self.du
        rc = w_b2b_init_request(ctx, self.scenario, self.flags)
        self.rc.append(rc)
        return 0


class Bench:
    def __init__(self, program: Program | None = None, script: Any = None) -> None:
        self.clock = Clock()
        self.program = program or Program()
        spec = parse_socket("udp:127.0.0.1:5060")
        self.core = Core(self.program, [spec], Logger(1), {})
        self.core.timers = self.timers = TimerHeap()
        self.core.env = SimpleNamespace(core=self.core)
        self.transport = FakeTransport()
        self.core.add_transport(spec, self.transport)
        self.engine = B2BEngine(self.core, script, clock=self.clock, timers=self.timers)
        self.core.b2b = self.engine

    # ------------------------------------------------------------ feeding
    def feed(self, data: bytes | Request | Response, src: tuple) -> None:
        if not isinstance(data, bytes):
            data = data.to_bytes()
        self.core.on_message(data, src, self.transport)

    def advance(self, seconds: float) -> None:
        """Move the clock in steps of 0.1 s, firing the timers that come due."""
        steps = int(round(seconds * 10))
        for _ in range(steps):
            self.clock.t += 0.1
            self.timers.run_due(self.clock.t)

    def take(self, to: tuple | None = None) -> list[Any]:
        """Messages sent since the last take (only those to `to` when given; the others stay queued)."""
        out, keep = [], []
        for msg, addr in self.transport.sent:
            (out if to is None or addr == to else keep).append((msg, addr))
        self.transport.sent = keep
        return [m for m, _ in out]

    def take_one(self, to: tuple, what: str | int) -> Any:
        msgs = self.take(to)
        match = [m for m in msgs if (m.method if m.is_request else m.status) == what]
        assert len(match) == 1, f"expected one {what} to {to}, got {msgs}"
        return match[0]


def invite_a(
    call_id: str = "acall-1@10.0.0.1",
    branch: str = "z9hG4bK-a1",
    extra: str = "",
    body: bytes = SDP_A,
    ruri: str = "sip:bob@10.0.0.2:5062",
    cseq: int = 1,
) -> bytes:
    head = (
        f"INVITE {ruri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 10.0.0.1:5061;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        'From: "Alice" <sip:alice@example.com>;tag=atag-1\r\n'
        "To: <sip:bob@example.net>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} INVITE\r\n"
        "Contact: <sip:alice@10.0.0.1:5061>\r\n"
        "User-Agent: AliceUA/1.0\r\n"
        "X-Secret: alice-internal\r\n"
        "P-Asserted-Identity: <sip:alice@10.0.0.1>\r\n"
        "Supported: timer\r\n"
        "Allow: INVITE, ACK, BYE, CANCEL\r\n"
        f"{extra}"
        + ("Content-Type: application/sdp\r\n" if body else "")
        + f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def in_dialog_a(
    method: str,
    reply_from_us: Response,
    cseq: int,
    branch: str,
    call_id: str = "acall-1@10.0.0.1",
    body: bytes = b"",
    extra: str = "",
) -> bytes:
    """A request from the caller inside the dialog (To carries our tag, taken from a reply we sent)."""
    to = reply_from_us.get_header("To")
    head = (
        f"{method} sip:127.0.0.1:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 10.0.0.1:5061;branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        'From: "Alice" <sip:alice@example.com>;tag=atag-1\r\n'
        f"To: {to}\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Contact: <sip:alice@10.0.0.1:5061>\r\n"
        "User-Agent: AliceUA/1.0\r\n"
        f"{extra}"
        + ("Content-Type: application/sdp\r\n" if body else "")
        + f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def in_dialog_b(
    method: str,
    req_to_b: Request,
    reply_to_tag: str,
    cseq: int,
    branch: str,
    body: bytes = b"",
    sent_by: str = "10.0.0.2:5062",
) -> bytes:
    """A request from the callee in its dialog with us: From/To swapped from the request we sent it."""
    head = (
        f"{method} sip:127.0.0.1:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {sent_by};branch={branch}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: {req_to_b.get_header('To').split(';tag=')[0]};tag={reply_to_tag}\r\n"
        f"To: {req_to_b.get_header('From')}\r\n"
        f"Call-ID: {req_to_b.call_id}\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Contact: <sip:bob@10.0.0.2:5062>\r\n"
        "User-Agent: BobUA/2.0\r\n"
        + ("Content-Type: application/sdp\r\n" if body else "")
        + f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def reply_b(
    req: Request,
    status: int,
    body: bytes = b"",
    tag: str = "btag-1",
    extra=(),
    contact: str = "sip:bob@10.0.0.2:5062",
) -> Response:
    headers = [("Contact", f"<{contact}>"), ("User-Agent", "BobUA/2.0"), ("Server", "BobSrv")]
    headers += list(extra)
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return make_response(req, status, to_tag=tag if req.to.tag is None else None, headers=headers, body=body)


def reply_a(req: Request, status: int, body: bytes = b"") -> Response:
    headers = [("Contact", "<sip:alice@10.0.0.1:5061>"), ("User-Agent", "AliceUA/1.0")]
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return make_response(req, status, headers=headers, body=body)
