"""End-to-end: b2b calls survive a pysips crash and a Redis restart (b2b_entities / b2b_logic cachedb_url).

Long "top hiding" calls between SIPp callers and callees; pysips is SIGKILLed while they are up and started again
with the same cfg and Redis, then the calls are hung up from both sides. Every test asserts SIPp exit codes (all
calls successful), what b2b_list shows and what is left in Redis.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import SIPP, PysipsProcess, free_port, needs_sipp

redis = pytest.importorskip("redis")

pytestmark = needs_sipp

SCENARIOS = Path(__file__).parent / "scenarios_b2b_restart"
HOST = "127.0.0.1"

CFG = """
log_level=2
socket=udp:127.0.0.1:{proxy_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
loadmodule "httpd.so"
loadmodule "mi_http.so"
loadmodule "b2b_entities.so"
loadmodule "b2b_logic.so"
modparam("httpd", "ip", "127.0.0.1")
modparam("httpd", "port", {http_port})
modparam("b2b_entities", "cachedb_url", "{redis_url}")
modparam("b2b_logic", "cachedb_url", "{redis_url}")
modparam("b2b_entities", "update_period", 1)
modparam("b2b_logic", "update_period", 1)
route {{
    if (!mf_process_maxfwd_header(10)) {{ send_reply(483, "Too Many Hops"); exit; }}
    if (has_totag()) {{ send_reply(481, "Call/Transaction Does Not Exist"); exit; }}
    if (!is_method("INVITE")) {{ send_reply(503, "Service Unavailable"); exit; }}
    if ($rU == "calleebye") {{
        $du = "sip:127.0.0.1:{uas_bye_port}";
    }} else {{
        $du = "sip:127.0.0.1:{uas_wait_port}";
    }}
    b2b_init_request("top hiding");
    exit;
}}
"""


def sipp(scenario: str, *args: str, timeout: int = 45) -> subprocess.Popen:
    assert SIPP
    cmd = [SIPP, "-sf", str(SCENARIOS / scenario), "-i", HOST, "-mp", str(free_port()), *args]
    cmd += ["-nostdin", "-timeout", f"{timeout}s", "-timeout_error"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=5)
    return proc.returncode, err


def wait_for(what: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(step)
    return what()


def mi(http_port: int, method: str) -> object:
    body = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{http_port}/mi", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        answer = json.loads(resp.read())
    assert "result" in answer, answer
    return answer["result"]


class Calls:
    """`n` long calls hung up by the caller and `n` hung up by the callee, `hold` seconds after the answer."""

    def __init__(self, tmp_path: Path, redis_url: str, n: int, hold: float) -> None:
        self.n = n
        self.ports = {k: free_port() for k in ("proxy", "http", "uas_bye", "uas_wait")}
        self.cfg = tmp_path / "b2b_restart.cfg"
        self.cfg.write_text(
            CFG.format(
                proxy_port=self.ports["proxy"],
                http_port=self.ports["http"],
                uas_bye_port=self.ports["uas_bye"],
                uas_wait_port=self.ports["uas_wait"],
                redis_url=redis_url,
            )
        )
        self.hold_ms = str(int(hold * 1000))
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        n, proxy = str(self.n), f"{HOST}:{self.ports['proxy']}"
        self.procs["uas_wait"] = sipp("uas_wait_bye.xml", "-p", str(self.ports["uas_wait"]), "-m", n)
        self.procs["uas_bye"] = sipp(
            "uas_bye.xml", "-p", str(self.ports["uas_bye"]), "-m", n, "-d", self.hold_ms
        )
        time.sleep(0.3)
        common = ["-m", n, "-r", "100", "-l", str(2 * self.n), "-d", self.hold_ms]
        self.procs["uac_bye"] = sipp("uac_bye.xml", proxy, "-p", str(free_port()), "-s", "callerbye", *common)
        self.procs["uac_wait"] = sipp(
            "uac_wait_bye.xml", proxy, "-p", str(free_port()), "-s", "calleebye", *common
        )

    def finish(self, timeout: float) -> dict[str, tuple[int, str]]:
        deadline = time.monotonic() + timeout
        return {k: finish(p, max(1.0, deadline - time.monotonic())) for k, p in self.procs.items()}

    def kill(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(5)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _stored_states(client: redis.Redis) -> dict[int, int]:
    """Tuples in Redis by their stored state."""
    out: dict[int, int] = {}
    for key in client.smembers("b2bl$"):
        state = int(client.hget(f"b2bl${key}", "state") or -99)
        out[state] = out.get(state, 0) + 1
    return out


def b2b_keys(client: redis.Redis) -> list[str]:
    return sorted(client.scan_iter(match="b2b*"))


@pytest.fixture
def rclient(redis_server):
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


@pytest.mark.parametrize(
    ("before", "after"),
    [((), ()), (("--workers", "2"), ("--workers", "3"))],
    ids=["one-process", "2-workers-then-3"],
)
def test_calls_survive_sigkill_and_restart(
    tmp_path: Path, redis_server, rclient, before: tuple[str, ...], after: tuple[str, ...]
) -> None:
    """With workers, each worker writes its own calls; after the restart each worker restores the calls whose
    token names it (modulo the new count) and in-dialog requests are routed to it."""
    calls = Calls(tmp_path, redis_server.url, n=100, hold=7.0)
    srv = PysipsProcess(calls.cfg, *before).start()
    try:
        calls.start()
        # write-back every second: wait until every call is stored bridged (state 0), not just created
        assert wait_for(lambda: _stored_states(rclient) == {0: 200}, 8), (
            _stored_states(rclient),
            srv.output(),
        )
        assert rclient.scard("b2be$") == 400
        # tuple keys end with the token of the worker holding the call ("<hash>.<n>.<8 hex>w<id>")
        by_worker = [0, 0, 0]
        for key in rclient.smembers("b2bl$"):
            by_worker[int(re.search(r"w(\d+)$", key).group(1))] += 1
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(5)
        if before:
            # the workers die with their parent (PDEATHSIG); wait until none holds the SIP port any more
            assert wait_for(lambda: _port_free(calls.ports["proxy"]), 5)
        srv = PysipsProcess(calls.cfg, *after).start()
        restored = [int(n) for n in re.findall(r"restored (\d+) calls", srv.output())]
        if after:
            assert "running 1" not in srv.output()  # persistence no longer forces one process
            # every worker read the store and took its share: new worker i the calls of old worker i (i % 3)
            assert sorted(restored) == sorted(by_worker), (by_worker, srv.output()[-3000:])
        else:
            assert restored == [200]
        tuples = mi(calls.ports["http"], "b2b_list")["Tuples"]
        assert len(tuples) == 200 and {t["state"] for t in tuples} == {0}
        assert all(len(t["SERVERS"]) == 1 and len(t["CLIENTS"]) == 1 for t in tuples)
        results = calls.finish(timeout=30)
        for name, (rc, err) in results.items():
            assert rc == 0, f"{name}: {err[-2000:]}\n{srv.output()[-3000:]}"
        assert wait_for(lambda: mi(calls.ports["http"], "b2b_list")["Tuples"] == [], 3)
        assert wait_for(lambda: b2b_keys(rclient) == [], 4), b2b_keys(rclient)[:10]
    finally:
        calls.kill()
        srv.stop()


def test_calls_go_on_through_a_redis_restart(tmp_path: Path, redis_server, rclient) -> None:
    calls = Calls(tmp_path, redis_server.url, n=20, hold=6.0)
    with PysipsProcess(calls.cfg) as srv:
        try:
            calls.start()
            assert wait_for(lambda: rclient.scard("b2bl$") == 40, 8), srv.output()
            redis_server.stop()
            time.sleep(1.0)
            redis_server.start()  # empty: it saved nothing
            # pysips finds its records gone and writes every live call again
            fresh = redis.Redis.from_url(redis_server.url, decode_responses=True)
            try:
                assert wait_for(lambda: fresh.scard("b2bl$") == 40, 5), srv.output()
                assert fresh.scard("b2be$") == 80
                results = calls.finish(timeout=30)
                for name, (rc, err) in results.items():
                    assert rc == 0, f"{name}: {err[-2000:]}\n{srv.output()[-3000:]}"
                assert wait_for(lambda: b2b_keys(fresh) == [], 4), b2b_keys(fresh)[:10]
            finally:
                fresh.close()
            assert "redis store" in srv.output()  # the outage was noticed and logged
        finally:
            calls.kill()
