"""SIP message benchmarks: pysips parse+serialize against a minimal split of the same bytes, in one run.

    python3 tools/bench_sip.py            # table
    python3 tools/bench_sip.py --json     # one JSON object (keys: invite_msgs_s, ok_msgs_s, ..., parse_ratio)

Every bench function takes the time budget in seconds and returns a dict of results; BENCHES lists them in
order, so another section (e.g. the UDP relay, adding ``relay_ratio``) is one more function in the list.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

from pysips.sip.message import make_response, parse_message

INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b"Route: <sip:proxy1.example.com;lr>, <sip:proxy2.example.com;lr>\r\n"
    b"To: Bob <sip:bob@biloxi.example.com>\r\n"
    b'From: "Alice" <sip:alice@atlanta.example.com>;tag=1928301774\r\n'
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@pc33.atlanta.example.com:5060;transport=udp>\r\n"
    b"Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY\r\n"
    b"Supported: replaces, timer\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 191\r\n"
    b"\r\n"
    b"v=0\r\n"
    b"o=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.101\r\n"
    b"t=0 0\r\n"
    b"m=audio 49172 RTP/AVP 0 8 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=sendrecv\r\n"
)


def _ok_bytes() -> bytes:
    req = parse_message(INVITE)
    resp = make_response(
        req,
        200,
        to_tag="a6c85cf",
        headers=[("Contact", "<sip:bob@192.0.2.4>"), ("Content-Type", "application/sdp")],
        body=INVITE[INVITE.find(b"\r\n\r\n") + 4 :],
    )
    return resp.to_bytes()


OK = _ok_bytes()


def minimal(data: bytes) -> bytes:
    """The minimal split parser every SIP stack needs at the least (the baseline of ``parse_ratio``): decode,
    split the header lines into a name -> values table (names lower-cased, values stripped) so that headers can
    be looked up by name, and serialize back. On this machine it runs near the 115k msg/s that
    shared/reference/measuring.md gives for "minimal bytes split"."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "surrogateescape").split("\r\n")
    hdrs: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        hdrs.setdefault(name.strip().lower(), []).append(value.strip())
    out = [lines[0]]
    for name, values in hdrs.items():
        out.extend(f"{name}: {v}" for v in values)
    return ("\r\n".join(out) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


def bare_split(data: bytes) -> bytes:
    """A floor, not a parser: split lines, split each at ':', join back (no decoding, no lookup table)."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    hdrs = [line.partition(b":") for line in lines[1:]]
    return b"\r\n".join([lines[0], *[n + b":" + v for n, _, v in hdrs]]) + b"\r\n\r\n" + body


def pysips_request(data: bytes) -> bytes:
    msg = parse_message(data)
    msg.method, msg.ruri.user, msg.via.branch, msg.from_.tag, msg.to.tag  # noqa: B018
    msg.call_id, msg.cseq.number, msg.max_forwards, msg.routes, msg.contacts  # noqa: B018
    return msg.to_bytes()


def pysips_response(data: bytes) -> bytes:
    msg = parse_message(data)
    msg.status, msg.via.branch, msg.from_.tag, msg.to.tag, msg.call_id, msg.cseq.method, msg.contacts  # noqa: B018
    return msg.to_bytes()


def pysips_proxy(data: bytes) -> bytes:
    """What a stateless proxy does: read, push a Via, decrement Max-Forwards, drop the top Route, serialize."""
    msg = parse_message(data)
    msg.via.received = "192.0.2.1"
    msg.push_via("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKpysips1")
    msg.set_header("Max-Forwards", str(msg.max_forwards - 1))
    msg.pop_value("Route")
    msg.from_.tag, msg.to.tag, msg.call_id, msg.cseq  # noqa: B018
    return msg.to_bytes()


def _rates(cases: dict[str, tuple[Callable[[bytes], bytes], bytes]], budget: float) -> dict[str, float]:
    """Messages per second for each case, best round of many. Rounds of the cases are interleaved so a load
    change on the machine hits all of them alike and the ratios stay meaningful."""
    for fn, data in cases.values():
        for _ in range(200):
            fn(data)
    best = dict.fromkeys(cases, 0.0)
    deadline = time.perf_counter() + budget
    rounds = 0
    while rounds < 200 and (rounds < 3 or time.perf_counter() < deadline):
        for name, (fn, data) in cases.items():
            n = 1000
            t0 = time.perf_counter()
            for _ in range(n):
                fn(data)
            best[name] = max(best[name], n / (time.perf_counter() - t0))
        rounds += 1
    return best


def bench_parse(budget: float) -> dict[str, float | int]:
    r = _rates(
        {
            "minimal_invite": (minimal, INVITE),
            "bare_invite": (bare_split, INVITE),
            "invite": (pysips_request, INVITE),
            "minimal_ok": (minimal, OK),
            "ok": (pysips_response, OK),
            "proxy_edit": (pysips_proxy, INVITE),
        },
        budget,
    )
    return {
        "invite_bytes": len(INVITE),
        "ok_bytes": len(OK),
        "minimal_invite_msgs_s": round(r["minimal_invite"]),
        "invite_msgs_s": round(r["invite"]),
        "minimal_ok_msgs_s": round(r["minimal_ok"]),
        "ok_msgs_s": round(r["ok"]),
        "proxy_edit_msgs_s": round(r["proxy_edit"]),
        "bare_split_invite_msgs_s": round(r["bare_invite"]),
        "parse_ratio": round(r["invite"] / r["minimal_invite"], 3),
        "parse_ratio_vs_bare_split": round(r["invite"] / r["bare_invite"], 3),
        "parse_ratio_ok": round(r["ok"] / r["minimal_ok"], 3),
    }


def bench_relay(budget: float) -> dict[str, float | int]:
    """The UDP relay section (tools/bench_relay.py): pysips.net vs a plain blocking-socket relay."""
    import os

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_relay import run_relay_bench

    res = run_relay_bench()
    return {k: v for k, v in res.items() if isinstance(v, (int, float))}


BENCHES: list[Callable[[float], dict[str, float | int]]] = [bench_parse, bench_relay]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--seconds", type=float, default=2.0, help="time budget per bench section")
    args = ap.parse_args(argv)
    results: dict[str, float | int] = {}
    for bench in BENCHES:
        results.update(bench(args.seconds))
    if args.json:
        print(json.dumps(results))
    else:
        width = max(len(k) for k in results)
        print(f"{'metric':<{width}}  value")
        for key, value in results.items():
            print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
