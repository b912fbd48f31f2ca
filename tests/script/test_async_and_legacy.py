"""async()/launch(), bare `return`, bare-word arguments, Program.unimplemented and 1.x conditions in 2.x/3.x
scripts (script-layer follow-ups, third pass)."""

from __future__ import annotations

from typing import Any

import pytest

from pysips.script import ast as A
from pysips.script.compiler import compile_script
from pysips.script.context import Context
from pysips.script.parser import parse_text
from pysips.sip.message import parse_message
from tests.modules._msgs import INVITE


def compile_text(text: str, **kw: Any) -> tuple[Any, list]:
    script, perrs = parse_text(text, "t.cfg", **kw)
    assert not [e for e in perrs if e.severity == "error"], [e.format() for e in perrs]
    return compile_script(script)


def program(text: str) -> Any:
    prog, errs = compile_text(text)
    assert not [e for e in errs if e.severity == "error"], [e.format() for e in errs]
    return prog


def run(text: str) -> tuple[int, Context, list[str]]:
    prog = program(text)
    ctx = Context(parse_message(INVITE), src=("10.0.0.1", 5060))
    ret = prog.run("request", None, ctx)
    return ret, ctx, [a["text"] for a in ctx.env.actions if a["kind"] == "log"]


SIPMSG = 'loadmodule "sipmsgops.so"\n'


# ------------------------------------------------------------------ async / launch


def test_async_runs_the_function_then_the_resume_route_and_stops() -> None:
    ret, _ctx, logs = run(
        SIPMSG + 'route {\n xlog("before");\n async(is_method("REGISTER"), resume, 5);\n xlog("after");\n}\n'
        'route[resume] {\n xlog("resumed rc=$rc route=$route");\n}\n'
    )
    assert logs == ["before", "resumed rc=-1 route=route[resume]"]
    assert ret == 0


def test_async_resume_route_sees_a_true_return_code() -> None:
    _ret, _ctx, logs = run(
        SIPMSG + 'route {\n async(is_method("INVITE"), "resume");\n}\nroute[resume] {\n xlog("rc=$rc");\n}\n'
    )
    assert logs == ["rc=1"]


def test_launch_runs_the_report_route_and_carries_on() -> None:
    ret, _ctx, logs = run(
        SIPMSG + 'route {\n launch(is_method("REGISTER"), report);\n xlog("after rc=$rc");\n'
        ' launch(is_method("INVITE"));\n xlog("end rc=$rc");\n}\n'
        'route[report] {\n xlog("report rc=$rc");\n exit;\n}\n'
    )
    assert logs == ["report rc=-1", "after rc=1", "end rc=1"]
    assert ret == 1


def test_launch_passes_its_third_parameter_to_the_report_route() -> None:
    _ret, _ctx, logs = run(
        SIPMSG + 'route {\n launch(is_method("INVITE"), report, "job-7");\n}\n'
        'route[report] {\n xlog("report $param(1) rc=$rc");\n}\n'
    )
    assert logs == ["report job-7 rc=1"]


@pytest.mark.parametrize(
    "stmt, code, message",
    [
        ('async(is_method("INVITE"), nowhere);', "E209", "async(): route[nowhere] is not defined"),
        ('launch(is_method("INVITE"), nowhere);', "E209", "launch(): route[nowhere] is not defined"),
        ("async(no_such_fn(), resume);", "E201", "unknown command <no_such_fn>, missing loadmodule?"),
    ],
)
def test_async_errors(stmt: str, code: str, message: str) -> None:
    _prog, errs = compile_text(SIPMSG + f"route {{\n {stmt}\n}}\nroute[resume] {{ exit; }}\n")
    assert [(e.code, e.message, e.line) for e in errs if e.severity == "error"] == [(code, message, 3)]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (
            (A.Call("is_method", (A.Const("INVITE", quote='"'),)),),
            "E204",
            "async() takes 2 to 3 parameters, 1 given",
        ),
        (
            (A.Const("x", quote='"'), A.Const("resume", quote='"')),
            "E205",
            "the first parameter of async() must be a function call",
        ),
        (
            (
                A.Call("is_method", (A.Const("INVITE", quote='"'),)),
                A.Const("resume", quote='"'),
                A.Const("x", quote='"'),
            ),
            "E205",
            "async(): the timeout must be a number of seconds",
        ),
    ],
)
def test_async_errors_on_hand_built_ast(args: tuple, code: str, message: str) -> None:
    """Shapes the grammar cannot produce (it checks them first) are still refused by the compiler."""
    script, _ = parse_text(SIPMSG + "route { exit; }\nroute[resume] { exit; }\n", "t.cfg")
    body = A.Block((A.ExprStmt(A.Call("async", args)),))
    script.routes[0] = A.RouteDef("request", None, body)
    _prog, errs = compile_script(script)
    assert [(e.code, e.message) for e in errs if e.severity == "error"] == [(code, message)]


# ------------------------------------------------------------------ return, bare words


def test_bare_return_returns_1() -> None:
    _ret, _ctx, logs = run(
        'route {\n route(r);\n xlog("rc=$rc");\n}\nroute[r] {\n return;\n xlog("no");\n}\n'
    )
    assert logs == ["rc=1"]


def test_bare_word_flag_and_socket_arguments() -> None:
    _ret, ctx, logs = run(
        'route {\n setflag(NAT);\n if (isflagset("NAT")) xlog("nat");\n'
        " force_send_socket(tls:1.2.3.4:5061);\n}\n"
    )
    assert logs == ["nat"]
    assert ctx.force_socket == "tls:1.2.3.4:5061"


# ------------------------------------------------------------------ Program.unimplemented


def test_program_lists_unimplemented_modules_and_functions() -> None:
    prog, errs = compile_text(
        'loadmodule "siprec.so"\nloadmodule "rest_client.so"\n'
        'route {\n siprec_start_recording("sip:srs@1.2.3.4");\n rest_get("http://x", $var(b));\n exit;\n}\n'
    )
    assert {e.code for e in errs} == {"E202", "E219"}
    assert prog.unimplemented == {
        "modules": ["siprec"],
        "functions": {"rest_get": "rest_client", "siprec_start_recording": "siprec"},
    }


def test_program_unimplemented_is_empty_for_a_plain_script() -> None:
    assert program("route { exit; }").unimplemented == {"modules": [], "functions": {}}


# ------------------------------------------------------------------ 1.x conditions by generation


LEGACY = 'route {\n if (uri==myself) exit;\n if (method=="INVITE") exit;\n}\n'


def test_legacy_conditions_are_warnings_in_1x_scripts() -> None:
    script, diags = parse_text(LEGACY, "t.cfg")
    assert script.generation == 1
    assert [(d.severity, d.code, d.message) for d in diags] == [
        ("warning", "W101", '`uri==myself` is OpenSIPS 1.x syntax; use `is_myself("$rd")`'),
        ("warning", "W101", "`method==...` is OpenSIPS 1.x syntax; use `$rm==...`"),
    ]


def test_legacy_conditions_are_errors_in_a_detected_3x_script() -> None:
    script, diags = parse_text("udp_workers=4\n" + LEGACY, "t.cfg")
    assert script.generation == 3
    assert [(d.severity, d.code, d.line, d.message, d.hint) for d in diags] == [
        (
            "error",
            "E114",
            3,
            "`uri==myself` is not accepted by OpenSIPS 2.1+ (this script uses OpenSIPS 3.x syntax: "
            "`udp_workers=` at t.cfg:1)",
            '`uri==myself` is OpenSIPS 1.x syntax; use `is_myself("$rd")`',
        ),
        (
            "error",
            "E114",
            4,
            "`method==...` is not accepted by OpenSIPS 2.1+ (this script uses OpenSIPS 3.x syntax: "
            "`udp_workers=` at t.cfg:1)",
            "`method==...` is OpenSIPS 1.x syntax; use `$rm==...`",
        ),
    ]


@pytest.mark.parametrize("gen", [2, 3])
def test_legacy_conditions_are_errors_with_a_forced_version(gen: int) -> None:
    _script, diags = parse_text(LEGACY, "t.cfg", generation=gen)
    assert {(d.severity, d.code) for d in diags} == {("error", "E114")}
    assert all(d.message.endswith(f"--opensips-version {gen})") for d in diags)
    _script, diags = parse_text(LEGACY, "t.cfg", generation=1)
    assert {(d.severity, d.code) for d in diags} == {("warning", "W101")}


def test_unknown_function_typo_gets_a_did_you_mean_hint() -> None:
    _prog, errs = compile_text(SIPMSG + 'route {\n if (is_methos("INVITE")) exit;\n}\n')
    assert [(e.code, e.hint) for e in errs] == [("E201", "did you mean is_method()?")]
