"""Benchmark: SIPp uac -> pysips (b2b_init_request("top hiding")) -> SIPp uas, a ladder of call rates.

Prints a table; --json prints one JSON object with max_cps, cpu_ms_per_call, kb_per_call (RSS growth of the
server over the highest passing step divided by its calls: finished transactions are kept 32 s, so every call
of a step is still held when it ends) and the SIPp-to-SIPp baseline measured in the same run.

    python tools/bench_b2b.py [--rates 1200,1600,2000,2400,2800,3200] [--calls 3000] [--json] [--no-baseline]
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


def make_pysips(tmp: Path, rss: dict):
    def start(uas_port: int):
        port = sipp_ladder.free_port()
        cfg = tmp / f"b2b_{port}.cfg"
        cfg.write_text(CFG.format(port=port, uas_port=uas_port))
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
        rss["start"] = sipp_ladder.rss_kb(proc.pid)

        def stop() -> None:
            rss["end"] = sipp_ladder.rss_kb(proc.pid) if proc.poll() is None else 0
            sipp_ladder.kill(proc, 15)

        return f"127.0.0.1:{port}", proc.pid, stop

    return start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="1200,1600,2000,2400,2800,3200")
    ap.add_argument("--baseline-rates", default=None, help="ladder for SIPp-to-SIPp (default: same)")
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--pause-ms", type=int, default=1000)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    brates = [int(r) for r in (args.baseline_rates or args.rates).split(",")]
    rows: list[dict] = []
    rss: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-b2b-") as tmp:
        for rate in rates:
            # one step at a time so the RSS of each server process is known
            step = sipp_ladder.ladder(
                [rate], args.calls, make_pysips(Path(tmp), rss), args.pause_ms, "pysips-b2b"
            )
            for r in step:
                r["rss_start_kb"] = rss.get("start")
                r["rss_end_kb"] = rss.get("end")
            rows += step
            if not step or not step[-1]["ok"]:
                break
    base = (
        [] if args.no_baseline else sipp_ladder.ladder(brates, args.calls, None, args.pause_ms, "sipp-sipp")
    )
    max_cps = sipp_ladder.max_ok_rate(rows)
    ok_rows = [r for r in rows if r["ok"]]
    best = ok_rows[-1] if ok_rows else None
    cpu = best["cpu_ms_per_call"] if best else None
    kb = None
    if best and best.get("rss_end_kb") and best.get("rss_start_kb"):
        # every call of a step is still held when it ends (finished transactions stay 32 s, RFC 3261 Timer J/L/M),
        # so the growth over the step divided by its calls is the memory one call costs at any rate
        kb = round((best["rss_end_kb"] - best["rss_start_kb"]) / best["calls"], 2)
    result = {
        "max_cps": max_cps,
        "baseline_cps": sipp_ladder.max_ok_rate(base) if base else None,
        "cpu_ms_per_call": cpu,
        "kb_per_call": kb,
        "calls_per_step": args.calls,
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
        print(
            f"\nmax_cps={max_cps}  baseline_cps={result['baseline_cps']}  cpu_ms_per_call={cpu}  kb_per_call={kb}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
