"""`pysips run` with socket=tls: Python ssl clients and servers (this SIPp build has no TLS), certificates made
by the openssl CLI at test time. Every wait is bounded."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.harness import PysipsProcess, free_port
from tests.net.test_tls import OPENSSL, Certs, make_certs

pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl CLI is not installed")

CFG = """\
socket=udp:127.0.0.1:{udp}
socket=tls:127.0.0.1:{tls}
loadmodule "proto_udp.so"
loadmodule "proto_tls.so"
loadmodule "tls_mgm.so"
loadmodule "tls_openssl.so"
loadmodule "sl.so"
loadmodule "sipmsgops.so"
loadmodule "tm.so"
loadmodule "rr.so"
modparam("tls_mgm", "server_domain", "default")
modparam("tls_mgm", "certificate", "[default]{cert}")
modparam("tls_mgm", "private_key", "[default]{key}")
modparam("tls_mgm", "ca_list", "[default]{ca}")
modparam("tls_mgm", "verify_cert", "[default]1")
modparam("tls_mgm", "require_cert", "[default]0")
modparam("tls_mgm", "tls_method", "[default]TLSv1_2-TLSv1_3")
modparam("proto_tls", "tls_handshake_timeout", 3000)
route {{
    if (is_method("OPTIONS") && $rU == "verify") {{
        if (is_peer_verified()) sl_send_reply(200, "Peer verified");
        else sl_send_reply(200, "Peer not verified");
        exit;
    }}
    if (is_method("OPTIONS")) {{
        if ($socket_in(port) == {tls}) sl_send_reply(200, "Hello TLS");
        else sl_send_reply(200, "Hello UDP");
        exit;
    }}
    record_route();
    if ($rU == "toudp") {{
        t_relay("udp:127.0.0.1:{callee}");
        exit;
    }}
    if ($rU == "totls") {{
        $du = "sip:127.0.0.1:{tls_callee};transport=tls";
        t_relay();
        exit;
    }}
    sl_send_reply(404, "Not Here");
}}
"""


def _request(method: str, user: str, via: str, call_id: str) -> bytes:
    return (
        f"{method} sip:{user}@127.0.0.1 SIP/2.0\r\n"
        f"Via: {via};branch=z9hG4bK{call_id}\r\n"
        f"From: <sip:alice@127.0.0.1>;tag=a-{call_id}\r\n"
        f"To: <sip:{user}@127.0.0.1>\r\n"
        f"Call-ID: {call_id}@127.0.0.1\r\n"
        f"CSeq: 1 {method}\r\n"
        "Contact: <sip:alice@127.0.0.1>\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def _answer(req: bytes, status: str = "200 OK") -> bytes:
    """A response to `req` (no body): Via, From, To (+tag), Call-ID, CSeq and Record-Route copied."""
    head = req.split(b"\r\n\r\n", 1)[0].decode()
    keep = [
        ln
        for ln in head.split("\r\n")[1:]
        if re.match(r"(?i)(via|v|from|f|call-id|i|cseq|record-route):", ln)
    ]
    to = next(ln for ln in head.split("\r\n") if re.match(r"(?i)(to|t):", ln))
    lines = [
        f"SIP/2.0 {status}",
        *keep,
        to + ";tag=callee",
        "Contact: <sip:callee@127.0.0.1>",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _header_lines(msg: bytes, name: str) -> list[str]:
    head = msg.split(b"\r\n\r\n", 1)[0].decode()
    return [
        ln.split(":", 1)[1].strip()
        for ln in head.split("\r\n")[1:]
        if ln.lower().startswith(name.lower() + ":")
    ]


class TLSReader:
    """Reads whole SIP messages (Content-Length 0) from a blocking TLS socket, with a deadline."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.sock = sock
        self.buf = b""

    def next(self, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete message, have {self.buf!r}")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed, have {self.buf!r}")
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return msg + b"\r\n\r\n"

    def final(self, timeout: float = 5.0) -> bytes:
        """The first response that is not 1xx."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.next(max(0.05, deadline - time.monotonic()))
            if not msg.startswith(b"SIP/2.0 1"):
                return msg


def _client_ctx(ca: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(ca))
    return ctx  # check_hostname stays on: the test certificate names IP 127.0.0.1


def _tls_connect(port: int, ca: Path, cert: Certs | None = None) -> ssl.SSLSocket:
    ctx = _client_ctx(ca)
    if cert is not None:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls-certs"))


@pytest.fixture(scope="module")
def server(certs: Certs, tmp_path_factory: pytest.TempPathFactory):
    ports = {
        "udp": free_port("udp"),
        "tls": free_port("tcp"),
        "callee": free_port("udp"),
        "tls_callee": free_port("tcp"),
    }
    cfg = tmp_path_factory.mktemp("tls-run") / "tls.cfg"
    cfg.write_text(CFG.format(**ports, cert=certs.cert, key=certs.key, ca=certs.ca))
    with PysipsProcess(cfg) as px:
        yield px, ports


def test_options_over_tls_gets_the_script_reply(server, certs: Certs):
    px, ports = server
    with _tls_connect(ports["tls"], certs.ca) as s:
        assert s.version() in ("TLSv1.2", "TLSv1.3")
        local = s.getsockname()
        s.sendall(_request("OPTIONS", "bob", f"SIP/2.0/TLS 127.0.0.1:{local[1]}", "opt1"))
        resp = TLSReader(s).final()
    assert resp.startswith(b"SIP/2.0 200 Hello TLS\r\n"), resp
    assert _header_lines(resp, "Call-ID") == ["opt1@127.0.0.1"]
    assert f"listening on tls:127.0.0.1:{ports['tls']}" in px.output()


def test_invite_from_tls_client_relayed_to_udp_callee(server, certs: Certs):
    """Stateful relay TLS -> UDP: the callee sees our UDP Via and a Record-Route naming the TLS side; its 200
    comes back to the caller over the caller's TLS connection."""
    _px, ports = server
    seen: list[bytes] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as callee:
        callee.bind(("127.0.0.1", ports["callee"]))
        callee.settimeout(5)

        def answer() -> None:
            try:
                data, addr = callee.recvfrom(65535)
            except OSError:
                return
            seen.append(data)
            callee.sendto(_answer(data), addr)

        th = threading.Thread(target=answer, daemon=True)
        th.start()
        with _tls_connect(ports["tls"], certs.ca) as s:
            local = s.getsockname()
            s.sendall(_request("INVITE", "toudp", f"SIP/2.0/TLS 127.0.0.1:{local[1]}", "inv1"))
            resp = TLSReader(s).final(timeout=8)
        th.join(5)
    assert seen, "the callee got nothing"
    vias = _header_lines(seen[0], "Via")
    assert vias[0].startswith(f"SIP/2.0/UDP 127.0.0.1:{ports['udp']};")
    assert vias[1].startswith(f"SIP/2.0/TLS 127.0.0.1:{local[1]}")
    rr = ",".join(_header_lines(seen[0], "Record-Route"))
    assert f"127.0.0.1:{ports['tls']};transport=tls" in rr, rr
    assert resp.startswith(b"SIP/2.0 200 OK\r\n"), resp
    assert _header_lines(resp, "Call-ID") == ["inv1@127.0.0.1"]
    assert _header_lines(resp, "Via") == [vias[1]]


def test_udp_caller_relayed_to_tls_server_verified_against_the_ca(server, certs: Certs):
    """$du = ...;transport=tls: pysips opens a TLS connection (checking the server's certificate against
    ca_list), sends the request with a TLS Via, and relays the 200 back to the UDP caller."""
    _px, ports = server
    seen: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", ports["tls_callee"]))
    listener.settimeout(5)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(str(certs.cert), str(certs.key))

    def tls_callee() -> None:
        try:
            raw, _ = listener.accept()
            with sctx.wrap_socket(raw, server_side=True) as conn:
                req = TLSReader(conn).next(timeout=5)
                seen.append(req)
                conn.sendall(_answer(req))
                time.sleep(0.3)  # let the reply be read before the connection goes
        except OSError as e:
            seen.append(repr(e).encode())

    th = threading.Thread(target=tls_callee, daemon=True)
    th.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller:
            caller.bind(("127.0.0.1", 0))
            caller.settimeout(0.5)
            port = caller.getsockname()[1]
            caller.sendto(
                _request("INVITE", "totls", f"SIP/2.0/UDP 127.0.0.1:{port}", "inv2"),
                ("127.0.0.1", ports["udp"]),
            )
            final = None
            deadline = time.monotonic() + 8
            while final is None and time.monotonic() < deadline:
                try:
                    data = caller.recvfrom(65535)[0]
                except TimeoutError:
                    continue
                if not data.startswith(b"SIP/2.0 1"):
                    final = data
        th.join(5)
    finally:
        listener.close()
    assert seen and seen[0].startswith(b"INVITE sip:totls@127.0.0.1 SIP/2.0\r\n"), seen
    vias = _header_lines(seen[0], "Via")
    assert vias[0].startswith(f"SIP/2.0/TLS 127.0.0.1:{ports['tls']};")
    assert final is not None and final.startswith(b"SIP/2.0 200 OK\r\n"), final
    assert _header_lines(final, "Call-ID") == ["inv2@127.0.0.1"]


@pytest.mark.parametrize("with_cert", [True, False])
def test_is_peer_verified(server, certs: Certs, with_cert: bool):
    """verify_cert 1, require_cert 0: a client may connect without a certificate; one that sends a certificate
    signed by the CA is verified."""
    _px, ports = server
    with _tls_connect(ports["tls"], certs.ca, certs if with_cert else None) as s:
        local = s.getsockname()
        s.sendall(_request("OPTIONS", "verify", f"SIP/2.0/TLS 127.0.0.1:{local[1]}", f"ver{int(with_cert)}"))
        resp = TLSReader(s).final()
    expected = b"SIP/2.0 200 Peer verified\r\n" if with_cert else b"SIP/2.0 200 Peer not verified\r\n"
    assert resp.startswith(expected), resp


def test_tls_server_with_a_certificate_the_ca_did_not_sign_gets_nothing(server, certs: Certs):
    """verify_cert 1 on the client side: pysips refuses a server certificate not signed by ca_list (here a
    self-signed one) and sends no request over that connection."""
    _px, ports = server
    outcome: list[object] = []
    listener = socket.create_server(("127.0.0.1", ports["tls_callee"]))
    listener.settimeout(5)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(str(certs.other_ca), str(certs.other_ca.with_suffix(".key")))

    def tls_callee() -> None:
        try:
            raw, _ = listener.accept()
            raw.settimeout(5)
            with sctx.wrap_socket(raw, server_side=True) as conn:
                outcome.append(conn.recv(65536))
        except (OSError, ssl.SSLError) as e:
            outcome.append(e)

    th = threading.Thread(target=tls_callee, daemon=True)
    th.start()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller:
            caller.bind(("127.0.0.1", 0))
            port = caller.getsockname()[1]
            request = _request("INVITE", "totls", f"SIP/2.0/UDP 127.0.0.1:{port}", "inv3")
            caller.sendto(request, ("127.0.0.1", ports["udp"]))
            th.join(6)
    finally:
        listener.close()
    assert len(outcome) == 1, outcome
    assert isinstance(outcome[0], ssl.SSLError), outcome  # the alert pysips sent: unknown CA


def _run_refused(cfg: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pysips", "run", str(cfg)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cfg.parent,
    )


def test_tls_socket_without_tls_mgm_is_refused(tmp_path: Path):
    cfg = tmp_path / "no-mgm.cfg"
    cfg.write_text(f'socket=tls:127.0.0.1:{free_port("tcp")}\nloadmodule "proto_tls.so"\nroute {{ exit; }}\n')
    proc = _run_refused(cfg)
    assert proc.returncode == 1
    assert 'loadmodule "tls_mgm.so"' in proc.stderr, proc.stderr


def test_missing_certificate_is_refused_naming_the_modparam(tmp_path: Path):
    cfg = tmp_path / "no-cert.cfg"
    cfg.write_text(
        f'socket=tls:127.0.0.1:{free_port("tcp")}\nloadmodule "proto_tls.so"\nloadmodule "tls_mgm.so"\n'
        'modparam("tls_mgm", "certificate", "/nonexistent/cert.pem")\nroute { exit; }\n'
    )
    proc = _run_refused(cfg)
    assert proc.returncode == 1
    assert 'modparam "certificate"' in proc.stderr and "/nonexistent/cert.pem" in proc.stderr, proc.stderr


def test_default_certificate_is_refused(tmp_path: Path):
    """No certificate modparam: OpenSIPS would read CFG_DIR/tls/cert.pem; pysips says which modparam to set."""
    cfg = tmp_path / "default-cert.cfg"
    cfg.write_text(
        f'socket=tls:127.0.0.1:{free_port("tcp")}\nloadmodule "proto_tls.so"\nloadmodule "tls_mgm.so"\n'
        "route { exit; }\n"
    )
    proc = _run_refused(cfg)
    assert proc.returncode == 1
    assert '"certificate"' in proc.stderr and "CFG_DIR/tls/cert.pem" in proc.stderr, proc.stderr
