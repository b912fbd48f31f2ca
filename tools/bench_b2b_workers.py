"""Benchmark: SIPp uac -> pysips b2b ("top hiding") -> SIPp uas with 1 and 2 worker processes (udp_workers=N).

Runs the same ladder of call rates (tools/sipp_ladder.py, the scenarios of tools/bench_b2b.py) once per worker
count and reports the highest rate with 0 failed calls for each, and workers_ratio = max_cps(last count) /
max_cps(first count). A step also reports the rate it really ran at (ran/s: calls / (wall time - one call
length)); SIPp may fall behind the asked rate on a small machine without failing a call, so max_achieved_cps and
workers_ratio_achieved use that rate. The caller uses one socket per call (SIPp -t un) in every ladder, so the kernel spreads
calls over the workers and every row pays the same SIPp cost. cpu ms/call counts the supervisor and its workers.
On a machine with 2 CPUs SIPp itself takes a good share of them: the ratio is a lower bound.

    python tools/bench_b2b_workers.py [--rates 800,1200,...] [--calls 3000] [--workers 1,2] [--json]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sipp_ladder  # noqa: E402

UAC = "uac_b2b.xml"
UAS = "uas_b2b.xml"

CFG = """
log_level=1
udp_workers={workers}
socket=udp:127.0.0.1:{port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "signaling.so"
loadmodule "sipmsgops.so"
loadmodule "b2b_entities.so"
loadmodule "b2b_logic.so"
route {{
    if (!mf_process_maxfwd_header(10)) {{ send_reply(483, "Too Many Hops"); exit; }}
    if (has_totag()) {{ send_reply(481, "Call/Transaction Does Not Exist"); exit; }}
    if (!is_method("INVITE")) {{ send_reply(503, "Service Unavailable"); exit; }}
    $du = "sip:127.0.0.1:{uas_port}";
    b2b_init_request("top hiding");
    exit;
}}
"""


def make_pysips(tmp: Path, workers: int) -> Callable[[int], tuple[str, int, Callable[[], None]]]:
    def start(uas_port: int) -> tuple[str, int, Callable[[], None]]:
        port = sipp_ladder.free_port()
        cfg = tmp / f"b2b_w{workers}_{port}.cfg"
        cfg.write_text(CFG.format(port=port, uas_port=uas_port, workers=workers))
        log = tmp / f"b2b_w{workers}_{port}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pysips", "run", str(cfg)], stdout=subprocess.DEVNULL, stderr=err
            )
        if not sipp_ladder.wait_ready(proc, log, "pysips ready"):
            print(f"  pysips did not start: {log.read_text(errors='replace')[-500:]}", file=sys.stderr)
        elif workers > 1 and "running 1" in log.read_text(errors="replace"):
            print("  warning: pysips fell back to one process", file=sys.stderr)
        return f"127.0.0.1:{port}", proc.pid, lambda: sipp_ladder.kill(proc, signal.SIGTERM)

    return start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="800,1200,1600,2000,2400,2800,3200")
    ap.add_argument("--calls", type=int, default=3000, help="least calls per ladder step")
    ap.add_argument("--min-step-s", type=float, default=5.0, help="least seconds of calls per ladder step")
    ap.add_argument("--pause-ms", type=int, default=1000, help="call length")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    counts = [int(w) for w in args.workers.split(",")]
    rows: list[dict] = []
    by_workers: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-b2b-workers-") as tmp:
        for n in counts:
            wrows = sipp_ladder.ladder(
                rates, args.calls, make_pysips(Path(tmp), n), args.pause_ms, f"b2b-w{n}", transport="un",
                uac_scenario=UAC, uas_scenario=UAS, min_step_s=args.min_step_s,
            )  # fmt: skip
            for r in wrows:
                # SIPp on a small machine may fall behind the asked rate without failing a call: the rate the
                # step really ran at is its calls over its wall time minus the length of one call
                busy = r["wall_s"] - args.pause_ms / 1000
                r["achieved_cps"] = int(r["calls"] / busy) if busy > 0 else None
            ok_rows = [r for r in wrows if r["ok"]]
            by_workers[n] = {
                "max_cps": sipp_ladder.max_ok_rate(wrows),
                "max_achieved_cps": max((r["achieved_cps"] or 0 for r in ok_rows), default=0),
                "cpu_ms_per_call": ok_rows[-1]["cpu_ms_per_call"] if ok_rows else None,
            }
            rows += wrows
    first = by_workers[counts[0]]["max_cps"]
    last = by_workers[counts[-1]]["max_cps"]
    first_a = by_workers[counts[0]]["max_achieved_cps"]
    last_a = by_workers[counts[-1]]["max_achieved_cps"]
    result = {
        "workers": {str(n): v for n, v in by_workers.items()},
        "workers_ratio": round(last / first, 2) if first else None,
        "workers_ratio_achieved": round(last_a / first_a, 2) if first_a else None,
        "calls_per_step": args.calls,
        "min_step_s": args.min_step_s,
        "sipp_transport": "un",
        "steps": rows,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'system':10} {'rate/s':>7} {'ran/s':>6} {'calls':>6} {'ok':>5} {'success':>8} {'failed':>7} "
              f"{'retrans':>8} {'cpu ms/call':>12}")  # fmt: skip
        for r in rows:
            print(
                f"{r['label']:10} {r['rate']:7} {r['achieved_cps']!s:>6} {r['calls']:6} {r['ok']!s:>5} "
                f"{r['successful']:8} {r['failed']:7} {r['retrans']:8} "
                f"{r['cpu_ms_per_call'] if r['cpu_ms_per_call'] is not None else '-':>12}"
            )
        for n, v in result["workers"].items():
            print(
                f"workers={n}: max_cps={v['max_cps']}  max_achieved_cps={v['max_achieved_cps']}  "
                f"cpu_ms_per_call={v['cpu_ms_per_call']}"
            )
        print(
            f"workers_ratio={result['workers_ratio']}  workers_ratio_achieved={result['workers_ratio_achieved']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
