"""The real OpenSIPS CLI (PyPI ``opensipscli``) drives a running pysips over mi_http and mi_fifo.

opensips-cli is installed once into a venv cached under /tmp (keyed by its version); the test is skipped, with the
reason, only when that install fails (no network and no cached venv). Also checked here: ``pysips mi`` against the
same server, prometheus at /metrics, statistics moving with real SIP traffic, reload_routes, and module commands
(ds_list / ds_set_state of dispatcher, b2b_list of b2b_logic).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.harness import PysipsProcess, free_port

OPENSIPSCLI_VERSION = "0.4.1"
VENV = Path(f"/tmp/pysips-opensipscli-venv-{OPENSIPSCLI_VERSION}")


def _opensips_cli() -> Path:
    """The opensips-cli executable of the cached venv, creating the venv on first use."""
    exe = VENV / "bin" / "opensips-cli"
    done = VENV / ".pysips-complete"
    if exe.exists() and done.exists():
        return exe
    shutil.rmtree(VENV, ignore_errors=True)
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=120
        )
        pip = subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
             f"opensipscli=={OPENSIPSCLI_VERSION}"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    except (subprocess.SubprocessError, OSError) as e:
        shutil.rmtree(VENV, ignore_errors=True)
        pytest.skip(f"cannot create a venv for opensips-cli: {e}")
    if pip.returncode != 0 or not exe.exists():
        shutil.rmtree(VENV, ignore_errors=True)
        last = (pip.stderr.strip().splitlines() or ["?"])[-1]
        pytest.skip(f"pip install opensipscli=={OPENSIPSCLI_VERSION} failed (offline?): {last}")
    done.write_text("ok\n")
    return exe


@pytest.fixture(scope="module")
def opensips_cli() -> Path:
    return _opensips_cli()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("mi")
    sip_port = free_port("udp")
    http_port = free_port("tcp")
    (d / "dispatcher.list").write_text("1 sip:127.0.0.1:5999 0\n1 sip:127.0.0.1:5998 0\n")
    cfg = d / "mi.cfg"
    cfg.write_text(_cfg(sip_port, http_port, d, 404))
    with PysipsProcess(cfg) as proc:
        yield {"proc": proc, "dir": d, "cfg": cfg, "sip": sip_port, "http": http_port, "fifo": d / "fifo"}


def _cfg(sip_port: int, http_port: int, d: Path, code: int) -> str:
    return f"""
log_level=3
socket=udp:127.0.0.1:{sip_port}
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "httpd.so"
loadmodule "mi_http.so"
loadmodule "mi_fifo.so"
loadmodule "prometheus.so"
loadmodule "dispatcher.so"
loadmodule "b2b_entities.so"
loadmodule "b2b_logic.so"
modparam("httpd", "ip", "127.0.0.1")
modparam("httpd", "port", {http_port})
modparam("mi_fifo", "fifo_name", "{d}/fifo")
modparam("mi_fifo", "reply_dir", "{d}/")
modparam("prometheus", "statistics", "core: tm:inuse_transactions")
modparam("dispatcher", "list_file", "{d}/dispatcher.list")
route {{
    sl_send_reply({code}, "Scripted");
}}
"""


def _cli(exe: Path, srv: dict, transport: str, *cmd: str) -> subprocess.CompletedProcess:
    d: Path = srv["dir"]
    conf = d / f"opensips-cli-{transport}.cfg"
    conf.write_text(
        "[default]\n"
        f"communication_type: {transport}\n"
        f"url: http://127.0.0.1:{srv['http']}/mi\n"
        f"fifo_file: {srv['fifo']}\n"
        f"fifo_file_fallback: {srv['fifo']}\n"
        f"fifo_reply_dir: {d}\n"
        "output_type: pretty-print\n"
    )
    env = dict(os.environ, HOME=str(d))
    return subprocess.run(
        [str(exe), "-f", str(conf), "-x", "mi", *cmd], capture_output=True, text=True, timeout=30, env=env
    )


def _json(res: subprocess.CompletedProcess) -> object:
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _sip_options(port: int, n: int) -> list[bytes]:
    replies = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(3)
        me = s.getsockname()[1]
        for i in range(n):
            msg = (
                f"OPTIONS sip:x@127.0.0.1:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-mi-{os.getpid()}-{i}\r\n"
                f"From: <sip:t@127.0.0.1>;tag=a{i}\r\nTo: <sip:x@127.0.0.1>\r\n"
                f"Call-ID: mi-{os.getpid()}-{i}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            )
            s.sendto(msg.encode(), ("127.0.0.1", port))
            replies.append(s.recvfrom(65535)[0])
    return replies


@pytest.mark.parametrize("transport", ["http", "fifo"])
def test_opensips_cli_core_commands(opensips_cli: Path, server: dict, transport: str) -> None:
    up = _json(_cli(opensips_cli, server, transport, "uptime"))
    assert set(up) == {"Now", "Up since", "Up time"} and up["Up time"].endswith(" [sec]")
    assert _json(_cli(opensips_cli, server, transport, "version"))["Server"].startswith("pysips (")
    stats = _json(_cli(opensips_cli, server, transport, "get_statistics", "core:", "tm:inuse_transactions"))
    assert {"core:rcv_requests", "core:fwd_requests", "core:bad_msg_hdr", "tm:inuse_transactions"} <= set(
        stats
    )
    named = _json(_cli(opensips_cli, server, transport, "log_level", "level=3"))
    assert named == {"New global log level": 3}
    bad = _cli(opensips_cli, server, transport, "log_level", "loud")
    assert bad.returncode != 0 and "-32602: Invalid params (Bad type for parameter 'level')" in bad.stderr


def test_statistics_follow_sip_traffic(opensips_cli: Path, server: dict) -> None:
    before = _json(_cli(opensips_cli, server, "http", "get_statistics", "rcv_requests", "sl:sent_replies"))
    replies = _sip_options(server["sip"], 3)
    assert all(r.startswith(b"SIP/2.0 404 Scripted") for r in replies)
    after = _json(_cli(opensips_cli, server, "fifo", "get_statistics", "rcv_requests", "sl:sent_replies"))
    assert after["core:rcv_requests"] == before["core:rcv_requests"] + 3
    assert after["sl:sent_replies"] == before["sl:sent_replies"] + 3
    page = urllib.request.urlopen(f"http://127.0.0.1:{server['http']}/metrics", timeout=5).read().decode()
    assert "# TYPE opensips_rcv_requests counter" in page
    assert f"opensips_rcv_requests {after['core:rcv_requests']}" in page.splitlines()
    assert "opensips_inuse_transactions 0" in page.splitlines()


def test_module_commands_through_opensips_cli(opensips_cli: Path, server: dict) -> None:
    which = _json(_cli(opensips_cli, server, "http", "which"))
    assert "ds_list" in which and "dispatcher:list" in which and "b2b_list" in which
    listed = _json(_cli(opensips_cli, server, "http", "ds_list"))
    dests = listed["PARTITIONS"][0]["SETS"][0]["Destinations"]
    assert [d["URI"] for d in dests] == ["sip:127.0.0.1:5999", "sip:127.0.0.1:5998"]
    ok = _json(_cli(opensips_cli, server, "fifo", "ds_set_state", "i", "1", "sip:127.0.0.1:5998"))
    assert ok == "OK"
    listed = _json(_cli(opensips_cli, server, "fifo", "dispatcher:list"))
    states = [d["state"] for d in listed["PARTITIONS"][0]["SETS"][0]["Destinations"]]
    assert states == ["Active", "Inactive"]
    assert _json(_cli(opensips_cli, server, "http", "b2b_list")) == {"Tuples": []}


def test_pysips_mi_client_and_reload_routes(server: dict) -> None:
    def pysips_mi(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pysips.mi_cli", *args], capture_output=True, text=True, timeout=30
        )

    res = pysips_mi("-f", str(server["cfg"]), "uptime")
    assert res.returncode == 0 and "Up time" in json.loads(res.stdout)
    res = pysips_mi("--fifo", str(server["fifo"]), "--reply-dir", str(server["dir"]), "ps")
    assert res.returncode == 0 and json.loads(res.stdout)["Processes"][0]["Type"] == "attendant"
    # a broken script is refused and the running one keeps answering 404
    cfg: Path = server["cfg"]
    good = cfg.read_text()
    cfg.write_text(good.replace('sl_send_reply(404, "Scripted");', "no_such_function();"))
    res = pysips_mi("-f", str(cfg), "reload_routes")
    assert (
        res.returncode == 1 and "error 500: reload failed" in res.stderr and "no_such_function" in res.stderr
    )
    assert _sip_options(server["sip"], 1)[0].startswith(b"SIP/2.0 404 ")
    cfg.write_text(good.replace("sl_send_reply(404,", "sl_send_reply(403,"))
    res = pysips_mi("-f", str(cfg), "reload_routes")
    assert res.returncode == 0 and json.loads(res.stdout) == "OK"
    assert _sip_options(server["sip"], 1)[0].startswith(b"SIP/2.0 403 ")
    cfg.write_text(good)
    assert pysips_mi("-f", str(cfg), "reload_routes").returncode == 0


def test_kill_stops_the_server_cleanly(tmp_path: Path) -> None:
    http_port = free_port("tcp")
    cfg = tmp_path / "kill.cfg"
    cfg.write_text(
        f'socket=udp:127.0.0.1:{free_port("udp")}\nloadmodule "httpd.so"\nloadmodule "mi_http.so"\n'
        f'loadmodule "mi_fifo.so"\nmodparam("httpd", "port", {http_port})\n'
        f'modparam("mi_fifo", "fifo_name", "{tmp_path}/fifo")\nroute {{ exit; }}\n'
    )
    proc = PysipsProcess(cfg).start()
    try:
        assert (tmp_path / "fifo").exists()
        res = subprocess.run(
            [sys.executable, "-m", "pysips.mi_cli", "--url", f"http://127.0.0.1:{http_port}/mi", "kill"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert res.returncode == 0 and json.loads(res.stdout) == "OK"
        assert proc.proc.wait(10) == 0
        assert not (tmp_path / "fifo").exists()  # removed on the way out
    finally:
        proc.stop()
