"""udp_workers=2 with b2b_logic: each call lives in the worker that received its INVITE; the identifiers the engine
generates carry the worker's token, so in-dialog requests that reach the other worker are handed over
(pysips.proxy.workers.Workers.dialog_owner) and replies are routed by their branch.

The SIPp run: callers with one socket per call (``-t un``) spread the INVITEs over both workers; the callees answer
from one address each, so every reply and every callee BYE reaches one worker and about half of them must cross.
A BYE that is not handed over meets the script's ``has_totag() -> 481`` and fails the callee.
"""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path
from types import SimpleNamespace

from pysips.b2b.entities import KeyGen
from pysips.proxy.workers import Workers, unsafe_modules
from tests.e2e.harness import PysipsProcess, SippBackground, free_port, needs_sipp, run_sipp

SCENARIOS = Path(__file__).parent / "scenarios_b2b"
HOST = "127.0.0.1"
CALLS = int(os.environ.get("PYSIPS_B2B_WORKER_CALLS", "1000"))  # all calls; a fifth end with the callee's BYE

CFG = """
log_level=3
udp_workers=2
socket=udp:127.0.0.1:{proxy_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
loadmodule "b2b_entities.so"
loadmodule "b2b_logic.so"
route {{
    if (has_totag()) {{ send_reply(481, "Call/Transaction Does Not Exist"); exit; }}
    if (!is_method("INVITE")) {{ send_reply(503, "Service Unavailable"); exit; }}
    if ($rU == "bye") $du = "sip:127.0.0.1:{bye_port}";
    else $du = "sip:127.0.0.1:{uas_port}";
    b2b_init_request("top hiding");
    exit;
}}
"""

# ------------------------------------------------------------------------------------ units


def _workers(wid: int = 0, n: int = 2) -> Workers:
    chans = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((HOST, 0))
        chans.append(s)
    return Workers(wid, n, "abcd1234", chans)


def _close(w: Workers) -> None:
    for c in w.channels:
        c.close()


def test_keys_and_tags_carry_the_worker_token() -> None:
    w = _workers(1)
    try:
        keys = KeyGen("B2B", 9, 9, w.tag_token)
        skey, ckey, ftag = keys.server_key("c1"), keys.client_key("c1"), keys.from_tag()
        for ident in (skey, ckey, ftag):
            assert w.owner_of(ident) == 1, ident
        # the numeric parts keep their OpenSIPS positions (persist and b2b_list read them)
        parts = skey.split(".")
        assert parts[0] == "B2B" and parts[1].isdigit() and parts[2].isdigit() and parts[3].isdigit()
        assert w.owner_of("123.45.abcd1234w1") == 1  # a tuple key ends with the worker id
        plain = KeyGen("B2B", 9, 9)
        assert len(plain.server_key("c1").split(".")) == 5  # one process: keys unchanged
        assert w.owner_of(plain.server_key("c1")) is None
    finally:
        _close(w)


def test_dialog_owner_reads_to_from_and_call_id_not_via() -> None:
    w = _workers(0)
    try:
        tok = w.tag_token

        def req(
            via: str = "z9hG4bK-x", to: str = "t-peer", frm: str = "f-peer", cid: str = "c-peer"
        ) -> bytes:
            return (
                f"BYE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch={via}\r\nFrom: <sip:a@h>;tag={frm}\r\n"
                f"To: <sip:b@h>;tag={to}\r\nCall-ID: {cid}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n"
            ).encode()

        other = tok.replace("w0.", "w1.")
        assert w.dialog_owner(req(to=f"B2B.1.2.3.{other}9")) == 1
        assert w.dialog_owner(req(to=f"B2B.1.2.3.{tok}9")) == 0
        assert w.dialog_owner(req(cid=f"B2B.1.2.3.{other}9")) == 1
        assert w.dialog_owner(req(frm=f"{other}abc-1")) == 1
        assert w.dialog_owner(req()) is None  # an initial request or a foreign dialog
        assert w.dialog_owner(req(via=f"z9hG4bK{other}aa.1")) is None  # our own request looping back
        compact = req(to=f"{other}x").replace(b"To:", b"t:")
        assert w.dialog_owner(compact) == 1
        assert w.dialog_owner(b"SIP/2.0 200 OK\r\nTo: <sip:b@h>;tag=" + other.encode() + b"x\r\n\r\n") is None
        w.add_router(w.dialog_owner)
        w.add_router(w.dialog_owner)
        assert len(w.routers) == 1
    finally:
        _close(w)


def test_tokens_of_another_run_name_a_worker_modulo_the_count() -> None:
    """Calls restored from the store carry the token of the run (or node) that set them up."""
    w = _workers(1, 3)
    try:
        assert w.owner_any("12.5.abcd1234w2") == 2  # our own token: the worker it names
        assert w.owner_any("12.5.0123cafew4") == 1  # another run's worker 4 -> 4 % 3
        assert w.owner_any("B2B.1.2.3.0123cafew5.77") == 2
        assert w.owner_any("no token here") is None
        assert w.partition("7.9") == 0  # written by a single process without a token
        bye = (
            b"BYE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK0123cafew7.1\r\n"
            b"To: <sip:a@h>;tag=B2B.1.2.3.0123cafew4.55\r\nCall-ID: abc\r\n\r\n"
        )
        assert w.dialog_owner(bye) is None  # only once persistence asks for it
        w.foreign_tokens = True
        assert w.dialog_owner(bye) == 1
        # a token in a Via (not a dialog header) names nobody
        assert w.dialog_owner(bye.replace(b"B2B.1.2.3.0123cafew4.55", b"plain")) is None
    finally:
        _close(w)


async def test_channel_carries_messages_longer_than_a_datagram() -> None:
    """b2b_list of a few thousand calls does not fit one datagram: it crosses in pieces."""
    import pickle

    import trio

    from pysips.proxy import workers as wmod

    chans = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((HOST, 0))
        chans.append(s)
    w0, w1 = Workers(0, 2, "abcd1234", chans), Workers(1, 2, "abcd1234", chans)
    w1.core = SimpleNamespace(log=SimpleNamespace(error=print))
    big = {"Tuples": [{"key": f"{i}.{i}", "state": 0, "pad": f"{i:080d}"} for i in range(3000)]}
    payload = pickle.dumps((7, (True, big)))
    assert len(payload) > 3 * wmod._PIECE
    event, got = trio.Event(), []
    w1._queries[7] = (event, got)
    async with trio.open_nursery() as nursery:
        await nursery.start(w1.serve_channel)
        assert w0._send(1, wmod._MI_RESULT + payload)
        with trio.fail_after(5):
            await event.wait()
        nursery.cancel_scope.cancel()
    assert got == [(True, big)]
    assert w1._assembling == {}
    for c in chans:
        c.close()


def test_b2b_runs_workers_persisted_or_not() -> None:
    prog = SimpleNamespace(modules=["tm", "b2b_entities", "b2b_logic"], modparams={"b2b_logic": {}})
    assert unsafe_modules(prog) == []
    prog.modparams["b2b_entities"] = {"cachedb_url": "redis://127.0.0.1:6379/"}
    assert unsafe_modules(prog) == []
    prog = SimpleNamespace(modules=["dialog", "b2b_logic"], modparams={})
    assert unsafe_modules(prog) == ["dialog"]


# ------------------------------------------------------------------------------------ SIPp through 2 workers


def _sipp(name: str, scenario: str, calls: int, tmp_path: Path, port: int) -> list[str]:
    return [
        "-sf",
        str(SCENARIOS / scenario),
        "-i",
        HOST,
        "-p",
        str(port),
        "-m",
        str(calls),
        "-mp",
        str(free_port()),
        "-cp",
        str(free_port()),
        "-trace_err",
        "-error_file",
        str(tmp_path / f"{name}_errors.log"),
    ]


def _tail(path: Path, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


def _wait(bg: SippBackground, seconds: float) -> int | None:
    assert bg.proc is not None
    deadline = time.monotonic() + seconds
    while bg.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return bg.proc.poll()


@needs_sipp
def test_b2b_calls_over_two_workers(tmp_path: Path) -> None:
    bye_calls = CALLS // 5
    calls = CALLS - bye_calls
    proxy_port, uas_port, bye_port = free_port(), free_port(), free_port()
    cfg = tmp_path / "b2b.cfg"
    cfg.write_text(CFG.format(proxy_port=proxy_port, uas_port=uas_port, bye_port=bye_port))
    uas_args = [*_sipp("uas", "uas_call.xml", calls, tmp_path, uas_port), "-timeout", "60s", "-timeout_error"]
    bye_args = [
        *_sipp("bye", "uas_bye.xml", bye_calls, tmp_path, bye_port),
        "-timeout",
        "60s",
        "-timeout_error",
    ]
    # the callers: one socket per call, a steady rate; the callee-BYE caller keeps its trace to read the tags
    caller2 = [f"{HOST}:{proxy_port}", *_sipp("uac2", "uac_wait_bye.xml", bye_calls, tmp_path, free_port())]
    caller2 += ["-s", "bye", "-r", "50", "-t", "un", "-max_socket", "1000", "-trace_msg", "-message_file",
                str(tmp_path / "uac2_messages.log"), "-timeout", "60s", "-timeout_error"]  # fmt: skip
    caller1 = [f"{HOST}:{proxy_port}", *_sipp("uac", "uac_call.xml", calls, tmp_path, free_port())]
    caller1 += ["-s", "callee", "-r", "200", "-d", "200", "-l", "2000", "-t", "un", "-max_socket", "1000"]
    with (
        PysipsProcess(cfg) as px,
        SippBackground(uas_args, tmp_path) as uas,
        SippBackground(bye_args, tmp_path) as bye,
        SippBackground(caller2, tmp_path) as uac2,
    ):
        pids = set(re.findall(r"\[(\d+)\] INFO:core: listening on udp", px.output()))
        assert len(pids) == 2, px.output()
        res = run_sipp(caller1, tmp_path, timeout=60)
        rc2, rc_uas, rc_bye = _wait(uac2, 30), _wait(uas, 10), _wait(bye, 10)
        diag = "\n".join(
            [res.stdout[-2000:], _tail(tmp_path / "uac_errors.log"), _tail(tmp_path / "uac2_errors.log"),
             _tail(tmp_path / "uas_errors.log"), _tail(tmp_path / "bye_errors.log"), px.output()[-4000:]]
        )  # fmt: skip
        assert res.returncode == 0, diag
        assert (rc2, rc_uas, rc_bye) == (0, 0, 0), diag
        code = px.stop(5.0)
    assert code == 0, px.output()[-3000:]
    # both workers held calls: the caller saw To-tags naming worker 0 and worker 1
    trace = (tmp_path / "uac2_messages.log").read_text(errors="replace")
    owners = set(re.findall(r"^To: .*;tag=B2B\.\d+\.\d+\.\d+\.[0-9a-f]{8}w(\d)\.", trace, re.M))
    assert owners == {"0", "1"}, owners
    handed = [int(m) for m in re.findall(r"worker \d+: handed over (\d+) message", px.output())]
    assert len(handed) == 2 and sum(handed) > CALLS // 10, px.output()[-3000:]
    assert "channel drops 0" in px.output()


# ------------------------------------------------------------------------------------ MI over workers

MI_CFG = """
log_level=3
udp_workers=2
socket=udp:127.0.0.1:{proxy_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
loadmodule "httpd.so"
loadmodule "mi_http.so"
loadmodule "b2b_entities.so"
loadmodule "b2b_logic.so"
modparam("httpd", "ip", "127.0.0.1")
modparam("httpd", "port", {http})
route {{
    if (has_totag()) {{ send_reply(481, "Call/Transaction Does Not Exist"); exit; }}
    $du = "sip:127.0.0.1:{uas_port}";
    b2b_init_request("top hiding");
    exit;
}}
"""


@needs_sipp
def test_mi_lists_and_terminates_calls_of_both_workers(tmp_path: Path) -> None:
    from tests.e2e.test_workers import _mi

    calls = 16
    proxy_port, uas_port, http = free_port(), free_port(), free_port("tcp")
    cfg = tmp_path / "mi.cfg"
    cfg.write_text(MI_CFG.format(proxy_port=proxy_port, uas_port=uas_port, http=http))
    uas_args = [*_sipp("uas", "uas_call.xml", calls, tmp_path, uas_port), "-timeout", "30s", "-timeout_error"]
    uac = [f"{HOST}:{proxy_port}", *_sipp("uac", "uac_wait_bye.xml", calls, tmp_path, free_port())]
    uac += ["-s", "callee", "-r", "50", "-t", "un", "-max_socket", "100", "-timeout", "30s", "-timeout_error"]
    with (
        PysipsProcess(cfg) as px,
        SippBackground(uas_args, tmp_path) as uas,
        SippBackground(uac, tmp_path) as uac_bg,
    ):
        tuples: list = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            tuples = _mi(http, "b2b_list", {})["Tuples"]
            if len(tuples) == calls and all(len(t["BRIDGE_ENTITIES"]) == 2 for t in tuples):
                break
            time.sleep(0.2)
        assert len(tuples) == calls, (tuples, px.output()[-3000:])
        assert {t["key"][-1] for t in tuples} == {"0", "1"}, [t["key"] for t in tuples]  # both workers listed
        time.sleep(0.5)  # every caller ACKed
        for t in tuples:
            assert _mi(http, "b2b_terminate_call", {"key": t["key"]}) == "OK", px.output()[-3000:]
        assert _mi(http, "b2b_list", {})["Tuples"] == []
        rc_uac, rc_uas = _wait(uac_bg, 15), _wait(uas, 10)
        assert (rc_uac, rc_uas) == (0, 0), "\n".join(
            [_tail(tmp_path / "uac_errors.log"), _tail(tmp_path / "uas_errors.log"), px.output()[-3000:]]
        )
