"""`pysips simulate`: simulate() as data and simulate_main() as the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pysips.cli import main
from pysips.script.compiler import compile_script
from pysips.script.parser import parse_text
from pysips.script.simulate import normalize_message, parse_source, simulate

CFG = """\
loadmodule "sl.so"
loadmodule "sipmsgops.so"
route {
    $var(seen) = $rm;
    $avp(acc) = "42";
    if (is_method("INVITE")) {
        append_hf("X-Sim: yes\\r\\n");
        remove_hf("Contact");
        $du = "sip:10.9.9.9:5070";
        route(tail, "p1");
        sl_send_reply(486, "Busy Here");
        exit;
    }
    sl_send_reply(404, "Not Found");
}
route[tail] {
    xlog("tail $param(1) from $si\\n");
}
"""

REQ = """\
INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1
Max-Forwards: 70
From: <sip:alice@example.org>;tag=abc
To: <sip:bob@example.com>
Call-ID: sim-1
CSeq: 1 INVITE
Contact: <sip:alice@10.0.0.1>
Content-Length: 0

"""


def program(text: str = CFG):
    script, errs = parse_text(text, "sim.cfg")
    assert not errs
    prog, cerrs = compile_script(script)
    assert not [e for e in cerrs if e.severity == "error"], [e.format() for e in cerrs]
    return prog


def test_normalize_message_lf_to_crlf() -> None:
    out = normalize_message("OPTIONS sip:a SIP/2.0\nCall-ID: x\nContent-Length: 3\n\nbody\nline\n")
    assert out == b"OPTIONS sip:a SIP/2.0\r\nCall-ID: x\r\nContent-Length: 12\r\n\r\nbody\r\nline\r\n"
    assert normalize_message("A\nl:0\n\nxy") == b"A\r\nl: 2\r\n\r\nxy"
    # CRLF files are taken as written, wrong Content-Length included
    assert normalize_message(b"A\r\nContent-Length: 9\r\n\r\n") == b"A\r\nContent-Length: 9\r\n\r\n"


ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_REQUEST = ROOT / "tests" / "script" / "requests" / "invite.txt"
# what each example script does with the example INVITE when no database is there (dispatcher finds no
# destination); a change here is a change of behaviour worth a look
EXAMPLE_OUTCOMES = {
    "proxy.cfg": ("relay", None),
    "loadbalancer.cfg": ("reply", 503),
    "b2b-top-hiding.cfg": ("b2b_init_request", None),
    "seed-balance.cfg": ("b2b_init_request", None),
    "tls.cfg": ("relay", None),
    "residential.cfg": ("reply", 407),  # an unauthenticated call from a local user is challenged
}


def test_example_request_file_parses_with_its_sdp() -> None:
    from pysips.sip.message import parse_message

    msg = parse_message(normalize_message(EXAMPLE_REQUEST.read_bytes()))
    assert msg.method == "INVITE"
    assert msg.content_length == len(msg.body) > 0
    assert msg.body.startswith(b"v=0\r\n")


@pytest.mark.parametrize("cfg", sorted(p.name for p in (ROOT / "cfg").glob("*.cfg")))
def test_simulate_every_example_cfg(cfg: str, capsys) -> None:
    rc = main(
        ["simulate", str(ROOT / "cfg" / cfg), "--request", str(EXAMPLE_REQUEST), "--source", "127.0.0.1:5070"]
        + ["--format", "json"]
    )
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["error"] is None
    assert "Max-Forwards: 69" in out["headers_added"]
    kind, code = EXAMPLE_OUTCOMES[cfg]
    assert [a["kind"] for a in out["actions"]][-1] == kind
    if code is not None:
        assert out["actions"][-1]["code"] == code


def test_parse_source() -> None:
    assert parse_source("1.2.3.4:5080") == ("1.2.3.4", 5080)
    assert parse_source("1.2.3.4") == ("1.2.3.4", 5060)
    assert parse_source("[::1]:5070") == ("::1", 5070)


def test_simulate_reports_everything() -> None:
    res = simulate(program(), REQ, "10.0.0.7:5060")
    assert res["rc"] == 0
    assert res["dropped"] is False
    assert res["du"] == "sip:10.9.9.9:5070"
    assert res["ruri"] == "sip:bob@example.com"
    assert res["vars"] == {"seen": "INVITE"}
    assert res["avps"] == {"acc": ["42"]}
    assert res["headers_added"] == ["X-Sim: yes"]
    assert res["headers_removed"] == ["Contact: <sip:alice@10.0.0.1>"]
    assert [a["kind"] for a in res["actions"]] == ["reply"]
    assert res["actions"][0]["code"] == 486
    assert res["logs"] == [[2, "tail p1 from 10.0.0.7\n"]]
    assert res["routes"] == ["route", "route[tail]", "route"]
    assert [ln for _, ln in res["trace"]] == [4, 5, 6, 7, 8, 9, 10, 17, 11, 12]


def test_simulate_main_json(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "a.cfg"
    cfg.write_text(CFG)
    req = tmp_path / "req.sip"
    req.write_text(REQ)
    rc = main(["simulate", str(cfg), "--request", str(req), "--source", "10.0.0.8:5062", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert out["rc"] == 0
    assert out["actions"][0]["reason"] == "Busy Here"
    assert out["logs"][0][1] == "tail p1 from 10.0.0.8\n"


def test_simulate_main_text(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "a.cfg"
    cfg.write_text(CFG)
    req = tmp_path / "req.sip"
    req.write_text(REQ)
    assert main(["simulate", str(cfg), "--request", str(req)]) == 0
    out = capsys.readouterr().out
    assert "return code: 0" in out
    assert "routes: route -> route[tail] -> route" in out
    assert "header added: X-Sim: yes" in out
    assert "action: reply(code=486" in out
    assert "log[2]: tail p1 from 127.0.0.1\naction: reply(" in out


def test_simulate_main_compile_errors_exit_1(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("route {\n    nosuch_fn();\n}\n")
    req = tmp_path / "req.sip"
    req.write_text(REQ)
    assert main(["simulate", str(cfg), "--request", str(req)]) == 1
    err = capsys.readouterr().err
    assert f"{cfg}:2:5: error: unknown command <nosuch_fn>, missing loadmodule?" in err


def test_simulate_main_bad_message(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "a.cfg"
    cfg.write_text(CFG)
    req = tmp_path / "req.sip"
    req.write_text("garbage\n\n")
    assert main(["simulate", str(cfg), "--request", str(req)]) == 1
    assert "not a valid SIP message" in capsys.readouterr().err
