"""Script-layer behaviours added after the first pass: StrInt comparisons, module init hooks and $shv, module
PVs ($T_*, $DLG_*), 2.x parameter forms, deprecated-PV warnings and error_route on parse errors."""

from __future__ import annotations

from typing import Any

import pytest

from pysips.modules import cfgutils, maxfwd, rr, tm
from pysips.script import interp as I
from pysips.script.compiler import compile_script
from pysips.script.context import Context, Env, StrInt
from pysips.script.parser import parse_text
from pysips.script.pvars import parse_pv
from pysips.sip.message import parse_message
from tests.modules._msgs import INVITE

BAD_CONTACT_INVITE = INVITE.replace(b"Contact: <sip:alice@10.0.0.1>", b"Contact: <sip:alice@10.0.0.1")


def compile_text(text: str) -> tuple[Any, list]:
    script, perrs = parse_text(text, "t.cfg")
    assert not [e for e in perrs if e.severity == "error"], [e.format() for e in perrs]
    return compile_script(script)


def program(text: str) -> Any:
    prog, errs = compile_text(text)
    assert not [e for e in errs if e.severity == "error"], [e.format() for e in errs]
    return prog


def logs(ctx: Context) -> list[str]:
    return [a["text"] for a in ctx.env.actions if a["kind"] == "log"]


def invite_ctx(data: bytes = INVITE, **kw: Any) -> Context:
    return Context(parse_message(data), src=("10.0.0.1", 5060), **kw)


# ------------------------------------------------------------------ StrInt comparisons


def test_strint_compares_numerically_with_ints() -> None:
    assert I.cmp_const_int("==", StrInt("5080"), 5080) == 1
    assert I.cmp_const_int(">", StrInt("5080"), 5060) == 1
    assert I.cmp_const_int("==", "5080", 5080) == -1  # a plain string is still an invalid operand
    assert I.cmp_values("==", StrInt("5080"), 5080) == 1
    assert I.cmp_values("<", 5060, StrInt("5080")) == 1
    assert I.cmp_values("==", StrInt("5080"), "5080") == 1


def test_rp_with_explicit_port_equals_int() -> None:
    prog = program(
        'route {\n $ru = "sip:bob@example.com:5080";\n'
        ' if ($rp == 5080) xlog("num");\n if ($rp == "5080") xlog("str");\n'
        ' $var(p) = 5080;\n if ($rp == $var(p)) xlog("var");\n}\n'
    )
    ctx = invite_ctx()
    prog.run("request", None, ctx)
    assert logs(ctx) == ["num", "str", "var"]


# ------------------------------------------------------------------ module init hooks, $shv, varset


def test_init_hooks_receive_resolved_modparams() -> None:
    try:
        program(
            'loadmodule "maxfwd.so"\nloadmodule "rr.so"\nloadmodule "tm.so"\n'
            'modparam("maxfwd", "max_limit", 16)\nmodparam("rr", "enable_full_lr", 1)\n'
            'modparam("tm", "fr_timeout", 7)\nroute { exit; }\n'
        )
        assert maxfwd._settings["max_limit"] == 16
        assert rr._settings["enable_full_lr"] == 1
        assert parse_pv("$T_fr_timeout").get(Context(None)) == 7
    finally:
        maxfwd.init({})
        rr.init({"enable_full_lr": 0})
        tm.init({})


def test_init_hook_error_is_reported_at_the_modparam() -> None:
    try:
        _, errs = compile_text(
            'loadmodule "maxfwd.so"\nmodparam("maxfwd", "max_limit", 999)\nroute { exit; }\n'
        )
        bad = [e for e in errs if e.code == "E227"]
        assert len(bad) == 1 and bad[0].line == 2 and "max_limit must be 1..256" in bad[0].message
    finally:
        maxfwd.init({})


def test_cfgutils_shv_and_varset_reach_the_program() -> None:
    prog = program(
        'loadmodule "cfgutils.so"\nmodparam("cfgutils", "shvset", "gw=s:10.0.0.9")\n'
        'modparam("cfgutils", "varset", "n=i:3")\n'
        'route {\n xlog("$shv(gw) $var(n)");\n $shv(gw) = "x";\n}\n'
    )
    assert prog.shv["gw"] == "10.0.0.9"
    assert prog.initial_vars == {"n": 3}
    assert prog.shv is cfgutils.shared_vars()
    ctx = invite_ctx(vars=dict(prog.initial_vars), shv=prog.shv)
    prog.run("request", None, ctx)
    assert logs(ctx) == ["10.0.0.9 3"]
    assert prog.shv["gw"] == "x"  # one table for every Context
    prog.shv["gw"] = "10.0.0.9"


# ------------------------------------------------------------------ module pseudo-variables


def test_tm_pvs() -> None:
    ctx = invite_ctx()
    assert parse_pv("$T_reply_code").get(ctx) == 0
    assert parse_pv("$T_branch_idx").get(ctx) is None  # only in branch / onreply / failure routes
    assert parse_pv("$T_ruri").get(ctx) == "sip:bob@example.com"
    assert parse_pv("$T_id").get(ctx) is None
    fr = parse_pv("$T_fr_inv_timeout")
    assert fr.writable and fr.get(ctx) == 120
    fr.set(ctx, "=", 30)
    assert fr.get(ctx) == 30 and ctx.t_fr_inv_timeout == 30
    fr.set(ctx, "=", None)
    assert fr.get(ctx) == 120
    with pytest.raises(Exception, match="non-int"):
        fr.set(ctx, "=", "abc")

    class TEnv(Env):
        def t_reply_code(self, ctx: Context) -> int:
            return 486

    ctx.env = TEnv()
    assert parse_pv("$T_reply_code").get(ctx) == 486
    ctx.route_type = "failure"
    ctx.t_branch_idx = 2
    assert parse_pv("$T_branch_idx").get(ctx) == 2


def test_dialog_pvs_compile_and_read_null_without_a_dialog() -> None:
    prog = program(
        'loadmodule "tm.so"\nloadmodule "rr.so"\nloadmodule "dialog.so"\nroute {\n'
        ' if ($DLG_status == NULL) xlog("no dlg");\n xlog("$DLG_dir $DLG_lifetime $DLG_did $dlg_val(x)");\n}\n'
    )
    ctx = invite_ctx()
    prog.run("request", None, ctx)
    assert logs(ctx) == ["no dlg", "<null> <null> <null> <null>"]


def test_uri_db_2x_names_are_declared() -> None:
    _, errs = compile_text(
        'loadmodule "uri_db.so"\nroute {\n if (!db_check_to() || !db_check_from() || !db_does_uri_exist()) exit;\n}\n'
    )
    assert not [e for e in errs if e.severity == "error"]
    assert {e.code for e in errs} == set()  # implemented now (check_to / check_from / does_uri_exist)


def test_env_is_myself() -> None:
    env = Env()
    assert env.is_myself("127.0.0.1") and env.is_myself("[::1]", 5060) and env.is_myself("localhost")
    assert not env.is_myself("10.1.1.1")
    env.add_local_address("10.1.1.1", 5070)
    assert env.is_myself("10.1.1.1", 5070) and env.is_myself("10.1.1.1")
    assert not env.is_myself("10.1.1.1", 5060)
    prog = program('route {\n if (is_myself("10.1.1.1:5070")) xlog("me");\n}\n')
    ctx = invite_ctx(env=env)
    prog.run("request", None, ctx)
    assert logs(ctx) == ["me"]


# ------------------------------------------------------------------ 2.x parameter forms, regex flavour, warnings


def test_2x_setbflag_takes_branch_index_first() -> None:
    script, _ = parse_text("route {\n setbflag(0, 3);\n}\n", "t.cfg", generation=2)
    prog2, errs = compile_script(script)
    assert not [e for e in errs if e.severity == "error"]
    ctx = invite_ctx()
    prog2.run("request", None, ctx)
    assert ctx.bflags == 1 << 3
    script3, _ = parse_text('route {\n setbflag("3", 0);\n}\n', "t.cfg", generation=3)
    prog3, _ = compile_script(script3)
    ctx3 = invite_ctx()
    prog3.run("request", None, ctx3)
    assert ctx3.bflags == 1 << 3


def test_2x_t_on_failure_zero_needs_no_route() -> None:
    script, _ = parse_text('loadmodule "tm.so"\nroute {\n t_on_failure("0");\n}\n', "t.cfg", generation=2)
    _, errs = compile_script(script)
    assert not [e for e in errs if e.severity == "error"], [e.format() for e in errs]


def test_module_regex_params_use_newline_mode() -> None:
    # search() matches header lines: ^ anchors at each line start only with REG_NEWLINE
    prog = program('loadmodule "textops.so"\nroute {\n if (search("^Call-ID: a84b")) xlog("hit");\n}\n')
    ctx = invite_ctx()
    prog.run("request", None, ctx)
    assert logs(ctx) == ["hit"]


def test_deprecated_pv_is_a_warning() -> None:
    script, _ = parse_text('route {\n xlog("$Ri");\n $var(p) = $Rp;\n}\n', "t.cfg", generation=3)
    _, errs = compile_script(script)
    warns = [e for e in errs if e.code == "E226"]
    assert [(w.severity, w.line) for w in warns] == [("warning", 2), ("warning", 3)]
    assert "use $socket_in(ip)" in warns[0].message


# ------------------------------------------------------------------ error_route


ERROR_SCRIPT = (
    'loadmodule "sl.so"\n'
    'route {\n xlog("ct=$ct");\n xlog("still here");\n}\n'
    'error_route {\n xlog("err $err.class $err.level $err.rcode $err.rreason");\n'
    " sl_send_reply($err.rcode, $err.rreason);\n exit;\n}\n"
)


def test_parse_error_in_a_route_runs_error_route() -> None:
    prog = program(ERROR_SCRIPT)
    ctx = invite_ctx(BAD_CONTACT_INVITE)
    assert prog.run("request", None, ctx) == 0
    out = logs(ctx)
    assert out[0] == "ct=<null>"
    assert out[1] == "err 1 3 400 Bad Request"
    assert "still here" not in out  # error_route's exit ends the run
    replies = [a for a in ctx.env.actions if a["kind"] == "reply"]
    assert replies and replies[0]["code"] == 400
    assert ctx.err_class == 0  # reset after error_route


def test_no_error_route_keeps_going() -> None:
    prog = program('route {\n xlog("ct=$ct");\n xlog("still here");\n}\n')
    ctx = invite_ctx(BAD_CONTACT_INVITE)
    prog.run("request", None, ctx)
    assert logs(ctx) == ["ct=<null>", "still here"]


def test_core_can_run_error_route_for_an_unparsable_message() -> None:
    prog = program(ERROR_SCRIPT)
    ctx = Context(None, route_type="error")
    ctx.err_class, ctx.err_level, ctx.err_info = 1, 3, "bad Via"
    ctx.err_rcode, ctx.err_rreason = 400, "Bad Request"
    assert prog.run("error", None, ctx) == 0
    assert logs(ctx)[0] == "err 1 3 400 Bad Request"


def test_simulate_starts_from_varset_and_shvset() -> None:
    from pysips.script.simulate import simulate

    prog = program(
        'loadmodule "cfgutils.so"\nmodparam("cfgutils", "shvset", "lim=i:7")\n'
        'modparam("cfgutils", "varset", "who=s:me")\nroute {\n xlog("$var(who) $shv(lim)");\n}\n'
    )
    res = simulate(prog, INVITE)
    assert [t for _, t in res["logs"]] == ["me 7"]
