"""Benchmark the script layer: cold `pysips check` time and the per-request cost of the seed talk's route.

    python tools/bench_script.py [--requests 20000] [--json]

* check_seconds: wall time of a cold `python -m pysips check FILE` subprocess (interpreter start, imports, grammar,
  parse, compile), best of 3, on the largest corpus script that `pysips check` accepts (a script with syntax errors
  stops before the compiler, so it would measure less work). Skipped with a note when ../shared is absent.
* seed_route_us: per-request time of the request route of cfg/seed-balance.cfg on an INVITE, with the functions
  that would leave the interpreter (dispatcher, drouting, b2b_logic, maxfwd) replaced by stubs returning 1 (the ds_select_dst stub also sets $du).
* seed_route_ratio: that time divided by the time of a hand-written Python function doing the same work (method
  and To-tag checks, AVP pushes, $du reads and writes, the string building of the b2b parameters, the same stub
  calls), measured in the same run.

Targets: check <= 1 s cold; seed route <= 20 us per request.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SEED_CFG = ROOT / "cfg" / "seed-balance.cfg"
STUBBED = ("ds_select_dst", "do_routing", "b2b_init_request", "mf_process_maxfwd_header")
TARGET_CHECK_S = 1.0
TARGET_SEED_US = 20.0

INVITE = (
    b"INVITE sip:447700900123@carrier.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\n"
    b"To: <sip:447700900123@carrier.example.com>\r\n"
    b"From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Contact: <sip:alice@10.0.0.1>\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


# ------------------------------------------------------------------ check_seconds


def _check_once(path: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pysips", "check", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )
    return time.perf_counter() - t0, proc.returncode


def measure_check() -> dict[str, Any]:
    corpus = SHARED / "corpus" / "cfg"
    if not corpus.is_dir():
        return {"check_seconds": None, "check_note": f"skipped: {corpus} is absent"}
    files = sorted(corpus.glob("*.cfg"), key=lambda p: p.stat().st_size, reverse=True)
    for path in files[:15]:
        first, rc = _check_once(path)
        if rc != 0:
            continue
        times = [first] + [_check_once(path)[0] for _ in range(2)]
        return {
            "check_seconds": round(min(times), 3),
            "check_file": path.name,
            "check_file_lines": path.read_text(errors="replace").count("\n"),
        }
    return {"check_seconds": None, "check_note": "no corpus script among the 15 largest passes pysips check"}


# ------------------------------------------------------------------ seed route


def _stub(ctx: Any, *args: Any) -> int:
    return 1


def _ds_stub(ctx: Any, *args: Any) -> int:
    """ds_select_dst: set $du as dispatcher would, so the route's $du reads see a value."""
    ctx.du = "sip:10.0.0.5:5060"
    return 1


def _registry() -> dict:
    """The real module tables with the functions that leave the interpreter replaced by _stub."""
    from dataclasses import replace

    from pysips.modules import ModuleSpec, load_registry

    out = {}
    for name, spec in load_registry().items():
        funcs = {
            fn: (replace(f, impl=_ds_stub if fn == "ds_select_dst" else _stub) if fn in STUBBED else f)
            for fn, f in spec.functions.items()
        }
        out[name] = ModuleSpec(
            name=spec.name,
            functions=funcs,
            params=spec.params,
            pvs=spec.pvs,
            mi_commands=spec.mi_commands,
            core=spec.core,
            doc=spec.doc,
        )
    return out


def _seed_program() -> Any:
    from pysips.script.compiler import compile_script
    from pysips.script.parser import parse_file

    script, perrs = parse_file(str(SEED_CFG))
    prog, cerrs = compile_script(script, registry=_registry())
    errors = [e.format() for e in list(perrs) + list(cerrs) if e.severity == "error"]
    if errors:
        raise SystemExit("cfg/seed-balance.cfg does not compile:\n" + "\n".join(errors))
    return prog


def hand_written(ctx: Any) -> int:
    """The seed route written directly in Python against the same Context and stubs."""
    msg = ctx.msg
    if _stub(ctx, 10) <= 0:
        return 0
    if msg.to.tag:
        return 0
    if msg.method != "INVITE":
        return 0
    avps = ctx.avps
    avps.push("account", "1234567")
    _ds_stub(ctx, 1, 0)
    du = ctx.du
    if du is not None:  # assigning NULL to an AVP pushes nothing
        avps.push("fs_uri", du)
    ctx.du = None
    _stub(ctx, 1)
    user = msg.ruri.user
    du = ctx.du
    avps.push("carrier_ru", "sip:" + (user or "") + "@" + (du or ""))
    account = avps.get("account")
    fs_uri = avps.get("fs_uri")
    p1 = f"sip:READ_BALANCE_{'<null>' if account is None else account}@{'<null>' if fs_uri is None else fs_uri}"
    carrier = avps.get("carrier_ru")
    p2 = "<null>" if carrier is None else str(carrier)
    _stub(ctx, "cc_generic", p1, p2)
    return 0


def measure_seed(requests: int) -> dict[str, Any]:
    from pysips.script.context import Context, Env
    from pysips.sip.message import parse_message

    prog = _seed_program()
    msg = parse_message(INVITE)
    env = Env()
    run = prog.run

    def contexts() -> list[Any]:
        return [Context(msg, src=("10.0.0.1", 5060), env=env) for _ in range(requests)]

    # warm-up, and a check that both do the same thing
    c1, c2 = Context(msg, env=env), Context(msg, env=env)
    run("request", None, c1)
    hand_written(c2)
    assert c1.avps.as_dict() == c2.avps.as_dict(), (c1.avps.as_dict(), c2.avps.as_dict())
    best_script = best_hand = float("inf")
    for _ in range(3):
        ctxs = contexts()
        t0 = time.perf_counter()
        for c in ctxs:
            run("request", None, c)
        best_script = min(best_script, (time.perf_counter() - t0) / requests)
        ctxs = contexts()
        t0 = time.perf_counter()
        for c in ctxs:
            hand_written(c)
        best_hand = min(best_hand, (time.perf_counter() - t0) / requests)
    return {
        "seed_route_us": round(best_script * 1e6, 2),
        "hand_written_us": round(best_hand * 1e6, 2),
        "seed_route_ratio": round(best_script / best_hand, 2),
        "requests": requests,
        "stubbed": list(STUBBED),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=20000, help="requests per timed pass (3 passes)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args(argv)
    result = {**measure_check(), **measure_seed(max(100, min(args.requests, 1_000_000)))}
    if args.json:
        print(json.dumps(result))
        return 0
    rows = [
        ("measure", "value", "target"),
        (
            f"pysips check, cold ({result.get('check_file', '-')})",
            "skipped" if result["check_seconds"] is None else f"{result['check_seconds']:.3f} s",
            f"<= {TARGET_CHECK_S:.0f} s",
        ),
        (
            "seed route per request (pysips)",
            f"{result['seed_route_us']:.2f} us",
            f"<= {TARGET_SEED_US:.0f} us",
        ),
        ("same work, hand-written Python", f"{result['hand_written_us']:.2f} us", "baseline"),
        ("ratio pysips / hand-written", f"{result['seed_route_ratio']:.2f}", ""),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if result.get("check_note"):
        print(f"note: {result['check_note']}")
    print(f"stubs returning 1: {', '.join(STUBBED)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
