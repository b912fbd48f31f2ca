"""Benchmark: SIPp uac -> pysips (b2b_init_request("top hiding")) -> SIPp uas, a ladder of call rates.

Each step starts a fresh pysips and a fresh SIPp uas and places max(3000, rate * 5 s) calls (1 s each) at one
rate, with a different From user per call; the ladder stops at the first step with a failed call. (3000 calls at
3000/s or more last under a second and socket buffers absorb them: with 3000-call steps every rate up to 4000/s
passed here, while 6 s steps fail at 2800/s. --min-step-s 0 gives plain 3000-call steps.) Then a memory step holds
about 3000 concurrent 30 s calls (-r 100 -d 30000) and samples the server's RSS once a second.

Reported (table, or one JSON object with --json):
  max_cps          highest rate whose step had 0 failed calls (and retransmissions < 1% of calls)
  cpu_ms_per_call  server CPU time (user + system) over that step / its calls
  kb_per_call      (peak RSS - idle RSS) / peak concurrent calls (SIPp's CurrentCall) in the memory step
  rss_growth_kb_per_call  RSS growth over the highest passing ladder step / its calls (finished transactions are
                   kept 32 s, so every call of a step is still held when it ends)
  baseline_cps     the same ladder SIPp-to-SIPp in the same run, up to pysips's first failing rate (what the SIPp
                   pair can do on this machine)

--peer sippy runs the same ladder and memory step against the sippy B2BUA (PyPI "sippy", installed once into a
venv under /tmp, one UDP worker thread, started by tools/peers/sippy_b2bua.py) and adds peer_max_cps,
peer_cpu_ms_per_call, peer_kb_per_call and peer_ratio = max_cps / peer_max_cps. If sippy cannot be installed or
started, the reason is printed and the peer keys are left out.

    python tools/bench_b2b.py [--rates 1200,...] [--calls 3000] [--peer sippy] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sipp_ladder  # noqa: E402

UAC = "uac_b2b.xml"
UAS = "uas_b2b.xml"
SIPPY_VENV = Path("/tmp/pysips-sippy-venv")
SIPPY_LAUNCHER = Path(__file__).resolve().parent / "peers" / "sippy_b2bua.py"

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

# b2b state written to Redis; db_mode 1 (write-through) so every call is written and deleted while the ladder runs
# (with OpenSIPS's default db_mode 2 a call shorter than update_period is never written at all)
REDIS_PARAMS = """
modparam("b2b_entities", "cachedb_url", "{url}")
modparam("b2b_logic", "cachedb_url", "{url}")
modparam("b2b_entities", "db_mode", 1)
modparam("b2b_logic", "db_mode", 1)
"""

ServerFactory = Callable[[int], tuple[str, int, Callable[[], None]]]


def make_pysips(tmp: Path, rss: dict, redis_url: str | None = None) -> ServerFactory:
    """Start pysips with the top-hiding script in front of the uas; rss gets its RSS at start and at stop.
    With redis_url the b2b state is persisted there."""

    def start(uas_port: int) -> tuple[str, int, Callable[[], None]]:
        port = sipp_ladder.free_port()
        cfg = tmp / f"b2b_{port}.cfg"
        text = CFG.format(port=port, uas_port=uas_port)
        if redis_url:
            text = text.replace("\nroute {", REDIS_PARAMS.format(url=redis_url) + "\nroute {", 1)
        cfg.write_text(text)
        log = tmp / f"b2b_{port}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pysips", "run", str(cfg)], stdout=subprocess.DEVNULL, stderr=err
            )
        if not sipp_ladder.wait_ready(proc, log, "pysips ready"):
            print(f"  pysips did not start: {log.read_text(errors='replace')[-500:]}", file=sys.stderr)
        rss["start"] = sipp_ladder.tree_mem_kb(proc.pid)

        def stop() -> None:
            rss["end"] = sipp_ladder.tree_mem_kb(proc.pid) if proc.poll() is None else 0
            sipp_ladder.kill(proc, signal.SIGTERM)

        return f"127.0.0.1:{port}", proc.pid, stop

    return start


def sippy_python(venv: Path = SIPPY_VENV) -> tuple[Path | None, str]:
    """The interpreter of a venv with sippy in it, made (once) under /tmp; (None, why) if that cannot be done."""
    py = venv / "bin" / "python"

    def has_sippy() -> bool:
        try:
            return (
                subprocess.run([py, "-c", "import sippy.b2bua"], capture_output=True, timeout=60).returncode
                == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            return False

    if py.exists() and has_sippy():
        return py, ""
    print(f"  creating {venv} and installing sippy (once)", file=sys.stderr, flush=True)
    try:
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=120
        )
        if made.returncode != 0:
            return None, f"python -m venv failed: {made.stderr.strip()[-300:]}"
        pip = subprocess.run(
            [py, "-m", "pip", "install", "-q", "sippy"], capture_output=True, text=True, timeout=600
        )
        if pip.returncode != 0:
            return None, f"pip install sippy failed: {pip.stderr.strip()[-300:]}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"could not install sippy: {exc}"
    if not has_sippy():
        return None, "sippy installed but `import sippy.b2bua` fails"
    return py, ""


def make_sippy(tmp: Path, python: Path, failures: list[str]) -> ServerFactory:
    """Start sippy's B2BUA (one UDP worker thread) routing every call to the uas."""

    def start(uas_port: int) -> tuple[str, int, Callable[[], None]]:
        port = sipp_ladder.free_port()
        log = tmp / f"sippy_{port}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [python, str(SIPPY_LAUNCHER), "--port", str(port), "--route", f"127.0.0.1:{uas_port}",
                 "--workdir", str(tmp), "--workers", "1"],
                stdout=subprocess.DEVNULL, stderr=err, cwd=tmp,
            )  # fmt: skip
        if not sipp_ladder.wait_ready(proc, log, "sippy ready"):
            failures.append(f"sippy did not start: {log.read_text(errors='replace')[-500:]}")

        def stop() -> None:
            # sippy does not always leave its event loop on SIGTERM; nothing of it needs a clean shutdown here
            sipp_ladder.kill(proc, signal.SIGKILL)

        return f"127.0.0.1:{port}", proc.pid, stop

    return start


def start_redis(tmp: Path) -> tuple[subprocess.Popen | None, str]:
    """A redis-server of our own on a free loopback port (killed by PID at the end)."""
    import shutil
    import socket

    exe = shutil.which("redis-server")
    if exe is None:
        return None, ""
    port = sipp_ladder.free_port()
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"redis://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.05)
    sipp_ladder.kill(proc)
    return None, ""


def other_benchmarks() -> list[str]:
    """Command lines of other running benchmarks (their load would skew this one's figures)."""
    mine = {os.getpid(), os.getppid()}
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in mine:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if "tools/bench_" in cmd and "python" in cmd:
            found.append(f"{entry}: {cmd[:120]}")
    return found


def best_cpu(rows: list[dict]) -> float | None:
    ok_rows = [r for r in rows if r["ok"]]
    return ok_rows[-1]["cpu_ms_per_call"] if ok_rows else None


def run_peer(args: argparse.Namespace, tmp: Path, max_cps: int) -> tuple[dict, list[dict]]:
    """The sippy ladder and memory step; returns (peer keys for the result, ladder rows)."""
    python, why = sippy_python()
    if python is None:
        print(f"peer sippy skipped: {why}", file=sys.stderr, flush=True)
        return {"peer": "sippy", "peer_error": why}, []
    failures: list[str] = []
    rates = [int(r) for r in args.peer_rates.split(",")]
    rows = sipp_ladder.ladder(
        rates, args.calls, make_sippy(tmp, python, failures), args.pause_ms, "sippy",
        uac_scenario=UAC, uas_scenario=UAS, min_step_s=args.min_step_s,
    )  # fmt: skip
    if failures and not any(r["ok"] for r in rows):
        print(f"peer sippy skipped: {failures[0]}", file=sys.stderr, flush=True)
        return {"peer": "sippy", "peer_error": failures[0]}, rows
    peer_max = sipp_ladder.max_ok_rate(rows)
    out = {
        "peer": "sippy",
        "peer_max_cps": peer_max,
        "peer_ratio": round(max_cps / peer_max, 2) if peer_max else None,
        "peer_cpu_ms_per_call": best_cpu(rows),
    }
    if not args.no_mem:
        mem = sipp_ladder.memory_step(
            make_sippy(tmp, python, failures), args.mem_rate, args.mem_hold_ms, label="sippy",
            uac_scenario=UAC, uas_scenario=UAS,
        )  # fmt: skip
        out["peer_kb_per_call"] = mem["kb_per_call"]
        out["peer_mem"] = mem
    return out, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="1200,1600,2000,2400,2800,3200,3600,4000")
    ap.add_argument("--baseline-rates", default=None, help="ladder for SIPp-to-SIPp (default: same)")
    ap.add_argument("--calls", type=int, default=3000, help="least calls per ladder step")
    ap.add_argument("--min-step-s", type=float, default=5.0, help="least seconds of calls per ladder step")
    ap.add_argument("--pause-ms", type=int, default=1000, help="call length in the ladder")
    ap.add_argument("--mem-rate", type=int, default=100, help="call rate of the memory step")
    ap.add_argument("--mem-hold-ms", type=int, default=30000, help="call length in the memory step")
    ap.add_argument("--no-mem", action="store_true", help="skip the memory steps")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--peer", choices=["sippy"], default=None, help="also run the ladder against this B2BUA")
    ap.add_argument("--peer-rates", default="100,150,200,250,300,400")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="short run: 1000-call steps, two rates per ladder, 10 s memory hold",
    )
    ap.add_argument(
        "--store",
        default="memory",
        help="memory or memory,redis: also run the ladder with b2b state in Redis",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.calls = min(args.calls, 1000)
        args.rates = "1200,2400" if args.rates == ap.get_default("rates") else args.rates
        args.peer_rates = "100,200" if args.peer_rates == ap.get_default("peer_rates") else args.peer_rates
        args.mem_hold_ms = min(args.mem_hold_ms, 10000)
        args.min_step_s = min(args.min_step_s, 1.0)
    rates = [int(r) for r in args.rates.split(",")]
    for other in other_benchmarks():
        print(f"warning: another benchmark is running, figures will be low: {other}", file=sys.stderr)
    started = time.monotonic()
    rows: list[dict] = []
    rss: dict = {}
    peer: dict = {}
    peer_rows: list[dict] = []
    mem: dict | None = None
    with tempfile.TemporaryDirectory(prefix="bench-b2b-") as tmp_name:
        tmp = Path(tmp_name)
        for rate in rates:
            # one ladder per step so the RSS of each server process is known
            step = sipp_ladder.ladder(
                [rate], args.calls, make_pysips(tmp, rss), args.pause_ms, "pysips-b2b",
                uac_scenario=UAC, uas_scenario=UAS, min_step_s=args.min_step_s,
            )  # fmt: skip
            for r in step:
                r["rss_start_kb"] = rss.get("start")
                r["rss_end_kb"] = rss.get("end")
            rows += step
            if not step or not step[-1]["ok"]:
                break
        if not args.no_mem:
            mem = sipp_ladder.memory_step(
                make_pysips(tmp, {}), args.mem_rate, args.mem_hold_ms, label="pysips-b2b",
                uac_scenario=UAC, uas_scenario=UAS,
            )  # fmt: skip
        # past pysips's first failing rate the SIPp pair's limit says nothing about pysips
        brates = (
            [int(r) for r in args.baseline_rates.split(",")] if args.baseline_rates else rates[: len(rows)]
        )
        base = (
            []
            if args.no_baseline
            else sipp_ladder.ladder(
                brates,
                args.calls,
                None,
                args.pause_ms,
                "sipp-sipp",
                uac_scenario=UAC,
                uas_scenario=UAS,
                min_step_s=args.min_step_s,
            )  # fmt: skip
        )
        max_cps = sipp_ladder.max_ok_rate(rows)
        if "redis" in args.store.split(","):
            redis_proc, url = start_redis(tmp)
            try:
                if redis_proc is None:
                    peer["redis_error"] = "redis-server not available"
                else:
                    redis_rows = sipp_ladder.ladder(
                        rates, args.calls, make_pysips(tmp, {}, url), args.pause_ms, "pysips-redis",
                        uac_scenario=UAC, uas_scenario=UAS, min_step_s=args.min_step_s,
                    )  # fmt: skip
                    rows_redis = redis_rows
                    redis_cps = sipp_ladder.max_ok_rate(redis_rows)
                    peer["redis_max_cps"] = redis_cps
                    peer["redis_ratio"] = round(redis_cps / max_cps, 2) if max_cps else None
                    peer_rows += rows_redis
            finally:
                sipp_ladder.kill(redis_proc)
        if args.peer == "sippy":
            p, prows = run_peer(args, tmp, max_cps)
            peer.update(p)
            peer_rows += prows
    ok_rows = [r for r in rows if r["ok"]]
    best = ok_rows[-1] if ok_rows else None
    growth = None
    if best and best.get("rss_end_kb") and best.get("rss_start_kb"):
        growth = round((best["rss_end_kb"] - best["rss_start_kb"]) / best["calls"], 2)
    result = {
        "max_cps": max_cps,
        "cpu_ms_per_call": best_cpu(rows),
        "kb_per_call": mem["kb_per_call"] if mem else None,
        "rss_growth_kb_per_call": growth,
        "baseline_cps": sipp_ladder.max_ok_rate(base) if base else None,
        "calls_per_step": args.calls,
        "min_step_s": args.min_step_s,
        "mem": mem,
        **peer,
        "wall_s": round(time.monotonic() - started, 1),
        "steps": rows + peer_rows + base,
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"{'system':12} {'rate/s':>7} {'ok':>5} {'success':>8} {'failed':>7} {'retrans':>8} {'cpu ms/call':>12}"
    )
    for r in rows + peer_rows + base:
        print(
            f"{r['label']:12} {r['rate']:7} {r['ok']!s:>5} {r['successful']:8} {r['failed']:7} "
            f"{r['retrans']:8} {r['cpu_ms_per_call'] if r['cpu_ms_per_call'] is not None else '-':>12}"
        )
    for m in (mem, peer.get("peer_mem")):
        if m:
            print(
                f"{m['label']:12} memory: {m['peak_calls']} concurrent {m['hold_ms'] // 1000} s calls at "
                f"{m['rate']}/s, RSS idle {m['idle_kb']} KB peak {m['peak_kb']} KB -> {m['kb_per_call']} KB/call, "
                f"cpu {m['cpu_ms_per_call']} ms/call, failed {m['failed']}"
            )
    print(
        f"\nmax_cps={max_cps}  cpu_ms_per_call={result['cpu_ms_per_call']}  kb_per_call={result['kb_per_call']}  "
        f"rss_growth_kb_per_call={growth}  baseline_cps={result['baseline_cps']}"
    )
    if "peer_max_cps" in peer:
        print(
            f"peer sippy: max_cps={peer['peer_max_cps']}  cpu_ms_per_call={peer['peer_cpu_ms_per_call']}  "
            f"kb_per_call={peer.get('peer_kb_per_call')}  ratio pysips/sippy={peer['peer_ratio']}"
        )
    elif args.peer:
        print(f"peer sippy: not measured ({peer.get('peer_error')})")
    if "redis_max_cps" in peer:
        print(
            f"store redis: max_cps={peer['redis_max_cps']}  redis_ratio (redis/memory)={peer['redis_ratio']}"
        )
    print(f"wall {result['wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
