"""End-to-end routing: `pysips run` with dispatcher / drouting data in db_text, SIPp callers and callees.

dispatcher: three SIPp callees behind ds_select_dst(1, 4) (round robin, distribution counted from the proxy's
log); one callee is killed, OPTIONS probing marks it and calls skip it; it comes back and is re-activated; a 503
from a destination fails over with ds_next_dst. drouting: the carrier is chosen by prefix and time rule, and a 500
from the first gateway moves the call to the next one with use_next_gw.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.harness import PysipsProcess, SippBackground, free_port, needs_sipp, run_sipp

pytestmark = needs_sipp

SCEN = Path(__file__).parent / "scenarios_routing"
HOST = "127.0.0.1"

COMMON = """
log_level=3
socket=udp:127.0.0.1:{proxy_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
modparam("tm", "fr_timeout", 1)
modparam("tm", "fr_inv_timeout", 3)
"""

IN_DIALOG = """
    if (!mf_process_maxfwd_header(10)) { send_reply(483, "Too Many Hops"); exit; }
    if (has_totag()) {
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        if (!loose_route()) { send_reply(404, "Not here"); exit; }
        t_relay(); exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
    record_route();
"""

DISPATCHER = (
    COMMON
    + """
loadmodule "dispatcher.so"
modparam("dispatcher", "db_url", "text://{db}")
modparam("dispatcher", "ds_ping_interval", 1)
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
route {
"""
    + IN_DIALOG
    + """
    if ($rU == "fail") { $var(set) = 2; $var(alg) = 8; } else { $var(set) = 1; $var(alg) = 4; }
    if (!ds_select_dst($var(set), $var(alg), "f")) { send_reply(503, "No Destination"); exit; }
    xlog("L_NOTICE", "DS-PICK $du\n");
    t_on_failure("failover");
    if (!t_relay()) send_reply(500, "Internal Error");
    exit;
}
failure_route[failover] {
    if (t_check_status("5[0-9][0-9]|408") && ds_next_dst()) {
        xlog("L_NOTICE", "DS-NEXT $du\n");
        t_on_failure("failover");
        t_relay();
    }
}
"""
)

DROUTING = (
    COMMON
    + """
loadmodule "drouting.so"
modparam("drouting", "db_url", "text://{db}")
route {
"""
    + IN_DIALOG
    + """
    if (!do_routing(1)) { send_reply(404, "No Route"); exit; }
    xlog("L_NOTICE", "DR-PICK $ru\n");
    t_on_failure("next_gw");
    if (!t_relay()) send_reply(500, "Internal Error");
    exit;
}
failure_route[next_gw] {
    if (t_check_status("5[0-9][0-9]|408") && use_next_gw()) {
        xlog("L_NOTICE", "DR-NEXT $ru\n");
        t_on_failure("next_gw");
        t_relay();
    }
}
"""
)


def fill(template: str, **values: object) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return template


def callee(tmp_path: Path, port: int, fail_code: int | None = None) -> SippBackground:
    """A SIPp destination answering OPTIONS; calls succeed, or fail with ``fail_code``."""
    scenario = SCEN / "uas_ds.xml"
    if fail_code is not None:
        # SIPp checks the status line before substituting keywords, so the code is written into a copy
        scenario = tmp_path / f"uas_{fail_code}.xml"
        scenario.write_text((SCEN / "uas_fail.xml").read_text().replace("[code]", str(fail_code)))
    args = ["-sf", str(scenario), "-i", HOST, "-p", str(port), "-mp", str(free_port()),
            "-cp", str(free_port())]  # fmt: skip
    return SippBackground(args, tmp_path)


def dial(tmp_path: Path, proxy_port: int, number: str, calls: int) -> None:
    args = [f"{HOST}:{proxy_port}", "-sf", str(SCEN / "uac_dial.xml"), "-s", number, "-i", HOST,
            "-p", str(free_port()), "-mp", str(free_port()), "-cp", str(free_port()), "-m", str(calls),
            "-r", "20", "-trace_err", "-error_file", str(tmp_path / "uac_errors.log")]  # fmt: skip
    res = run_sipp(args, tmp_path, timeout=20)
    assert res.returncode == 0, f"uac exit {res.returncode}\n{res.stdout[-2000:]}\n{res.stderr[-1500:]}"


def picks(px: PysipsProcess, tag: str, since: int = 0) -> Counter:
    """Destination ports in the proxy's "TAG sip:..." log lines (from line `since` on)."""
    found = Counter()
    for line in px.lines[since:]:
        m = re.search(tag + r" sip:[^ ]*?:(\d+)", line)
        if m:
            found[int(m.group(1))] += 1
    return found


def wait_for(px: PysipsProcess, pattern: str, since: int, timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(re.search(pattern, ln) for ln in px.lines[since:]):
            return True
        time.sleep(0.1)
    return False


DS_H = (
    "id(int,auto) setid(int) destination(string) socket(string,null) state(int) probe_mode(int) "
    "weight(string) priority(int) attrs(string,null) description(string,null) \n"
)


def test_dispatcher_round_robin_probing_and_failover(tmp_path: Path) -> None:
    proxy = free_port()
    p1, p2, p3, pfail = free_port(), free_port(), free_port(), free_port()
    db = tmp_path / "db"
    db.mkdir()
    (db / "version").write_text("table_name(string) table_version(int) \ndispatcher:9\n")
    rows = [f":1:sip\\:127.0.0.1\\:{p}::0:0:1:0::\n" for p in (p1, p2, p3)]
    rows += [f":2:sip\\:127.0.0.1\\:{pfail}::0:0:1:10::\n", f":2:sip\\:127.0.0.1\\:{p1}::0:0:1:0::\n"]
    (db / "dispatcher").write_text(DS_H + "".join(rows))
    cfg = tmp_path / "lb.cfg"
    cfg.write_text(fill(DISPATCHER, proxy_port=proxy, db=db))
    u1, u2, u3 = callee(tmp_path, p1), callee(tmp_path, p2), callee(tmp_path, p3)
    ufail = callee(tmp_path, pfail, 503)
    # callees first: the first probe round goes out as soon as the proxy is up
    with u1, u2, ufail, u3, PysipsProcess(cfg) as px:
        try:
            dial(tmp_path, proxy, "100", 9)
            assert picks(px, "DS-PICK") == {p1: 3, p2: 3, p3: 3}
            u3.__exit__(None, None, None)
            # callee 3 is gone: its probes time out and it is taken out of the rotation
            mark = len(px.lines)
            assert wait_for(px, rf"<sip:127.0.0.1:{p3}>, set 1 switched to \[inactive\]", mark), px.output()
            mark = len(px.lines)
            dial(tmp_path, proxy, "100", 6)
            assert picks(px, "DS-PICK", mark) == {p1: 3, p2: 3}
            # it answers again: the next probe re-activates it
            mark = len(px.lines)
            with callee(tmp_path, p3):
                assert wait_for(px, rf"<sip:127.0.0.1:{p3}>, set 1 switched to \[active\]", mark), px.output()
                mark = len(px.lines)
                dial(tmp_path, proxy, "100", 3)
                assert picks(px, "DS-PICK", mark) == {p1: 1, p2: 1, p3: 1}
            # set 2: the first destination answers 503, ds_next_dst moves every call to the second one
            mark = len(px.lines)
            dial(tmp_path, proxy, "fail", 3)
            assert picks(px, "DS-PICK", mark) == {pfail: 3}
            assert picks(px, "DS-NEXT", mark) == {p1: 3}
        except AssertionError:
            print(px.output()[-6000:])
            raise
    assert px.proc is not None and px.proc.returncode == 0


DR_GW_H = (
    "id(int,auto) gwid(string) type(int) address(string) strip(int) pri_prefix(string,null) attrs(string,null) "
    "probe_mode(int) state(int) socket(string,null) description(string,null) \n"
)
DR_RULE_H = (
    "ruleid(int,auto) groupid(string) prefix(string) timerec(string,null) priority(int) routeid(string,null) "
    "gwlist(string,null) sort_alg(string) sort_profile(int,null) attrs(string,null) description(string,null) \n"
)
DR_CR_H = (
    "id(int,auto) carrierid(string) gwlist(string) flags(int) sort_alg(string) state(int) attrs(string,null) "
    "description(string,null) \n"
)


def test_drouting_prefix_time_rule_and_next_gateway(tmp_path: Path) -> None:
    proxy = free_port()
    pok, pbad = free_port(), free_port()
    db = tmp_path / "db"
    db.mkdir()
    (db / "version").write_text(
        "table_name(string) table_version(int) \ndr_gateways:6\ndr_rules:4\ndr_carriers:3\ndr_groups:2\n"
    )
    (db / "dr_gateways").write_text(
        DR_GW_H + f":ok:1:127.0.0.1\\:{pok}:0:::0:0::\n:bad:1:127.0.0.1\\:{pbad}:1:9::0:0::\n"
    )
    (db / "dr_carriers").write_text(DR_CR_H + ":carrierA:bad,ok:0:N:0::\n")
    never = "UTC|20000101T000000|20000101T000100"  # one minute in 2000: never matches now
    always = "UTC|20000101T000000|20000102T000000||DAILY"  # every day, all day
    esc = lambda s: s.replace(":", "\\:")  # noqa: E731
    (db / "dr_rules").write_text(
        DR_RULE_H
        + ":1:1::0::#carrierA:N::via-carrier:\n"
        + f":1:2:{esc(never)}:10::bad:N::never:\n"
        + f":1:2:{esc(always)}:5::ok:N::always:\n"
    )
    (db / "dr_groups").write_text(
        "id(int,auto) username(string) domain(string,null) groupid(int) description(string,null) \n"
    )
    cfg = tmp_path / "dr.cfg"
    cfg.write_text(fill(DROUTING, proxy_port=proxy, db=db))
    with (
        callee(tmp_path, pok),
        callee(tmp_path, pbad, 500),
        PysipsProcess(cfg) as px,
    ):
        try:
            # prefix 1 -> carrierA: the "bad" gateway first (strip 1, prefix 9), its 500 moves the call on
            dial(tmp_path, proxy, "1555", 2)
            assert picks(px, "DR-PICK") == {pbad: 2}
            assert picks(px, "DR-NEXT") == {pok: 2}
            assert sum("DR-PICK sip:9555@" in ln for ln in px.lines) == 2
            assert sum("DR-NEXT sip:1555@" in ln for ln in px.lines) == 2
            # prefix 2: the priority-10 rule's time never matches, the "always" rule wins
            mark = len(px.lines)
            dial(tmp_path, proxy, "2555", 2)
            assert picks(px, "DR-PICK", mark) == {pok: 2}
            assert picks(px, "DR-NEXT", mark) == {}
        except AssertionError:
            print(px.output()[-6000:])
            raise


@pytest.mark.parametrize("cfg_name", ["loadbalancer.cfg"])
def test_example_cfg_checks_clean(cfg_name: str) -> None:
    import subprocess
    import sys

    cfg = Path(__file__).resolve().parents[2] / "cfg" / cfg_name
    res = subprocess.run([sys.executable, "-m", "pysips", "check", str(cfg)], capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 errors" in res.stdout + res.stderr


CACHE = """
log_level=3
socket=udp:127.0.0.1:{proxy_port}
loadmodule "sl.so"
loadmodule "signaling.so"
loadmodule "cachedb_redis.so"
modparam("cachedb_redis", "cachedb_url", "{redis_url}")
route {
    if (!cache_add("redis", "hits", 1, 0, $var(n))) { send_reply(503, "cache down"); exit; }
    cache_fetch("redis", "nothing-here", $var(x));
    if ($rc == -2) $var(state) = "missing";
    send_reply(200, "hits $var(n) $var(state)");
    exit;
}
"""


def _options(port: int, n: int) -> str:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(3)
        me = s.getsockname()[1]
        msg = (
            f"OPTIONS sip:ping@{HOST}:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {HOST}:{me};branch=z9hG4bKc{n}\r\n"
            f"From: <sip:t@{HOST}>;tag=t{n}\r\nTo: <sip:ping@{HOST}>\r\nCall-ID: cache-{n}\r\nCSeq: 1 OPTIONS\r\n"
            "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        s.sendto(msg.encode(), (HOST, port))
        return s.recv(4000).decode().split("\r\n", 1)[0]


def test_cachedb_redis_in_a_running_server_survives_an_outage(tmp_path: Path, redis_server) -> None:  # noqa: ANN001
    proxy = free_port()
    cfg = tmp_path / "cache.cfg"
    cfg.write_text(fill(CACHE, proxy_port=proxy, redis_url=redis_server.url))
    with PysipsProcess(cfg) as px:
        assert _options(proxy, 1) == "SIP/2.0 200 hits 1 missing"
        assert _options(proxy, 2) == "SIP/2.0 200 hits 2 missing"
        redis_server.stop()
        assert _options(proxy, 3) == "SIP/2.0 503 cache down"
        assert _options(proxy, 4) == "SIP/2.0 503 cache down"
        # the log line travels through the server's stderr pipe: wait for it, then check it came exactly once
        assert wait_for(px, "unreachable", 0, timeout=3.0), px.output()
        assert sum("unreachable" in ln for ln in px.lines) == 1, px.output()
        redis_server.start()  # an empty server on the same port
        deadline = time.monotonic() + 5
        line = ""
        n = 5
        while time.monotonic() < deadline:
            line = _options(proxy, n)
            n += 1
            if line.startswith("SIP/2.0 200"):
                break
            time.sleep(0.2)
        assert line == "SIP/2.0 200 hits 1 missing"
        assert wait_for(px, "reachable again", 0)
