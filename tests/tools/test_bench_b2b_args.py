"""tools/bench_b2b.py without SIPp: argument parsing, the (workers, store) grid, cfg generation, the ratios, and
the workers_effective check against a real pysips (2 workers, memory and redis stores)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _load():
    sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location("bench_b2b", TOOLS / "bench_b2b.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


bench = _load()


def test_defaults_one_worker_memory_one_socket():
    args = bench.parse_args([])
    assert args.counts == [1]
    assert args.stores == ["memory"]
    assert args.transport == "u1"
    assert bench.grid(args.counts, args.stores) == [(1, "memory")]


def test_grid_order_and_transport_for_two_workers():
    args = bench.parse_args(["--workers", "2,1", "--store", "redis,memory"])
    assert args.counts == [1, 2]
    assert args.stores == ["memory", "redis"]
    # a count > 1 puts every ladder of the run, 1 worker included, on one socket per call
    assert args.transport == "un"
    assert bench.grid(args.counts, args.stores) == [(1, "memory"), (1, "redis"), (2, "memory"), (2, "redis")]


def test_quick_shortens_steps_and_rates():
    args = bench.parse_args(
        ["--quick", "--workers", "1,2", "--store", "memory,redis", "--no-mem", "--no-baseline"]
    )
    assert args.calls == 1000
    assert args.rates == "1200,2400"
    assert args.min_step_s == 1.0
    assert args.no_mem and args.no_baseline


@pytest.mark.parametrize(
    "argv", [["--workers", "0"], ["--workers", "x"], ["--store", "disk"], ["--store", ""]]
)
def test_bad_grid_arguments_exit(argv, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(argv)
    assert "error" in capsys.readouterr().err


def test_cfg_two_workers_redis_is_valid_script(tmp_path):
    text = bench.make_cfg(40000, 40001, 2, "redis://127.0.0.1:6390/")
    assert "udp_workers=2\n" in text
    assert 'modparam("b2b_entities", "cachedb_url", "redis://127.0.0.1:6390/")' in text
    assert 'modparam("b2b_logic", "db_mode", 1)' in text
    assert "socket=udp:127.0.0.1:40000" in text and 'sip:127.0.0.1:40001"' in text
    cfg = tmp_path / "b2b.cfg"
    cfg.write_text(text)
    res = subprocess.run(
        [sys.executable, "-m", "pysips", "check", str(cfg)], capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 errors" in res.stdout + res.stderr


def test_cfg_one_worker_memory_has_neither():
    text = bench.make_cfg(40000, 40001)
    assert "udp_workers" not in text
    assert "cachedb_url" not in text


def test_workers_effective_reports_the_fallback():
    fallback = "WARNING:core: 2 workers asked for, running 1: module(s) b2b_entities keep per-process state\n"
    assert bench.workers_effective(2, fallback + "pysips ready\n", 0) == 1
    assert bench.workers_effective(2, "pysips ready\n", 2) == 2
    assert bench.workers_effective(4, "pysips ready\n", 3) == 3
    assert bench.workers_effective(2, "pysips ready\n", 0) == 1
    assert bench.workers_effective(1, "pysips ready\n", 0) == 1


def _ladder(n, store, cps, achieved):
    return {"workers": n, "store": store, "max_cps": cps, "max_achieved_cps": achieved}


def test_grid_keys_ratios():
    ladders = {
        (1, "memory"): _ladder(1, "memory", 2000, 1900),
        (1, "redis"): _ladder(1, "redis", 1600, 1500),
        (2, "memory"): _ladder(2, "memory", 3600, 3200),
        (2, "redis"): _ladder(2, "redis", 2700, 2600),
    }
    keys = bench.grid_keys(ladders, [1, 2], ["memory", "redis"])
    assert keys == {
        "workers_ratio": 1.8,
        "workers_ratio_achieved": 1.68,
        "redis_max_cps": 1600,
        "redis_ratio": 0.8,
        "redis_ratio_w2": 0.75,
    }


def test_grid_keys_only_two_workers_and_no_redis():
    ladders = {(2, "memory"): _ladder(2, "memory", 3000, 2900), (2, "redis"): _ladder(2, "redis", 1500, 1400)}
    keys = bench.grid_keys(ladders, [2], ["memory", "redis"])
    # with only N > 1 the smallest count stands in for 1 worker
    assert keys == {"redis_max_cps": 1500, "redis_ratio": 0.5, "redis_ratio_w2": 0.5}
    assert bench.grid_keys({(1, "memory"): _ladder(1, "memory", 0, 0)}, [1], ["memory"]) == {}
    zero = {(1, "memory"): _ladder(1, "memory", 0, 0), (2, "memory"): _ladder(2, "memory", 800, 700)}
    assert bench.grid_keys(zero, [1, 2], ["memory"])["workers_ratio"] is None


def _start_and_stop(tmp_path, workers, url=None):
    starts: list[dict] = []
    start = bench.make_pysips(tmp_path, starts, workers, url)
    _target, pid, stop = start(bench.sipp_ladder.free_port())
    try:
        kids = len(bench.sipp_ladder.children(pid))
    finally:
        stop()
    log = next(tmp_path.glob(f"b2b_w{workers}_*.log")).read_text(errors="replace")
    return starts, kids, log


def test_real_server_two_workers_memory(tmp_path):
    starts, kids, _log = _start_and_stop(tmp_path, 2)
    assert kids == 2
    assert starts[0]["workers_effective"] == 2
    assert starts[0]["rss_start_kb"] > 0 and "rss_end_kb" in starts[0]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_real_server_two_workers_redis_is_reported_honestly(tmp_path, redis_server):
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.set("left-over", "1")
    starts, kids, log = _start_and_stop(tmp_path, 2, redis_server.url)
    assert client.get("left-over") is None  # flushed before the server started
    client.close()
    expected = 1 if bench.FALLBACK_MARK in log else 2
    assert starts[0]["workers_effective"] == expected
    assert kids == (2 if expected == 2 else 0)


def _row(rate, ok, achieved, eff):
    return {
        "rate": rate,
        "ok": ok,
        "achieved_cps": achieved,
        "cpu_ms_per_call": rate / 1000,
        "workers_effective": eff,
    }


def test_ladder_summary_fewest_workers_and_cap():
    rows = [_row(1200, True, 1200, 2), _row(2400, True, 2100, 1), _row(3600, False, 3000, 2)]
    s = bench.ladder_summary(2, "redis", rows, [1200, 2400, 3600, 4800])
    assert (s["max_cps"], s["max_achieved_cps"], s["cpu_ms_per_call"]) == (2400, 2100, 2.4)
    assert s["workers_effective"] == 1  # one server of the ladder fell back to one process
    assert s["max_cps_capped"] is False
    capped = bench.ladder_summary(1, "memory", rows[:2], [1200, 2400])
    assert capped["max_cps_capped"] is True
    assert bench.ladder_summary(1, "memory", [], [1200])["workers_effective"] is None
