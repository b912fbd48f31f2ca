"""End-to-end: `pysips run` as a SIP proxy between a SIPp caller and SIPp callee(s) on 127.0.0.1.

Every test starts its own pysips from a script template (ports filled in), runs SIPp bounded in calls and
time, asserts SIPp's exit code 0 plus something specific seen on the wire (SIPp's -trace_msg logs), and that
pysips exits 0 within 5 s of SIGTERM. test_scenarios_sipp_to_sipp checks the scenario files themselves
without pysips, so a failure elsewhere points at the proxy, not at the scenarios.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.harness import PysipsProcess, SippBackground, free_port, needs_sipp, run_sipp

pytestmark = needs_sipp

SCENARIOS = Path(__file__).parent / "scenarios"
HOST = "127.0.0.1"

# The brief's stateful script (OpenSIPS 3.x): record-route the initial requests, loose_route the rest,
# a 486 from the first callee is retried on the second one.
STATEFUL = """
log_level=3
socket=udp:127.0.0.1:{proxy_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
modparam("tm", "fr_inv_timeout", 2)
route {
    if (!mf_process_maxfwd_header(10)) { send_reply(483, "Too Many Hops"); exit; }
    if (has_totag()) {
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        if (!loose_route()) { send_reply(404, "Not here"); exit; }
        t_relay(); exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
    record_route();
    $du = "sip:127.0.0.1:{uas_port}";
    t_on_failure("next");
    if (!t_relay()) send_reply(500, "Internal Error");
    exit;
}
failure_route[next] { if (t_check_status("486")) { $du = "sip:127.0.0.1:{uas2_port}"; t_relay(); } }
"""

STATELESS = """
log_level=3
socket=udp:127.0.0.1:{proxy_port}
route {
    forward("udp:127.0.0.1:{uas_port}");
    exit;
}
"""

UDP_TO_TCP = """
log_level=3
socket=udp:127.0.0.1:{proxy_port}
socket=tcp:127.0.0.1:{tcp_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
route {
    if (!mf_process_maxfwd_header(10)) { send_reply(483, "Too Many Hops"); exit; }
    if (has_totag()) {
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        if (!loose_route()) { send_reply(404, "Not here"); exit; }
        t_relay(); exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
    record_route();
    $du = "sip:127.0.0.1:{uas_port};transport=tcp";
    if (!t_relay()) send_reply(500, "Internal Error");
    exit;
}
"""

# OPTIONS answered by the script itself, everything else forwarded statelessly.
OPTIONS_AND_FORWARD = """
log_level=3
socket=udp:127.0.0.1:{proxy_port}
loadmodule "sl.so"
loadmodule "signaling.so"
loadmodule "sipmsgops.so"
route {
    if (is_method("OPTIONS")) { send_reply(200, "OK"); exit; }
    forward("udp:127.0.0.1:{uas_port}");
    exit;
}
"""


def fill(template: str, **ports: int) -> str:
    """Substitute {name} placeholders; str.format would trip over the script's own braces."""
    for name, value in ports.items():
        template = template.replace("{" + name + "}", str(value))
    assert "{proxy_port}" not in template and "_port}" not in template, template
    return template


def write_cfg(tmp_path: Path, template: str, **ports: int) -> Path:
    cfg = tmp_path / "pysips.cfg"
    cfg.write_text(fill(template, **ports))
    return cfg


# --- SIPp message logs -------------------------------------------------------------------------------

_SEPARATOR = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)$", re.M)
_DIRECTION = re.compile(r"^(UDP|TCP) message (received|sent)")


@dataclass
class SippMessage:
    when: datetime
    transport: str
    received: bool
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\r\n", 1)[0].split("\n", 1)[0]

    def header(self, name: str) -> list[str]:
        """Bodies of every `name:` line, in order (SIPp logs the message as it went on the wire)."""
        out = []
        for line in self.text.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                out.append(value.strip())
        return out

    def is_request(self, method: str) -> bool:
        return self.first_line.startswith(method + " ")

    def is_response(self, status: int) -> bool:
        return self.first_line.startswith(f"SIP/2.0 {status} ")


def sipp_messages(log: Path) -> list[SippMessage]:
    """Parse a SIPp -trace_msg file into its messages."""
    if not log.exists():
        return []
    text = log.read_text(errors="replace")
    parts = _SEPARATOR.split(text)
    out = []
    # parts: [prefix, ts1, body1, ts2, body2, ...]
    for ts, body in zip(parts[1::2], parts[2::2], strict=True):
        lines = body.strip("\r\n").split("\n", 1)
        m = _DIRECTION.match(lines[0])
        if not m or len(lines) < 2:
            continue
        out.append(
            SippMessage(
                when=datetime.strptime(ts, "%Y-%m-%d %H:%M:%S.%f"),
                transport=m.group(1),
                received=m.group(2) == "received",
                text=lines[1].strip("\r\n"),
            )
        )
    return out


def received(log: Path, method_or_status: str | int) -> list[SippMessage]:
    msgs = [m for m in sipp_messages(log) if m.received]
    if isinstance(method_or_status, int):
        return [m for m in msgs if m.is_response(method_or_status)]
    return [m for m in msgs if m.is_request(method_or_status)]


def _tail(path: Path, limit: int = 4000) -> str:
    if not path.exists():
        return f"({path.name}: absent)"
    data = path.read_text(errors="replace")
    return f"--- {path.name} (last {min(limit, len(data))} of {len(data)} chars)\n{data[-limit:]}"


# --- SIPp runs ---------------------------------------------------------------------------------------


def _sipp_common(name: str, port: int, tmp_path: Path, calls: int) -> list[str]:
    # -mp/-cp: SIPp also binds an RTP echo port (default 6000) and a control port (8888); keep them off
    # the fixed defaults so parallel SIPps never collide.
    return [
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
        "-trace_msg",
        "-message_file",
        str(tmp_path / f"{name}_messages.log"),
        "-trace_err",
        "-error_file",
        str(tmp_path / f"{name}_errors.log"),
    ]


@dataclass
class Callee:
    name: str
    port: int
    bg: SippBackground
    tmp_path: Path

    @property
    def messages(self) -> Path:
        return self.tmp_path / f"{self.name}_messages.log"

    def wait(self, timeout: float = 10.0) -> int | None:
        """Exit code of the callee SIPp once it has handled its -m calls (None if it did not finish)."""
        assert self.bg.proc is not None
        try:
            return self.bg.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def diagnostics(self) -> str:
        return "\n".join([_tail(self.messages), _tail(self.tmp_path / f"{self.name}_errors.log", 2000)])


@contextmanager
def callee(
    tmp_path: Path, scenario: str, port: int, calls: int, *, name: str = "uas", tcp: bool = False
) -> Iterator[Callee]:
    args = [
        "-sf",
        str(SCENARIOS / scenario),
        *_sipp_common(name, port, tmp_path, calls),
        "-timeout",
        "30s",
        "-timeout_error",
    ]
    if tcp:
        args += ["-t", "t1"]
    with SippBackground(args, tmp_path) as bg:
        yield Callee(name, port, bg, tmp_path)


@dataclass
class Caller:
    result: subprocess.CompletedProcess
    tmp_path: Path

    @property
    def messages(self) -> Path:
        return self.tmp_path / "uac_messages.log"

    def diagnostics(self) -> str:
        r = self.result
        return "\n".join(
            [
                f"--- uac exit {r.returncode}; stdout tail:\n{r.stdout[-2500:]}\n--- uac stderr:\n{r.stderr[-2000:]}",
                _tail(self.tmp_path / "uac_errors.log", 2000),
                _tail(self.messages),
            ]
        )


def caller(
    tmp_path: Path, scenario: str, target_port: int, calls: int, rate: int = 10, timeout: float = 20
) -> Caller:
    args = [
        f"{HOST}:{target_port}",
        "-sf",
        str(SCENARIOS / scenario),
        *_sipp_common("uac", free_port(), tmp_path, calls),
        "-r",
        str(rate),
    ]
    return Caller(run_sipp(args, tmp_path, timeout=timeout), tmp_path)


def diagnostics(px: PysipsProcess | None, uac: Caller | None, *uas: Callee) -> str:
    parts = []
    if uac is not None:
        parts.append(uac.diagnostics())
    parts += [c.diagnostics() for c in uas]
    if px is not None:
        parts.append("--- pysips log:\n" + px.output()[-6000:])
    return "\n".join(parts)


def assert_stops_cleanly(px: PysipsProcess) -> None:
    """Issue item 10: SIGTERM -> exit code 0 within 5 s."""
    start = time.monotonic()
    code = px.stop(timeout=5.0)
    elapsed = time.monotonic() - start
    assert code == 0 and elapsed < 5.0, (
        f"pysips exit code {code} after {elapsed:.1f}s on SIGTERM\n{px.output()[-6000:]}"
    )


def assert_calls_ok(px: PysipsProcess, uac: Caller, *uas: Callee) -> None:
    assert uac.result.returncode == 0, "caller SIPp failed\n" + diagnostics(px, uac, *uas)
    for c in uas:
        code = c.wait()
        assert code == 0, f"callee {c.name} SIPp exit {code}\n" + diagnostics(px, uac, *uas)


# --- scenario self-test: SIPp talking to SIPp, no proxy ------------------------------------------------


@pytest.mark.parametrize(
    ("uac_file", "uas_file", "replace", "tcp"),
    [
        ("uac_call.xml", "uas_call.xml", None, False),
        ("uac_call.xml", "uas_call.xml", None, True),
        ("uac_cancel.xml", "uas_cancel.xml", None, False),
        ("uac_reinvite.xml", "uas_reinvite.xml", None, False),
        ("uac_timeout.xml", "uas_busy.xml", ("486 Busy Here", "408 Request Timeout"), False),
        ("uac_maxfwd.xml", "uas_busy.xml", ("486 Busy Here", "483 Too Many Hops"), False),
    ],
)
def test_scenarios_sipp_to_sipp(
    tmp_path: Path, uac_file: str, uas_file: str, replace: tuple[str, str] | None, tcp: bool
) -> None:
    uas_path = SCENARIOS / uas_file
    if replace:
        # the proxy's own 408/483 played by a callee
        uas_path = tmp_path / f"standin_{uas_file}"
        uas_path.write_text((SCENARIOS / uas_file).read_text().replace(*replace))
    uas_port = free_port()
    t = ["-t", "t1"] if tcp else []
    uas_args = ["-sf", str(uas_path), *_sipp_common("uas", uas_port, tmp_path, 3), *t]
    uas_args += ["-timeout", "15s", "-timeout_error"]
    with SippBackground(uas_args, tmp_path) as bg:
        uac_args = [f"{HOST}:{uas_port}", "-sf", str(SCENARIOS / uac_file)]
        uac_args += [*_sipp_common("uac", free_port(), tmp_path, 3), "-r", "20", *t]
        result = run_sipp(uac_args, tmp_path, timeout=15)
        assert bg.proc is not None
        uas_code = bg.proc.wait(10)
    uac = Caller(result, tmp_path)
    assert result.returncode == 0 and uas_code == 0, f"uas exit {uas_code}\n" + uac.diagnostics()


# --- the proxy ------------------------------------------------------------------------------------------


def test_stateless_forward_20_calls(tmp_path: Path) -> None:
    proxy_port, uas_port = free_port(), free_port()
    cfg = write_cfg(tmp_path, STATELESS, proxy_port=proxy_port, uas_port=uas_port)
    with PysipsProcess(cfg) as px, callee(tmp_path, "uas_call.xml", uas_port, 20) as uas:
        uac = caller(tmp_path, "uac_call.xml", proxy_port, 20, rate=20)
        assert_calls_ok(px, uac, uas)
        # every request reached the callee through pysips: its Via is on top
        for method in ("INVITE", "ACK", "BYE"):
            msgs = received(uas.messages, method)
            assert len(msgs) == 20, f"{method}: {len(msgs)}\n" + diagnostics(px, uac, uas)
            for m in msgs:
                top = m.header("Via")[0]
                assert top.startswith(f"SIP/2.0/UDP 127.0.0.1:{proxy_port}"), m.text
        assert_stops_cleanly(px)


def test_stateful_record_route_50_calls(tmp_path: Path) -> None:
    proxy_port, uas_port = free_port(), free_port()
    cfg = write_cfg(tmp_path, STATEFUL, proxy_port=proxy_port, uas_port=uas_port, uas2_port=free_port())
    with PysipsProcess(cfg) as px, callee(tmp_path, "uas_call.xml", uas_port, 50) as uas:
        uac = caller(tmp_path, "uac_call.xml", proxy_port, 50, rate=20, timeout=30)
        assert_calls_ok(px, uac, uas)
        invites = received(uas.messages, "INVITE")
        assert len(invites) == 50, diagnostics(px, uac, uas)
        rr = re.compile(rf"<sip:127\.0\.0\.1:{proxy_port};lr[;>]")
        for m in invites:
            assert any(rr.search(v) for v in m.header("Record-Route")), (
                "callee saw no Record-Route of the proxy:\n" + m.text
            )
        users = {re.search(r"<sip:([^@]+)@", m.header("From")[0]).group(1) for m in invites}
        assert users == {f"caller{i}" for i in range(1, 51)}
        # in-dialog requests were loose-routed: they came via the proxy, its Route entry consumed
        for method in ("ACK", "BYE"):
            msgs = received(uas.messages, method)
            assert len(msgs) == 50, f"{method}: {len(msgs)}\n" + diagnostics(px, uac, uas)
            for m in msgs:
                assert m.header("Via")[0].startswith(f"SIP/2.0/UDP 127.0.0.1:{proxy_port}"), m.text
                assert not any(str(proxy_port) in r for r in m.header("Route")), m.text
        assert_stops_cleanly(px)


def test_failure_route_486_goes_to_second_callee(tmp_path: Path) -> None:
    proxy_port, uas_port, uas2_port = free_port(), free_port(), free_port()
    cfg = write_cfg(tmp_path, STATEFUL, proxy_port=proxy_port, uas_port=uas_port, uas2_port=uas2_port)
    with (
        PysipsProcess(cfg) as px,
        callee(tmp_path, "uas_busy.xml", uas_port, 5, name="busy") as busy,
        callee(tmp_path, "uas_call.xml", uas2_port, 5, name="uas2") as uas2,
    ):
        uac = caller(tmp_path, "uac_call.xml", proxy_port, 5, rate=10)
        assert_calls_ok(px, uac, busy, uas2)
        # the busy callee got its ACK from the proxy (scenario completed) and the 486 never reached the caller
        assert received(uac.messages, 486) == [], diagnostics(px, uac, busy, uas2)
        assert len(received(uac.messages, 200)) >= 10
        assert len(received(uas2.messages, "INVITE")) == 5
        assert len(received(uas2.messages, "BYE")) == 5
        assert_stops_cleanly(px)


def test_cancel_before_answer(tmp_path: Path) -> None:
    proxy_port, uas_port = free_port(), free_port()
    cfg = write_cfg(tmp_path, STATEFUL, proxy_port=proxy_port, uas_port=uas_port, uas2_port=free_port())
    with PysipsProcess(cfg) as px, callee(tmp_path, "uas_cancel.xml", uas_port, 5) as uas:
        uac = caller(tmp_path, "uac_cancel.xml", proxy_port, 5, rate=10)
        assert_calls_ok(px, uac, uas)
        cancels = received(uas.messages, "CANCEL")
        assert len(cancels) == 5, diagnostics(px, uac, uas)
        for m in cancels:
            # hop by hop: the proxy's own CANCEL, only its Via
            assert len(m.header("Via")) == 1 and str(proxy_port) in m.header("Via")[0], m.text
        assert len(received(uac.messages, 487)) >= 5
        assert_stops_cleanly(px)


def test_fr_inv_timeout_gives_408(tmp_path: Path) -> None:
    proxy_port, uas_port = free_port(), free_port()
    cfg = write_cfg(tmp_path, STATEFUL, proxy_port=proxy_port, uas_port=uas_port, uas2_port=free_port())
    with PysipsProcess(cfg) as px, callee(tmp_path, "uas_cancel.xml", uas_port, 2) as uas:
        uac = caller(tmp_path, "uac_timeout.xml", proxy_port, 2, rate=10)
        assert_calls_ok(px, uac, uas)
        msgs = sipp_messages(uac.messages)
        sent = {m.header("Call-ID")[0]: m.when for m in msgs if not m.received and m.is_request("INVITE")}
        timeouts = [m for m in msgs if m.received and m.is_response(408)]
        assert len(timeouts) == 2, diagnostics(px, uac, uas)
        for m in timeouts:
            waited = (m.when - sent[m.header("Call-ID")[0]]).total_seconds()
            assert 1.5 <= waited <= 4.5, f"408 after {waited:.2f}s, fr_inv_timeout is 2s\n{m.text}"
        # the proxy cancelled the ringing branch itself
        assert len(received(uas.messages, "CANCEL")) == 2, diagnostics(px, uac, uas)
        assert_stops_cleanly(px)


def test_max_forwards_zero_gives_483(tmp_path: Path) -> None:
    proxy_port, uas_port = free_port(), free_port()
    cfg = write_cfg(tmp_path, STATEFUL, proxy_port=proxy_port, uas_port=uas_port, uas2_port=free_port())
    # nothing may reach the callee address: a plain socket there proves it
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind((HOST, uas_port))
        sink.setblocking(False)
        with PysipsProcess(cfg) as px:
            uac = caller(tmp_path, "uac_maxfwd.xml", proxy_port, 3, rate=10)
            assert_calls_ok(px, uac)
            replies = received(uac.messages, 483)
            assert len(replies) == 3, diagnostics(px, uac)
            assert all(m.first_line == "SIP/2.0 483 Too Many Hops" for m in replies), replies[0].text
            with pytest.raises(BlockingIOError):
                sink.recvfrom(65535)
            assert_stops_cleanly(px)


def test_reinvite_in_dialog(tmp_path: Path) -> None:
    proxy_port, uas_port = free_port(), free_port()
    cfg = write_cfg(tmp_path, STATEFUL, proxy_port=proxy_port, uas_port=uas_port, uas2_port=free_port())
    with PysipsProcess(cfg) as px, callee(tmp_path, "uas_reinvite.xml", uas_port, 10) as uas:
        uac = caller(tmp_path, "uac_reinvite.xml", proxy_port, 10, rate=20)
        assert_calls_ok(px, uac, uas)
        reinvites = [m for m in received(uas.messages, "INVITE") if m.header("CSeq")[0] == "2 INVITE"]
        assert len(reinvites) == 10, diagnostics(px, uac, uas)
        for m in reinvites:
            assert m.header("Via")[0].startswith(f"SIP/2.0/UDP 127.0.0.1:{proxy_port}"), m.text
            assert m.first_line.startswith(f"INVITE sip:127.0.0.1:{uas_port}"), m.text
        assert_stops_cleanly(px)


def test_udp_to_tcp_relay(tmp_path: Path) -> None:
    proxy_port, tcp_port, uas_port = free_port(), free_port("tcp"), free_port("tcp")
    cfg = write_cfg(tmp_path, UDP_TO_TCP, proxy_port=proxy_port, tcp_port=tcp_port, uas_port=uas_port)
    with PysipsProcess(cfg) as px, callee(tmp_path, "uas_call.xml", uas_port, 5, tcp=True) as uas:
        uac = caller(tmp_path, "uac_call.xml", proxy_port, 5, rate=10)
        assert_calls_ok(px, uac, uas)
        msgs = [m for m in sipp_messages(uas.messages) if m.received]
        assert msgs and all(m.transport == "TCP" for m in msgs), diagnostics(px, uac, uas)
        invites = received(uas.messages, "INVITE")
        assert len(invites) == 5
        for m in invites:
            assert m.header("Via")[0].upper().startswith(f"SIP/2.0/TCP 127.0.0.1:{tcp_port}"), m.text
            # double Record-Route (rr enable_double_rr): the TCP side on top, then the UDP side, both r2=on
            rr = ",".join(m.header("Record-Route")).replace(" ", "").split(",")
            top, second = set(rr[0].strip("<>").split(";")), set(rr[1].strip("<>").split(";"))
            assert {f"sip:127.0.0.1:{tcp_port}", "transport=tcp", "r2=on", "lr"} <= top, m.text
            assert {f"sip:127.0.0.1:{proxy_port}", "r2=on", "lr"} <= second, m.text
        assert len(received(uas.messages, "BYE")) == 5
        # and the caller only ever talked UDP
        assert all(m.transport == "UDP" for m in sipp_messages(uac.messages))
        assert_stops_cleanly(px)


def _exchange(sock: socket.socket, data: bytes, proxy_port: int) -> bytes | None:
    """Send one datagram to pysips and return its answer, or None if none came within the socket timeout."""
    sock.sendto(data, (HOST, proxy_port))
    try:
        reply, _ = sock.recvfrom(65535)
    except TimeoutError:
        return None
    return reply


def test_malformed_request_gets_400_and_server_keeps_serving(tmp_path: Path) -> None:
    proxy_port, uas_port = free_port(), free_port()
    cfg = write_cfg(tmp_path, OPTIONS_AND_FORWARD, proxy_port=proxy_port, uas_port=uas_port)
    with (
        PysipsProcess(cfg) as px,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
    ):
        sock.bind((HOST, 0))
        sock.settimeout(2.0)
        me = sock.getsockname()[1]

        def request(method: str, cseq: str, call_id: str) -> bytes:
            return (
                f"{method} sip:callee@127.0.0.1:{proxy_port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-{call_id}\r\n"
                f"From: <sip:probe@127.0.0.1:{me}>;tag=t-{call_id}\r\n"
                f"To: <sip:callee@127.0.0.1:{proxy_port}>\r\n"
                f"Call-ID: {call_id}@127.0.0.1\r\n"
                f"CSeq: {cseq}\r\n"
                "Max-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()

        # the 400 is asserted last so that a missing 400 still shows whether the server kept serving
        bad = _exchange(sock, request("INVITE", "abc INVITE", "bad1"), proxy_port)

        ok = _exchange(sock, request("OPTIONS", "1 OPTIONS", "good1"), proxy_port)
        assert ok is not None, "no answer to OPTIONS after the malformed request\n" + px.output()
        assert ok.startswith(b"SIP/2.0 200 "), ok.decode(errors="replace")
        assert b"good1@127.0.0.1" in ok

        with callee(tmp_path, "uas_call.xml", uas_port, 3) as uas:
            uac = caller(tmp_path, "uac_call.xml", proxy_port, 3, rate=10)
            assert_calls_ok(px, uac, uas)
        assert px.proc is not None and px.proc.poll() is None, "pysips died\n" + px.output()

        assert bad is not None, (
            "no answer to a request with 'CSeq: abc INVITE' (expected SIP/2.0 400)\n--- pysips log:\n"
            + px.output()
        )
        assert bad.startswith(b"SIP/2.0 400 "), bad.decode(errors="replace")
        assert b"bad1@127.0.0.1" in bad, bad.decode(errors="replace")
        assert_stops_cleanly(px)


def run_one_call(tmp_path: Path, script: str, uac: Path, uas: Path) -> dict:
    """One call uac -> pysips (the script, with {proxy_port} / {uas_port} filled in) -> uas; both SIPp must succeed.
    Returns the messages each side received (parsed from SIPp's -trace_msg logs) and the ports used."""
    proxy_port, uac_port, uas_port = free_port(), free_port(), free_port()
    cfg = write_cfg(tmp_path, script, proxy_port=proxy_port, uas_port=uas_port)
    uas_args = ["-sf", str(uas), *_sipp_common("uas", uas_port, tmp_path, 1), "-timeout", "20s"]
    with PysipsProcess(cfg) as proxy, SippBackground(uas_args, tmp_path) as callee:
        res = run_sipp(
            [
                "-sf",
                str(uac),
                f"127.0.0.1:{proxy_port}",
                "-s",
                "bob",
                *_sipp_common("uac", uac_port, tmp_path, 1),
            ],
            tmp_path,
            timeout=20,
        )
        assert callee.proc is not None
        uas_rc = callee.proc.wait(10)
        errs = [tmp_path / "uac_errors.log", tmp_path / "uas_errors.log"]
        diag = proxy.output() + "".join(e.read_text(errors="replace") for e in errs if e.exists())
        assert res.returncode == 0, f"caller failed\n{res.stdout[-2000:]}\n{diag}"
        assert uas_rc == 0, f"callee failed\n{diag}"
    return {
        "uac": [m for m in sipp_messages(tmp_path / "uac_messages.log") if m.received],
        "uas": [m for m in sipp_messages(tmp_path / "uas_messages.log") if m.received],
        "uac_port": uac_port,
        "uas_port": uas_port,
        "proxy_port": proxy_port,
    }


def test_callee_located_by_dns_srv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$du without a port: NAPTR, then SRV _sip._udp, as OpenSIPS's sip_resolvehost (a fake DNS on 127.0.0.1,
    named by PYSIPS_RESOLV_CONF); the answers are cached for their TTL, not asked per call."""
    from pysips.net.dns import SRV, T_NAPTR, T_SRV
    from tests.net.fake_dns import FakeDNS

    proxy_port, uas_port = free_port(), free_port()
    dns = FakeDNS({("_sip._udp.callee.test", T_SRV): [SRV(0, 0, uas_port, "localhost")]})
    try:
        conf = tmp_path / "resolv.conf"
        conf.write_text(f"nameserver 127.0.0.1:{dns.port}\n")
        monkeypatch.setenv("PYSIPS_RESOLV_CONF", str(conf))
        script = STATEFUL.replace('$du = "sip:127.0.0.1:{uas_port}";', '$du = "sip:callee.test";')
        cfg = write_cfg(tmp_path, script, proxy_port=proxy_port, uas_port=uas_port, uas2_port=free_port())
        with PysipsProcess(cfg) as px, callee(tmp_path, "uas_call.xml", uas_port, 10) as uas:
            uac = caller(tmp_path, "uac_call.xml", proxy_port, 10, rate=20)
            assert_calls_ok(px, uac, uas)
            assert len(received(uas.messages, "INVITE")) == 10
            assert_stops_cleanly(px)
        assert dns.asked[("callee.test", T_NAPTR)] == 1  # no protocol, no port: NAPTR first
        assert dns.asked[("_sip._udp.callee.test", T_SRV)] == 1  # then SRV, once for all 10 calls
    finally:
        dns.close()


@pytest.mark.parametrize("failover", [True, False], ids=["dns-failover", "no-dns-failover"])
def test_dns_failover_to_the_next_srv_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failover: bool
) -> None:
    """Two SRV targets: the first answers 503, tm moves the branch to the second (OpenSIPS tm's DNS failover)
    before any failure_route; with t_relay("no-dns-failover") the caller gets the 503."""
    from pysips.net.dns import SRV, T_SRV
    from tests.net.fake_dns import FakeDNS

    proxy_port, bad_port, good_port = free_port(), free_port(), free_port()
    dns = FakeDNS(
        {
            ("_sip._udp.callee.test", T_SRV): [
                SRV(10, 0, good_port, "localhost"),
                SRV(0, 0, bad_port, "localhost"),
            ]
        }
    )
    try:
        conf = tmp_path / "resolv.conf"
        conf.write_text(f"nameserver 127.0.0.1:{dns.port}\n")
        monkeypatch.setenv("PYSIPS_RESOLV_CONF", str(conf))
        relay = "t_relay()" if failover else 't_relay("no-dns-failover")'
        script = STATEFUL.replace('$du = "sip:127.0.0.1:{uas_port}";', '$du = "sip:callee.test";').replace(
            "if (!t_relay()) send_reply(500", f"if (!{relay}) send_reply(500"
        )
        cfg = write_cfg(tmp_path, script, proxy_port=proxy_port, uas_port=good_port, uas2_port=free_port())
        busy = tmp_path / "uas_503.xml"
        busy.write_text(
            (SCENARIOS / "uas_busy.xml").read_text().replace("486 Busy Here", "503 Service Unavailable")
        )
        calls = 5
        with PysipsProcess(cfg) as px, callee(tmp_path, str(busy), bad_port, calls, name="bad") as bad:
            if failover:
                with callee(tmp_path, "uas_call.xml", good_port, calls, name="good") as good:
                    uac = caller(tmp_path, "uac_call.xml", proxy_port, calls, rate=10)
                    assert_calls_ok(px, uac, bad, good)
                    assert len(received(good.messages, "INVITE")) == calls
                assert "DNS failover" in px.output()
            else:
                uac_503 = tmp_path / "uac_503.xml"
                uac_503.write_text((SCENARIOS / "uac_timeout.xml").read_text().replace('"408"', '"503"'))
                uac = caller(tmp_path, str(uac_503), proxy_port, calls, rate=10)
                assert_calls_ok(px, uac, bad)
                assert "DNS failover" not in px.output()
            assert len(received(bad.messages, "INVITE")) == calls  # priority 0 first, every time
            assert_stops_cleanly(px)
    finally:
        dns.close()


def test_tcp_connect_refused_fails_the_branch_at_once(tmp_path: Path) -> None:
    """A TCP next hop that refuses the connection: the branch gets a local 503 right away (not a 408 at
    fr_timeout), as OpenSIPS reports a send failure."""
    proxy_port, tcp_port, dead_port = free_port(), free_port("tcp"), free_port("tcp")
    cfg = tmp_path / "refused.cfg"
    cfg.write_text(
        f"""
socket=udp:127.0.0.1:{proxy_port}
socket=tcp:127.0.0.1:{tcp_port}
loadmodule "tm.so"
loadmodule "sl.so"
modparam("tm", "fr_timeout", 5)
route {{
    $du = "sip:127.0.0.1:{dead_port};transport=tcp";
    t_relay();
}}
"""
    )
    with PysipsProcess(cfg), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(4)
        req = (
            f"OPTIONS sip:x@127.0.0.1:{proxy_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1;rport;branch=z9hG4bK-refused1\r\n"
            "From: <sip:t@127.0.0.1>;tag=r1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: refused1@test\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        t0 = time.monotonic()
        s.sendto(req.encode(), (HOST, proxy_port))
        reply = s.recv(65535).decode()
        assert reply.startswith("SIP/2.0 503"), reply
        assert time.monotonic() - t0 < 2.0


def test_log_accounting(tmp_path: Path) -> None:
    """do_accounting("log", "missed,failed"): one "transaction answered" line per call with its final code, and a
    "call missed" line for the branch that failed (OpenSIPS acc log format)."""
    proxy_port, busy_port, ok_port = free_port(), free_port(), free_port()
    script = STATEFUL.replace(
        'loadmodule "signaling.so"', 'loadmodule "signaling.so"\nloadmodule "acc.so"'
    ).replace("    record_route();\n", '    record_route();\n    do_accounting("log", "missed,failed");\n')
    cfg = write_cfg(tmp_path, script, proxy_port=proxy_port, uas_port=busy_port, uas2_port=ok_port)
    calls = 3
    with (
        PysipsProcess(cfg) as px,
        callee(tmp_path, "uas_busy.xml", busy_port, calls, name="busy") as busy,
        callee(tmp_path, "uas_call.xml", ok_port, calls, name="ok") as ok,
    ):
        uac = caller(tmp_path, "uac_call.xml", proxy_port, calls, rate=10)
        assert_calls_ok(px, uac, busy, ok)
        assert_stops_cleanly(px)
        out = px.output()
    missed = re.findall(r"ACC: call missed: timestamp=\d+;method=INVITE;from_tag=[^;]+;to_tag=[^;]+;call_id=[^;]+;"
                        r"code=486;reason=Busy Here", out)  # fmt: skip
    answered = re.findall(
        r"ACC: transaction answered: timestamp=\d+;method=INVITE;.*;code=200;reason=OK", out
    )
    assert len(missed) == calls and len(answered) == calls, out[-3000:]
