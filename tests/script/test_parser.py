"""Parser tests: every construct of the OpenSIPS script language, checked by the AST it yields."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from pysips.script import ast as A
from pysips.script.parser import detect_generation, parse_file, parse_snippet, parse_text, unescape


def strip(node):
    """The node with every position reset, so expected trees can be written without positions."""
    if isinstance(node, tuple):
        return tuple(strip(n) for n in node)
    if isinstance(node, list):
        return [strip(n) for n in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type) and not isinstance(node, A.Script):
        changes = {}
        for f in dataclasses.fields(node):
            v = getattr(node, f.name)
            changes[f.name] = A.NOPOS if f.name == "pos" else strip(v)
        return type(node)(**changes)
    return node


def body(src: str, generation: int | None = None) -> tuple:
    """Statements of a snippet (wrapped in route{}), asserting it parsed without any diagnostic."""
    script, diags = parse_snippet(src, generation=generation)
    assert [d.format() for d in diags] == []
    assert len(script.routes) == 1
    return strip(script.routes[0].body.stmts)


def one(src: str):
    stmts = body(src)
    assert len(stmts) == 1
    return stmts[0]


def cond(src: str):
    """The condition of `if (src) x();`."""
    s = one(f"if ({src}) x();")
    assert isinstance(s, A.If)
    return s.cond


def errors(src: str, path: str = "t.cfg") -> list:
    _script, diags = parse_text(src, path)
    return diags


PV = A.PVRef
C = A.Const


def S(v: str, q: str = '"') -> A.Const:
    return A.Const(v, A.NOPOS, q)


X = A.ExprStmt(A.Call("x", ()))
XB = A.Block((X,))

# ---------------------------------------------------------------- statements

STATEMENTS = [
    ("f();", A.ExprStmt(A.Call("f", ()))),
    ('f("a", 1, $var(x));', A.ExprStmt(A.Call("f", (S("a"), C(1), PV("$var(x)"))))),
    ('f(, "x");', A.ExprStmt(A.Call("f", (None, S("x"))))),
    ("f(,);", A.ExprStmt(A.Call("f", (None, None)))),
    (
        'do_routing("2", "F", , , "$var(gw)");',
        A.ExprStmt(A.Call("do_routing", (S("2"), S("F"), None, None, S("$var(gw)")))),
    ),
    (
        "f(-5, +3, 0x1F, 017, yes, off, NULL);",
        A.ExprStmt(A.Call("f", (C(-5), C(3), C(31), C(15), C(1), C(0), C(None)))),
    ),
    ("setflag(NAT);", A.ExprStmt(A.Call("setflag", (S("NAT", ""),)))),
    (
        "force_send_socket(tls:127.0.0.1:5061);",
        A.ExprStmt(A.Call("force_send_socket", (S("tls:127.0.0.1:5061", ""),))),
    ),
    ('xlog("L_INFO", "a" "b");', A.ExprStmt(A.Call("xlog", (S("L_INFO"), S("ab"))))),
    ('xdbg("x");', A.ExprStmt(A.Call("xdbg", (S("x"),)))),
    ("route(foo);", A.ExprStmt(A.RouteCall("foo", ()))),
    ("route(1);", A.ExprStmt(A.RouteCall("1", ()))),
    ('route("foo");', A.ExprStmt(A.RouteCall("foo", ()))),
    ('route("r_$var(n)");', A.ExprStmt(A.RouteCall(S("r_$var(n)"), ()))),
    ("route($var(r));", A.ExprStmt(A.RouteCall(PV("$var(r)"), ()))),
    (
        'route(foo, 1, "a", $var(b), NULL);',
        A.ExprStmt(A.RouteCall("foo", (C(1), S("a"), PV("$var(b)"), C(None)))),
    ),
    ("$var(x) = 1;", A.Assign(PV("$var(x)"), "=", C(1))),
    ("$avp(x) := NULL;", A.Assign(PV("$avp(x)"), ":=", C(None))),
    ("$var(x) = f();", A.Assign(PV("$var(x)"), "=", A.Call("f", ()))),
    ('$var(x) = "a" + $ru;', A.Assign(PV("$var(x)"), "=", A.BinOp("+", S("a"), PV("$ru")))),
    *[
        (f"$var(x) {op} 2;", A.Assign(PV("$var(x)"), op, C(2)))
        for op in ("+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=")
    ],
    ("return;", A.Return(C(1))),
    ("return();", A.Return(C(1))),
    ("return -1;", A.Return(C(-1))),
    ("return(2);", A.Return(C(2))),
    ("return $rc;", A.Return(PV("$rc"))),
    ("return($var(x));", A.Return(PV("$var(x)"))),
    ('return(1, $var(a), "s", NULL);', A.Return(C(1), (PV("$var(a)"), S("s"), C(None)))),
    ("return(, 5);", A.Return(C(1), (C(5),))),
    ("exit;", A.Exit()),
    ("exit();", A.Exit()),
    ("drop;", A.Drop()),
    ("drop();", A.Drop()),
    ('assert($var(x) > 0, "positive");', A.Assert(A.Compare(">", PV("$var(x)"), C(0)), "positive")),
    ("assert($var(x));", A.Assert(PV("$var(x)"), None)),
    ("{ x(); }", XB),
    ("{ }", A.Block(())),
    (
        "while ($var(i) < 3) $var(i) += 1;",
        A.While(A.Compare("<", PV("$var(i)"), C(3)), A.Block((A.Assign(PV("$var(i)"), "+=", C(1)),))),
    ),
    ("while ($var(i)) { break; }", A.While(PV("$var(i)"), A.Block((A.Break(),)))),
    (
        "for ($var(v) in $(avp(x)[*])) { x(); }",
        A.ForEach(PV("$var(v)"), PV("$(avp(x)[*])"), XB),
    ),
    (
        'async(rest_get("u", $var(b)), resume, 5);',
        A.ExprStmt(A.Call("async", (A.Call("rest_get", (S("u"), PV("$var(b)"))), S("resume"), C(5)))),
    ),
    ("launch(f(), done);", A.ExprStmt(A.Call("launch", (A.Call("f", ()), S("done"))))),
]


@pytest.mark.parametrize("src,expected", STATEMENTS, ids=[s for s, _ in STATEMENTS])
def test_statement(src, expected):
    assert one(src) == expected


def test_empty_statements_are_dropped():
    assert body(";; x(); ;") == (X,)


def test_if_forms():
    assert one("if ($a) x();") == A.If(PV("$a"), XB, None)
    assert one("if ($a) { x(); } else { y(); }") == A.If(
        PV("$a"), XB, A.Block((A.ExprStmt(A.Call("y", ())),))
    )
    elif_ = one("if ($a) x(); else if ($b) x(); else x();")
    assert elif_ == A.If(PV("$a"), XB, A.Block((A.If(PV("$b"), XB, XB),)))
    assert one("if ($a) ;") == A.If(PV("$a"), A.Block(()), None)


def test_dangling_else_binds_to_nearest_if():
    assert one("if ($a) if ($b) x(); else x();") == A.If(PV("$a"), A.Block((A.If(PV("$b"), XB, XB),)), None)


def test_switch_with_fallthrough_break_esac_default():
    s = one('switch ($rU) { case 1: a(); case "x": case -2: b(); break; default: c(); esac; }')
    a, b, c = (A.ExprStmt(A.Call(n, ())) for n in "abc")
    assert s == A.Switch(
        PV("$rU"),
        (
            A.Case(1, False, (a,)),
            A.Case("x", False, ()),
            A.Case(-2, False, (b, A.Break())),
            A.Case(None, True, (c, A.Break())),
        ),
    )


# ---------------------------------------------------------------- conditions


def test_and_or_share_one_precedence_level_left_assoc():
    a, b, c = PV("$a"), PV("$b"), PV("$c")
    assert cond("$a || $b && $c") == A.Logic("and", A.Logic("or", a, b), c)
    assert cond("$a && $b || $c") == A.Logic("or", A.Logic("and", a, b), c)
    assert cond("$a or $b and $c") == A.Logic("and", A.Logic("or", a, b), c)
    assert cond("$a || ($b && $c)") == A.Logic("or", a, A.Logic("and", b, c))


def test_not_binds_tighter_than_and():
    assert cond("!$a && not $b") == A.Logic("and", A.Not(PV("$a")), A.Not(PV("$b")))
    assert cond("!($a && $b)") == A.Not(A.Logic("and", PV("$a"), PV("$b")))


COMPARES = [
    ('$rm == "INVITE"', A.Compare("==", PV("$rm"), S("INVITE"))),
    ("$var(a) != $var(b)", A.Compare("!=", PV("$var(a)"), PV("$var(b)"))),
    ("$var(a) >= -3", A.Compare(">=", PV("$var(a)"), C(-3))),
    ("$var(a) <= 3", A.Compare("<=", PV("$var(a)"), C(3))),
    ("$var(a) > 3", A.Compare(">", PV("$var(a)"), C(3))),
    ("$var(a) < 3", A.Compare("<", PV("$var(a)"), C(3))),
    ('$ru =~ "^sip:1"', A.Compare("=~", PV("$ru"), S("^sip:1"))),
    ("$ru !~ '^sip:\\d'", A.Compare("!~", PV("$ru"), S("^sip:\\d", "'"))),
    ("$du == NULL", A.Compare("==", PV("$du"), C(None))),
    ("$si == 10.0.0.0/8", A.Compare("==", PV("$si"), A.IPNet("10.0.0.0/8"))),
    ("$si != 192.168.1.1", A.Compare("!=", PV("$si"), A.IPNet("192.168.1.1"))),
    ("$si == 10.0.0.0/255.0.0.0", A.Compare("==", PV("$si"), A.IPNet("10.0.0.0/255.0.0.0"))),
    ("$si == ::1", A.Compare("==", PV("$si"), A.IPNet("::1"))),
    ("$si == 2001:db8::/32", A.Compare("==", PV("$si"), A.IPNet("2001:db8::/32"))),
    # the compiler reports a non-variable on the left, the parser keeps it
    ('"a" == $var(x)', A.Compare("==", S("a"), PV("$var(x)"))),
    ("1 == 1", A.Compare("==", C(1), C(1))),
]


@pytest.mark.parametrize("src,expected", COMPARES, ids=[s for s, _ in COMPARES])
def test_compare(src, expected):
    assert cond(src) == expected


def test_condition_elements():
    assert cond('is_method("INVITE")') == A.Call("is_method", (S("INVITE"),))
    assert cond("!t_check_trans()") == A.Not(A.Call("t_check_trans", ()))
    assert cond("route(check)") == A.RouteCall("check", ())
    assert cond("1") == C(1)
    assert cond("-1") == C(-1)
    assert cond("$var(x)") == PV("$var(x)")
    assert cond("$var(a) = f()") == A.AssignExpr(PV("$var(a)"), "=", A.Call("f", ()))
    assert cond("[$var(a) + 1]") == A.BinOp("+", PV("$var(a)"), C(1))


# ---------------------------------------------------------------- assignment expressions


def rhs(src: str):
    s = one(f"$var(r) = {src};")
    assert isinstance(s, A.Assign)
    return s.value


def test_arith_operators_share_a_level_left_assoc_like_opensips():
    a, b, c = PV("$a"), PV("$b"), PV("$c")
    # OpenSIPS: %left PLUS MINUS SLASH MULT MODULO -- one level, so `a + b * c` is `(a + b) * c`
    assert rhs("$a + $b * $c") == A.BinOp("*", A.BinOp("+", a, b), c)
    assert rhs("$a - $b - $c") == A.BinOp("-", A.BinOp("-", a, b), c)
    assert rhs("$a + ($b * $c)") == A.BinOp("+", a, A.BinOp("*", b, c))
    # bitwise operators bind looser than arithmetic
    assert rhs("$a | $b + $c") == A.BinOp("|", a, A.BinOp("+", b, c))
    assert rhs("$a & $b ^ $c << 2 >> 1") == A.BinOp(
        ">>", A.BinOp("<<", A.BinOp("^", A.BinOp("&", a, b), c), C(2)), C(1)
    )
    assert rhs("~$a % 3") == A.BinOp("%", A.UnOp("~", a), C(3))
    assert rhs("$a / -2") == A.BinOp("/", a, C(-2))


def test_rhs_elements():
    assert rhs("NULL") == C(None)
    assert rhs("'x'") == S("x", "'")
    assert rhs('$rU == "1"') == A.Compare("==", PV("$rU"), S("1"))
    assert rhs("route(r)") == A.RouteCall("r", ())


# ---------------------------------------------------------------- lexical


@pytest.mark.parametrize(
    "pv",
    [
        "$ru",
        "$var(x)",
        "$hdr(From)",
        "$(hdr(Via)[*])",
        "$(<reply>rs)",
        "$(avp(x)[0]{s.len})",
        "$(var(x){s.substr,0,5}{s.len})",
        "$(avp($var(n))[$var(i)])",
        "$(hdr(X-Foo){param.value,a}{s.select,0, })",
        "$T_reply_code",
        "$avp(s:foo)",
        "$json(obj/a)",
    ],
)
def test_pv_is_one_token(pv):
    assert one(f"$var(r) = {pv};") == A.Assign(PV("$var(r)"), "=", PV(pv))


def test_pv_ends_at_operators_and_separators():
    assert rhs("$a+$b") == A.BinOp("+", PV("$a"), PV("$b"))
    assert one("f($a,$b);") == A.ExprStmt(A.Call("f", (PV("$a"), PV("$b"))))
    assert cond('$rU=="1"') == A.Compare("==", PV("$rU"), S("1"))
    assert cond("$var(x)==1&&$var(y)") == A.Logic("and", A.Compare("==", PV("$var(x)"), C(1)), PV("$var(y)"))


@pytest.mark.parametrize(
    "written,value",
    [
        (r"a\tb", "a\tb"),
        (r"a\nb\r", "a\nb\r"),
        (r"q\"q", 'q"q'),
        (r"back\\slash", "back\\slash"),
        (r"\x41\x7", "A\x07"),
        (r"\101\0101", "A\x081"),
        (r"sub \1 ref", "sub \\1 ref"),
        (r"\d+", "\\d+"),
        ("line\\\ncontinued", "linecontinued"),
        ("two\nlines", "two\nlines"),
        (r"\a", "\a"),
    ],
)
def test_string_escapes(written, value):
    assert unescape(written) == value
    assert rhs(f'"{written}"') == S(value)


def test_single_quoted_strings_take_no_escapes_and_folding():
    assert rhs(r"'a\tb'") == S(r"a\tb", "'")
    assert rhs('"a" "b"  \'c\'') == S("abc")


def test_comments_hash_and_nested_block():
    src = "x(); # a comment ; y();\n/* outer /* inner */ still comment */ x(); /* a */ /* b */"
    assert body(src) == (X, X)


def test_comment_markers_inside_strings_are_text():
    assert rhs('"a # b /* c */"') == S("a # b /* c */")


def test_hash_inside_pv_parentheses_is_not_a_comment():
    assert rhs("$hdr(X#1)") == PV("$hdr(X#1)")


def test_backslash_newline_continuation_between_tokens():
    assert one("f(1,\\\n 2);") == A.ExprStmt(A.Call("f", (C(1), C(2))))


# ---------------------------------------------------------------- top level

SCRIPT = textwrap.dedent(
    """\
    # 3.x style
    log_level=3
    xlog_level = -1
    udp_workers=4
    socket=udp:127.0.0.1:5060 as 1.2.3.4:5060 use_workers 4 tag edge
    socket = tcp:*:5060-5070 anycast reuse_port
    advertised_address="sip.example.com"
    server_header="Server: " "pysips"
    alias=example.com:5060
    mem-group = "g1": "tm" "sl"
    syslog_facility=LOG_LOCAL0
    dst_blacklist = id:{(udp,10.0.0.0/8,5060,"x")}
    enable_asserts = yes
    mpath="/usr/lib/opensips/modules/"
    loadmodule "tm.so"
    loadmodule "/opt/x/lib/usrloc.so"
    modparam("tm", "fr_timeout", 5)
    modparam("usrloc|registrar", "db_url", "mysql://a" "@b")
    modparam("tm", "x", -1)
    route { exit; }
    route[relay] { t_relay(); }
    route["quoted"] { }
    route[2] { }
    onreply_route { }
    onreply_route[nat] { }
    failure_route[missed] { }
    branch_route[b1] { }
    local_route { }
    error_route { }
    startup_route { }
    timer_route[tick, 60] { }
    event_route[E_CORE_THRESHOLD] { }
    event_route["E_UL_CONTACT_INSERT", async] { }
    """
)


def test_whole_script_top_level():
    script, diags = parse_text(SCRIPT, "main.cfg")
    assert [d.format() for d in diags] == []
    assert [(g.name, g.value) for g in script.globals] == [
        ("log_level", 3),
        ("xlog_level", -1),
        ("udp_workers", 4),
        ("socket", "udp:127.0.0.1:5060 as 1.2.3.4:5060 use_workers 4 tag edge"),
        ("socket", "tcp:*:5060-5070 anycast reuse_port"),
        ("advertised_address", "sip.example.com"),
        ("server_header", "Server: pysips"),
        ("alias", "example.com:5060"),
        ("mem-group", '"g1": "tm" "sl"'),
        ("syslog_facility", "LOG_LOCAL0"),
        ("dst_blacklist", 'id:{(udp,10.0.0.0/8,5060,"x")}'),
        ("enable_asserts", 1),
    ]
    assert script.globals[0].pos == A.Pos("main.cfg", 2, 1)
    assert script.mpath == "/usr/lib/opensips/modules/"
    assert [(m.name, m.path) for m in script.loadmodules] == [
        ("tm", "tm.so"),
        ("usrloc", "/opt/x/lib/usrloc.so"),
    ]
    assert [(m.module, m.param, m.value) for m in script.modparams] == [
        ("tm", "fr_timeout", 5),
        ("usrloc|registrar", "db_url", "mysql://a@b"),
        ("tm", "x", -1),
    ]
    assert [(r.kind, r.name, r.interval) for r in script.routes] == [
        ("request", None, None),
        ("request", "relay", None),
        ("request", "quoted", None),
        ("request", "2", None),
        ("onreply", None, None),
        ("onreply", "nat", None),
        ("failure", "missed", None),
        ("branch", "b1", None),
        ("local", None, None),
        ("error", None, None),
        ("startup", None, None),
        ("timer", "tick", 60),
        ("event", "E_CORE_THRESHOLD", None),
        ("event", "E_UL_CONTACT_INSERT", None),
    ]
    assert script.routes[1].pos == A.Pos("main.cfg", 21, 1)
    assert script.generation == 3


def test_2x_globals_and_route_zero():
    src = "debug=3\nfork=no\nchildren=4\nport=5060\nlisten=udp:eth0:5060\nroute[0] { x(); }\n"
    script, diags = parse_text(src)
    assert diags == []
    assert [(g.name, g.value) for g in script.globals] == [
        ("debug", 3),
        ("fork", 0),
        ("children", 4),
        ("port", 5060),
        ("listen", "udp:eth0:5060"),
    ]
    assert (script.routes[0].kind, script.routes[0].name) == ("request", None)
    assert script.generation == 2


def test_positions_track_lines_and_columns():
    script, diags = parse_text("route {\n\tif ($a)\n\t\tf(1);\n}\n", "p.cfg")
    assert diags == []
    s = script.routes[0].body.stmts[0]
    assert s.pos == A.Pos("p.cfg", 2, 2)
    assert s.cond.pos == A.Pos("p.cfg", 2, 6)
    call = s.then.stmts[0].expr
    assert call.pos == A.Pos("p.cfg", 3, 3)
    assert call.args[0].pos == A.Pos("p.cfg", 3, 5)
    assert script.sources["p.cfg"][2] == "\t\tf(1);"


# ---------------------------------------------------------------- includes


def test_include_and_import_relative_paths(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "routes.cfg").write_text('import_file "more.cfg"\nroute[a] {\n  f();\n}\n')
    (tmp_path / "sub" / "more.cfg").write_text("route[b] { g(); }\n")
    main = tmp_path / "main.cfg"
    main.write_text('log_level=1\n  include_file "sub/routes.cfg"  # trailing\nroute { route(a); }\n')
    monkeypatch.chdir("/")
    script, diags = parse_file(str(main))
    assert diags == []
    routes = {r.name: r for r in script.routes}
    inc = str(tmp_path / "sub" / "routes.cfg")
    assert routes["a"].pos == A.Pos(inc, 2, 1)
    assert routes["a"].body.stmts[0].pos == A.Pos(inc, 3, 3)
    assert routes["b"].pos.file == str(tmp_path / "sub" / "more.cfg")
    assert routes[None].pos == A.Pos(str(main), 3, 1)
    assert script.files == [str(main), inc, str(tmp_path / "sub" / "more.cfg")]


def test_include_relative_to_cwd_first(tmp_path, monkeypatch):
    (tmp_path / "a.cfg").write_text("route[cwd] { }\n")
    other = tmp_path / "dir"
    other.mkdir()
    (other / "a.cfg").write_text("route[local] { }\n")
    (other / "main.cfg").write_text('include_file "a.cfg"\n')
    monkeypatch.chdir(tmp_path)
    script, diags = parse_file(str(other / "main.cfg"))
    assert diags == []
    assert [r.name for r in script.routes] == ["cwd"]


def test_missing_include_is_an_error_and_2x_import_file_a_warning(tmp_path):
    main = tmp_path / "m.cfg"
    main.write_text('include_file "nope.cfg"\nroute { }\n')
    _s, diags = parse_file(str(main))
    assert [d.format() for d in diags] == [
        f"{main}:1:14: error: include_file: cannot open 'nope.cfg'\n"
        '    include_file "nope.cfg"\n'
        "                 ^\n"
        "    hint: relative paths are tried against the working directory, then the including file's directory"
    ]
    main.write_text('children=4\nimport_file "nope.cfg"\nroute { }\n')
    _s, diags = parse_file(str(main))
    assert [(d.severity, d.code, d.line) for d in diags] == [("warning", "W110", 2)]
    _s, diags = parse_file(str(main), generation=3)
    assert [(d.severity, d.code) for d in diags] == [("error", "E110")]


def test_include_loop_stops_at_depth_50(tmp_path):
    f = tmp_path / "loop.cfg"
    f.write_text('include_file "loop.cfg"\n')
    _s, diags = parse_file(str(f))
    assert [d.code for d in diags] == ["E111"]
    assert "maximum include depth (50)" in diags[0].message


# ---------------------------------------------------------------- errors


def test_syntax_error_full_message_missing_semicolon():
    diags = errors("route {\n\tf()\n\tg();\n}\n")
    assert [d.format() for d in diags] == [
        "t.cfg:3:2: error: syntax error: unexpected `g`, expected `;`\n"
        "        g();\n"
        "        ^\n"
        "    hint: missing `;` at the end of line 2?"
    ]
    assert (diags[0].code, diags[0].severity, diags[0].line, diags[0].column) == ("E101", "error", 3, 2)


def test_kamailio_index_syntax_hint():
    diags = errors("route {\n  $avp(x)[0] = 1;\n}\n")
    assert [d.format() for d in diags] == [
        "t.cfg:2:10: error: syntax error: unexpected `[`\n"
        "      $avp(x)[0] = 1;\n"
        "             ^\n"
        "    hint: `$avp(x)[0]` is Kamailio syntax; OpenSIPS puts the index inside: `$(avp(x)[0])`"
    ]
    assert diags[0].code == "E106"


def test_double_slash_comment_is_an_error_with_hint():
    diags = errors("route {\n  f(); // call f\n}\n")
    assert [d.format() for d in diags] == [
        "t.cfg:2:8: error: `//` is not a comment in OpenSIPS\n"
        "      f(); // call f\n"
        "           ^\n"
        "    hint: `//` comments are Kamailio syntax; use `#` or `/* ... */`"
    ]


def test_unbalanced_braces():
    diags = errors("route {\n  if ($a) {\n    f();\n}\n")
    assert [(d.line, d.message, d.hint) for d in diags] == [
        (4, "syntax error: unexpected end of file", "unbalanced braces: the `{` on line 1 is never closed")
    ]
    diags = errors("route { f(); }\n}\nroute[x] { }\n")
    assert [(d.line, d.hint) for d in diags] == [(2, "unbalanced braces: this `}` has no matching `{`")]


def test_all_syntax_errors_are_reported_and_parsing_goes_on():
    src = textwrap.dedent(
        """\
        route {
            f(;
            $var(x) = ;
            g();
            if ($a { h(); }
            i()
        }
        route[ok] { j(); }
        modparam("tm", "x")
        route[ok2] { k(); }
        """
    )
    script, diags = parse_text(src, "m.cfg")
    assert [(d.line, d.code) for d in diags] == [
        (2, "E101"),
        (3, "E101"),
        (5, "E101"),
        (7, "E101"),
        (9, "E101"),
    ]
    names = [r.name for r in script.routes]
    assert "ok" in names and "ok2" in names
    main = next(r for r in script.routes if r.name is None)
    assert strip(main.body.stmts[0]) == A.ExprStmt(A.Call("g", ()))


def test_error_cap_at_fifty():
    src = "route {\n" + "f(;\n" * 80 + "}\n"
    _s, diags = parse_text(src)
    assert len(diags) == 51
    assert diags[-1].code == "E199"


def test_unterminated_string_and_comment():
    diags = errors('route { f("abc); }\n')
    assert [(d.code, d.line, d.column, d.message) for d in diags] == [("E103", 1, 11, "unterminated string")]
    diags = errors("route { f(); }\n/* open /* nested */\n")
    assert [(d.code, d.line, d.column) for d in diags] == [("E104", 2, 1)]


def test_bare_words_break_and_route_heads():
    diags = errors("route { foo; break; }\nfailure_route { }\ntimer_route[t] { }\nlocal_route[x] { }\n")
    assert [(d.code, d.line, d.message) for d in diags] == [
        ("E108", 1, "bare word `foo` found, command calls need '()'"),
        ("E112", 1, "`break` outside a switch, while or for"),
        ("E109", 2, "failure_route needs a name"),
        ("E109", 3, "timer_route needs a name and an interval"),
        ("E109", 4, "local_route takes no name"),
    ]


def test_else_after_semicolon_and_double_equal_hints():
    diags = errors("route { if ($a) { f(); }; else { g(); } }\nroute[b] { $var(a) == 1; }\n")
    assert [d.hint for d in diags] == [
        "`else` must directly follow the statement of its `if`: remove the `;` before it?",
        "`==` compares (in conditions); use `=` to assign",
    ]


def test_missing_dollar_hint():
    diags = errors("route { foo = 1; }\n")
    assert diags[0].hint == "variables start with `$`: `$var(foo) = ...`"


# ---------------------------------------------------------------- 1.x syntax


def test_uri_myself_warning_and_ast():
    script, diags = parse_snippet("if (uri==myself) x();\nif (from_uri != myself) x();")
    assert [d.format() for d in diags] == [
        '<snippet>:1:5: warning: `uri==myself` is OpenSIPS 1.x syntax; use `is_myself("$rd")`\n'
        "    if (uri==myself) x();\n"
        "        ^",
        '<snippet>:2:5: warning: `from_uri!=myself` is OpenSIPS 1.x syntax; use `is_myself("$fd")`\n'
        "    if (from_uri != myself) x();\n"
        "        ^",
    ]
    stmts = strip(script.routes[0].body.stmts)
    assert stmts[0].cond == A.Call("is_myself", (S("$rd"),))
    assert stmts[1].cond == A.Not(A.Call("is_myself", (S("$fd"),)))
    assert script.generation == 1
    assert all(d.code == "W101" for d in diags)


@pytest.mark.parametrize(
    "src,expected",
    [
        ('method=="INVITE"', A.Compare("==", PV("$rm"), S("INVITE"))),
        ("method==INVITE", A.Compare("==", PV("$rm"), S("INVITE", ""))),
        ('uri=~"^sip:1"', A.Compare("=~", PV("$ru"), S("^sip:1"))),
        ("src_ip==10.0.0.1", A.Compare("==", PV("$si"), A.IPNet("10.0.0.1"))),
        ("dst_port!=5060", A.Compare("!=", PV("$Rp"), C(5060))),
        ('status=~"2[0-9][0-9]"', A.Compare("=~", PV("$rs"), S("2[0-9][0-9]"))),
        ("msg:len > max_len", A.Compare(">", PV("$ml"), C(65535))),
        ("myself==uri", A.Call("is_myself", (S("$rd"),))),
        ("$var(h)==myself", A.Call("is_myself", (S("$var(h)"),))),
    ],
)
def test_1x_conditions(src, expected):
    script, diags = parse_snippet(f"if ({src}) x();")
    assert [d.code for d in diags] == ["W101"]
    assert strip(script.routes[0].body.stmts[0].cond) == expected


def test_unknown_keyword_on_left_of_compare():
    _s, diags = parse_snippet('if (foo == "x") x();')
    assert [(d.code, d.message) for d in diags] == [
        ("E113", "`foo` is not a variable: the left side of a comparison must be a `$` variable")
    ]


def test_legacy_bare_commands():
    script, diags = parse_snippet("force_rport; append_branch;")
    assert [d.code for d in diags] == ["W102", "W102"]
    assert strip(script.routes[0].body.stmts) == (
        A.ExprStmt(A.Call("force_rport", ())),
        A.ExprStmt(A.Call("append_branch", ())),
    )


# ---------------------------------------------------------------- generation


@pytest.mark.parametrize(
    "src,gen",
    [
        ("socket=udp:1.2.3.4:5060\nroute{}", 3),
        ("udp_workers=4\nroute{}", 3),
        ('route{ send_reply(404, "x"); }', 3),
        ('route{ xlog("$socket_in(ip)"); }', 3),
        ("listen=udp:1.2.3.4:5060\nchildren=4\nroute{}", 2),
        ('route{ sl_send_reply("404", "x"); }', 2),
        ('route{ if (is_myself("$rd")) exit; }', 2),
        ("route{ if (uri==myself) exit; }", 1),
        ('route{ if (method=="INVITE") exit; }', 1),
        ("route{ exit; }", 3),
    ],
)
def test_generation_detection(src, gen):
    script, _ = parse_text(src)
    assert script.generation == gen
    assert detect_generation(src) == gen


def test_generation_argument_overrides():
    script, _ = parse_text("listen=udp:1.2.3.4:5060\nroute{}", generation=3)
    assert script.generation == 3


def test_parse_snippet_accepts_whole_scripts():
    script, diags = parse_snippet("route[a] { x(); }\n")
    assert diags == [] and [r.name for r in script.routes] == ["a"]


def test_mpath_with_several_directories_and_urls_in_strings():
    script, diags = parse_text(
        'mpath="/a/":"/b/"\ndb_default_url="mysql://u:p@h/db"\nroute { f("sip://x"); }\n'
    )
    assert diags == []
    assert script.mpath == "/a/:/b/"
    assert [(g.name, g.value) for g in script.globals] == [("db_default_url", "mysql://u:p@h/db")]


def test_complete_items_survive_an_unclosed_block():
    script, diags = parse_text("route[a] { x(); }\nroute {\n  if ($a) {\n    f();\n}\n")
    assert [d.code for d in diags] == ["E107"]
    assert [r.name for r in script.routes] == ["a"]


def test_missing_closing_brace_before_next_route_hint():
    diags = errors("route {\n  f();\nfailure_route[a] { g(); }\n")
    assert diags[0].line == 3
    assert diags[0].hint == "a new route or module line starts here: is a `}` missing before it?"


def test_template_placeholder_hint():
    diags = errors("listen=udp:<private_ip>:5060\nroute { }\n")
    assert [(d.line, d.column, d.hint) for d in diags] == [
        (1, 12, "`<private_ip>` looks like a template placeholder: put a real value there")
    ]
