"""sleep()/usleep() pause one request's script while `pysips run` serves the others (pysips.proxy.suspend)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.e2e.harness import PysipsProcess, free_port

CFG = """
log_level=3
socket=udp:127.0.0.1:{port}
loadmodule "sl.so"
loadmodule "cfgutils.so"
route {
    $var(who) = $rU;
    if ($rU == "slow") {
        sleep(1);
        # other requests ran meanwhile and set $var(who): this script still sees its own
        sl_send_reply(200, "slept who=$var(who)");
        exit;
    }
    if ($rU == "micro") {
        usleep(300000);
        sl_send_reply(200, "usleep who=$var(who)");
        exit;
    }
    sl_send_reply(200, "fast who=$var(who)");
}
"""


def _options(user: str, port: int, branch: str) -> bytes:
    # rport: the reply goes back to the socket that sent the request
    return (
        f"OPTIONS sip:{user}@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bK-{branch}\r\n"
        f"From: <sip:t@127.0.0.1>;tag={branch}\r\nTo: <sip:{user}@127.0.0.1>\r\n"
        f"Call-ID: {branch}@test\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def test_sleep_pauses_only_its_own_request(tmp_path: Path) -> None:
    port = free_port()
    cfg = tmp_path / "sleep.cfg"
    cfg.write_text(CFG.replace("{port}", str(port)))
    with PysipsProcess(cfg) as px:
        socks = []
        try:
            for _ in range(3):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", 0))
                s.settimeout(3)
                socks.append(s)
            slow, fast, micro = socks
            t0 = time.monotonic()
            slow.sendto(_options("slow", port, "s1"), ("127.0.0.1", port))
            time.sleep(0.1)
            fast.sendto(_options("fast", port, "f1"), ("127.0.0.1", port))
            got = fast.recv(65535).decode()
            t_fast = time.monotonic() - t0
            assert "200 fast who=fast" in got and t_fast < 0.8, (t_fast, got)  # served while "slow" sleeps
            slow.sendto(_options("slow", port, "s1"), ("127.0.0.1", port))  # a retransmission meanwhile
            micro.sendto(_options("micro", port, "m1"), ("127.0.0.1", port))
            got_micro = micro.recv(65535).decode()
            assert "200 usleep who=micro" in got_micro
            got = slow.recv(65535).decode()
            t_slow = time.monotonic() - t0
            assert "200 slept who=slow" in got and 0.95 <= t_slow < 2.5, (t_slow, got)
            # the retransmission was absorbed: one answer only
            slow.settimeout(0.5)
            try:
                extra = slow.recv(65535)
            except TimeoutError:
                extra = b""
            assert extra == b"", extra
        finally:
            for s in socks:
                s.close()
        assert "do not pause" not in px.output() and "does not pause" not in px.output()
