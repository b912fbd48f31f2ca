"""End-to-end call transfer over MI (the OpenSIPS summit 2017 b2b talk, "Ex2: using MI to call transfer").

A SIPp caller A calls B through pysips as a "top hiding" B2BUA; the test finds the call with ``b2b_list`` (JSON-RPC
over mi_http) and moves it with ``pysips mi --url ... b2b_bridge KEY sip:carol@... FLAG``:
flag 0 keeps A (B gets a BYE), flag 1 keeps B (A gets a BYE). The new callee C is invited without SDP (late
negotiation, as OpenSIPS 3.x bridging.c does; 2.x, the talk's version, re-INVITEd the kept party first): C's offer
rides on C's 200, reaches the kept party in a re-INVITE, and the kept party's answer goes to C on the ACK. The kept
party then hangs up and C gets the BYE.

The test drives the timing: B and C wait as SIPp servers, A is started in the background, b2b_list is polled until
the A-B call is bridged, then b2b_bridge is sent and the SIPp exits are awaited. Everything is bounded (< 40 s).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.harness import SIPP, PysipsProcess, SippBackground, free_port, needs_sipp

pytestmark = needs_sipp

SCENARIOS = Path(__file__).parent / "scenarios_mi"
HOST = "127.0.0.1"
SIPP_TIMEOUT = 20  # seconds, per SIPp process (SIPp's own -timeout); the whole test stays under ~30 s

CFG = """
log_level=3
socket=udp:127.0.0.1:{sip_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "signaling.so"
loadmodule "sipmsgops.so"
loadmodule "httpd.so"
loadmodule "mi_http.so"
loadmodule "b2b_entities.so"
loadmodule "b2b_logic.so"
modparam("httpd", "ip", "127.0.0.1")
modparam("httpd", "port", {http_port})
route {{
    if (has_totag()) {{ send_reply(481, "Call/Transaction Does Not Exist"); exit; }}
    if (!is_method("INVITE")) {{ send_reply(503, "Service Unavailable"); exit; }}
    $du = "sip:127.0.0.1:{b_port}";
    b2b_init_request("top hiding");
    exit;
}}
"""


def mi_post(url: str, method: str, params: object = None) -> dict:
    """One JSON-RPC 2.0 request to mi_http; returns the whole reply object."""
    req: dict = {"jsonrpc": "2.0", "method": method, "id": 1}
    if params is not None:
        req["params"] = params
    data = json.dumps(req).encode()
    http = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(http, timeout=5) as resp:
        return json.loads(resp.read())


def pysips_mi(url: str, *args: str) -> subprocess.CompletedProcess:
    """The command line client, as a user would run it: ``python -m pysips mi --url URL CMD ARGS``."""
    return subprocess.run(
        [sys.executable, "-m", "pysips", "mi", "--url", url, *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def tuples(url: str) -> list[dict]:
    reply = mi_post(url, "b2b_list")
    assert "result" in reply, reply
    return reply["result"]["Tuples"]


B2B_SERVER, B2B_CLIENT = 0, 1  # OpenSIPS enum b2b_entity_type
B2BL_ENT_CONFIRMED = 1  # OpenSIPS b2b_logic.h


def bridged_pair(tup: dict) -> tuple[dict, dict] | None:
    """BRIDGE_ENTITIES (OpenSIPS tuple->bridge_entities: [0] the kept/first entity, [1] its peer) when both are
    live, confirmed and each other's peer; None otherwise."""
    ents = tup["BRIDGE_ENTITIES"]
    if len(ents) != 2:
        return None
    e0, e1 = ents
    for e in ents:
        if e["disconnected"] or e["state"] != B2BL_ENT_CONFIRMED:
            return None
    if e0.get("peer") != e1["key"] or e1.get("peer") != e0["key"]:
        return None
    return e0, e1


def listed(tup: dict) -> dict[str, list[str]]:
    """Entity keys per b2b_list section."""
    return {s: [e["key"] for e in tup[s]] for s in ("SERVERS", "CLIENTS", "BRIDGE_ENTITIES")}


def wait_for(cond, what: str, timeout: float, diag) -> object:
    """Poll `cond()` every 20 ms until it returns something truthy; fail with `diag()` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}\n{diag()}")


def messages(log: Path) -> list[tuple[str, str]]:
    """(direction 'sent'/'received', message text) from a SIPp -trace_msg log."""
    text = log.read_text(errors="replace") if log.exists() else ""
    out = []
    for block in re.split(r"\n-{10,}[^\n]*\n", text):
        m = re.search(r"UDP message (sent|received)[^\n]*:\n\n(.*)", block, re.S)
        if m:
            out.append((m.group(1), m.group(2).strip()))
    return out


def received(log: Path) -> list[str]:
    """What the SIPp behind `log` received, in order, provisional replies left out."""
    return [t for d, t in messages(log) if d == "received" and not t.startswith("SIP/2.0 1")]


def first_word(msgs: list[str]) -> list[str]:
    """Request methods, and 'NNN METHOD' for replies, in arrival order."""
    out = []
    for t in msgs:
        line = t.split("\n", 1)[0].strip()
        if line.startswith("SIP/2.0"):
            out.append(f"{line.split()[1]} {header(t, 'CSeq')[0].split()[1]}")
        else:
            out.append(line.split()[0])
    return out


def header(msg: str, name: str) -> list[str]:
    head = msg.split("\n\n", 1)[0]
    return [
        ln.split(":", 1)[1].strip() for ln in head.splitlines() if ln.lower().startswith(name.lower() + ":")
    ]


def body(msg: str) -> str:
    return msg.split("\n\n", 1)[1] if "\n\n" in msg else ""


def sdp_owner(msg: str) -> str | None:
    """`user version` of the SDP o= line, e.g. 'carol 1'; None without SDP."""
    m = re.search(r"^o=(\S+) \S+ (\S+) ", body(msg), re.M)
    return f"{m.group(1)} {m.group(2)}" if m else None


@dataclass
class Call:
    """A running A -> B call through pysips (and C waiting), as `a_b_call` yields it."""

    url: str
    logs: dict[str, Path]
    sip_port: int
    c_port: int
    procs: dict[str, subprocess.Popen]
    srv: PysipsProcess
    a_screen: Path
    deadline: float  # when every SIPp has given up on its own (-timeout)
    before: dict = field(default_factory=dict)  # the b2b_list tuple once A-B is up

    def diag(self) -> str:
        rcs = {k: p.poll() for k, p in self.procs.items()}
        return f"SIPp exit codes {rcs}\n--- pysips log\n{self.srv.output()[-4000:]}"

    def wait_exits(self) -> None:
        """Every SIPp ends with exit code 0, then b2b_list is empty."""
        while any(p.poll() is None for p in self.procs.values()) and time.monotonic() < self.deadline:
            time.sleep(0.05)
        rcs = {k: p.poll() for k, p in self.procs.items()}
        assert all(rc == 0 for rc in rcs.values()), f"{self.a_screen.read_text()[-2000:]}\n{self.diag()}"
        wait_for(lambda: not tuples(self.url), "an empty b2b_list", 5, self.diag)


@contextmanager
def a_b_call(tmp_path: Path, a_scn: str, b_scn: str, with_c: bool = True) -> Iterator[Call]:
    """pysips + SIPp B (and C) + SIPp A in the background; yields once b2b_list shows A-B bridged and B has its
    ACK. Every process is stopped by PID on the way out."""
    sip_port, http_port, a_port, b_port, c_port = (free_port() for _ in range(5))
    cfg = tmp_path / "transfer.cfg"
    cfg.write_text(CFG.format(sip_port=sip_port, http_port=http_port, b_port=b_port))
    logs = {x: tmp_path / f"{x}_msg.log" for x in "abc"}

    def sipp(scn: str, port: int, log: Path) -> list[str]:
        return ["-sf", str(SCENARIOS / scn), "-i", HOST, "-p", str(port), "-mp", str(free_port()), "-m", "1",
                "-timeout", f"{SIPP_TIMEOUT}s", "-timeout_error", "-trace_msg", "-message_file", str(log)]  # fmt: skip

    with ExitStack() as stack:
        srv = stack.enter_context(PysipsProcess(cfg))
        procs = {"b": stack.enter_context(SippBackground(sipp(b_scn, b_port, logs["b"]), tmp_path)).proc}
        if with_c:
            procs["c"] = stack.enter_context(
                SippBackground(sipp("uas_c.xml", c_port, logs["c"]), tmp_path)
            ).proc
        a_screen = tmp_path / "a_screen.txt"  # a file, not a pipe: SIPp's screen dumps must never block it
        a_args = [f"{HOST}:{sip_port}", *sipp(a_scn, a_port, logs["a"]), "-s", "bob", "-nostdin"]
        with a_screen.open("w") as screen:
            a_proc = subprocess.Popen([SIPP, *a_args], cwd=tmp_path, stdout=screen, stderr=screen)
        procs["a"] = a_proc
        call = Call(
            f"http://127.0.0.1:{http_port}/mi", logs, sip_port, c_port, procs, srv, a_screen,
            time.monotonic() + SIPP_TIMEOUT + 5,
        )  # fmt: skip
        try:

            def established() -> list[dict] | None:
                ts = tuples(call.url)
                return ts if len(ts) == 1 and bridged_pair(ts[0]) else None

            call.before = wait_for(established, "the A-B call in b2b_list", 10, call.diag)[0]
            # B's ACK must have gone out too: A sends it right after the 200 that confirms the tuple
            wait_for(lambda: "ACK" in first_word(received(logs["b"])), "B to get the ACK", 5, call.diag)
            yield call
        finally:
            if a_proc.poll() is None:
                a_proc.kill()
                a_proc.wait(5)
    assert srv.proc.returncode == 0, srv.output()[-3000:]


def run_transfer(tmp_path: Path, flag: int, bad_uri_first: bool = False) -> dict:
    """Run A -> B, b2b_bridge KEY C FLAG, then the hang-up; returns logs, ports and the b2b_list snapshots."""
    a_scn, b_scn = (
        ("uac_a_kept.xml", "uas_b_dropped.xml") if flag == 0 else ("uac_a_dropped.xml", "uas_b_kept.xml")
    )
    with a_b_call(tmp_path, a_scn, b_scn) as call:
        url, before = call.url, call.before
        key = before["key"]
        c_uri = f"sip:carol@127.0.0.1:{call.c_port}"
        # The talk's `b2b_bridge KEY URI 1` is 2.x syntax: in 3.x three positional params match two recipes
        # (flag / prov_media_uri), which OpenSIPS refuses; nothing must happen to the call.
        res = pysips_mi(url, "b2b_bridge", key, c_uri, str(flag))
        assert res.returncode == 1 and "-32602: Invalid params (Ambiguous call" in res.stderr, res.stderr
        if bad_uri_first:
            bad = mi_post(url, "b2b_bridge", {"dialog_id": key, "new_uri": "not a uri"})
            assert bad.get("error") == {"code": 404, "message": "Invalid uri for the new destination"}, bad
            assert tuples(url) == [before], "a refused b2b_bridge changed the call"
        # the command line client: positional (flag 0 is the default) or named params
        args = [key, c_uri] if flag == 0 else [f"dialog_id={key}", f"new_uri={c_uri}", "flag=1"]
        res = pysips_mi(url, "b2b_bridge", *args)
        assert res.returncode == 0 and json.loads(res.stdout) == "OK", res.stdout + res.stderr + call.diag()

        def moved() -> list[dict] | None:
            ts = tuples(url)
            if len(ts) != 1 or ts[0]["key"] != key or ts[0]["state"] != 0 or not bridged_pair(ts[0]):
                return None
            return ts if bridged_pair(ts[0])[1]["to_uri"] == c_uri else None

        after = wait_for(moved, "the transferred call in b2b_list", 10, call.diag)[0]
        call.wait_exits()
        # the call is over: its key is refused the OpenSIPS way
        gone = mi_post(url, "b2b_bridge", [key, c_uri])
        assert gone.get("error") == {"code": 404, "message": "B2B session not found"}, gone
    return {
        "before": before,
        "after": after,
        "logs": call.logs,
        "c_port": call.c_port,
        "sip_port": call.sip_port,
    }


def test_b2b_bridge_flag0_moves_the_caller_to_c(tmp_path: Path) -> None:
    run = run_transfer(tmp_path, 0)
    before, after = run["before"], run["after"]
    assert before["scenario"] == "top hiding" and after["scenario"] == "top hiding"
    a0, b0 = bridged_pair(before)
    assert (a0["type"], b0["type"]) == (B2B_SERVER, B2B_CLIENT)
    assert a0["from_uri"] == "sip:alice@example.com"
    # the B leg's To is built from the R-URI (B is reached through $du, as an outbound proxy)
    assert b0["to_uri"] == f"sip:bob@127.0.0.1:{run['sip_port']}"
    assert listed(before) == {
        "SERVERS": [a0["key"]],
        "CLIENTS": [b0["key"]],
        "BRIDGE_ENTITIES": [a0["key"], b0["key"]],
    }
    # A (the server entity) stays, a new client entity toward C replaces B
    a1, c1 = bridged_pair(after)
    assert a1["key"] == a0["key"] and c1["key"] not in (a0["key"], b0["key"])
    assert c1["type"] == B2B_CLIENT and c1["to_uri"] == f"sip:carol@127.0.0.1:{run['c_port']}"
    assert listed(after) == {
        "SERVERS": [a0["key"]],
        "CLIENTS": [c1["key"]],
        "BRIDGE_ENTITIES": [a0["key"], c1["key"]],
    }
    assert [e["index"] for e in after["BRIDGE_ENTITIES"]] == [0, 1]

    a, b, c = (received(run["logs"][x]) for x in "abc")
    assert first_word(b) == ["INVITE", "ACK", "BYE"]
    assert sdp_owner(b[0]) == "alice 1"
    # OpenSIPS 3.x bridging_start_new_ent: the new entity is invited without SDP and makes the offer
    assert first_word(c) == ["INVITE", "ACK", "BYE"]
    assert body(c[0]) == "" and header(c[0], "Content-Length") == ["0"]
    assert sdp_owner(c[1]) == "alice 2"  # A's answer to C's offer rides on the ACK
    assert first_word(a) == ["200 INVITE", "INVITE", "ACK", "200 BYE"]
    assert sdp_owner(a[0]) == "bob 1"
    assert sdp_owner(a[1]) == "carol 1"  # the re-INVITE carries C's offer
    assert header(a[1], "Call-ID") == header(a[0], "Call-ID")  # same dialog with A
    # C sees the B2BUA, never A: new Call-ID, one Via
    assert header(c[0], "Call-ID")[0].startswith("B2B.") and len(header(c[0], "Via")) == 1
    assert header(c[0], "Call-ID") != header(b[0], "Call-ID")


def test_b2b_bridge_flag1_moves_the_callee_to_c(tmp_path: Path) -> None:
    run = run_transfer(tmp_path, 1)
    a0, b0 = bridged_pair(run["before"])
    # B (the client entity) stays as bridge entity 0, paired with a new client entity toward C
    b1, c1 = bridged_pair(run["after"])
    assert b1["key"] == b0["key"] and b1["type"] == B2B_CLIENT
    assert c1["key"] not in (a0["key"], b0["key"]) and c1["type"] == B2B_CLIENT
    assert c1["to_uri"] == f"sip:carol@127.0.0.1:{run['c_port']}"
    assert a0["key"] not in json.dumps(run["after"])  # A's entity is gone from the tuple
    # OpenSIPS: b2bl_drop_entity(A) empties servers[], b2bl_add_client(C) appends to clients[] after B; each array
    # is numbered from 0 (3.6/HEAD b2b_logic.c mi_b2b_list)
    after = run["after"]
    assert listed(after) == {
        "SERVERS": [],
        "CLIENTS": [b0["key"], c1["key"]],
        "BRIDGE_ENTITIES": [b0["key"], c1["key"]],
    }
    assert [e["index"] for e in after["CLIENTS"]] == [0, 1]
    assert [e["index"] for e in after["BRIDGE_ENTITIES"]] == [0, 1]

    a, b, c = (received(run["logs"][x]) for x in "abc")
    assert first_word(a) == ["200 INVITE", "BYE"]
    assert first_word(b) == ["INVITE", "ACK", "INVITE", "ACK", "200 BYE"]
    assert sdp_owner(b[0]) == "alice 1" and sdp_owner(b[2]) == "carol 1"  # re-INVITE with C's offer
    assert first_word(c) == ["INVITE", "ACK", "BYE"]
    assert body(c[0]) == "" and sdp_owner(c[1]) == "bob 2"


def test_b2b_bridge_with_a_bad_uri_leaves_the_call_alone(tmp_path: Path) -> None:
    """OpenSIPS mi_b2b_bridge parses new_uri before touching the call: 404 "Invalid uri for the new destination",
    no BYE to anyone, and a later valid b2b_bridge still works."""
    run = run_transfer(tmp_path, 0, bad_uri_first=True)
    a, b, c = (first_word(received(run["logs"][x])) for x in "abc")
    assert b == ["INVITE", "ACK", "BYE"]  # one BYE: the valid bridge's
    assert a == ["200 INVITE", "INVITE", "ACK", "200 BYE"]
    assert c == ["INVITE", "ACK", "BYE"]


@pytest.mark.parametrize("key_form", ["tuple key", "callid;from-tag;to-tag"])
def test_b2b_terminate_call_ends_both_legs(tmp_path: Path, key_form: str) -> None:
    """b2b_terminate_call with the b2b_list key, or (3.x) with the Call-ID and tags of one leg's dialog: both
    parties get a BYE and the tuple is gone."""
    with a_b_call(tmp_path, "uac_a_dropped.xml", "uas_b_dropped.xml", with_c=False) as call:
        key = call.before["key"]
        if key_form != "tuple key":
            ok = next(m for m in received(call.logs["a"]) if m.startswith("SIP/2.0 200"))
            ftag, ttag = (re.search(r";tag=([^;>\s]+)", header(ok, h)[0]).group(1) for h in ("From", "To"))
            key = f"{header(ok, 'Call-ID')[0]};{ftag};{ttag}"
        res = pysips_mi(call.url, "b2b_terminate_call", key)
        assert res.returncode == 0 and json.loads(res.stdout) == "OK", res.stderr + call.diag()
        call.wait_exits()
        gone = mi_post(call.url, "b2b_terminate_call", [key])
        assert gone.get("error") == {"code": 404, "message": "B2B session not found"}, gone
    assert first_word(received(call.logs["a"])) == ["200 INVITE", "BYE"]
    assert first_word(received(call.logs["b"])) == ["INVITE", "ACK", "BYE"]
