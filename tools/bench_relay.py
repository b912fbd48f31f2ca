"""UDP relay benchmark: pysips.net.UDPTransport against a plain blocking-socket relay.

    python3 tools/bench_relay.py [--count 50000] [--rounds 3] [--window 128] [--json]

Topology (all on 127.0.0.1): harness sender -> relay -> harness sink. The harness (this process) sends 700-byte
datagrams keeping at most ``window`` in flight (sent but not yet seen by the sink), so no datagram is lost to a buffer
overflow and both relays face the same offered load. Each relay runs in its own spawned process:

* ``plain``: ``recvfrom``/``sendto`` on blocking sockets in a loop, the fastest a Python relay gets;
* ``pysips``: two UDPTransports in trio; the inbound one's ``on_message`` calls the outbound one's ``send``;
* ``trio_naive`` (reference): trio sockets with one ``await`` per receive and per send.

Three measurements per relay and round, same harness for every relay:

* ``steady/s``: datagrams the sink received per second under the windowed load. A ``direct`` run (sender -> sink, no
  relay) shows the harness's own ceiling: the harness does as much work per datagram as a relay (one send, one
  receive), so on loopback a fast relay's steady rate is capped by the harness, not by the relay.
* ``cpu us/dg``: the relay process's CPU time (utime + stime from /proc, 10 ms ticks, so about +-5 % at 50000
  datagrams) during the steady run divided by the datagrams relayed; ``cpu cap/s`` = 1 / that, the rate the relay
  could sustain on a full core. The most repeatable figure on a shared machine, since time other processes take
  is not counted; it is the one ``relay_ratio`` uses.
* ``saturated/s``: the relay is stopped (SIGSTOP), ``burst`` datagrams are queued in its socket, it is resumed and
  the drain is timed; the median over the bursts. The relay always has work waiting, so this is its top rate on
  this machine, but it is wall time and moves with the machine's load.

``relay_ratio`` = pysips / plain by CPU per datagram; ``relay_ratio_saturated`` and ``relay_ratio_steady`` are the
same ratio by the other two measures. Values are medians over ``rounds``; relays alternate within a round so drift
hits them alike, and the harness and the relays are pinned to two different CPUs where there are two.
Everything is bounded: a datagram not seen within ``loss_timeout`` is counted lost (freeing its window slot),
every run stops at the global ``timeout``, relay processes end themselves after RELAY_LIFETIME and are terminated
by PID when their run is over.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import sys
import time
from typing import Any

PAYLOAD_SIZE = 700
BUFSIZE = 4 * 1024 * 1024
RELAY_LIFETIME = 60.0  # a relay process exits on its own after this, even if the harness died

RELAYS = ("plain", "pysips", "trio_naive")


def _big_buffers(sock: socket.socket) -> None:
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, BUFSIZE)
        except OSError:
            pass


def _pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {cpu})
        except OSError:
            pass


def _cpu_plan() -> tuple[int | None, int | None]:
    """(harness cpu, relay cpu): two different CPUs when there are two, so every run has the same placement."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return cpus[0], cpus[1]


def _relay_main(name: str, conn: Any, sink: tuple[str, int], cpu: int | None) -> None:
    _pin(cpu)
    _TARGETS[name](conn, sink)


def _plain_relay(conn: Any, sink: tuple[str, int]) -> None:
    # The default SIGALRM action ends the process: the lifetime bound without a timeout on the socket (a Python
    # socket with a timeout polls before every call, which would slow the baseline down).
    signal.alarm(int(RELAY_LIFETIME))
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    _big_buffers(rx)
    _big_buffers(tx)
    rx.bind(("127.0.0.1", 0))
    conn.send(rx.getsockname())
    recvfrom = rx.recvfrom
    sendto = tx.sendto
    while True:
        data, _ = recvfrom(65535)
        sendto(data, sink)


def _pysips_relay(conn: Any, sink: tuple[str, int]) -> None:
    import trio

    from pysips.net import UDPTransport

    async def main() -> None:
        inbound = UDPTransport("127.0.0.1", 0)
        outbound = UDPTransport("127.0.0.1", 0)
        send = outbound.send
        async with trio.open_nursery() as nursery:
            await nursery.start(outbound.serve, lambda data, addr, transport: None)
            local = await nursery.start(inbound.serve, lambda data, addr, transport: send(data, sink))
            conn.send(local)
            await trio.sleep(RELAY_LIFETIME)
            nursery.cancel_scope.cancel()

    trio.run(main)


def _trio_naive_relay(conn: Any, sink: tuple[str, int]) -> None:
    import trio

    async def main() -> None:
        rx = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx = trio.socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for sock in (rx, tx):
            for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                sock.setsockopt(socket.SOL_SOCKET, opt, BUFSIZE)
        await rx.bind(("127.0.0.1", 0))
        conn.send(rx.getsockname())
        with trio.move_on_after(RELAY_LIFETIME):
            while True:
                data, _ = await rx.recvfrom(65535)
                await tx.sendto(data, sink)

    trio.run(main)


_TARGETS = {"plain": _plain_relay, "pysips": _pysips_relay, "trio_naive": _trio_naive_relay}


def _drive(
    dest: tuple[str, int], sink: socket.socket, count: int, window: int, deadline: float, loss_timeout: float
) -> dict[str, float]:
    """Send ``count`` datagrams to ``dest`` with at most ``window`` in flight; count what ``sink`` receives."""
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    _big_buffers(tx)
    payload = b"x" * PAYLOAD_SIZE
    buf = bytearray(65536)
    sendto = tx.sendto
    recv_into = sink.recv_into
    sink.settimeout(loss_timeout)
    sent = received = lost = 0
    start = time.perf_counter()
    try:
        while received + lost < count:
            while sent < count and sent - received - lost < window:
                sendto(payload, dest)
                sent += 1
            try:
                recv_into(buf)
                received += 1
            except TimeoutError:
                lost = sent - received
                if time.perf_counter() > deadline:
                    break
            if received & 1023 == 0 and time.perf_counter() > deadline:
                break
    finally:
        tx.close()
    elapsed = time.perf_counter() - start
    return {"sent": sent, "received": received, "lost": sent - received, "seconds": elapsed}


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process from /proc (None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the ")" closing comm: state is field 3, utime field 14, stime field 15 (proc(5)).
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _proc_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _burst_drain(
    pid: int,
    dest: tuple[str, int],
    sink: socket.socket,
    count: int,
    burst: int,
    deadline: float,
    loss_timeout: float,
) -> dict[str, float]:
    """Saturated rate: stop the relay, queue ``burst`` datagrams in its socket, resume it, time the drain.

    The relay then always has work waiting, so the drain time is its own per-datagram cost (the sink only receives,
    which is cheaper than relaying, so it keeps up). The rate is the median over ``count / burst`` bursts.
    """
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    _big_buffers(tx)
    payload = b"x" * PAYLOAD_SIZE
    buf = bytearray(65536)
    sink.settimeout(loss_timeout)
    received = sent = 0
    rates: list[float] = []
    try:
        while sent < count and time.perf_counter() < deadline:
            os.kill(pid, signal.SIGSTOP)
            # SIGSTOP is asynchronous: wait until the relay is really stopped so none of the burst slips through early.
            stop_by = time.perf_counter() + 1.0
            while _proc_state(pid) not in ("T", "t", None) and time.perf_counter() < stop_by:
                time.sleep(0.0005)
            n = min(burst, count - sent)
            for _ in range(n):
                tx.sendto(payload, dest)
            sent += n
            got = 0
            os.kill(pid, signal.SIGCONT)
            start = time.perf_counter()
            last = start
            try:
                while got < n:
                    sink.recv_into(buf)
                    got += 1
                last = time.perf_counter()
            except TimeoutError:
                last = time.perf_counter() - loss_timeout
            received += got
            if got == n and last > start:
                rates.append(n / (last - start))
    finally:
        tx.close()
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    # Median over bursts: a burst during which another process took the CPU is an outlier, not the relay's rate.
    return {"sent": sent, "received": received, "rate": statistics.median(rates) if rates else 0.0}


def _drain(sink: socket.socket) -> None:
    sink.setblocking(False)
    try:
        while True:
            sink.recv(65536)
    except BlockingIOError:
        pass


def _run_one(
    relay: str | None,
    count: int,
    window: int,
    warmup: int,
    deadline: float,
    loss_timeout: float,
    burst: int,
    relay_cpu: int | None = None,
) -> dict[str, float]:
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    _big_buffers(sink)
    sink.bind(("127.0.0.1", 0))
    proc = None
    try:
        if relay is None:
            dest = sink.getsockname()
        else:
            ctx = mp.get_context("spawn")
            parent_end, child_end = ctx.Pipe()
            proc = ctx.Process(
                target=_relay_main, args=(relay, child_end, sink.getsockname(), relay_cpu), daemon=True
            )
            proc.start()
            if not parent_end.poll(max(deadline - time.perf_counter(), 0.1)):
                raise RuntimeError(f"relay {relay} did not start")
            dest = tuple(parent_end.recv())
        if warmup:
            _drive(dest, sink, warmup, window, deadline, loss_timeout)
            _drain(sink)
        cpu_before = _cpu_seconds(proc.pid) if proc is not None else None
        result = _drive(dest, sink, count, window, deadline, loss_timeout)
        cpu_after = _cpu_seconds(proc.pid) if proc is not None else None
        if cpu_before is not None and cpu_after is not None and cpu_after > cpu_before and result["received"]:
            result["cpu_us"] = (cpu_after - cpu_before) * 1e6 / result["received"]
        if proc is not None and burst and hasattr(signal, "SIGSTOP"):
            _drain(sink)
            sat = _burst_drain(proc.pid, dest, sink, count, burst, deadline, loss_timeout)
            if sat["rate"] > 0:
                result["saturated"] = sat["rate"]
                result["saturated_lost"] = sat["sent"] - sat["received"]
    finally:
        sink.close()
        if proc is not None:
            proc.terminate()
            proc.join(2)
            if proc.is_alive():
                proc.kill()
                proc.join(2)
    result["rate"] = result["received"] / result["seconds"] if result["seconds"] > 0 else 0.0
    return result


def run_relay_bench(
    count: int = 50000,
    *,
    rounds: int = 3,
    window: int = 128,
    warmup: int = 2000,
    timeout: float = 20.0,
    loss_timeout: float = 0.2,
    burst: int = 2000,
    pin: bool = True,
    relays: tuple[str, ...] = RELAYS,
    direct: bool = True,
) -> dict[str, Any]:
    """Measure each relay; returns per-relay median rates (datagrams/s), losses and ``relay_ratio``."""
    deadline = time.perf_counter() + timeout
    harness_cpu, relay_cpu = _cpu_plan() if pin else (None, None)
    saved_affinity = os.sched_getaffinity(0) if harness_cpu is not None else None
    _pin(harness_cpu)
    names: list[str | None] = ([None] if direct else []) + list(relays)
    runs: dict[str, list[dict[str, float]]] = {name or "direct": [] for name in names}
    for _ in range(rounds):
        for name in names:
            if time.perf_counter() > deadline:
                break
            # The naive reference is ~4x slower; a quarter of the datagrams measures its rate just as well.
            n = max(count // 4, 1000) if name == "trio_naive" else count
            runs[name or "direct"].append(
                _run_one(name, n, window, warmup, deadline, loss_timeout, burst, relay_cpu)
            )
    if saved_affinity is not None:
        os.sched_setaffinity(0, saved_affinity)
    out: dict[str, Any] = {
        "count": count,
        "payload": PAYLOAD_SIZE,
        "window": window,
        "rounds": rounds,
        "cpus": [harness_cpu, relay_cpu],
        "timed_out": time.perf_counter() > deadline,
        "relays": {},
    }
    for name, results in runs.items():
        if not results:
            continue
        rates = [r["rate"] for r in results]
        entry: dict[str, Any] = {
            "rate": statistics.median(rates),
            "rates": rates,
            "received": sum(r["received"] for r in results),
            "lost": sum(r["lost"] for r in results),
        }
        sat = [r["saturated"] for r in results if "saturated" in r]
        if sat:
            entry["saturated"] = statistics.median(sat)
            entry["saturated_lost"] = sum(r.get("saturated_lost", 0) for r in results)
        cpu = [r["cpu_us"] for r in results if "cpu_us" in r]
        if cpu:
            entry["cpu_us"] = statistics.median(cpu)
            entry["capacity"] = 1e6 / entry["cpu_us"]
        out["relays"][name] = entry
    rel = out["relays"]
    for key, name in (("relay_ratio", "pysips"), ("naive_ratio", "trio_naive")):
        if name not in rel or "plain" not in rel:
            continue
        mine, plain = rel[name], rel["plain"]
        if "capacity" in mine and "capacity" in plain:
            out[key] = mine["capacity"] / plain["capacity"]
        if mine.get("saturated") and plain.get("saturated"):
            out[key + "_saturated"] = mine["saturated"] / plain["saturated"]
        if plain["rate"] > 0:
            out[key + "_steady"] = mine["rate"] / plain["rate"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("--no-naive", action="store_true", help="skip the trio_naive reference relay")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    relays = tuple(r for r in RELAYS if not (args.no_naive and r == "trio_naive"))
    res = run_relay_bench(
        args.count, rounds=args.rounds, window=args.window, timeout=args.timeout, relays=relays
    )
    if args.json:
        print(json.dumps(res))
        return 0
    print(
        f"UDP relay, {res['count']} x {res['payload']} B datagrams, window {res['window']}, median of {res['rounds']}"
    )
    print(
        f"{'relay':<12}{'saturated/s':>12}{'steady/s':>11}{'cpu us/dg':>10}{'cpu cap/s':>11}{'lost':>6}  steady per round"
    )
    for name, r in res["relays"].items():
        rounds = " ".join(f"{x:,.0f}" for x in r["rates"])
        sat = f"{r['saturated']:,.0f}" if "saturated" in r else "-"
        cpu = f"{r['cpu_us']:.2f}" if "cpu_us" in r else "-"
        cap = f"{r['capacity']:,.0f}" if "capacity" in r else "-"
        lost = r["lost"] + r.get("saturated_lost", 0)
        print(f"{name:<12}{sat:>12}{r['rate']:>11,.0f}{cpu:>10}{cap:>11}{lost:>6}  {rounds}")
    labels = {
        "": "relay CPU per datagram",
        "_saturated": "saturated drain rate",
        "_steady": "steady sink rate, harness-capped",
    }
    for key, name in (("relay_ratio", "pysips"), ("naive_ratio", "trio_naive")):
        parts = [
            f"{key + sfx} = {res[key + sfx]:.2f} ({how})" for sfx, how in labels.items() if key + sfx in res
        ]
        if parts:
            print(f"{name}/plain: " + "; ".join(parts))
    if res["timed_out"]:
        print("warning: hit the time limit; some runs are missing or partial")
    return 0


if __name__ == "__main__":
    sys.exit(main())
