"""dialplan: dp_translate over a db_text table, 3.x and 2.x forms, priorities, match ops, attrs, dp_reload."""

from __future__ import annotations

from pathlib import Path

import pytest

from pysips.errors import ConfigError
from pysips.modules import dialplan as dp
from pysips.script import compiler, parser
from tests.modules._msgs import make_ctx

HEADER = (
    "id(int,auto) dpid(int) pr(int) match_op(int) match_exp(string) match_flags(int) subst_exp(string,null) "
    "repl_exp(string,null) timerec(string,null) disabled(int) attrs(string,null) \n"
)


def _row(dpid: int, pr: int, op: int, match: str, subst: str = "", repl: str = "", **kw: object) -> str:
    esc = lambda s: str(s).replace("\\", "\\\\").replace(":", "\\:")  # noqa: E731  db_text escapes
    flags, timerec, disabled, attrs = (
        kw.get("flags", 0),
        kw.get("timerec", ""),
        kw.get("disabled", 0),
        kw.get("attrs", ""),
    )
    return f":{dpid}:{pr}:{op}:{esc(match)}:{flags}:{esc(subst)}:{esc(repl)}:{esc(timerec)}:{disabled}:{esc(attrs)}\n"


ROWS = [
    # dpid 0: national numbers -> E.164; priority 1 beats 5
    _row(0, 5, 1, "^0([1-9][0-9]+)$", "^0(.*)$", "+33\\1", attrs="fr"),
    _row(0, 1, 1, "^00([1-9][0-9]+)$", "^00(.*)$", "+\\1", attrs="intl"),
    # dpid 1: exact match (case-insensitive) -> fixed output; a shell pattern; a disabled rule
    _row(1, 1, 0, "VoiceMail", "", "sip:vm@127.0.0.1", flags=1),
    _row(1, 2, 2, "1*", "", "ones"),
    _row(1, 0, 0, "voicemail", "", "disabled", disabled=1),
    # dpid 2: a rule only valid in year 2000 (never now)
    _row(2, 1, 1, ".*", "", "old", timerec="20000101T000000|20000102T000000"),
]


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "db"
    path.mkdir()
    (path / "version").write_text("table_name(string) table_version(int) \ndialplan:5\n")
    (path / "dialplan").write_text(HEADER + "".join(ROWS))
    return f"text://{path}"


def _prog(src: str):  # noqa: ANN202
    script, errs = parser.parse_text(src)
    assert not [e for e in errs if e.severity == "error"], [e.format() for e in errs]
    prog, errs = compiler.compile_script(script)
    assert not [e for e in errs if e.severity == "error"], [e.format() for e in errs]
    return prog


def _run(db: str, body: str, ruri_user: str = "0123456789") -> object:
    prog = _prog(f'loadmodule "dialplan.so"\nmodparam("dialplan", "db_url", "{db}")\nroute {{\n{body}\n}}\n')
    data = (
        f"INVITE sip:{ruri_user}@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
        f"From: <sip:a@x>;tag=1\r\nTo: <sip:{ruri_user}@example.com>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    c = make_ctx(data)
    prog.run("request", None, c)
    return c


def test_3x_form_priority_subst_and_attrs(db: str) -> None:
    c = _run(db, '$var(rc) = dp_translate(0, "$rU", $var(out), $var(attrs));')
    assert c.vars["rc"] == 1 and c.vars["out"] == "+33123456789" and c.vars["attrs"] == "fr"
    c = _run(db, '$var(rc) = dp_translate(0, "$rU", $var(out), $var(attrs));', "0044207")
    assert c.vars["out"] == "+44207" and c.vars["attrs"] == "intl"  # pr 1 tried before pr 5
    c = _run(db, '$var(rc) = dp_translate(0, "abc", $var(out));')
    assert c.vars["rc"] == -1 and "out" not in c.vars


def test_2x_form_reads_and_writes_variables(db: str) -> None:
    c = _run(db, 'dp_translate("0", "$rU/$rU");')
    assert c.msg.ruri.user == "+33123456789"


def test_exact_pattern_disabled_and_timerec_rules(db: str) -> None:
    c = _run(db, 'dp_translate(1, "voicemail", $var(o1)); dp_translate(1, "1234", $var(o2));')
    assert c.vars["o1"] == "sip:vm@127.0.0.1" and c.vars["o2"] == "ones"
    c = _run(db, '$var(rc) = dp_translate(2, "x", $var(o));')
    assert c.vars["rc"] == -1  # its only rule is outside its time recurrence


def test_reload_and_mi(db: str, tmp_path: Path) -> None:
    dp.init({"db_url": db})
    assert dp.mi_dp_translate(None, {"dpid": 1, "input": "1"}) == {"Output": "ones", "ATTRIBUTES": ""}
    (tmp_path / "db" / "dialplan").write_text(HEADER + _row(1, 1, 0, "1", "", "one"))
    assert dp.mi_dp_reload(None) == "OK"
    assert dp.mi_dp_translate(None, {"dpid": 1, "input": "1"})["Output"] == "one"


def test_bad_rules_are_refused_at_load_and_a_foreign_database_gives_no_rules(tmp_path: Path) -> None:
    dp.init(
        {"db_url": "mysql://opensips:x@localhost/opensips"}
    )  # checked elsewhere: no rules here, said at use
    assert dp._DATA.data.rules == {} and "only db_text" in dp._DATA.data.problem
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "dialplan").write_text(HEADER + _row(0, 1, 1, "([", "", "x"))
    with pytest.raises(ConfigError, match="bad regular expression"):
        dp.init({"db_url": f"text://{bad}"})
