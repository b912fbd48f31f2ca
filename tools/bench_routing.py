"""Routing benchmarks: dispatcher selection, drouting lookups, and loading a large db_text rule table.

    python3 tools/bench_routing.py            # table
    python3 tools/bench_routing.py --json     # one JSON object: ds_select_us, do_routing_us, load_100k_rules_s, ...

Each case runs the module function the script calls (same code path as a running server, without the network) on
a prepared Context; the time per call includes building nothing but the call itself. The 100k-rule load writes
db_text files in a temporary directory and times parsing + building the prefix tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from pysips.modules import dispatcher as ds
from pysips.modules import drouting as dr
from pysips.script.context import Context, Env
from pysips.sip.message import parse_message

INVITE = (
    b"INVITE sip:4021555123@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: <sip:4021555123@example.com>\r\n"
    b"From: <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

DS_H = (
    "id(int,auto) setid(int) destination(string) socket(string,null) state(int) probe_mode(int) "
    "weight(string) priority(int) attrs(string,null) description(string,null) \n"
)
GW_H = (
    "id(int,auto) gwid(string) type(int) address(string) strip(int) pri_prefix(string,null) attrs(string,null) "
    "probe_mode(int) state(int) socket(string,null) description(string,null) \n"
)
RULE_H = (
    "ruleid(int,auto) groupid(string) prefix(string) timerec(string,null) priority(int) routeid(string,null) "
    "gwlist(string,null) sort_alg(string) sort_profile(int,null) attrs(string,null) description(string,null) \n"
)
VERSION = "table_name(string) table_version(int) \ndispatcher:9\ndr_gateways:6\ndr_rules:4\n"


def _ctx(msg_bytes: bytes = INVITE) -> Context:
    return Context(parse_message(msg_bytes), env=Env())


def _per_call_us(fn, budget: float) -> float:  # noqa: ANN001
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + budget
    while True:
        for _ in range(200):
            fn()
        n += 200
        now = time.perf_counter()
        if now >= deadline:
            return (now - t0) / n * 1e6


def make_db(d: Path, rules: int) -> str:
    (d / "version").write_text(VERSION)
    (d / "dispatcher").write_text(
        DS_H + "".join(f":1:sip\\:10.0.0.{i}\\:5060::0:0:1:0::\n" for i in range(1, 11))
    )
    (d / "dr_gateways").write_text(
        GW_H + "".join(f":gw{i}:1:10.1.0.{i}\\:5060:0:::0:0::\n" for i in range(1, 21))
    )
    lines = [RULE_H]
    for i in range(rules):
        prefix = str(10_000_000 + i * 37)
        lines.append(f":1:{prefix}::0::gw{i % 20 + 1},gw{(i + 1) % 20 + 1}:N:::\n")
    lines.append(":1:40::0::gw1:N:::\n")
    (d / "dr_rules").write_text("".join(lines))
    return f"text://{d}"


def bench_dispatcher(budget: float, url: str) -> dict[str, float]:
    ds.init({"db_url": url})
    res = {}
    for name, alg, flags in (
        ("ds_select_us", 4, "f"),
        ("ds_select_hash_us", 0, "f"),
        ("ds_select_noflags_us", 4, None),
    ):
        c = _ctx()

        def call(c: Context = c, alg: int = alg, flags: str | None = flags) -> None:
            c._avps = None
            ds.w_ds_select_dst(c, 1, alg, flags)

        res[name] = _per_call_us(call, budget)
    return res


def bench_drouting(budget: float, url: str) -> dict[str, float]:
    dr.init({"db_url": url})
    res = {}
    for name, number in (("do_routing_us", "4021555123"), ("do_routing_100k_hit_us", "10000037999")):
        msg = parse_message(INVITE.replace(b"4021555123", number.encode()))
        ruri = msg.ruri.copy()
        c = Context(msg, env=Env())

        def call(c: Context = c, ruri: object = ruri) -> None:
            c.msg.ruri = ruri
            c._avps = None
            if dr.w_do_routing(c, 1) != 1:
                raise RuntimeError("no route")

        res[name] = _per_call_us(call, budget)
    return res


def bench_load(rules: int, d: Path) -> dict[str, float]:
    url = make_db(d, rules)
    t0 = time.perf_counter()
    dr.init({"db_url": url})
    elapsed = time.perf_counter() - t0
    assert dr._LOADED is not None and dr._LOADED.data.nrules == rules + 1
    return {f"load_{rules // 1000}k_rules_s": elapsed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--budget", type=float, default=0.5, help="seconds per timed case")
    ap.add_argument("--rules", type=int, default=100_000, help="rules in the load test")
    args = ap.parse_args(argv)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        results.update(bench_load(args.rules, d))
        small = d / "small"
        small.mkdir()
        url = make_db(small, 100)
        results.update(bench_dispatcher(args.budget, url))
        results.update(bench_drouting(args.budget, make_db(d, args.rules)))
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in results.items()}))
    else:
        width = max(len(k) for k in results)
        for k, v in results.items():
            print(f"{k:<{width}}  {v:12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
