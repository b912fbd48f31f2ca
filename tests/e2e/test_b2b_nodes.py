"""End-to-end: two pysips nodes share one Redis; calls set up through node A are ended through node B.

Node A (127.0.0.1) and node B (127.0.0.2) run the same cfg but for the socket, with b2b state written through
to Redis (db_mode 1). Long "top hiding" calls go through node A; once they are up A is SIGKILLed and the SIPp
callers and callees send their in-dialog traffic to B (SIPp ``setdest`` after the ACK). B never saw the calls:
it finds each one in Redis by the Call-ID of the first request, restores it, and hangs it up on both sides.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.harness import SIPP, PysipsProcess, free_port, needs_sipp
from tests.e2e.test_b2b_restart import b2b_keys, finish, wait_for

redis = pytest.importorskip("redis")

pytestmark = needs_sipp

SCENARIOS = Path(__file__).parent / "scenarios_b2b_nodes"
HOST, HOST_B = "127.0.0.1", "127.0.0.2"

CFG = """
log_level=3
socket=udp:{host}:{port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
loadmodule "b2b_entities.so"
loadmodule "b2b_logic.so"
modparam("b2b_entities", "cachedb_url", "{redis_url}")
modparam("b2b_logic", "cachedb_url", "{redis_url}")
modparam("b2b_entities", "db_mode", 1)
modparam("b2b_logic", "db_mode", 1)
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


def _loopback_alias_usable() -> bool:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((HOST_B, 0))
        return True
    except OSError:
        return False


class Nodes:
    """Two nodes' cfgs, SIPp scenarios aimed at node B, and `n` calls per hang-up side held `hold` seconds."""

    def __init__(self, tmp_path: Path, redis_url: str, n: int, hold: float) -> None:
        self.n = n
        self.tmp = tmp_path
        self.ports = {"uas_bye": free_port(), "uas_wait": free_port(), "a": free_port()}
        self.ports["b"] = free_port(host=HOST_B)
        self.cfgs = {}
        for node, host in (("a", HOST), ("b", HOST_B)):
            cfg = tmp_path / f"node_{node}.cfg"
            cfg.write_text(
                CFG.format(
                    host=host,
                    port=self.ports[node],
                    redis_url=redis_url,
                    uas_bye_port=self.ports["uas_bye"],
                    uas_wait_port=self.ports["uas_wait"],
                )
            )
            self.cfgs[node] = cfg
        for xml in SCENARIOS.glob("*.xml"):
            text = xml.read_text().replace("NODE_B_HOST", HOST_B).replace("NODE_B_PORT", str(self.ports["b"]))
            (tmp_path / xml.name).write_text(text)
        self.hold_ms = str(int(hold * 1000))
        self.procs: dict[str, subprocess.Popen] = {}

    def sipp(self, scenario: str, *args: str, timeout: int = 30) -> subprocess.Popen:
        assert SIPP
        cmd = [SIPP, "-sf", str(self.tmp / scenario), "-i", HOST, "-mp", str(free_port()), *args]
        cmd += ["-nostdin", "-timeout", f"{timeout}s", "-timeout_error"]
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def start(self) -> None:
        n, proxy = str(self.n), f"{HOST}:{self.ports['a']}"
        self.procs["uas_wait"] = self.sipp("uas_wait_bye.xml", "-p", str(self.ports["uas_wait"]), "-m", n)
        self.procs["uas_bye"] = self.sipp(
            "uas_bye.xml", "-p", str(self.ports["uas_bye"]), "-m", n, "-d", self.hold_ms
        )
        time.sleep(0.3)
        common = ["-m", n, "-r", "50", "-l", str(2 * self.n), "-d", self.hold_ms]
        self.procs["uac_bye"] = self.sipp(
            "uac_bye.xml", proxy, "-p", str(free_port()), "-s", "callerbye", *common
        )
        self.procs["uac_wait"] = self.sipp(
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


@pytest.fixture
def rclient(redis_server):
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    client.close()


@pytest.mark.skipif(not _loopback_alias_usable(), reason="127.0.0.2 not usable")
def test_calls_from_a_dead_node_end_through_another(tmp_path: Path, redis_server, rclient) -> None:
    nodes = Nodes(tmp_path, redis_server.url, n=5, hold=4.0)
    node_a = PysipsProcess(nodes.cfgs["a"]).start()
    node_b = PysipsProcess(nodes.cfgs["b"]).start()  # up before the calls: it cannot have loaded them
    try:
        nodes.start()
        # write-through: every call reaches Redis while it is still up; B finds a call from the request alone
        # (Call-ID + tags -> entity key -> tuple -> its other entities), no index of Call-IDs is written
        assert wait_for(lambda: rclient.scard("b2bl$") == 10, 4), node_a.output()[-3000:]
        assert rclient.scard("b2be$") == 20
        assert not list(rclient.scan_iter(match="b2bc*"))
        assert node_a.proc is not None
        node_a.proc.send_signal(signal.SIGKILL)
        node_a.proc.wait(5)
        results = nodes.finish(timeout=25)
        for name, (rc, err) in results.items():
            assert rc == 0, f"{name}: {err[-2000:]}\n{node_b.output()[-3000:]}"
        out = node_b.output()
        assert out.count("restored from the store") == 10, out[-3000:]
        assert "restored 0 calls" in out  # B's start-up load saw nothing: the calls came from the lookups
        assert wait_for(lambda: b2b_keys(rclient) == [], 4), b2b_keys(rclient)[:10]
    finally:
        nodes.kill()
        node_a.stop()
        node_b.stop()


@pytest.mark.skipif(not _loopback_alias_usable(), reason="127.0.0.2 not usable")
def test_unknown_dialog_still_gets_481(tmp_path: Path, redis_server) -> None:
    """A BYE for a call no node knows waits for the store lookup, then goes to the script (its 481)."""
    nodes = Nodes(tmp_path, redis_server.url, n=1, hold=1.0)
    with PysipsProcess(nodes.cfgs["b"]) as node_b, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(3)
        port = s.getsockname()[1]
        bye = (
            f"BYE sip:x@{HOST_B}:{nodes.ports['b']} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {HOST}:{port};branch=z9hG4bK-nodes-1\r\n"
            "From: <sip:a@example.com>;tag=f1\r\nTo: <sip:b@example.com>;tag=t1\r\n"
            "Call-ID: no-such-call@test\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        s.sendto(bye.encode(), (HOST_B, nodes.ports["b"]))
        data = s.recv(65535)
        assert data.startswith(b"SIP/2.0 481"), (data, node_b.output()[-2000:])
