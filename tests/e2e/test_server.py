"""`pysips run` operation: error_route on parse errors, refusing to start on bad input, -C, clean exit."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.e2e.harness import PysipsProcess, free_port

BAD_CSEQ = (
    "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbad1\r\n"
    "From: <sip:alice@127.0.0.1>;tag=a1\r\n"
    "To: <sip:bob@127.0.0.1>\r\n"
    "Call-ID: bad-err@127.0.0.1\r\n"
    "CSeq: abc INVITE\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n"
)


def _exchange(port: int, data: bytes, timeout: float = 3.0) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout)
        s.sendto(data.replace(b"{port}", str(s.getsockname()[1]).encode()), ("127.0.0.1", port))
        try:
            return s.recvfrom(65535)[0]
        except TimeoutError:
            return None


def test_error_route_runs_on_parse_error(tmp_path):
    port = free_port()
    cfg = tmp_path / "err.cfg"
    cfg.write_text(
        f"socket=udp:127.0.0.1:{port}\n"
        'loadmodule "sl.so"\n'
        'route { sl_send_reply(200, "OK"); exit; }\n'
        "error_route {\n"
        '    xlog("L_ERR", "parse error class=$err.class rcode=$err.rcode reason=$err.rreason\\n");\n'
        '    sl_send_reply(499, "Seen In error_route");\n'
        "    exit;\n"
        "}\n"
    )
    with PysipsProcess(cfg) as px:
        reply = _exchange(port, BAD_CSEQ.encode())
        assert reply is not None, px.output()
        lines = reply.decode().split("\r\n")
        assert lines[0] == "SIP/2.0 499 Seen In error_route"
        assert "CSeq: abc INVITE" in lines  # the reply echoes the request's own lines
        assert any(line.startswith("To: <sip:bob@127.0.0.1>;tag=") for line in lines)
        assert px.stop() == 0
    assert "parse error class=1 rcode=400 reason=Bad Request" in px.output()


def test_refuses_script_with_errors(tmp_path):
    cfg = tmp_path / "broken.cfg"
    cfg.write_text('loadmodule "sl.so"\nroute {\n    sl_send_reply(404, "x")\n    exit;\n}\n')
    proc = subprocess.run(
        [sys.executable, "-m", "pysips", "run", str(cfg)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 1
    assert f"{cfg}:4:5: error:" in proc.stderr
    assert "^" in proc.stderr
    assert "not starting" in proc.stderr


def test_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        cfg = tmp_path / "busy.cfg"
        cfg.write_text(f'socket=udp:127.0.0.1:{port}\nloadmodule "sl.so"\nroute {{ exit; }}\n')
        proc = subprocess.run(
            [sys.executable, "-m", "pysips", "run", str(cfg)], capture_output=True, text=True, timeout=30
        )
    assert proc.returncode == 1
    assert f"cannot listen on udp:127.0.0.1:{port}: address already in use" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_include_is_refused(tmp_path):
    cfg = tmp_path / "inc.cfg"
    cfg.write_text('include_file "nowhere.cfg"\nroute { exit; }\n')
    proc = subprocess.run(
        [sys.executable, "-m", "pysips", "run", str(cfg)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 1
    assert "nowhere.cfg" in proc.stderr


def test_check_only(tmp_path):
    cfg = tmp_path / "ok.cfg"
    cfg.write_text('loadmodule "sl.so"\nroute { sl_send_reply(404, "Not Here"); exit; }\n')
    proc = subprocess.run(
        [sys.executable, "-m", "pysips", "run", "-C", str(cfg)], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert "configuration OK" in proc.stderr


def test_startup_and_timer_routes(tmp_path):
    port = free_port()
    cfg = tmp_path / "routes.cfg"
    cfg.write_text(
        f"socket=udp:127.0.0.1:{port}\n"
        "log_level=3\n"
        'loadmodule "sl.so"\n'
        'startup_route { xlog("L_NOTICE", "startup ran\\n"); }\n'
        'timer_route[tick, 1] { xlog("L_NOTICE", "tick\\n"); }\n'
        "route { exit; }\n"
    )
    import time

    with PysipsProcess(cfg) as px:
        time.sleep(2.5)
        assert px.stop() == 0
    out = px.output()
    assert "startup ran" in out
    assert out.count("tick") >= 2


INVITE = (
    "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKadv1\r\n"
    "From: <sip:alice@127.0.0.1>;tag=a1\r\n"
    "To: <sip:bob@127.0.0.1>\r\n"
    "Call-ID: adv@127.0.0.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Length: 0\r\n\r\n"
)


def test_advertised_address_in_via_and_record_route(tmp_path):
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as callee:
        callee.bind(("127.0.0.1", 0))
        callee.settimeout(3)
        cport = callee.getsockname()[1]
        cfg = tmp_path / "adv.cfg"
        cfg.write_text(
            f"socket=udp:127.0.0.1:{port} as 127.0.0.9:5099\n"
            'loadmodule "rr.so"\nloadmodule "tm.so"\nmodparam("rr", "append_fromtag", 0)\n'
            f'route {{ record_route(); $du = "sip:127.0.0.1:{cport}"; t_relay(); exit; }}\n'
        )
        with PysipsProcess(cfg) as px:
            _exchange(port, INVITE.encode(), timeout=1.0)  # the 100 Trying
            data = callee.recvfrom(65535)[0].decode()
            assert px.stop() == 0
    lines = data.split("\r\n")
    assert lines[0] == "INVITE sip:bob@127.0.0.1 SIP/2.0"
    vias = [x for x in lines if x.startswith("Via:")]
    assert vias[0].startswith("Via: SIP/2.0/UDP 127.0.0.9:5099;branch=z9hG4bK"), data
    assert "Record-Route: <sip:127.0.0.9:5099;lr>" in lines, data


def test_append_to_reply_headers_reach_the_reply(tmp_path):
    port = free_port()
    cfg = tmp_path / "atr.cfg"
    cfg.write_text(
        f"socket=udp:127.0.0.1:{port}\n"
        'loadmodule "sl.so"\nloadmodule "sipmsgops.so"\nloadmodule "signaling.so"\nloadmodule "tm.so"\n'
        "route {\n"
        '    append_to_reply("X-Reason: go away\\r\\nRetry-After: 30\\r\\n");\n'
        '    if ($rU == "stateful") t_reply(486, "Busy Here"); else sl_send_reply(486, "Busy Here");\n'
        "    exit;\n"
        "}\n"
    )
    with PysipsProcess(cfg) as px:
        for user in ("stateless", "stateful"):
            reply = _exchange(port, INVITE.replace("sip:bob@", f"sip:{user}@").replace("adv1", user).encode())
            assert reply is not None, px.output()
            lines = reply.decode().split("\r\n")
            assert lines[0] == "SIP/2.0 486 Busy Here"
            assert "X-Reason: go away" in lines and "Retry-After: 30" in lines
        assert px.stop() == 0


def test_t_replicate_send_and_t_reply_with_body(tmp_path):
    port = free_port()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rep,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as snd,
    ):
        rep.bind(("127.0.0.1", 0))
        snd.bind(("127.0.0.1", 0))
        rep.settimeout(3)
        snd.settimeout(3)
        rport, sport = rep.getsockname()[1], snd.getsockname()[1]
        cfg = tmp_path / "rep.cfg"
        cfg.write_text(
            f"socket=udp:127.0.0.1:{port}\n"
            'loadmodule "tm.so"\nloadmodule "sl.so"\n'
            "route {\n"
            f'    t_replicate("sip:127.0.0.1:{rport}");\n'
            f'    send("udp:127.0.0.1:{sport}", "X-Sent: yes");\n'
            '    t_reply_with_body(200, "OK", "v=0\\r\\n");\n'
            "    exit;\n"
            "}\n"
        )
        with PysipsProcess(cfg) as px:
            reply = _exchange(port, INVITE.encode())
            replica = rep.recvfrom(65535)[0].decode()
            sent = snd.recvfrom(65535)[0].decode()
            assert px.stop() == 0
    assert reply is not None
    head, _, body = reply.decode().partition("\r\n\r\n")
    assert head.startswith("SIP/2.0 200 OK") and body == "v=0\r\n"
    assert "Content-Type: application/sdp" in head
    # the replica is a new transaction from pysips: its own Via on top of the caller's
    assert replica.startswith("INVITE sip:bob@127.0.0.1 SIP/2.0")
    vias = [x for x in replica.split("\r\n") if x.startswith("Via:")]
    assert len(vias) == 2 and f"127.0.0.1:{port};branch=z9hG4bK" in vias[0]
    # send() forwards the message as it is (no Via of ours) with the extra header
    sent_lines = sent.split("\r\n")
    assert [x for x in sent_lines if x.startswith("Via:")] == [vias[1]]
    assert "X-Sent: yes" in sent_lines
