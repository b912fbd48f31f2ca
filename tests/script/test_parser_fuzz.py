"""Fuzzing: whatever the input, the parser and the compiler report ScriptErrors (with positions) and never raise.

What parses without error is compiled too, so the compiler meets odd but grammatical scripts (issue 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pysips.errors import ScriptError
from pysips.script import ast as A
from pysips.script.compiler import compile_script
from pysips.script.parser import parse_snippet, parse_text
from tests.script._modstate import reset_module_settings


@pytest.fixture(autouse=True, scope="module")
def _fresh_modules():
    yield
    reset_module_settings()  # mutated modparams went through the modules' init hooks


CORPUS = (Path(__file__).parents[2] / ".." / "shared" / "corpus" / "cfg").resolve()

SAMPLE = """\
log_level=3
socket=udp:127.0.0.1:5060 as 1.2.3.4:5060
loadmodule "tm.so"
modparam("tm", "fr_timeout", 5)
route {
    if (!mf_process_maxfwd_header(10)) { send_reply(483, "Too Many Hops"); exit; }
    if ($si == 10.0.0.0/8 && ($rm == "INVITE" || is_myself("$rd"))) {
        $var(x) = $(avp(a)[0]{s.len}) + 1;
        switch ($rU) { case "1": route(one, 1, "a"); break; default: drop(); }
    } else if (is_method("BYE")) {
        for ($var(v) in $(avp(x)[*])) xlog("L_INFO", "v=$var(v)\\n" "folded");
    }
    /* nested /* comment */ */ t_relay();   # done
}
route[one] { while ($var(i) < 3) { $var(i) += 1; } return(1, $var(i)); }
failure_route[f] { if (t_was_cancelled()) exit; }
timer_route[t, 10] { $shv(x) = 0; }
"""

TOKENS = [
    "route",
    "route[a]",
    "onreply_route",
    "failure_route[x]",
    "timer_route[t, 5]",
    "event_route[E]",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    ":",
    ".",
    "=",
    "==",
    "!=",
    "=~",
    "!~",
    "<",
    ">",
    "<=",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "&",
    "|",
    "^",
    "~",
    "<<",
    ">>",
    "!",
    "&&",
    "||",
    "and",
    "or",
    "not",
    ":=",
    "+=",
    "if",
    "else",
    "while",
    "for",
    "in",
    "switch",
    "case",
    "default",
    "break",
    "esac",
    "return",
    "exit",
    "drop",
    "assert",
    "async",
    "launch",
    "loadmodule",
    "modparam",
    "log_level",
    "socket",
    "$ru",
    "$var(x)",
    "$(avp(x)[0])",
    "$hdr(From)",
    "$avp(x)[0]",
    "$",
    "$(",
    '"str"',
    "'sq'",
    '"a\\"b"',
    '"',
    "'",
    "1",
    "-1",
    "0x1F",
    "017",
    "10.0.0.1",
    "10.0.0.0/8",
    "::1",
    "yes",
    "NULL",
    "myself",
    "uri",
    "method",
    "f",
    "x_y",
    "#c\n",
    "/* c */",
    "/*",
    "*/",
    "//",
    "\n",
    " ",
    "\t",
    "\\\n",
    'include_file "x"\n',
    "@",
    "`",
    "\x00",
    "é",
]


def _check_diags(diags, files) -> None:
    for d in diags:
        assert isinstance(d, ScriptError)
        assert d.severity in ("error", "warning")
        assert d.code[0] in "EW" and d.code[1:].isdigit()
        assert d.file in files, d.format()
        assert d.line >= 0 and d.column >= 0
        assert d.format()


def _check(script, diags):
    assert isinstance(script, A.Script)
    files = set(script.files) | {script.path}
    _check_diags(diags, files)
    if not any(d.severity == "error" for d in diags):
        program, semantic = compile_script(script)
        _check_diags(semantic, files)
        if not any(d.severity == "error" for d in semantic):
            assert all(callable(r.body) for r in program.routes.values())


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(TOKENS), max_size=60), st.lists(st.sampled_from([" ", "\n", ""]), max_size=60)
)
def test_random_token_sequences_never_raise(tokens, seps):
    text = "".join(t + (seps[i] if i < len(seps) else " ") for i, t in enumerate(tokens))
    _check(*parse_text(text, "fuzz.cfg"))
    _check(*parse_snippet(text))


def _sources() -> list[str]:
    files = sorted(CORPUS.glob("*.cfg"))[::6] if CORPUS.is_dir() else []
    return [SAMPLE] + [f.read_text(encoding="utf-8", errors="replace") for f in files]


SOURCES = _sources()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SOURCES),
    st.lists(
        st.tuples(
            st.sampled_from(["del", "dup", "ins", "swap"]),
            st.floats(0, 1),
            st.integers(1, 40),
            st.sampled_from(TOKENS),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_scripts_never_raise(text, mutations):
    for op, where, size, tok in mutations:
        i = int(where * len(text))
        if op == "del":
            text = text[:i] + text[i + size :]
        elif op == "dup":
            text = text[:i] + text[i : i + size] + text[i:]
        elif op == "ins":
            text = text[:i] + tok + text[i:]
        else:
            j = min(len(text), i + size)
            text = text[:i] + text[j : j + size] + text[i:j] + text[j + size :]
    _check(*parse_text(text, "mutant.cfg"))


def test_sample_is_clean():
    script, diags = parse_text(SAMPLE, "sample.cfg")
    assert diags == []
    assert [r.name for r in script.routes] == [None, "one", "f", "t"]
    _program, semantic = compile_script(script)
    # the sample is grammatical but not loadable: its functions need modules it does not load
    assert {d.code for d in semantic} == {"E203"}


# ------------------------------------------------------------------ grammatical scripts for the compiler


def _function_names() -> list[tuple[str, str]]:
    """(function, module) pairs: a third of the registry plus statements and names that are not functions."""
    from pysips import modules as M

    pairs = {(f, m) for m, spec in M.load_registry().items() for f in spec.functions}
    extra = ["async", "launch", "xlog", "log", "nosuch_fn", "is_myself", "t_on_failure"]
    return sorted(pairs)[::3] + [(f, "core") for f in extra]


FUNCS = _function_names()
ARGS = [
    "1",
    "-1",
    "0",
    '"s"',
    '""',
    '"404"',
    '"$ru"',
    '"$avp(a)"',
    '"$var(nope"',
    '"(("',
    '"a|b"',
    '"L_INFO"',
    "$var(x)",
    "$ru",
    "$si",
    "$(avp(x)[*])",
    "$avp(x)",
    "NAT",
    "r",
    "tls:1.2.3.4:5061",
    "NULL",
]
STMTS = [
    "{f}({a});",
    "if ({f}({a})) exit;",
    "if (!{f}({a}, {b})) {{ return(-1); }}",
    "{f}({a}, {b}, {c});",
    "$var(x) = {f}({a});",
    "$var(x) = {a} + {b};",
    "{a} = {b};",
    "if ($var(x) == {a}) drop;",
    "switch ($var(x)) {{ case 1: {f}(); break; default: route(r, {a}); }}",
    "while ($var(i) < 2) {{ $var(i) += 1; {f}({a}); }}",
    "for ($var(v) in {a}) {f}({b});",
    "async({f}({a}), r);",
    "launch({f}({a}, {b}));",
    "route({a});",
    "return;",
]


@st.composite
def _scripts(draw) -> str:
    lines = []
    mods = set(draw(st.lists(st.sampled_from(["tm", "sl", "rr", "sipmsgops", "siprec"]), max_size=3)))
    for _ in range(draw(st.integers(1, 6))):
        tpl = draw(st.sampled_from(STMTS))
        f, module = draw(st.sampled_from(FUNCS))
        if module != "core" and draw(st.booleans() | st.just(True)):
            mods.add(module)  # mostly loaded, sometimes missing (E203)
        a, b, c = (draw(st.sampled_from(ARGS)) for _ in range(3))
        lines.append("    " + tpl.format(f=f, a=a, b=b, c=c))
    head = "".join(f'loadmodule "{m}.so"\n' for m in sorted(mods))
    kind = draw(st.sampled_from(["route[g]", "failure_route[f]", "onreply_route", "branch_route[b]"]))
    return f"{head}route {{ route(r); }}\n{kind} {{\n" + "\n".join(lines) + "\n}\nroute[r] { exit; }\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scripts())
def test_grammatical_scripts_compile_without_raising(text):
    script, diags = parse_text(text, "gen.cfg")
    _check(script, diags)
