"""Digest authentication end to end: SIPp registers with a username/password (-au/-ap) against `pysips run`
with www_challenge / www_authorize over a db_text subscriber table; a wrong password gets 403."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from tests.e2e.harness import SIPP, PysipsProcess, free_port, needs_sipp

pytestmark = needs_sipp

SCENARIO = Path(__file__).parent / "scenarios_auth" / "uac_register_auth.xml"

CFG = """
socket=udp:127.0.0.1:{port}
loadmodule "sl.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("auth_db", "db_url", "text://{db}")
route {{
    if (is_method("REGISTER")) {{
        $var(rc) = www_authorize("", "subscriber");
        if ($var(rc) == -2) {{ send_reply(403, "Forbidden"); exit; }}
        if ($var(rc) < 0) {{ www_challenge("", "auth"); exit; }}
        consume_credentials();
        send_reply(200, "OK");
        exit;
    }}
    send_reply(403, "Forbidden");
}}
"""


def _sipp(port: int, user: str, password: str, tmp: Path) -> subprocess.CompletedProcess:
    assert SIPP
    cmd = [SIPP, f"127.0.0.1:{port}", "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(free_port()),
           "-s", user, "-au", user, "-ap", password, "-m", "3", "-r", "10", "-nostdin",
           "-timeout", "10s", "-timeout_error"]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=tmp)


def test_register_with_digest_auth(tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    ha1 = hashlib.md5(b"alice:example.com:secret").hexdigest()
    (db / "subscriber").write_text(
        f"id(int,auto) username(string) domain(string) ha1(string) \n:alice:example.com:{ha1}\n"
    )
    port = free_port()
    cfg = tmp_path / "auth.cfg"
    cfg.write_text(CFG.format(port=port, db=db))
    with PysipsProcess(cfg):
        ok = _sipp(port, "alice", "secret", tmp_path)
        assert ok.returncode == 0, ok.stderr[-2000:]
        bad = _sipp(port, "alice", "wrong", tmp_path)
        assert bad.returncode != 0  # 403 instead of 200
