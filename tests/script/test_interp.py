"""Run-time semantics of compiled scripts (pysips.script.interp + the closures of pysips.script.compiler)."""

from __future__ import annotations

import re

import pytest

from pysips.errors import ScriptRuntimeError
from pysips.modules import VAR, FunctionSpec, ModuleSpec, ParamSpec, load_registry
from pysips.script import ast as A
from pysips.script import interp as I
from pysips.script.compiler import compile_script
from pysips.script.context import Context, Env
from pysips.script.parser import parse_text

# ------------------------------------------------------------------ value helpers


@pytest.mark.parametrize(
    "op,a,b,want",
    [
        ("+", 2, 3, 5),
        ("/", -7, 2, -3),
        ("%", -7, 2, -1),
        ("/", 7, -2, -3),
        ("/", 5, 0, 0),
        ("*", 65536, 65536, 0),
        ("+", 2147483647, 1, -2147483648),
        ("<<", 1, 31, -2147483648),
        ("+", "a", "b", "ab"),
        ("+", "a", None, "a"),
        ("+", None, "b", "b"),
        ("+", 3, None, 3),
        ("|", "A", " ", "a"),
    ],
)
def test_binop(op: str, a: object, b: object, want: object) -> None:
    assert I.binop(op, a, b, right_is_pv=False) == want


def test_binop_failures() -> None:
    with pytest.raises(I.NoValue, match="invalid string operands"):
        I.binop("+", "a", 1, right_is_pv=False)
    assert I.binop("+", "a", 1, right_is_pv=True) == "a1"
    with pytest.raises(I.NoValue, match="invalid numeric operands"):
        I.binop("+", 1, "a", right_is_pv=True)
    with pytest.raises(I.NoValue, match="different length"):
        I.binop("&", "ab", "a", right_is_pv=False)
    with pytest.raises(I.NoValue):
        I.binop("-", "ab", "a", right_is_pv=False)


def test_compound() -> None:
    assert I.compound("+=", 1, 2) == 3
    assert I.compound("+=", "a", "b") == "ab"
    assert I.compound("/=", 7, 2) == 3
    for lv, rv in ((None, 1), (1, None)):
        with pytest.raises(I.NoValue, match="NULL"):
            I.compound("+=", lv, rv)
    with pytest.raises(I.NoValue, match="unsupported operand"):
        I.compound("-=", "a", "b")
    with pytest.raises(I.NoValue):
        I.compound("+=", "a", 1)


def test_truth() -> None:
    assert [I.truth(v) for v in (None, "", 0, "0", "a", 1, -1)] == [0, 0, 0, 1, 1, 1, 1]


def test_comparisons() -> None:
    assert I.cmp_const_str("==", "INVITE", "invite") == 1
    assert I.cmp_const_str("==", 5, "5") == 1
    assert I.cmp_const_str("!=", None, "x") == 1
    assert I.cmp_const_int("==", "5", 5) == -1
    assert I.cmp_const_int("<", None, 5) == 0
    assert I.cmp_values("==", None, None) == 1
    assert I.cmp_values("!=", 1, None) == 1
    assert I.cmp_values("==", 3, "3") == 1
    assert I.cmp_values("<", "3", "10") == 0
    assert I.cmp_values("<", 3, 10) == 1
    assert I.cmp_values("=~", "INVITE", "^inv") == 1
    assert I.cmp_values("=~", "x", "a(b") == -1


def test_net_matcher() -> None:
    n = I.NetMatcher("10.0.0.0/8")
    assert n.contains("10.1.2.3") is True
    assert n.contains("11.0.0.1") is False
    assert n.contains("::1") is False
    assert n.contains("nope") is None
    v6 = I.NetMatcher("2001:db8::/32")
    assert v6.contains("[2001:db8::1]") is True
    assert I.cmp_net("!=", "10.0.0.1", n) == 0
    assert I.cmp_net("==", None, n) == 0


def test_regex_is_posix_and_case_insensitive() -> None:
    pat = I.compile_posix("^[[:digit:]]+$")
    assert pat.search("123") and not pat.search("12a")
    assert I.compile_posix("^abc").search("ABCD")
    with pytest.raises(ValueError):
        I.compile_posix("a(b")
    assert I.dyn_regex("a(b") is None
    assert isinstance(I.dyn_regex("x"), re.Pattern)


# ------------------------------------------------------------------ running programs


def run(text: str, *, registry: dict | None = None, ctx: Context | None = None) -> tuple[int, Context]:
    script, perrs = parse_text(text, "t.cfg")
    assert not [e for e in perrs if e.severity == "error"], [e.format() for e in perrs]
    prog, errs = compile_script(script, registry=registry)
    assert not [e for e in errs if e.severity == "error"], [e.format() for e in errs]
    ctx = ctx or Context(None)
    return prog.run("request", None, ctx), ctx


def logs(ctx: Context) -> list[str]:
    return [a["text"] for a in ctx.env.actions if a["kind"] == "log"]


def fx_registry(**impls: object) -> dict:
    """The real registry plus a module ``fx`` whose functions take any params and run the given impls."""
    fns = [FunctionSpec(name, (), impl=impl) for name, impl in impls.items()]
    return dict(load_registry(), fx=ModuleSpec.build("fx", functions=fns))


def test_function_returning_zero_stops_script() -> None:
    reg = fx_registry(zero=lambda ctx: 0)
    rc, ctx = run('loadmodule "fx.so"\nroute {\n xlog("a");\n zero();\n xlog("b");\n}\n', registry=reg)
    assert rc == 0 and logs(ctx) == ["a"]


def test_function_zero_in_condition_stops_script() -> None:
    reg = fx_registry(zero=lambda ctx: 0)
    rc, ctx = run(
        'loadmodule "fx.so"\nroute {\n if (zero()) xlog("t"); else xlog("f");\n xlog("b");\n}\n', registry=reg
    )
    assert rc == 0 and logs(ctx) == []


def test_function_negative_and_rc() -> None:
    reg = fx_registry(neg=lambda ctx: -4)
    rc, ctx = run('loadmodule "fx.so"\nroute {\n if (!neg()) xlog("$rc");\n neg();\n}\n', registry=reg)
    assert logs(ctx) == ["-4"]
    assert rc == -4


def test_runtime_error_in_function_is_logged_and_returns_minus_one() -> None:
    def boom(ctx: Context) -> int:
        raise ScriptRuntimeError("bad thing")

    reg = fx_registry(boom=boom)
    rc, ctx = run('loadmodule "fx.so"\nroute {\n boom();\n xlog("rc=$rc");\n}\n', registry=reg)
    assert logs(ctx)[0] == "ERROR:script: boom() failed at t.cfg:3: bad thing"
    assert logs(ctx)[1] == "rc=-1"


def test_module_bug_is_contained() -> None:
    def buggy(ctx: Context) -> int:
        return {}["missing"]

    reg = fx_registry(buggy=buggy)
    rc, ctx = run('loadmodule "fx.so"\nroute {\n if (!buggy()) xlog("failed $rc");\n}\n', registry=reg)
    out = logs(ctx)
    assert out[0] == "CRITICAL:script: internal error in buggy() at t.cfg:3: KeyError: 'missing'"
    assert out[1] == "failed -1"


def test_var_param_receives_pvspec() -> None:
    def setit(ctx: Context, out: object) -> int:
        out.set(ctx, "=", "filled")
        return 1

    reg = dict(
        load_registry(),
        fx=ModuleSpec.build("fx", functions=[FunctionSpec("setit", (ParamSpec(VAR),), impl=setit)]),
    )
    rc, ctx = run('loadmodule "fx.so"\nroute {\n setit($var(o));\n}\n', registry=reg)
    assert ctx.vars["o"] == "filled"


def test_drop_sets_context_flag() -> None:
    rc, ctx = run('route {\n xlog("a");\n drop;\n}\n')
    assert ctx.dropped is True and rc == 0


def test_trace_records_file_and_line() -> None:
    ctx = Context(None)
    ctx.trace = []
    run('route {\n $var(a) = 1;\n if ($var(a)) {\n  xlog("x");\n }\n}\n', ctx=ctx)
    assert ctx.trace == [("t.cfg", 2), ("t.cfg", 3), ("t.cfg", 4)]


def test_cfg_line_set_before_action() -> None:
    seen = []
    reg = fx_registry(where=lambda ctx: seen.append((ctx.cfg_file, ctx.cfg_line)) or 1)
    run('loadmodule "fx.so"\nroute {\n\n where();\n}\n', registry=reg)
    assert seen == [("t.cfg", 4)]


def test_vars_persist_across_runs_like_a_process() -> None:
    script, _ = parse_text("route {\n $var(n) = $var(n) + 1;\n}\n", "t.cfg")
    prog, _ = compile_script(script)
    shared: dict = {"n": 0}  # NULL + 1 fails in OpenSIPS ("invalid string operands")
    for _ in range(3):
        prog.run("request", None, Context(None, vars=shared))
    assert shared["n"] == 3


def test_max_while_loops_setting_is_live() -> None:
    script, _ = parse_text("route {\n $var(i) = 0;\n while (1) { $var(i) += 1; }\n}\n", "t.cfg")
    prog, _ = compile_script(script)
    prog.settings.max_while_loops = 7
    ctx = Context(None)
    prog.run("request", None, ctx)
    assert ctx.vars["i"] == 7
    assert any("max while loops reached (7)" in t for t in logs(ctx))


def test_xlog_honours_env_xlog_level() -> None:
    script, _ = parse_text('route {\n xlog("L_INFO", "info");\n xlog("L_ERR", "err");\n}\n', "t.cfg")
    prog, _ = compile_script(script)
    env = Env()
    env.xlog_level = 1
    ctx = Context(None, env=env)
    prog.run("request", None, ctx)
    assert [(a["level"], a["text"]) for a in env.actions] == [(-1, "err")]


def test_run_unknown_route_raises() -> None:
    script, _ = parse_text("route { exit; }\n", "t.cfg")
    prog, _ = compile_script(script)
    with pytest.raises(ScriptRuntimeError, match="no failure_route\\[x\\]"):
        prog.run("failure", "x", Context(None))


def test_hand_built_ast_runs() -> None:
    p = A.Pos("h.cfg", 1, 1)
    body = A.Block(
        (
            A.Assign(A.PVRef("$var(i)", p), "=", A.Const(0), p),
            A.While(
                A.Compare("<", A.PVRef("$var(i)", p), A.Const(3), p),
                A.Block((A.Assign(A.PVRef("$var(i)", p), "+=", A.Const(1), p),)),
                p,
            ),
            A.Return(A.PVRef("$var(i)", p), (), p),
        )
    )
    script = A.Script("h.cfg", routes=[A.RouteDef("request", None, body, p)])
    prog, errs = compile_script(script)
    assert errs == []
    assert prog.run("request", None, Context(None)) == 3


def test_recursion_limit_value() -> None:
    assert I.ROUTE_MAX_REC_LEV == 100
    rc, ctx = run("route {\n $var(d) = 0;\n route(r);\n}\nroute[r] {\n $var(d) += 1;\n route(r);\n}\n")
    assert ctx.vars["d"] == 100
    assert any("recursion limit" in t for t in logs(ctx))


# ------------------------------------------------------------------ speed

SEED = r"""
loadmodule "sl.so"
loadmodule "sipmsgops.so"
loadmodule "maxfwd.so"
route {
    if (!mf_process_maxfwd_header(10)) { sl_send_reply(483, "Too Many Hops"); exit; }
    if (is_method("INVITE") && !has_totag()) {
        $avp(account) = "1234567";
        $du = "sip:10.0.0.9:5060";
        $avp(fs_uri) = $du;
        resetdsturi();
        $avp(carrier_ru) = "sip:" + $rU + "@" + "carrier.example";
        if ($si == 10.0.0.0/8) { setflag("INTERNAL"); }
        switch ($rm) {
            case "INVITE": $var(t) = 1; break;
            default: $var(t) = 0;
        }
        if ($var(t) == 1 && $avp(account) =~ "^[0-9]+$") { $var(ok) = 1; }
        route(check, "x");
        xlog("L_DBG", "call $ci from $fU\n");
        $var(dest) = "sip:READ_BALANCE_" + $avp(account) + "@" + $avp(fs_uri);
        if ($var(ok)) { $var(n) = $var(n) + 1; }
        sl_send_reply(100, "Trying");
        exit;
    }
    sl_send_reply(404, "Not Found");
}
route[check] {
    if ($param(1) == "x") { return(1); }
    return(-1);
}
"""


def stub_registry() -> dict:
    """Every function replaced by a constant impl: what remains is the interpreter's own cost."""
    import dataclasses

    out = {}
    for name, mod in load_registry().items():
        fns = {
            k: dataclasses.replace(f, impl=(lambda ctx, *a: -1) if k == "has_totag" else (lambda ctx, *a: 1))
            for k, f in mod.functions.items()
        }
        out[name] = dataclasses.replace(mod, functions=fns)
    return out


def test_seed_route_runs_on_many_requests() -> None:
    """The seed route end to end on 2000 requests (its speed is measured by tools/bench_script.py)."""
    from pysips.sip.message import parse_message

    req = (
        b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1\r\n"
        b"Max-Forwards: 70\r\nFrom: <sip:alice@example.org>;tag=abc\r\nTo: <sip:bob@example.com>\r\n"
        b"Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    script, _ = parse_text(SEED, "seed.cfg")
    prog, errs = compile_script(script, registry=stub_registry())
    assert not [e for e in errs if e.severity == "error"]

    class QuietEnv(Env):
        def log(self, ctx: Context, level: int, text: str) -> None:
            pass

    env = QuietEnv()
    shared: dict = {}
    n = 2000
    msgs = [parse_message(req) for _ in range(n)]
    rcs = set()
    for m in msgs:
        ctx = Context(m, src=("10.0.0.1", 5060), env=env, vars=shared)
        rcs.add(prog.run("request", None, ctx))
    assert rcs == {0} and shared["dest"] == "sip:READ_BALANCE_1234567@sip:10.0.0.9:5060"
