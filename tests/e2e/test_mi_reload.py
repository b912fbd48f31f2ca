"""End-to-end ``reload_routes`` over mi_http while 1000 calls go through pysips as a stateful proxy.

SIPp starts 1000 calls at 100/s, each lasting 2 s, so ~200 dialogs are up at any time. The script appends
``X-Script-Version: N`` to initial INVITEs. Mid-way the test rewrites the script with a syntax error and calls
``reload_routes``: refused with OpenSIPS's error, and the running script carries on. Then it rewrites it with
version 2 and reloads again. Checked: every call succeeds (in-dialog ACK/BYE of old calls go through the new
routes), and at the callee the calls are split by their start into version 1 then version 2 (SIPp's call number
orders the calls; SIPp's receive times place the split between the two MI calls).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from tests.e2e.harness import SIPP, PysipsProcess, SippBackground, free_port, needs_sipp

pytestmark = needs_sipp

SCENARIOS = Path(__file__).parent / "scenarios_mi"
HOST = "127.0.0.1"
CALLS, RATE, DURATION_MS = 1000, 100, 2000

CFG = r"""
log_level=2
socket=udp:127.0.0.1:{sip_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
loadmodule "httpd.so"
loadmodule "mi_http.so"
modparam("httpd", "ip", "127.0.0.1")
modparam("httpd", "port", {http_port})
route {{
    if (!mf_process_maxfwd_header(10)) {{ send_reply(483, "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (is_method("ACK") && t_check_trans()) {{ t_relay(); exit; }}
        if (!loose_route()) {{ send_reply(404, "Not here"); exit; }}
        t_relay();
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) t_relay(); exit; }}
    record_route();
    append_hf("X-Script-Version: {version}\r\n");
    $du = "sip:127.0.0.1:{uas_port}";
    if (!t_relay()) send_reply(500, "Internal Error");
    exit;
}}
"""
# a version 3 that must never run: the missing ')' is a parse error on this line
BROKEN_LINE = '    if (!t_relay() send_reply(500, "Internal Error");'


def mi_post(url: str, method: str, params: object = None) -> dict:
    """One JSON-RPC 2.0 request to mi_http; returns the whole reply object."""
    req: dict = {"jsonrpc": "2.0", "method": method, "id": 1}
    if params is not None:
        req["params"] = params
    http = urllib.request.Request(url, json.dumps(req).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(http, timeout=10) as resp:
        return json.loads(resp.read())


def callee_invites(log: Path) -> list[tuple[int, float, list[str]]]:
    """(SIPp call number, receive time as a UNIX timestamp, X-Script-Version values) of each INVITE the callee got.

    SIPp's -trace_msg blocks start with a dashed line carrying the local wall-clock time of the event."""
    out = []
    text = log.read_text(errors="replace")
    for m in re.finditer(
        r"-{10,} (\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+)\n"
        r"UDP message received \[\d+\] bytes :\n\n(INVITE .*?)(?=\n-{10,} |\Z)",
        text,
        re.S,
    ):
        stamp = datetime.strptime(re.sub(r"\s+", " ", m.group(1)), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        msg = m.group(2)
        head = msg.split("\n\n", 1)[0].splitlines()
        call_id = next(ln.split(":", 1)[1].strip() for ln in head if ln.lower().startswith("call-id:"))
        versions = [ln.split(":", 1)[1].strip() for ln in head if ln.lower().startswith("x-script-version:")]
        out.append((int(call_id.split("-", 1)[0]), stamp, versions))
    return out


def test_reload_routes_during_1000_calls(tmp_path: Path) -> None:
    sip_port, http_port, uas_port = free_port(), free_port("tcp"), free_port()
    url = f"http://127.0.0.1:{http_port}/mi"
    cfg = tmp_path / "reload.cfg"

    def script(version: int) -> str:
        return CFG.format(sip_port=sip_port, http_port=http_port, uas_port=uas_port, version=version)

    cfg.write_text(script(1))
    uas_log, uac_out = tmp_path / "uas_msg.log", tmp_path / "uac.out"
    uas_args = ["-sf", str(SCENARIOS / "uas_load.xml"), "-i", HOST, "-p", str(uas_port), "-mp", str(free_port()),
                "-m", str(CALLS), "-timeout", "30s", "-timeout_error", "-trace_msg", "-message_file", str(uas_log)]  # fmt: skip
    uac_args = [f"{HOST}:{sip_port}", "-sf", str(SCENARIOS / "uac_load.xml"), "-i", HOST, "-p", str(free_port()),
                "-mp", str(free_port()), "-m", str(CALLS), "-r", str(RATE), "-d", str(DURATION_MS), "-l", str(CALLS),
                "-timeout", "30s", "-timeout_error", "-nostdin"]  # fmt: skip
    with PysipsProcess(cfg) as srv, SippBackground(uas_args, tmp_path) as uas, uac_out.open("w") as out:
        uac = subprocess.Popen([SIPP, *uac_args], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
        try:
            started = time.monotonic()
            time.sleep(3.0)  # ~300 calls started, ~200 of them up
            cfg.write_text(
                script(3).replace('    if (!t_relay()) send_reply(500, "Internal Error");', BROKEN_LINE)
            )
            t_broken = time.time()
            broken = mi_post(url, "reload_routes")
            err = broken.get("error") or {}
            assert err.get("code") == 500 and err.get("message") == "reload failed", broken
            # the details say where the script is wrong
            line = cfg.read_text().splitlines().index(BROKEN_LINE) + 1
            assert f"{cfg}:{line}:" in err.get("data", "") and "syntax error" in err["data"], broken

            time.sleep(max(0.0, 5.0 - (time.monotonic() - started)))  # ~500 calls started
            cfg.write_text(script(2))
            t_start = time.time()
            assert mi_post(url, "reload_routes") == {"jsonrpc": "2.0", "result": "OK", "id": 1}
            t_end = time.time()
            assert uac.wait(35) == 0, uac_out.read_text()[-3000:] + srv.output()[-3000:]
        finally:
            if uac.poll() is None:
                uac.kill()
                uac.wait(5)
        deadline = time.monotonic() + 10
        while uas.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert uas.proc.poll() == 0, srv.output()[-3000:]
    assert srv.proc.returncode == 0, srv.output()[-3000:]
    stats = uac_out.read_text()
    assert re.search(rf"Successful call\s*\|\s*\d+\s*\|\s*{CALLS}\b", stats), stats[-3000:]
    assert re.search(r"Failed call\s*\|\s*\d+\s*\|\s*0\b", stats), stats[-3000:]
    assert "reload_routes" in srv.output() and "the running script is kept" in srv.output()

    first: dict[int, tuple[int, float, list[str]]] = {}
    for inv in callee_invites(uas_log):
        seen = first.setdefault(inv[0], inv)
        assert seen[2] == inv[2], (seen, inv)  # a retransmission carries what the first copy carried
    assert sorted(first) == list(range(1, CALLS + 1))
    invites = [first[n] for n in sorted(first)]
    versions = [v for _, _, v in invites]
    assert all(v in (["1"], ["2"]) for v in versions), [v for v in versions if v not in (["1"], ["2"])]
    # in start order: version 1 only, then version 2 only; no call ever ran the broken version 3
    split = versions.index(["2"])
    assert versions == [["1"]] * split + [["2"]] * (CALLS - split)
    assert 300 < split < 800, split
    last_v1, first_v2 = invites[split - 1][1], invites[split][1]
    print(
        f"split at call {split}; reload took {t_end - t_start:.3f} s; last v1 at {last_v1 - t_start:+.3f} s,"
        f" first v2 at {first_v2 - t_start:+.3f} s from the reload"
    )
    # calls the proxy handled after the broken reload still ran version 1; the switch happened during the good one
    assert any(stamp > t_broken + 0.5 for _, stamp, v in invites[:split]), (t_broken, last_v1)
    assert first_v2 >= t_start - 0.05 and last_v1 <= t_end + 0.5, (t_start, t_end, last_v1, first_v2)
