"""Module functions called through the real parser + compiler (3.x typed and 2.x quoted parameters)."""

from __future__ import annotations

import pytest

from pysips.modules import cachedb_local, rr
from tests.modules._msgs import make_ctx

parser = pytest.importorskip("pysips.script.parser")
compiler = pytest.importorskip("pysips.script.compiler")

SCRIPT_3X = r"""
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
loadmodule "textops.so"
loadmodule "cfgutils.so"
route {
    if (!mf_process_maxfwd_header(10)) { sl_send_reply(483, "Too Many Hops"); exit; }
    if (has_totag()) { if (loose_route()) { t_relay(); exit; } }
    setflag("ACC");
    if (isflagset("ACC")) append_hf("X-Acc: yes\r\n");
    subst('/^(To: )Bob/\1Robert/');
    record_route();
    t_on_failure("missed");
    cache_store("local", "last", "$ru");
    cache_fetch("local", "last", $var(x));
    if (check_time_rec("20000101T000000")) $var(t) = "on";
    if (!t_relay("no-auto-477")) sl_reply_error();
    exit;
}
failure_route[missed] { if (t_check_status("486")) send_reply(480, "Gone"); }
"""

SCRIPT_2X = r"""
children=4
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "textops.so"
loadmodule "xlog.so"
loadmodule "uri.so"
modparam("tm", "fr_timer", 10)
route {
    if (!has_totag()) setflag(1);
    if (is_method("INVITE") && isflagset(1)) { rewriteuri("sip:carol@10.0.0.7"); }
    if (search("^Call-ID: a84")) append_hf("X-Found: 1\r\n");
    t_on_failure("1");
    if (!t_relay("0x02")) { sl_send_reply("500", "err"); }
    exit;
}
failure_route[1] { if (t_check_status("486")) { revert_uri(); t_relay(); } }
"""


def _compile(src: str):  # noqa: ANN202
    script, errs = parser.parse_text(src)
    assert not [e for e in errs if e.severity == "error"], [e.format() for e in errs]
    prog, errs = compiler.compile_script(script)
    assert not [e for e in errs if e.severity == "error"], [e.format() for e in errs]
    return prog


def test_3x_script() -> None:
    cachedb_local.reset_collections()
    rr.init({})
    prog = _compile(SCRIPT_3X)
    c = make_ctx()
    prog.run("request", None, c)
    out = c.msg.to_bytes()
    assert b"\r\nMax-Forwards: 69\r\n" in out
    assert b"\r\nX-Acc: yes\r\n" in out
    assert b"\r\nTo: Robert <sip:bob@example.com>\r\n" in out
    assert b"Record-Route: <sip:127.0.0.1;lr;ftag=1928301774>\r\n" in out
    assert c.t_on_failure == "missed"
    assert c.vars["x"] == "sip:bob@example.com" and c.vars["t"] == "on"
    assert [a for a in c.env.actions if a["kind"] == "relay"] == [
        {"kind": "relay", "flags": 2, "outbound": None, "ruri": "sip:bob@example.com", "du": None}
    ]


def test_2x_script() -> None:
    prog = _compile(SCRIPT_2X)
    c = make_ctx()
    prog.run("request", None, c)
    assert c.msg.get_header("X-Found") == "1"  # search() regexes use REG_NEWLINE: ^ matches at line starts
    assert str(c.msg.ruri) == "sip:carol@10.0.0.7"
    assert c.t_on_failure == "1" and c.flags == 2
    assert [a["flags"] for a in c.env.actions if a["kind"] == "relay"] == [2]


def test_is_avp_set_takes_the_avp_name_as_written() -> None:
    """is_avp_set("$avp(x)"): the quoted parameter names the AVP (not its value), with an optional index."""
    prog = _compile(
        r"""
loadmodule "avpops.so"
route {
    if (is_avp_set("$avp(none)")) $var(r) = "wrong";
    $avp(x) = "";
    if (is_avp_set("$avp(x)") && !is_avp_set("$avp(x)[1]")) $var(r) = "set";
    $avp(x) = "second";
    if (is_avp_set("$avp(x)[1]")) $var(r) = $var(r) + ",two";
}
"""
    )
    c = make_ctx()
    prog.run("request", None, c)
    assert c.vars["r"] == "set,two"
    script, _ = parser.parse_text('loadmodule "avpops.so"\nroute { is_avp_set("x"); }\n')
    _, errs = compiler.compile_script(script)
    assert any("expected an AVP" in e.message for e in errs)
