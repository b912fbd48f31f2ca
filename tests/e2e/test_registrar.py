"""End-to-end: a residential-style `pysips run` (REGISTER -> save, INVITE -> lookup + t_relay) on 127.0.0.1.

A SIPp client registers the AOR "callee" with a Contact pointing at a SIPp uas (its scenario checks the 200 OK
lists the binding with ;expires=N); a SIPp caller then calls sip:callee@proxy and must reach that uas. A plain UDP
socket checks the 200 OK of a fetching REGISTER, the script's 404 for an unregistered AOR, and that after an
unregister (expires 0) the AOR answers 404 too.
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

from tests.e2e.harness import PysipsProcess, SippBackground, free_port, needs_sipp, run_sipp

pytestmark = needs_sipp

HOST = "127.0.0.1"
HERE = Path(__file__).parent
SCENARIOS = HERE / "scenarios"
REG_SCENARIOS = HERE / "scenarios_registrar"

RESIDENTIAL = """
log_level=3
socket=udp:127.0.0.1:{proxy_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("usrloc", "nat_bflag", "NAT")
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", 30)
route {
    if (!mf_process_maxfwd_header(10)) { send_reply(483, "Too Many Hops"); exit; }
    if (has_totag()) {
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        if (!loose_route()) { send_reply(404, "Not here"); exit; }
        t_relay(); exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
    if (is_method("REGISTER")) {
        if (!save("location")) sl_reply_error();
        exit;
    }
    record_route();
    if (!lookup("location", "m")) {
        t_reply(404, "Not Found");
        exit;
    }
    if (!t_relay()) send_reply(500, "Internal Error");
    exit;
}
"""


def sipp_common(name: str, port: int, tmp_path: Path, calls: int) -> list[str]:
    return [
        "-i", HOST, "-p", str(port), "-m", str(calls), "-mp", str(free_port()), "-cp", str(free_port()),
        "-trace_msg", "-message_file", str(tmp_path / f"{name}_messages.log"),
        "-trace_err", "-error_file", str(tmp_path / f"{name}_errors.log"),
    ]  # fmt: skip


def tail(path: Path, n: int = 3000) -> str:
    return f"--- {path.name}:\n{path.read_text(errors='replace')[-n:]}" if path.exists() else ""


class UdpUA:
    """A bare UDP SIP client for the checks SIPp makes awkward (fetching REGISTER, 404 of the script)."""

    def __init__(self, proxy_port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(3.0)
        self.port = self.sock.getsockname()[1]
        self.proxy = (HOST, proxy_port)
        self.n = 0

    def close(self) -> None:
        self.sock.close()

    def request(
        self, method: str, ruri: str, to: str, extra: list[str], cseq: int = 1, callid: str = ""
    ) -> str:
        """Send one request, return the first final response (bounded by the socket timeout)."""
        self.n += 1
        callid = callid or f"e2e-{self.n}-{time.monotonic_ns()}"
        lines = [
            f"{method} {ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bKe2e{self.n}x{time.monotonic_ns()}",
            "Max-Forwards: 70",
            f"From: <sip:tester@{HOST}>;tag=t{self.n}",
            f"To: <{to}>",
            f"Call-ID: {callid}",
            f"CSeq: {cseq} {method}",
            *extra,
            "Content-Length: 0",
        ]
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), self.proxy)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            data = self.sock.recv(65535).decode(errors="replace")
            m = re.match(r"SIP/2\.0 (\d{3})", data)
            if m and int(m.group(1)) >= 200:
                return data
        raise AssertionError(f"no final response to {method}")


def header(resp: str, name: str) -> str | None:
    for line in resp.split("\r\n"):
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name.lower():
            return value.strip()
    return None


def test_register_then_call_reaches_registered_uas(tmp_path: Path) -> None:
    proxy_port, uas_port = free_port(), free_port()
    cfg = tmp_path / "residential.cfg"
    cfg.write_text(RESIDENTIAL.replace("{proxy_port}", str(proxy_port)))
    with PysipsProcess(cfg) as px:
        # the uas's binding, registered by a SIPp client that checks the 200 OK lists it with ;expires=
        reg = run_sipp(
            [
                f"{HOST}:{proxy_port}", "-sf", str(REG_SCENARIOS / "uac_register.xml"),
                *sipp_common("reg", free_port(), tmp_path, 1), "-s", "callee", "-key", "uas_port", str(uas_port),
            ],
            tmp_path,
            timeout=15,
        )  # fmt: skip
        assert reg.returncode == 0, (
            reg.stdout[-2000:] + tail(tmp_path / "reg_messages.log") + px.output()[-3000:]
        )

        ua = UdpUA(proxy_port)
        try:
            # a fetching REGISTER (no Contact) lists the binding with its remaining expires
            resp = ua.request("REGISTER", f"sip:{HOST}:{proxy_port}", f"sip:callee@{HOST}", [])
            assert resp.startswith("SIP/2.0 200 OK"), resp
            contact = header(resp, "Contact")
            assert contact is not None and re.fullmatch(
                rf"<sip:callee@{HOST}:{uas_port}>;expires=(29\d|300)", contact
            ), contact

            # an AOR nobody registered gets the script's 404
            resp = ua.request("INVITE", f"sip:nobody@{HOST}:{proxy_port}", f"sip:nobody@{HOST}", [])
            assert resp.startswith("SIP/2.0 404 Not Found"), resp
        finally:
            ua.close()

        uas_args = ["-sf", str(SCENARIOS / "uas_call.xml"), *sipp_common("uas", uas_port, tmp_path, 1)]
        uas_args += ["-timeout", "20s", "-timeout_error"]
        with SippBackground(uas_args, tmp_path) as uas:
            uac = run_sipp(
                [f"{HOST}:{proxy_port}", "-sf", str(SCENARIOS / "uac_call.xml"),
                 *sipp_common("uac", free_port(), tmp_path, 1)],
                tmp_path,
                timeout=15,
            )  # fmt: skip
            assert uas.proc is not None
            try:
                uas_rc = uas.proc.wait(10)
            except Exception:
                uas_rc = None
        diag = "\n".join(
            [uac.stdout[-1500:], tail(tmp_path / "uac_messages.log"), tail(tmp_path / "uas_messages.log"),
             px.output()[-3000:]]
        )  # fmt: skip
        assert uac.returncode == 0, diag
        assert uas_rc == 0, diag
        uas_log = (tmp_path / "uas_messages.log").read_text(errors="replace")
        # the INVITE reached the uas with the R-URI rewritten to the registered contact
        assert f"INVITE sip:callee@{HOST}:{uas_port} SIP/2.0" in uas_log, diag

        ua = UdpUA(proxy_port)
        try:
            # unregister the binding: the AOR answers 404 from then on
            resp = ua.request(
                "REGISTER", f"sip:{HOST}:{proxy_port}", f"sip:callee@{HOST}",
                [f"Contact: <sip:callee@{HOST}:{uas_port}>;expires=0"],
            )  # fmt: skip
            assert resp.startswith("SIP/2.0 200 OK") and header(resp, "Contact") is None, resp
            resp = ua.request("INVITE", f"sip:callee@{HOST}:{proxy_port}", f"sip:callee@{HOST}", [])
            assert resp.startswith("SIP/2.0 404 Not Found"), resp
        finally:
            ua.close()
    assert px.proc is not None and px.proc.returncode == 0, px.output()[-3000:]
