"""Load-time checks of pysips.script.compiler: codes, positions, source lines, hints, severities."""

from __future__ import annotations

import dataclasses

import pytest

from pysips.modules import INT, STR, FunctionSpec, ModuleSpec, ParamSpec, load_registry
from pysips.script import ast as A
from pysips.script.compiler import ERROR_CODES, compile_script
from pysips.script.context import Context
from pysips.script.parser import parse_text


def check(text: str, **kw: object) -> tuple[object, list]:
    script, perrors = parse_text(text, "t.cfg")
    assert not [e for e in perrors if e.severity == "error"], [e.format() for e in perrors]
    return compile_script(script, **kw)


def errors_of(text: str, **kw: object) -> list:
    return [e for e in check(text, **kw)[1] if e.severity == "error"]


def test_unknown_function_full_diagnostic() -> None:
    errs = errors_of("route {\n    $var(a) = 1;\n    foo_bar(1);\n}\n")
    assert len(errs) == 1
    e = errs[0]
    assert (e.code, e.file, e.line, e.column) == ("E201", "t.cfg", 3, 5)
    assert e.message == "unknown command <foo_bar>, missing loadmodule?"
    assert e.source_line.strip() == "foo_bar(1);"
    assert e.format().splitlines()[0] == "t.cfg:3:5: error: unknown command <foo_bar>, missing loadmodule?"
    assert e.format().splitlines()[2] == "        ^"


def test_all_errors_collected_in_order() -> None:
    errs = errors_of('route {\n  a1();\n  route(nope);\n  $fu = "x";\n  a2();\n}\n')
    assert [(e.line, e.code) for e in errs] == [(2, "E201"), (3, "E207"), (4, "E215"), (5, "E201")]


def test_renamed_function_hint() -> None:
    (e,) = errors_of('route {\n  rewriteuri_x("a");\n}\n') or [None]
    assert e.code == "E201"
    errs = errors_of("route {\n  sl_send_reply_2();\n}\n")
    assert "renamed sl_send_reply()" in errs[0].hint


def test_missing_loadmodule() -> None:
    (e,) = errors_of('route {\n  sl_send_reply(404, "x");\n}\n')
    assert e.code == "E203"
    assert 'missing loadmodule "sl.so"' in e.message


def test_arity_and_hint() -> None:
    (e,) = errors_of('loadmodule "sl.so"\nroute {\n  sl_send_reply(404);\n}\n')
    assert e.code == "E204"
    assert e.message == "function sl_send_reply() takes 2 parameters, 1 given"
    assert e.hint.startswith("sl_send_reply(int")


def test_int_param_non_numeric_string() -> None:
    (e,) = errors_of('loadmodule "sl.so"\nroute {\n  sl_send_reply("abc", "x");\n}\n')
    assert e.code == "E205"
    assert 'expects an integer, got the string "abc"' in e.message
    assert e.column == 17


def test_route_type_checked_through_subroutes() -> None:
    text = (
        'loadmodule "sl.so"\n'
        'route { xlog("x"); }\n'
        "onreply_route[r] { route(helper); }\n"
        'route[helper] { sl_send_reply(404, "x"); }\n'
    )
    (e,) = errors_of(text)
    assert e.code == "E206"
    assert e.line == 4
    assert e.message == "command sl_send_reply() cannot be used in the block onreply_route"
    assert "allowed in: error_route, route" in e.hint


def test_route_type_ok_when_only_reached_from_request() -> None:
    text = 'loadmodule "sl.so"\nroute { route(helper); }\nroute[helper] { sl_send_reply(404, "x"); }\n'
    assert errors_of(text) == []


def test_route_defined_twice_points_to_first() -> None:
    (e,) = errors_of('route { xlog("a"); }\nroute[x] { exit; }\nroute[x] { exit; }\n')
    assert e.code == "E208"
    assert e.line == 3
    assert "first at t.cfg:2" in e.message


def test_route_zero_is_main() -> None:
    (e,) = errors_of('route { xlog("a"); }\nroute[0] { exit; }\n')
    assert e.code == "E208"


def test_regex_error_column() -> None:
    (e,) = errors_of('route {\n  if ($rU =~ "a(b") { exit; }\n}\n')
    assert e.code == "E213"
    assert e.line == 2 and e.column == 14


def test_pv_error_column_inside_format_string() -> None:
    errs = errors_of('route {\n  xlog("abc $nosuch def");\n}\n')
    assert len(errs) == 1
    assert errs[0].line == 2
    assert errs[0].column == 14  # the PV name inside the string (pvars offsets point past the $)


def test_readonly_and_transformation_lhs() -> None:
    errs = errors_of('route {\n  $fu = "x";\n  $(var(a){s.len}) = 1;\n}\n')
    assert [e.code for e in errs] == ["E215", "E216"]
    assert "uac_replace_from" in errs[0].hint


def test_comparison_constant_left() -> None:
    script = A.Script("h.cfg")
    p = A.Pos("h.cfg", 1, 5)
    cond = A.Compare("==", A.Const(1, p), A.PVRef("$var(x)", p), p)
    script.routes = [A.RouteDef("request", None, A.Block((A.If(cond, A.Block(()), None, p),)), p)]
    _, errs = compile_script(script)
    assert [e.code for e in errs] == ["E217"]
    assert "swap the operands" in errs[0].hint


def test_break_outside_loop_hand_built() -> None:
    script = A.Script("h.cfg")
    p = A.Pos("h.cfg", 2, 3)
    script.routes = [A.RouteDef("request", None, A.Block((A.Break(p),)), p)]
    _, errs = compile_script(script)
    assert [(e.code, e.line, e.column) for e in errs] == [("E218", 2, 3)]


def test_break_inside_switch_ok() -> None:
    assert errors_of('route {\n switch ($rm) { case "A": break; }\n}\n') == []


def test_modparam_checks() -> None:
    text = (
        'loadmodule "maxfwd.so"\n'
        'modparam("nosuch", "p", 1)\n'
        'modparam("maxfwd", "no_param", 1)\n'
        'modparam("maxfwd", "max_limit", "abc")\n'
        "route { exit; }\n"
    )
    errs = errors_of(text)
    assert [(e.line, e.code) for e in errs] == [(2, "E210"), (3, "E211"), (4, "E212")]


def test_modparam_values_resolved() -> None:
    prog, errs = check('loadmodule "maxfwd.so"\nmodparam("maxfwd", "max_limit", 16)\nroute { exit; }\n')
    assert errs == []
    assert prog.modparams["maxfwd"]["max_limit"] == 16


def test_modparam_module_regex() -> None:
    reg = load_registry()
    text = 'loadmodule "sl.so"\nloadmodule "maxfwd.so"\nmodparam("max.*", "max_limit", 20)\nroute { exit; }\n'
    prog, errs = check(text, registry=reg)
    assert [e for e in errs if e.severity == "error"] == []
    assert prog.modparams["maxfwd"]["max_limit"] == 20


def test_unknown_module() -> None:
    (e,) = errors_of('loadmodule "nosuch.so"\nroute { exit; }\n')
    assert e.code == "E220"
    assert e.line == 1


def test_declared_but_unimplemented_is_warning() -> None:
    prog, errs = check('loadmodule "msilo.so"\nroute {\n  m_store();\n}\n')
    assert [(e.severity, e.code) for e in errs] == [("warning", "E219")]
    assert "declared but not implemented by pysips yet" in errs[0].message
    ctx = Context(None)
    assert prog.run("request", None, ctx) == -1
    assert any("not implemented" in a["text"] for a in ctx.env.actions)


def test_known_unimplemented_function_is_warning_not_unknown() -> None:
    """A real OpenSIPS function no pysips module declares: a warning E202 naming its module."""
    fake = {"core": load_registry()["core"]}
    script, _ = parse_text("route {\n  t_relay();\n}\n", "t.cfg")
    import pysips.modules as M

    orig = M.known_unimplemented_functions
    M.known_unimplemented_functions = lambda: {"t_relay": "tm"}
    try:
        prog, errs = compile_script(script, registry=fake)
    finally:
        M.known_unimplemented_functions = orig
    assert [(e.severity, e.code) for e in errs] == [("warning", "E202")]
    assert errs[0].message == "t_relay is an OpenSIPS function (module tm) that pysips does not implement"


def test_fixup_error_reported() -> None:
    def bad_fixup(v: object) -> object:
        raise ValueError("not a valid thing")

    mod = ModuleSpec.build(
        "fx",
        functions=[FunctionSpec("fx_f", (ParamSpec(STR, fixup=bad_fixup),), impl=lambda ctx, a: 1)],
    )
    reg = dict(load_registry(), fx=mod)
    errs = errors_of('loadmodule "fx.so"\nroute {\n  fx_f("zzz");\n}\n', registry=reg)
    assert [(e.code, e.message) for e in errs] == [
        ("E222", "parameter 1 of fx_f(): not a valid thing"),
    ]


def test_constant_params_converted_once() -> None:
    seen = []

    def impl(ctx: object, n: int, s: str) -> int:
        seen.append((n, s))
        return 1

    mod = ModuleSpec.build(
        "fx", functions=[FunctionSpec("fx_f", (ParamSpec(INT), ParamSpec(STR)), impl=impl)]
    )
    reg = dict(load_registry(), fx=mod)
    prog, errs = check(
        'loadmodule "fx.so"\nroute {\n  fx_f("12", "a$$b");\n  fx_f($var(n), "$rm");\n}\n', registry=reg
    )
    assert [(e.severity, e.code) for e in errs] == [("warning", "E205")]  # 3.x: "12" for an int
    ctx = Context(None)
    ctx.vars["n"] = "7"
    prog.run("request", None, ctx)
    assert seen == [(12, "a$b"), (7, "<null>")]


def test_error_codes_are_documented() -> None:
    assert all(code.startswith("E2") for code in ERROR_CODES)


@pytest.mark.parametrize(
    "snippet,code",
    [
        ("for ($var(v) in $avp(a)) { exit; }", "E221"),
        ('xlog("L_LOUD", "x");', "E223"),
        ("route(nowhere);", "E207"),
    ],
)
def test_misc_codes(snippet: str, code: str) -> None:
    errs = errors_of(f"route {{\n{snippet}\n}}\n")
    assert [e.code for e in errs] == [code]


def test_program_api() -> None:
    prog, errs = check("route { exit; }\nfailure_route[f] { exit; }\nroute[sub] { return(2); }\n")
    assert errs == []
    assert prog.has_route("request") and prog.has_route("failure", "f") and prog.has_route("request", "sub")
    assert set(prog.routes) == {("request", None), ("failure", "f"), ("request", "sub")}
    assert prog.run("request", "sub", Context(None)) == 2


def test_registry_stub_keeps_tables_intact() -> None:
    """Compiling with a modified registry does not touch the shared one."""
    reg = load_registry()
    core = reg["core"]
    fake = dict(reg, core=dataclasses.replace(core, functions={}))
    errs = errors_of("route {\n  setflag(1);\n}\n", registry=fake)
    assert [e.code for e in errs] == ["E201"]
    assert "setflag" in load_registry()["core"].functions
