"""Benchmark: SIPp uac -> pysips (stateful relay with record_route) -> SIPp uas, a ladder of call rates.

Prints a table; --json prints one JSON object with max_cps, baseline_cps and cpu_ms_per_call. The same ladder is
run SIPp-to-SIPp in the same run as the baseline. Each step uses a fresh uas and >= 3000 calls by default.

--workers 1,2 runs the pysips ladder once per worker count (udp_workers=N) and reports max_cps per count and the
speed-up over the first count. With more than one worker the caller uses one socket per call (SIPp -t un) in
every ladder, the baseline included, so the kernel can spread calls over the workers and every row pays the
same SIPp cost. cpu ms/call counts the supervisor and all its workers.

    python tools/bench_proxy.py [--rates 200,400,800,1200,1600,2000] [--calls 3000] [--workers 1,2] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sipp_ladder  # noqa: E402

CFG = """
log_level=1
udp_workers={workers}
socket=udp:127.0.0.1:{port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
route {{
    if (!mf_process_maxfwd_header(10)) {{ send_reply(483, "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (is_method("ACK") && t_check_trans()) {{ t_relay(); exit; }}
        if (!loose_route()) {{ send_reply(404, "Not here"); exit; }}
        t_relay();
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
    record_route();
    $du = "sip:127.0.0.1:{uas_port}";
    if (!t_relay()) send_reply(500, "Internal Error");
    exit;
}}
"""


def make_pysips(tmp: Path, workers: int = 1):
    def start(uas_port: int):
        port = sipp_ladder.free_port()
        cfg = tmp / f"proxy_{port}.cfg"
        cfg.write_text(CFG.format(port=port, uas_port=uas_port, workers=workers))
        proc = subprocess.Popen(
            [sys.executable, "-m", "pysips", "run", str(cfg)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 15
        for line in proc.stderr:
            if "pysips ready" in line or time.monotonic() > deadline:
                break
        return f"127.0.0.1:{port}", proc.pid, lambda: sipp_ladder.kill(proc, 15)

    return start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="200,400,800,1200,1600,2000")
    ap.add_argument("--baseline-rates", default=None, help="ladder for SIPp-to-SIPp (default: same)")
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--pause-ms", type=int, default=1000)
    ap.add_argument("--workers", default="1", help="comma-separated worker counts (udp_workers=N), e.g. 1,2")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    brates = [int(r) for r in (args.baseline_rates or args.rates).split(",")]
    counts = [int(w) for w in args.workers.split(",")]
    transport = "un" if max(counts) > 1 else "u1"
    rows: list[dict] = []
    by_workers: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        for n in counts:
            label = "pysips" if len(counts) == 1 else f"pysips-w{n}"
            wrows = sipp_ladder.ladder(
                rates, args.calls, make_pysips(Path(tmp), n), args.pause_ms, label, transport=transport
            )
            ok_rows = [r for r in wrows if r["ok"]]
            by_workers[n] = {
                "max_cps": sipp_ladder.max_ok_rate(wrows),
                "cpu_ms_per_call": ok_rows[-1]["cpu_ms_per_call"] if ok_rows else None,
            }
            rows += wrows
    base = sipp_ladder.ladder(brates, args.calls, None, args.pause_ms, "sipp-sipp", transport=transport)
    first = by_workers[counts[0]]
    max_cps = first["max_cps"]
    cpu = first["cpu_ms_per_call"]
    result = {
        "max_cps": max_cps,
        "baseline_cps": sipp_ladder.max_ok_rate(base),
        "cpu_ms_per_call": cpu,
        "calls_per_step": args.calls,
        "sipp_transport": transport,
        "workers": {
            str(n): {**v, "speedup": round(v["max_cps"] / max_cps, 2) if max_cps else None}
            for n, v in by_workers.items()
        },
        "steps": rows + base,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{'system':12} {'rate/s':>7} {'ok':>5} {'success':>8} {'failed':>7} {'retrans':>8} {'cpu ms/call':>12}"
        )
        for r in rows + base:
            print(
                f"{r['label']:12} {r['rate']:7} {r['ok']!s:>5} {r['successful']:8} {r['failed']:7} "
                f"{r['retrans']:8} {r['cpu_ms_per_call'] if r['cpu_ms_per_call'] is not None else '-':>12}"
            )
        print(f"\nmax_cps={max_cps}  baseline_cps={result['baseline_cps']}  cpu_ms_per_call={cpu}")
        if len(counts) > 1:
            for n, v in result["workers"].items():
                print(
                    f"workers={n}: max_cps={v['max_cps']}  cpu_ms_per_call={v['cpu_ms_per_call']}  "
                    f"speedup={v['speedup']}x"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
