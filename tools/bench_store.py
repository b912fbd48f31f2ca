"""Benchmark: the cost of persisting b2b state through pysips.store, from inside the trio loop.

Measures, for the memory and Redis backends: the hot-path cost of one put (what a SIP message pays), the flush
throughput (records/s written by one pipeline in a worker thread) together with the longest stall the trio loop
saw while that flush ran, and load_all at start-up (index set vs SCAN). The baseline, measured in the same run,
is a bare dict assignment of a copied record.

    python tools/bench_store.py [--records 20000] [--url redis://127.0.0.1:6379/15] [--json]

Without --url a private redis-server is started on a free loopback port (and stopped at the end). With --url
the keys are written under the prefixes bench_b2be$ / bench_b2bl$ and deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import trio

from pysips.store import b2be_key, open_store

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sipp_ladder  # noqa: E402

RECORD = {
    "type": 1,
    "state": 4,
    "ruri": "sip:bob@127.0.0.1:5070",
    "from_uri": "sip:alice@127.0.0.1",
    "from_dname": "Alice",
    "to_uri": "sip:bob@127.0.0.1",
    "to_dname": "",
    "tag0": "3b8f1e2a",
    "tag1": "B2B.123.456.789",
    "callid": "1-12345@127.0.0.1",
    "cseq0": 1,
    "cseq1": 2,
    "route0": "",
    "route1": "",
    "contact0": "sip:alice@127.0.0.1:5080",
    "contact1": "sip:bob@127.0.0.1:5070",
    "sockinfo_srv": "udp:127.0.0.1:5060",
    "param": "1234.5",
    "lm": 1,
    "lrc": 200,
    "lic": 1,
}
PREFIXES = {"b2be": "bench_b2be$", "b2bl": "bench_b2bl$"}


def keys(n: int) -> list[str]:
    return [b2be_key(1, f"tag{i}", "B2B.123.456.789", f"{i}-12345@127.0.0.1") for i in range(n)]


def per_put_us(put, ks: list[str], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for k in ks:
            put("b2be", k, RECORD)
        best = min(best, time.perf_counter() - t0)
    return best / len(ks) * 1e6


async def flush_with_stall(store) -> tuple[float, float]:
    """Seconds the flush took and the longest gap a 1 ms ticker saw meanwhile (loop stall)."""
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done:
            await trio.sleep(0.001)
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        await trio.sleep(0.01)
        t0 = time.perf_counter()
        ok = await store.flush()
        elapsed = time.perf_counter() - t0
        done = True
    assert ok, "flush failed"
    return elapsed, worst


async def bench(n: int, url: str) -> dict:
    ks = keys(n)
    out: dict = {"records": n, "fields_per_record": len(RECORD)}

    baseline: dict = {}
    out["baseline_dict_put_us"] = per_put_us(lambda kind, k, r: baseline.__setitem__((kind, k), dict(r)), ks)

    mem = open_store(None)
    out["memory_put_us"] = per_put_us(mem.put, ks)
    t0 = time.perf_counter()
    assert len(await mem.load_all("b2be")) == n
    out["memory_load_all_s"] = time.perf_counter() - t0

    for index in (True, False):
        tag = "index" if index else "scan"
        st = open_store(url, db_mode=2, update_period=1e9, prefixes=PREFIXES, index=index)
        out[f"redis_put_us_mode2_{tag}"] = per_put_us(st.put, ks)
        elapsed, stall = await flush_with_stall(st)
        out[f"redis_flush_s_{tag}"] = elapsed
        out[f"redis_flush_records_per_s_{tag}"] = n / elapsed
        out[f"redis_flush_loop_stall_ms_{tag}"] = stall * 1e3
        fresh = open_store(url, prefixes=PREFIXES, index=index)
        t0 = time.perf_counter()
        loaded = await fresh.load_all("b2be")
        out[f"redis_load_all_s_{tag}"] = time.perf_counter() - t0
        assert len(loaded) == n and loaded[ks[0]] == RECORD, "load_all mismatch"
        for k in ks:
            st.delete("b2be", k)
        elapsed, _ = await flush_with_stall(st)
        out[f"redis_delete_flush_records_per_s_{tag}"] = n / elapsed
        await fresh.close()
        await st.close()

    wt = open_store(url, db_mode=1, update_period=1e9, prefixes=PREFIXES)
    out["redis_put_us_mode1"] = per_put_us(wt.put, ks)
    for k in ks:
        wt.delete("b2be", k)
    await wt.flush()
    await wt.close()
    return out


def table(r: dict) -> str:
    n = r["records"]
    rows = [
        ("hot path: one put (µs)", "", ""),
        ("  baseline: dict[k] = dict(record)", f"{r['baseline_dict_put_us']:.3f}", ""),
        ("  memory backend", f"{r['memory_put_us']:.3f}", ""),
        ("  redis, db_mode 2 (write-back)", f"{r['redis_put_us_mode2_index']:.3f}", ""),
        ("  redis, db_mode 1 (write-through, wakes flusher)", f"{r['redis_put_us_mode1']:.3f}", ""),
        (f"flush of {n} puts (RESP packed, 2000 per round trip)", "index set", "SCAN"),
        (
            "  records/s",
            f"{r['redis_flush_records_per_s_index']:,.0f}",
            f"{r['redis_flush_records_per_s_scan']:,.0f}",
        ),
        (
            "  longest trio loop stall during flush (ms)",
            f"{r['redis_flush_loop_stall_ms_index']:.1f}",
            f"{r['redis_flush_loop_stall_ms_scan']:.1f}",
        ),
        (
            "  deletes/s",
            f"{r['redis_delete_flush_records_per_s_index']:,.0f}",
            f"{r['redis_delete_flush_records_per_s_scan']:,.0f}",
        ),
        (
            f"load_all of {n} records (s)",
            f"{r['redis_load_all_s_index']:.3f}",
            f"{r['redis_load_all_s_scan']:.3f}",
        ),
        ("  memory backend load_all (s)", f"{r['memory_load_all_s']:.3f}", ""),
    ]
    w = max(len(a) for a, _, _ in rows)
    return "\n".join(f"{a:<{w}}  {b:>12}  {c:>12}" for a, b, c in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--url", help="an existing Redis (default: start a private redis-server)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args()
    proc = None
    url = args.url
    if url is None:
        proc, url = sipp_ladder.start_redis()
        if proc is None:
            sys.exit("redis-server not found or not answering; pass --url")
    try:
        result = trio.run(bench, args.records, url)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=5)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
