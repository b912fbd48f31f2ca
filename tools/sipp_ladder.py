"""Call-rate ladders with SIPp on loopback (shared by bench_proxy.py and bench_b2b.py).

Each step starts a fresh SIPp uas, runs a SIPp uac for a bounded number of calls at a fixed rate, and reads the
uac's final statistics. A step passes with 0 failed calls and retransmissions under 1% of calls. Everything is
bounded in count and time, and every process started here is killed by PID.

memory_step() holds many long calls at once and samples the server's memory once a second: (peak - idle) / peak
concurrent calls is the memory one active call costs.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIPP = shutil.which("sipp")


def free_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not 5060 <= port < 5100:
            return port


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds of a process plus all its live descendants (pysips workers are children of the supervisor,
    and each worker's Redis writer process is its child)."""
    total = cpu_seconds(pid)
    for kid in children(pid):
        try:
            total += tree_cpu_seconds(kid)
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return total


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    """PIDs of the live child processes of `pid` (a pysips supervisor's children are its workers)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return kids


def _pss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def tree_mem_kb(pid: int) -> int:
    """Memory of a server: RSS of a lone process; PSS summed over the process and its children when it has workers
    (their copy-on-write pages would be counted once per worker in RSS)."""
    try:
        kids = children(pid)
        if not kids:
            return rss_kb(pid)
        total = _pss_kb(pid)
        for kid in kids:
            try:
                total += _pss_kb(kid)
            except OSError:
                continue
        return total
    except OSError:
        return 0


def wait_ready(proc: subprocess.Popen, log: Path, marker: str, timeout: float = 15.0) -> bool:
    """Wait until `marker` shows up in the server's log file (its stderr goes to a file, never a pipe: a pipe
    nobody reads fills up and stalls a server that logs under load)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if marker in log.read_text(errors="replace"):
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def kill(proc: subprocess.Popen | None, sig: int = signal.SIGKILL) -> None:
    if proc is not None and proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


def start_uas(port: int, workdir: Path, scenario: str = "uas_rr.xml") -> subprocess.Popen:
    proc = subprocess.Popen(
        [SIPP, "-sf", str(HERE / "sipp" / scenario), "-i", "127.0.0.1", "-p", str(port), "-nostdin"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return proc


def run_uac(
    target: str,
    port: int,
    rate: int,
    calls: int,
    workdir: Path,
    pause_ms: int = 1000,
    limit: int = 5000,
    transport: str = "u1",
    scenario: str = "uac_rr.xml",
    sample: Callable[[], None] | None = None,
) -> dict:
    """Run the uac to completion; returns the last -trace_stat line as a dict of ints (plus 'exit', and
    'peak_CurrentCall', the most calls SIPp had open at any of its once-a-second statistics lines).

    transport "un" gives every call its own source port (so SO_REUSEPORT spreads calls over pysips workers).
    sample, if given, is called about once a second while the uac runs."""
    stats = workdir / f"uac_{port}_{rate}.csv"
    timeout = int(calls / rate + pause_ms / 1000 + 20)
    cmd = [
        SIPP, target, "-sf", str(HERE / "sipp" / scenario), "-i", "127.0.0.1", "-p", str(port),
        "-m", str(calls), "-r", str(rate), "-rp", "1000", "-d", str(pause_ms), "-l", str(limit),
        "-nostdin", "-timeout", f"{timeout}s", "-timeout_error", "-trace_stat", "-stf", str(stats), "-fd", "1",
        "-t", transport,
    ]  # fmt: skip
    if transport == "un":
        cmd += ["-max_socket", "10000"]  # SIPp's default (50000) is refused above the open-files limit
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout + 30
    try:
        while True:
            try:
                proc.wait(1.0 if sample is not None else max(0.1, deadline - time.monotonic()))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    break
                if sample is not None:
                    sample()
    finally:
        kill(proc)
    out = {"exit": proc.returncode}
    if stats.exists():
        with open(stats) as f:
            rows = list(csv.reader(f, delimiter=";"))
        if len(rows) >= 2:
            head, last = rows[0], rows[-1]
            for key in ("SuccessfulCall(C)", "FailedCall(C)", "Retransmissions(C)", "CurrentCall"):
                if key in head:
                    try:
                        out[key] = int(last[head.index(key)])
                    except ValueError:
                        out[key] = -1
            if "CurrentCall" in head:
                col = head.index("CurrentCall")
                out["peak_CurrentCall"] = max(
                    (int(r[col]) for r in rows[1:] if len(r) > col and r[col].isdigit()), default=0
                )
    return out


def step_ok(res: dict, calls: int) -> bool:
    return (
        res.get("exit") == 0
        and res.get("FailedCall(C)", 1) == 0
        and res.get("SuccessfulCall(C)", 0) == calls
        and res.get("Retransmissions(C)", calls) < max(1, calls // 100)
    )


def ladder(
    rates: list[int],
    calls: int,
    make_server: Callable | None,
    pause_ms: int = 1000,
    label: str = "",
    transport: str = "u1",
    uac_scenario: str = "uac_rr.xml",
    uas_scenario: str = "uas_rr.xml",
    min_step_s: float = 0.0,
) -> list[dict]:
    """Run one ladder, stopping at the first failing step. make_server(uas_port) -> (target 'ip:port', server_pid or
    None, stop callable).

    With make_server None the uac calls the uas directly (the SIPp-to-SIPp baseline). A step places
    max(calls, rate * min_step_s) calls: a burst shorter than a second or two is absorbed by socket buffers and
    says little about the rate a server can keep up."""
    results = []
    with tempfile.TemporaryDirectory(prefix="pysips-ladder-") as tmp:
        work = Path(tmp)
        for rate in rates:
            n = max(calls, int(rate * min_step_s))
            uas_port, uac_port = free_port(), free_port()
            uas = start_uas(uas_port, work, uas_scenario)
            stop = None
            pid = None
            try:
                if make_server is None:
                    target = f"127.0.0.1:{uas_port}"
                else:
                    target, pid, stop = make_server(uas_port)
                cpu0 = tree_cpu_seconds(pid) if pid else 0.0
                t0 = time.monotonic()
                res = run_uac(
                    target, uac_port, rate, n, work, pause_ms, transport=transport, scenario=uac_scenario
                )
                wall = time.monotonic() - t0
                cpu = (tree_cpu_seconds(pid) - cpu0) if pid else 0.0
            finally:
                if stop is not None:
                    stop()
                kill(uas)
            ok = step_ok(res, n)
            row = {
                "label": label,
                "rate": rate,
                "calls": n,
                "ok": ok,
                "successful": res.get("SuccessfulCall(C)", 0),
                "failed": res.get("FailedCall(C)", -1),
                "retrans": res.get("Retransmissions(C)", -1),
                "wall_s": round(wall, 1),
                "cpu_ms_per_call": round(cpu * 1000 / n, 3) if pid else None,
            }
            results.append(row)
            print(
                f"  {label:10} rate {rate:5}/s  ok={ok!s:5} success={row['successful']:6} failed={row['failed']:5} "
                f"retrans={row['retrans']:5} cpu/call={row['cpu_ms_per_call']} ms",
                file=sys.stderr,
                flush=True,
            )
            if not ok:
                break
    return results


def memory_step(
    make_server: Callable,
    rate: int = 100,
    hold_ms: int = 30000,
    calls: int | None = None,
    label: str = "",
    uac_scenario: str = "uac_rr.xml",
    uas_scenario: str = "uas_rr.xml",
) -> dict:
    """Hold about rate * hold_ms / 1000 calls at once and sample the server's memory once a second.

    calls defaults to three seconds more than the ramp, so the peak lasts a few samples. Returns idle_kb (just
    before the first call), peak_kb, peak_calls (SIPp's CurrentCall), kb_per_call = (peak - idle) / peak_calls,
    cpu_ms_per_call over the whole step, and ok (0 failed calls)."""
    if calls is None:
        calls = rate * (hold_ms // 1000 + 3)
    with tempfile.TemporaryDirectory(prefix="pysips-mem-") as tmp:
        work = Path(tmp)
        uas_port, uac_port = free_port(), free_port()
        uas = start_uas(uas_port, work, uas_scenario)
        stop = None
        try:
            target, pid, stop = make_server(uas_port)
            time.sleep(1.0)  # let start-up allocations settle before the idle figure
            idle = tree_mem_kb(pid)
            samples = [idle]
            cpu0 = tree_cpu_seconds(pid)
            t0 = time.monotonic()
            res = run_uac(
                target, uac_port, rate, calls, work, hold_ms, limit=calls + 100, scenario=uac_scenario,
                sample=lambda: samples.append(tree_mem_kb(pid)),
            )  # fmt: skip
            wall = time.monotonic() - t0
            cpu = tree_cpu_seconds(pid) - cpu0
        finally:
            if stop is not None:
                stop()
            kill(uas)
    peak = max(samples)
    peak_calls = res.get("peak_CurrentCall", 0)
    row = {
        "label": label,
        "rate": rate,
        "hold_ms": hold_ms,
        "calls": calls,
        "ok": step_ok(res, calls),
        "successful": res.get("SuccessfulCall(C)", 0),
        "failed": res.get("FailedCall(C)", -1),
        "retrans": res.get("Retransmissions(C)", -1),
        "wall_s": round(wall, 1),
        "idle_kb": idle,
        "peak_kb": peak,
        "peak_calls": peak_calls,
        "kb_per_call": round((peak - idle) / peak_calls, 2) if peak_calls > 0 else None,
        "cpu_ms_per_call": round(cpu * 1000 / calls, 3),
    }
    print(
        f"  {label:10} memory: {peak_calls} calls open, idle {idle} KB, peak {peak} KB, "
        f"{row['kb_per_call']} KB/call, ok={row['ok']} failed={row['failed']}",
        file=sys.stderr,
        flush=True,
    )
    return row


def max_ok_rate(rows: list[dict]) -> int:
    return max((r["rate"] for r in rows if r["ok"]), default=0)


def start_redis(workdir: str | os.PathLike | None = None) -> tuple[subprocess.Popen | None, str]:
    """A redis-server of our own on a free loopback port, saving nothing (stop it with ``kill``); (None, "")
    when redis-server is missing or does not answer within 5 s."""
    import shutil
    import socket

    exe = shutil.which("redis-server")
    if exe is None:
        return None, ""
    port = free_port()
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
            *(["--dir", str(workdir)] if workdir is not None else []),
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
    kill(proc)
    return None, ""
