"""udp_workers=N: several worker processes on one SO_REUSEPORT socket group (pysips/proxy/workers.py).

The kernel test proves the property the design rests on (one peer's datagrams always reach the same socket, so a
CANCEL or ACK reaches the worker holding the INVITE); the SIPp tests run the stateful proxy with two workers and
a caller that uses one socket per call (``-t un``), so calls spread over both workers while every reply from the
callee (one address) reaches the same worker: about half of them must be handed over to the other worker.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pysips.proxy.workers import SharedVars, Workers, configured_workers, merge_statistics
from tests.e2e.harness import PysipsProcess, free_port, needs_sipp
from tests.e2e.test_proxy import (
    HOST,
    SCENARIOS,
    STATEFUL,
    Caller,
    _sipp_common,
    assert_calls_ok,
    assert_stops_cleanly,
    callee,
    diagnostics,
    run_sipp,
)

# ------------------------------------------------------------------------------------ units


def _workers(wid: int = 0, n: int = 3) -> Workers:
    chans = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        chans.append(s)
    return Workers(wid, n, "abcd1234", chans)


def test_owner_of_reads_the_worker_id_written_in_branches_and_tags() -> None:
    w = _workers(1)
    try:
        assert w.prefix == "z9hG4bKabcd1234w1."
        assert w.owner_of(w.prefix + "1f") == 1
        assert w.owner_of(b"Via: SIP/2.0/UDP h;branch=z9hG4bKabcd1234w2.7\r\n") == 2
        assert w.owner_of("to-tag-" + w.tag_token + "x") == 1
        assert w.owner_of("z9hG4bKabcd1234w9.1") is None  # no such worker
        assert w.owner_of("z9hG4bKffff0000w1.1") is None  # another server's token
        assert w.owner_of("z9hG4bK-caller-branch") is None
    finally:
        for c in w.channels:
            c.close()


def test_worker_count_from_globals_and_override() -> None:
    assert configured_workers({}, None) == 1
    assert configured_workers({"udp_workers": [4]}, None) == 4
    assert configured_workers({"children": ["3"]}, None) == 3
    assert configured_workers({"udp_workers": [4]}, 2) == 2
    assert configured_workers({"udp_workers": [0]}, None) == 1


def test_merge_statistics_sums_counters_not_server_wide_values() -> None:
    out = {"core:rcv_requests": 5, "core:timestamp": 10, "shmem:used_size": 100, "pkmem:0-used_size": 7}
    merge_statistics(out, {"core:rcv_requests": 3, "core:timestamp": 10, "shmem:used_size": 90,
                           "pkmem:0-used_size": 8}, 1)  # fmt: skip
    assert out == {"core:rcv_requests": 8, "core:timestamp": 10, "shmem:used_size": 100,
                   "pkmem:0-used_size": 7, "pkmem:1-used_size": 8}  # fmt: skip


def test_shared_vars_publish_writes_and_deletes() -> None:
    published = []

    class Fake:
        def publish_shv(self, name: str, value: object) -> None:
            published.append((name, value))

    shv = SharedVars({"a": 1}, Fake())  # type: ignore[arg-type]
    shv["b"] = "x"
    shv.pop("a", None)
    shv.pop("missing", None)
    assert dict(shv) == {"b": "x"}
    assert published == [("b", "x"), ("a", None)]


# ------------------------------------------------------------------------------------ the kernel


def test_reuseport_keeps_each_peer_on_one_socket() -> None:
    """One caller address always reaches the same socket of a SO_REUSEPORT group (the CANCEL and the ACK of
    an INVITE come from the INVITE's address, so they reach the worker that owns its transaction)."""
    port = free_port()
    group = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind((HOST, port))
        s.settimeout(0.5)
        group.append(s)
    peers = []
    try:
        for _ in range(40):
            p = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            p.bind((HOST, 0))
            peers.append(p)
        seen: dict[int, set[int]] = {}
        for rnd in range(3):  # INVITE, CANCEL, ACK
            for p in peers:
                p.sendto(f"{rnd}".encode(), (HOST, port))
            for idx, s in enumerate(group):
                s.setblocking(False)
                for _ in range(200):
                    try:
                        _, addr = s.recvfrom(100)
                    except BlockingIOError:
                        break
                    seen.setdefault(addr[1], set()).add(idx)
        assert len(seen) == 40
        assert all(len(v) == 1 for v in seen.values()), seen
        assert {next(iter(v)) for v in seen.values()} == {0, 1}  # and the peers do spread over the group
    finally:
        for s in group + peers:
            s.close()


# ------------------------------------------------------------------------------------ SIPp through 2 workers

# The acceptance run uses PYSIPS_WORKER_CALLS=3000 (each flow then takes ~15-30 s); the default keeps the suite fast.
CALLS = int(os.environ.get("PYSIPS_WORKER_CALLS", "300"))
FLOW_CALLS = int(os.environ.get("PYSIPS_WORKER_CALLS", "60"))  # CANCEL and 486 flows


def _handed_over(px: PysipsProcess) -> int:
    return sum(int(m) for m in re.findall(r"worker \d+: handed over (\d+) message", px.output()))


def _start(tmp_path: Path, uas_port: int, uas2_port: int, workers: int = 2) -> PysipsProcess:
    proxy_port = free_port()
    cfg = tmp_path / "proxy.cfg"
    text = STATEFUL.replace("{proxy_port}", str(proxy_port))
    text = text.replace("{uas_port}", str(uas_port)).replace("{uas2_port}", str(uas2_port))
    cfg.write_text(f"udp_workers={workers}\n" + text)
    px = PysipsProcess(cfg).start()
    px.port = proxy_port  # type: ignore[attr-defined]
    return px


def _caller(tmp_path: Path, scenario: str, port: int, calls: int, rate: int, timeout: float = 60) -> Caller:
    # -t un: one socket (source port) per call, so the kernel spreads the calls over the workers
    args = [f"{HOST}:{port}", "-sf", str(SCENARIOS / scenario), *_sipp_common("uac", free_port(), tmp_path, calls),
            "-r", str(rate), "-t", "un", "-max_socket", "1000"]  # fmt: skip
    return Caller(run_sipp(args, tmp_path, timeout=timeout), tmp_path)


def _pids(px: PysipsProcess) -> set[str]:
    return set(re.findall(r"\[(\d+)\] INFO:core: listening on udp", px.output()))


@needs_sipp
def test_two_workers_calls_hand_replies_over(tmp_path: Path) -> None:
    uas_port, uas2_port = free_port(), free_port()
    calls = CALLS
    with callee(tmp_path, "uas_call.xml", uas_port, calls) as uas:
        px = _start(tmp_path, uas_port, uas2_port)
        try:
            assert len(_pids(px)) == 2, px.output()
            uac = _caller(tmp_path, "uac_call.xml", px.port, calls, rate=200)  # type: ignore[attr-defined]
            assert_calls_ok(px, uac, uas)
        finally:
            assert_stops_cleanly(px)
    # the callee answers from one address: the replies of every call owned by the other worker crossed over
    assert _handed_over(px) > calls // 10, px.output()[-3000:]
    assert "channel drops 0" in px.output()


@needs_sipp
def test_two_workers_cancel_and_failure_route(tmp_path: Path) -> None:
    uas_port, uas2_port = free_port(), free_port()
    calls = FLOW_CALLS
    with callee(tmp_path, "uas_cancel.xml", uas_port, calls) as uas:
        px = _start(tmp_path, uas_port, uas2_port)
        try:
            uac = _caller(tmp_path, "uac_cancel.xml", px.port, calls, rate=200)  # type: ignore[attr-defined]
            assert_calls_ok(px, uac, uas)
        finally:
            assert_stops_cleanly(px)
    assert _handed_over(px) > 0, diagnostics(px, None)
    tmp2 = tmp_path / "busy"
    tmp2.mkdir()
    uas_port, uas2_port = free_port(), free_port()
    with (
        callee(tmp2, "uas_busy.xml", uas_port, calls, name="busy") as busy,
        callee(tmp2, "uas_call.xml", uas2_port, calls) as uas2,
    ):
        px = _start(tmp2, uas_port, uas2_port)
        try:
            uac = _caller(tmp2, "uac_call.xml", px.port, calls, rate=200)  # type: ignore[attr-defined]
            assert_calls_ok(px, uac, busy, uas2)
        finally:
            assert_stops_cleanly(px)


# ------------------------------------------------------------------------------------ shared $shv and MI

SHARED = """
log_level=3
udp_workers=2
socket=udp:127.0.0.1:{sip}
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "httpd.so"
loadmodule "mi_http.so"
modparam("httpd", "ip", "127.0.0.1")
modparam("httpd", "port", {http})
route {
    if ($rU == "set") { $shv(x) = $ci; }
    sl_send_reply(200, "OK pid=$pp shv=$shv(x)");
}
startup_route { xlog("STARTUP pid=$pp\n"); }
timer_route[tick, 1] { xlog("TICK pid=$pp\n"); }
"""


def _options(port: int, user: str, callid: str) -> tuple[str, str]:
    """One OPTIONS from a fresh source port: (pid of the worker that answered, its $shv(x))."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(3)
        me = s.getsockname()[1]
        msg = (
            f"OPTIONS sip:{user}@{HOST}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {HOST}:{me};branch=z9hG4bK-w-{callid}\r\n"
            f"From: <sip:t@{HOST}>;tag=a\r\nTo: <sip:{user}@{HOST}>\r\n"
            f"Call-ID: {callid}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        s.sendto(msg.encode(), (HOST, port))
        reply = s.recvfrom(65535)[0].decode()
    pid = re.search(r"^SIP/2.0 200 OK pid=(\d+)", reply)
    shv = re.search(r" shv=(.*)\r\n", reply)
    assert pid and shv, reply
    return pid.group(1), shv.group(1)


def _mi(port: int, method: str, params: object) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(f"http://{HOST}:{port}/mi", body, {"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=5).read())["result"]


def test_shv_and_statistics_are_shared(tmp_path: Path) -> None:
    sip, http = free_port(), free_port("tcp")
    cfg = tmp_path / "shared.cfg"
    cfg.write_text(SHARED.replace("{sip}", str(sip)).replace("{http}", str(http)))
    with PysipsProcess(cfg) as px:
        setter_pid, value = _options(sip, "set", f"v-{os.getpid()}")
        assert value == f"v-{os.getpid()}"
        pids = {setter_pid}
        seen_other = None
        sent = 1
        deadline = time.monotonic() + 5
        # the write reaches the other worker through worker 0 within a few ms: poll until it shows
        while seen_other != value and sent < 300 and time.monotonic() < deadline:
            pid, shv = _options(sip, "get", f"g-{sent}")
            sent += 1
            pids.add(pid)
            if pid != setter_pid:
                seen_other = shv
        assert seen_other == value, (pids, px.output())
        stats = _mi(http, "get_statistics", {"statistics": ["core:rcv_requests", "sl:sent_replies"]})
        assert stats == {"core:rcv_requests": sent, "sl:sent_replies": sent}
        assert _mi(http, "reset_statistics", {"statistics": ["rcv_requests"]}) == "OK"
        time.sleep(0.2)
        stats = _mi(http, "get_statistics", {"statistics": ["core:rcv_requests"]})
        assert stats == {"core:rcv_requests": 0}
        # startup_route and timer_route run in one process (worker 0, which also serves MI)
        deadline = time.monotonic() + 3
        while "TICK" not in px.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        mi_pid = re.search(r"\[(\d+)\] INFO:httpd: httpd listening", px.output()).group(1)
        assert re.findall(r"STARTUP pid=(\d+)", px.output()) == [mi_pid]
        assert set(re.findall(r"TICK pid=(\d+)", px.output())) == {mi_pid}
        # MI on per-process state answers for every worker: ps lists both, log_level sets and reads both
        workers_pids = {int(p) for p in _pids(px)}
        procs = _mi(http, "ps", {})["Processes"]
        assert {p["PID"] for p in procs} == workers_pids
        assert [p["ID"] for p in procs] == list(range(len(procs)))
        assert _mi(http, "log_level", {"level": 2}) == {"New global log level": 2}
        levels = _mi(http, "log_level", {})["Processes"]
        assert {p["PID"] for p in levels} == workers_pids and {p["Log level"] for p in levels} == {2}
        other = next(p for p in _pids(px) if p != mi_pid)
        # a PID served by the other worker is found there
        assert _mi(http, "log_level", {"level": 3, "pid": int(other)}) == {"Log level": 3}
        levels = {p["PID"]: p["Log level"] for p in _mi(http, "log_level", {})["Processes"]}
        assert levels[int(other)] == 3 and levels[int(mi_pid)] == 2
        assert _mi(http, "log_level", {"level": 3}) == {"New global log level": 3}
        # a worker that dies is logged and replaced; the server keeps answering
        os.kill(int(other), 9)
        deadline = time.monotonic() + 5
        while "worker 1 restarted" not in px.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert f"worker 1 (pid {other}) ended: killed by signal 9" in px.output()
        assert "worker 1 restarted" in px.output()
        answered = dict(_options(sip, "get", f"after-{i}") for i in range(20))
        assert other not in answered and len(answered) == 2, answered
        assert set(answered.values()) == {value}  # the new worker got the $shv table from worker 0
        # MI kill stops the whole server, not only the worker serving MI
        assert _mi(http, "kill", {}) == "OK"
        assert px.proc is not None and px.proc.wait(5) == 0


def test_busy_port_stops_before_any_worker_starts(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "busy.cfg"
    cfg.write_text(
        f'udp_workers=2\nsocket=udp:127.0.0.1:{port}\nloadmodule "sl.so"\nroute {{ sl_send_reply(200, "OK"); }}\n'
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, port))  # no SO_REUSEPORT: the group cannot form
        proc = subprocess.run(
            [sys.executable, "-m", "pysips", "run", str(cfg)], capture_output=True, text=True, timeout=20
        )
    assert proc.returncode == 1
    assert f"pysips: cannot listen on udp:127.0.0.1:{port}: address already in use" in proc.stderr


def test_module_with_per_process_state_keeps_one_process(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "dlg.cfg"
    cfg.write_text(
        f'log_level=3\nudp_workers=4\nsocket=udp:127.0.0.1:{port}\nloadmodule "tm.so"\nloadmodule "sl.so"\n'
        'loadmodule "dialog.so"\nroute { sl_send_reply(200, "OK pid=$pp shv=-"); }\n'
    )
    with PysipsProcess(cfg) as px:
        assert "4 workers asked for, running 1: module(s) dialog keep per-process state" in px.output()
        assert len(_pids(px)) == 1
        assert {_options(port, "get", f"d-{i}")[0] for i in range(5)} == {str(px.proc.pid)}
        assert_stops_cleanly(px)


# ------------------------------------------------------------------------------------ probes (reply hooks)

PROBING = """
log_level=3
udp_workers=2
socket=udp:127.0.0.1:{sip}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "db_text.so"
loadmodule "dispatcher.so"
modparam("tm", "fr_timeout", 1)
modparam("dispatcher", "db_url", "text://{db}")
modparam("dispatcher", "ds_ping_interval", 1)
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
route { sl_send_reply(200, "OK"); }
"""


def _answer_options(sock: socket.socket, seconds: float) -> int:
    """Answer every OPTIONS with 200 for `seconds`; returns how many were answered."""
    from pysips.sip.message import make_response, parse_message

    answered = 0
    deadline = time.monotonic() + seconds
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            data, addr = sock.recvfrom(65535)
        except TimeoutError:
            continue
        req = parse_message(data)
        if req.is_request and req.method == "OPTIONS":
            sock.sendto(make_response(req, 200, "OK", to_tag="t1").to_bytes(), addr)
            answered += 1
    return answered


def test_probe_replies_reach_the_worker_that_probed(tmp_path: Path) -> None:
    """Both workers probe the destination; its replies all reach one worker (one address pair), which passes
    them on: without that the other worker would time its probes out and mark the destination inactive."""
    sip = free_port()
    dest = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dest.bind((HOST, 0))
    port = dest.getsockname()[1]
    db = tmp_path / "db"
    db.mkdir()
    (db / "version").write_text("table_name(string) table_version(int) \ndispatcher:9\n")
    header = (
        "id(int,auto) setid(int) destination(string) socket(string,null) state(int) probe_mode(int) "
        "weight(string) priority(int) attrs(string,null) description(string,null) \n"
    )
    (db / "dispatcher").write_text(header + f":1:sip\\:127.0.0.1\\:{port}::0:0:1:0::\n")
    cfg = tmp_path / "probe.cfg"
    cfg.write_text(PROBING.replace("{sip}", str(sip)).replace("{db}", str(db)))
    try:
        with PysipsProcess(cfg) as px:
            answered = _answer_options(dest, 3.5)
            assert answered >= 4, px.output()  # two workers, at least two rounds each
            assert "switched to [inactive]" not in px.output(), px.output()
            assert_stops_cleanly(px)
    finally:
        dest.close()
