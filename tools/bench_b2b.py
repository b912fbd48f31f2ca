"""Benchmark: SIPp uac -> pysips (b2b_init_request("top hiding")) -> SIPp uas, ladders of call rates over a grid of
worker counts x b2b stores.

Grid: --workers 1,2 (default 1) x --store memory,redis (default memory) runs one ladder per (workers, store) pair in
the same run, workers ascending and memory before redis: (1, memory), (1, redis), (2, memory), (2, redis). With
N > 1 workers the cfg has udp_workers=N; with redis the b2b state goes to a redis-server this tool starts on a free
loopback port (b2b_entities/b2b_logic cachedb_url, db_mode 1 = write-through, so every call is written and deleted
while the ladder runs; the database is flushed before each server start). cpu ms/call counts the supervisor and all
its workers. When a worker count > 1 is asked for, every ladder of the run (1 worker, baseline and sippy included)
runs the SIPp caller with -t un (one socket per call, so the kernel spreads calls over the workers' SO_REUSEPORT
sockets), otherwise -t u1: rows of one run are always comparable. The memory step always uses one caller socket.

Each ladder step starts a fresh pysips and a fresh SIPp uas and places max(3000, rate * 5 s) calls (1 s each) at
one rate, with a different From user per call; a ladder stops at its first step with a failed call. (3000 calls at
3000/s or more last under a second and socket buffers absorb them: with 3000-call steps every rate up to 4000/s
passed here, while 6 s steps fail at 2800/s. --min-step-s 0 gives plain 3000-call steps.) A step also reports the
rate it really ran at (ran/s = calls / (wall time - one call length)): SIPp may fall behind the asked rate on a
small machine without failing a call. Every pysips started with N > 1 is checked: if it logged "... workers asked
for, running 1: ..." or has fewer worker processes than asked, its rows carry workers_effective (the count it
really ran) and the table marks them. Then, once (1 worker, memory store), a memory step holds about 3000
concurrent 30 s calls (-r 100 -d 30000) and samples the server's RSS once a second, and the SIPp-to-SIPp baseline
ladder runs.

Table: one row per step: system, workers, store, rate/s asked, ran/s achieved, ok (successful calls), failed,
retrans, cpu ms/call, pass, and "workers_effective=K" when the server ran fewer workers than asked.

Reported (summary lines, or one JSON object with --json):
  max_cps          highest rate whose step had 0 failed calls (and retransmissions < 1% of calls) in the first
                   ladder (smallest worker count, memory store; redis store if only redis was asked)
  cpu_ms_per_call  server CPU time (user + system) over that step / its calls
  kb_per_call      (peak RSS - idle RSS) / peak concurrent calls (SIPp's CurrentCall) in the memory step
  rss_growth_kb_per_call  RSS growth over the first ladder's highest passing step / its calls (finished
                   transactions are kept 32 s, so every call of a step is still held when it ends)
  baseline_cps     the same ladder SIPp-to-SIPp in the same run, up to the longest pysips ladder's first failing rate
                   (what the SIPp pair can do on this machine)
  ladders          {"w<N>_<store>": {workers, store, max_cps, max_achieved_cps, cpu_ms_per_call,
                   workers_effective, max_cps_capped}} for every pair of the grid (max_achieved_cps: best ran/s
                   of a passing step; workers_effective: the fewest workers any server of that ladder ran, null if
                   none started; max_cps_capped: every asked rate passed, so max_cps is a lower bound and so are
                   the ratios built on it -- --quick's two rates often end that way)
  workers          {"<N>": {max_cps, max_achieved_cps, cpu_ms_per_call, workers_effective}}: the memory-store
                   ladders by worker count (the keys tools/bench_b2b_workers.py used to print)
  workers_ratio    max_cps(largest count, memory) / max_cps(smallest count, memory), with 2+ counts
  workers_ratio_achieved  the same with max_achieved_cps (the rate SIPp really reached)
  redis_max_cps    max_cps(smallest count, redis), with --store redis
  redis_ratio      max_cps(smallest count, redis) / max_cps(smallest count, memory)
  redis_ratio_w<N> max_cps(N, redis) / max_cps(N, memory), for every count N > 1
  redis_error      why the redis ladders did not run (redis-server missing)
  worker_counts, stores, sipp_transport, calls_per_step, min_step_s, mem (the memory step), wall_s,
  steps            every step row: label, system, workers, store, workers_effective, rate, achieved_cps, calls, ok,
                   successful, failed, retrans, wall_s, cpu_ms_per_call (baseline/peer rows: workers/store null)

--peer sippy runs the same ladder and memory step against the sippy B2BUA (PyPI "sippy", installed once into a
venv under /tmp, one UDP worker thread, started by tools/peers/sippy_b2bua.py) and adds peer_max_cps,
peer_cpu_ms_per_call, peer_kb_per_call, peer_mem and peer_ratio = max_cps / peer_max_cps. If sippy cannot be
installed or started, the reason is printed and peer_error is set instead.

    python tools/bench_b2b.py [--rates 1200,...] [--calls 3000] [--workers 1,2] [--store memory,redis]
                              [--peer sippy] [--quick] [--no-mem] [--no-baseline] [--json]
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
STORES = ("memory", "redis")
# what pysips.server logs when it ignores udp_workers (a module keeps per-process state)
FALLBACK_MARK = "workers asked for, running 1"

CFG = """
log_level=1
{workers_line}socket=udp:127.0.0.1:{port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "signaling.so"
loadmodule "sipmsgops.so"
loadmodule "b2b_entities.so"
loadmodule "b2b_logic.so"
{store_params}route {{
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
REDIS_PARAMS = """modparam("b2b_entities", "cachedb_url", "{url}")
modparam("b2b_logic", "cachedb_url", "{url}")
modparam("b2b_entities", "db_mode", 1)
modparam("b2b_logic", "db_mode", 1)
"""

ServerFactory = Callable[[int], tuple[str, int, Callable[[], None]]]


def make_cfg(port: int, uas_port: int, workers: int = 1, redis_url: str | None = None) -> str:
    """The top-hiding script: udp_workers=N when workers > 1, b2b state in Redis when redis_url is given."""
    return CFG.format(
        port=port,
        uas_port=uas_port,
        workers_line=f"udp_workers={workers}\n" if workers > 1 else "",
        store_params=REDIS_PARAMS.format(url=redis_url) if redis_url else "",
    )


def workers_effective(asked: int, log_text: str, children: int) -> int:
    """How many worker processes a server started with udp_workers=asked really runs: 1 if it logged the
    one-process fallback, else its child process count (the supervisor forks exactly its workers)."""
    if asked <= 1 or FALLBACK_MARK in log_text:
        return 1
    return min(asked, children) if children else 1


def flush_redis(url: str) -> None:
    """Empty the bench's own Redis so a server does not restore the calls a previous step left behind."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2)
        try:
            client.flushdb()
        finally:
            client.close()
    except redis.RedisError as exc:
        print(f"  warning: could not flush {url}: {exc}", file=sys.stderr)


def make_pysips(
    tmp: Path, starts: list[dict], workers: int = 1, redis_url: str | None = None
) -> ServerFactory:
    """Start pysips with the top-hiding script in front of the uas. Every start appends to `starts` a dict with the
    server's memory at start and at stop (rss_start_kb, rss_end_kb) and workers_effective (None if it did not
    start)."""

    def start(uas_port: int) -> tuple[str, int, Callable[[], None]]:
        port = sipp_ladder.free_port()
        cfg = tmp / f"b2b_w{workers}_{port}.cfg"
        cfg.write_text(make_cfg(port, uas_port, workers, redis_url))
        if redis_url:
            flush_redis(redis_url)
        log = tmp / f"b2b_w{workers}_{port}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pysips", "run", str(cfg)], stdout=subprocess.DEVNULL, stderr=err
            )
        info: dict = {"workers_effective": None}
        if not sipp_ladder.wait_ready(proc, log, "pysips ready"):
            print(f"  pysips did not start: {log.read_text(errors='replace')[-500:]}", file=sys.stderr)
        else:
            eff = workers_effective(
                workers, log.read_text(errors="replace"), len(sipp_ladder.children(proc.pid))
            )
            info["workers_effective"] = eff
            if eff < workers:
                print(f"  warning: pysips asked for {workers} workers runs {eff}", file=sys.stderr)
        info["rss_start_kb"] = sipp_ladder.tree_mem_kb(proc.pid)
        starts.append(info)

        def stop() -> None:
            info["rss_end_kb"] = sipp_ladder.tree_mem_kb(proc.pid) if proc.poll() is None else 0
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


def tag_rows(
    rows: list[dict], system: str, pause_ms: int, workers: int | None = None, store: str | None = None
) -> None:
    """Add system, workers, store and achieved_cps to ladder rows."""
    for r in rows:
        r["system"] = system
        r["workers"] = workers
        r["store"] = store
        r.setdefault("workers_effective", None)
        # SIPp on a small machine may fall behind the asked rate without failing a call: the rate the step really
        # ran at is its calls over its wall time minus the length of one call
        busy = r["wall_s"] - pause_ms / 1000
        r["achieved_cps"] = int(r["calls"] / busy) if busy > 0 else None


def run_peer(args: argparse.Namespace, tmp: Path, max_cps: int) -> tuple[dict, list[dict]]:
    """The sippy ladder and memory step; returns (peer keys for the result, ladder rows)."""
    python, why = sippy_python()
    if python is None:
        print(f"peer sippy skipped: {why}", file=sys.stderr, flush=True)
        return {"peer": "sippy", "peer_error": why}, []
    failures: list[str] = []
    rates = [int(r) for r in args.peer_rates.split(",")]
    rows = sipp_ladder.ladder(
        rates, args.calls, make_sippy(tmp, python, failures), args.pause_ms, "sippy", transport=args.transport,
        uac_scenario=UAC, uas_scenario=UAS, min_step_s=args.min_step_s,
    )  # fmt: skip
    tag_rows(rows, "sippy", args.pause_ms)
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


def parse_counts(text: str) -> list[int]:
    """ "2,1" -> [1, 2]: worker counts, ascending, each once."""
    counts = sorted({int(w) for w in text.split(",") if w.strip()})
    if not counts or counts[0] < 1:
        raise ValueError(f"worker counts must be integers >= 1: {text!r}")
    return counts


def parse_stores(text: str) -> list[str]:
    """ "redis,memory" -> ["memory", "redis"]: memory before redis, each once."""
    asked = {s.strip() for s in text.split(",") if s.strip()}
    unknown = asked - set(STORES)
    if not asked or unknown:
        raise ValueError(f"stores are memory and/or redis: {text!r}")
    return [s for s in STORES if s in asked]


def grid(counts: list[int], stores: list[str]) -> list[tuple[int, str]]:
    """The (workers, store) ladders of a run in the order they run: workers ascending, memory before redis."""
    return [(n, s) for n in counts for s in stores]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="1200,1600,2000,2400,2800,3200,3600,4000")
    ap.add_argument("--baseline-rates", default=None, help="ladder for SIPp-to-SIPp (default: same)")
    ap.add_argument("--calls", type=int, default=3000, help="least calls per ladder step")
    ap.add_argument("--min-step-s", type=float, default=5.0, help="least seconds of calls per ladder step")
    ap.add_argument("--pause-ms", type=int, default=1000, help="call length in the ladder")
    ap.add_argument("--mem-rate", type=int, default=100, help="call rate of the memory step")
    ap.add_argument("--mem-hold-ms", type=int, default=30000, help="call length in the memory step")
    ap.add_argument("--no-mem", action="store_true", help="skip the memory steps")
    ap.add_argument("--no-baseline", action="store_true", help="skip the SIPp-to-SIPp ladder")
    ap.add_argument("--peer", choices=["sippy"], default=None, help="also run the ladder against this B2BUA")
    ap.add_argument("--peer-rates", default="100,150,200,250,300,400")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="short run: 1000-call steps of at least 1 s, two rates per ladder, 10 s memory hold",
    )
    ap.add_argument(
        "--workers",
        default="1",
        help="comma-separated worker counts (udp_workers=N), one ladder each, e.g. 1,2. With a count > 1 EVERY "
        "ladder of the run (1 worker, baseline and sippy too) uses SIPp -t un (one socket per call) so rows are "
        "comparable; otherwise -t u1",
    )
    ap.add_argument(
        "--store",
        default="memory",
        help="memory, redis or memory,redis: b2b state in memory and/or in a Redis of this tool's own "
        "(db_mode 1), one ladder per worker count and store",
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    return ap


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse and normalise: adds counts, stores and transport; --quick shortens the run."""
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        args.counts = parse_counts(args.workers)
        args.stores = parse_stores(args.store)
    except ValueError as exc:
        ap.error(str(exc))
    args.transport = "un" if args.counts[-1] > 1 else "u1"
    if args.quick:
        args.calls = min(args.calls, 1000)
        args.rates = "1200,2400" if args.rates == ap.get_default("rates") else args.rates
        args.peer_rates = "100,200" if args.peer_rates == ap.get_default("peer_rates") else args.peer_rates
        args.mem_hold_ms = min(args.mem_hold_ms, 10000)
        args.min_step_s = min(args.min_step_s, 1.0)
    return args


def ladder_summary(workers: int, store: str, rows: list[dict], rates: list[int]) -> dict:
    ok_rows = [r for r in rows if r["ok"]]
    effective = [r["workers_effective"] for r in rows if r.get("workers_effective") is not None]
    return {
        "workers": workers,
        "store": store,
        "max_cps": sipp_ladder.max_ok_rate(rows),
        "max_achieved_cps": max((r["achieved_cps"] or 0 for r in ok_rows), default=0),
        "cpu_ms_per_call": ok_rows[-1]["cpu_ms_per_call"] if ok_rows else None,
        "workers_effective": min(effective) if effective else None,
        # every asked rate passed: the ladder's top rate, not the server, set max_cps (a lower bound)
        "max_cps_capped": bool(rows) and len(ok_rows) == len(rows) == len(rates),
    }


def _ratio(num: float | None, den: float | None) -> float | None:
    return round(num / den, 2) if num is not None and den else None


def grid_keys(ladders: dict[tuple[int, str], dict], counts: list[int], stores: list[str]) -> dict:
    """workers_ratio(_achieved), redis_max_cps, redis_ratio and redis_ratio_w<N> from the per-ladder summaries
    (only the keys the grid can give)."""
    out: dict = {}
    low, high = counts[0], counts[-1]

    def get(n: int, store: str, key: str = "max_cps") -> float | None:
        s = ladders.get((n, store))
        return s[key] if s else None

    if len(counts) > 1 and "memory" in stores:
        out["workers_ratio"] = _ratio(get(high, "memory"), get(low, "memory"))
        out["workers_ratio_achieved"] = _ratio(
            get(high, "memory", "max_achieved_cps"), get(low, "memory", "max_achieved_cps")
        )
    if (low, "redis") in ladders:
        out["redis_max_cps"] = get(low, "redis")
        if "memory" in stores:
            out["redis_ratio"] = _ratio(get(low, "redis"), get(low, "memory"))
            for n in counts:
                if n > 1:
                    out[f"redis_ratio_w{n}"] = _ratio(get(n, "redis"), get(n, "memory"))
    return out


def run_pysips_ladder(
    args: argparse.Namespace, tmp: Path, rates: list[int], workers: int, store: str, redis_url: str | None
) -> list[dict]:
    starts: list[dict] = []
    label = f"b2b-w{workers}-{store}"
    rows = sipp_ladder.ladder(
        rates, args.calls, make_pysips(tmp, starts, workers, redis_url), args.pause_ms, label,
        transport=args.transport, uac_scenario=UAC, uas_scenario=UAS, min_step_s=args.min_step_s,
    )  # fmt: skip
    # ladder() starts one server per step, in step order
    for r, info in zip(rows, starts, strict=False):
        r.update(info)
    tag_rows(rows, "pysips", args.pause_ms, workers, store)
    return rows


def _fmt(value: object) -> str:
    return "-" if value is None else str(value)


def print_report(args: argparse.Namespace, result: dict, steps: list[dict]) -> None:
    print(
        f"{'system':9} {'workers':>7} {'store':7} {'rate/s':>7} {'ran/s':>6} {'ok':>6} {'failed':>6} "
        f"{'retrans':>7} {'cpu ms/call':>11} {'pass':>5}"
    )
    for r in steps:
        eff = r.get("workers_effective")
        note = f"  workers_effective={eff}" if r["workers"] and eff is not None and eff < r["workers"] else ""
        print(
            f"{r['system']:9} {_fmt(r['workers']):>7} {_fmt(r['store']):7} {r['rate']:7} "
            f"{_fmt(r['achieved_cps']):>6} {r['successful']:6} {r['failed']:6} {r['retrans']:7} "
            f"{_fmt(r['cpu_ms_per_call']):>11} {'yes' if r['ok'] else 'no':>5}{note}"
        )
    for m in (result.get("mem"), result.get("peer_mem")):
        if m:
            print(
                f"{m['label']:12} memory: {m['peak_calls']} concurrent {m['hold_ms'] // 1000} s calls at "
                f"{m['rate']}/s, RSS idle {m['idle_kb']} KB peak {m['peak_kb']} KB -> {m['kb_per_call']} KB/call, "
                f"cpu {m['cpu_ms_per_call']} ms/call, failed {m['failed']}"
            )
    print(f"\nSIPp caller transport: -t {result['sipp_transport']}")
    for s in result["ladders"].values():
        eff = s["workers_effective"]
        note = (
            f"  workers_effective={eff} (asked {s['workers']})"
            if eff is not None and eff < s["workers"]
            else ""
        )
        if s["max_cps_capped"]:
            note += "  (every rate passed: lower bound)"
        print(
            f"workers={s['workers']} store={s['store']}: max_cps={s['max_cps']}  "
            f"max_achieved_cps={s['max_achieved_cps']}  cpu_ms_per_call={s['cpu_ms_per_call']}{note}"
        )
    print(
        f"max_cps={result['max_cps']}  cpu_ms_per_call={result['cpu_ms_per_call']}  "
        f"kb_per_call={result['kb_per_call']}  rss_growth_kb_per_call={result['rss_growth_kb_per_call']}  "
        f"baseline_cps={result['baseline_cps']}"
    )
    if "workers_ratio" in result:
        print(
            f"workers_ratio={result['workers_ratio']}  workers_ratio_achieved={result['workers_ratio_achieved']}"
        )
    if "redis_max_cps" in result:
        extra = "".join(f"  {k}={v}" for k, v in result.items() if k.startswith("redis_ratio_w"))
        print(
            f"store redis: redis_max_cps={result['redis_max_cps']}  "
            f"redis_ratio (redis/memory)={result.get('redis_ratio')}{extra}"
        )
    elif "redis_error" in result:
        print(f"store redis: not measured ({result['redis_error']})")
    if "peer_max_cps" in result:
        print(
            f"peer sippy: max_cps={result['peer_max_cps']}  cpu_ms_per_call={result['peer_cpu_ms_per_call']}  "
            f"kb_per_call={result.get('peer_kb_per_call')}  ratio pysips/sippy={result['peer_ratio']}"
        )
    elif args.peer:
        print(f"peer sippy: not measured ({result.get('peer_error')})")
    print(f"wall {result['wall_s']} s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    for other in other_benchmarks():
        print(f"warning: another benchmark is running, figures will be low: {other}", file=sys.stderr)
    started = time.monotonic()
    pairs = grid(args.counts, args.stores)
    rows_by_pair: dict[tuple[int, str], list[dict]] = {}
    extra: dict = {}
    peer_rows: list[dict] = []
    base: list[dict] = []
    mem: dict | None = None
    redis_proc: subprocess.Popen | None = None
    with tempfile.TemporaryDirectory(prefix="bench-b2b-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            url: str | None = None
            if "redis" in args.stores:
                redis_proc, url = sipp_ladder.start_redis(tmp)
                if redis_proc is None:
                    extra["redis_error"] = "redis-server not available"
            for n, store in pairs:
                if store == "redis" and redis_proc is None:
                    continue
                rows_by_pair[(n, store)] = run_pysips_ladder(
                    args, tmp, rates, n, store, url if store == "redis" else None
                )
        finally:
            sipp_ladder.kill(redis_proc)
        if not args.no_mem:
            mem = sipp_ladder.memory_step(
                make_pysips(tmp, []), args.mem_rate, args.mem_hold_ms, label="pysips-b2b",
                uac_scenario=UAC, uas_scenario=UAS,
            )  # fmt: skip
        if not args.no_baseline:
            # past pysips's first failing rate the SIPp pair's limit says nothing about pysips
            longest = max((len(r) for r in rows_by_pair.values()), default=0)
            brates = (
                [int(r) for r in args.baseline_rates.split(",")] if args.baseline_rates else rates[:longest]
            )
            base = sipp_ladder.ladder(
                brates, args.calls, None, args.pause_ms, "sipp-sipp", transport=args.transport,
                uac_scenario=UAC, uas_scenario=UAS, min_step_s=args.min_step_s,
            )  # fmt: skip
            tag_rows(base, "sipp-sipp", args.pause_ms)
        ladders = {pair: ladder_summary(*pair, rows, rates) for pair, rows in rows_by_pair.items()}
        first = next(iter(rows_by_pair.values()), [])
        max_cps = sipp_ladder.max_ok_rate(first)
        if args.peer == "sippy":
            p, peer_rows = run_peer(args, tmp, max_cps)
            extra.update(p)
    ok_rows = [r for r in first if r["ok"]]
    best = ok_rows[-1] if ok_rows else None
    growth = None
    if best and best.get("rss_end_kb") and best.get("rss_start_kb"):
        growth = round((best["rss_end_kb"] - best["rss_start_kb"]) / best["calls"], 2)
    steps = [r for rows in rows_by_pair.values() for r in rows] + peer_rows + base
    result = {
        "max_cps": max_cps,
        "cpu_ms_per_call": best_cpu(first),
        "kb_per_call": mem["kb_per_call"] if mem else None,
        "rss_growth_kb_per_call": growth,
        "baseline_cps": sipp_ladder.max_ok_rate(base) if base else None,
        "worker_counts": args.counts,
        "stores": args.stores,
        "sipp_transport": args.transport,
        "ladders": {f"w{n}_{s}": v for (n, s), v in ladders.items()},
        "workers": {
            str(n): {k: v[k] for k in ("max_cps", "max_achieved_cps", "cpu_ms_per_call", "workers_effective")}
            for (n, s), v in ladders.items()
            if s == "memory"
        },
        **grid_keys(ladders, args.counts, args.stores),
        "calls_per_step": args.calls,
        "min_step_s": args.min_step_s,
        "mem": mem,
        **extra,
        "wall_s": round(time.monotonic() - started, 1),
        "steps": steps,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print_report(args, result, steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
