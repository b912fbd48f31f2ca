"""Run-time half of the script engine: the compiled Program, per-run state and OpenSIPS value semantics.

The compiler (pysips.script.compiler) turns every AST node into a closure ``f(ctx, run) -> int``; this module holds
what those closures share at run time: the action flags of OpenSIPS's action.c (EXIT / RETURN / BREAK / DROP), the
value rules of route.c (comparisons, arithmetic, regex matching) and :class:`Program`, the entry point the proxy
calls for each message. Nothing here looks at the AST.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from pysips.errors import ScriptRuntimeError
from pysips.script.context import StrInt

# action_flags (OpenSIPS action.h ACT_FL_*)
FL_EXIT = 1
FL_RETURN = 2
FL_BREAK = 4
FL_DROP = 8

# OpenSIPS error codes that leak into $rc (error.h)
E_UNSPEC = -1
E_BUG = -5
E_SCRIPT = -10
EXPR_DROP = -127  # a function returned 0 inside a condition: stop the script

ROUTE_MAX_REC_LEV = 100  # config.h
DEFAULT_MAX_WHILE_LOOPS = 10000  # action.c

# log levels (dprint.h)
L_ALERT, L_CRIT, L_ERR, L_WARN, L_NOTICE, L_INFO, L_DBG = -3, -2, -1, 1, 2, 3, 4
LOG_LEVELS = {
    "L_ALERT": L_ALERT,
    "L_CRIT": L_CRIT,
    "L_ERR": L_ERR,
    "L_WARN": L_WARN,
    "L_NOTICE": L_NOTICE,
    "L_INFO": L_INFO,
    "L_DBG": L_DBG,
}


class NoValue(ScriptRuntimeError):
    """An expression produced no value (bad operands, NULL in +=): OpenSIPS logs and the action fails."""


class Run:
    """State of one top-level route run: OpenSIPS's global ``action_flags`` and the route stack depth."""

    __slots__ = ("flags", "depth", "trace", "prog", "in_error_route")

    def __init__(self, prog: Program, trace: list | None) -> None:
        self.flags = 0
        self.depth = 0
        self.trace = trace
        self.prog = prog
        self.in_error_route = False


# error classes and levels of $err.class / $err.level (errinfo.h)
OSER_EC_PARSER = 1
OSER_EC_ASSERT = 4
OSER_EL_CRITIC = 1
OSER_EL_MEDIUM = 3


def set_error(ctx: object, eclass: int, level: int, info: str, rcode: int, rreason: str) -> None:
    """errinfo.c set_err_info + the reply code/reason: what $err.* read in error_route."""
    ctx.err_class, ctx.err_level, ctx.err_info = eclass, level, info
    ctx.err_rcode, ctx.err_rreason = rcode, rreason


def set_parse_error(ctx: object, e: Exception) -> None:
    """A header of the message failed to parse while the script used it (OSER_EC_PARSER, like parser/*.c)."""
    set_error(
        ctx,
        OSER_EC_PARSER,
        OSER_EL_MEDIUM,
        str(e) or "error parsing the message",
        getattr(e, "status", 400),
        getattr(e, "reason", "Bad Request"),
    )


def reset_error(ctx: object) -> None:
    ctx.err_class, ctx.err_level, ctx.err_info, ctx.err_rcode, ctx.err_rreason = 0, 0, None, 0, None


def run_error_route(ctx: object, r: Run) -> None:
    """action.c run_error_route(msg, 0): an error was recorded (ctx.err_*) during an action of a route that is
    not onreply/local: run error_route in the same run (its exit/drop count), then reset the error info."""
    route = r.prog.routes.get(("error", None))
    if route is None or r.in_error_route or ctx.route_type in ("onreply", "local", "error"):
        return
    r.in_error_route = True
    try:
        route.body(ctx, r)
    finally:
        r.in_error_route = False
        reset_error(ctx)


Action = Callable[[object, Run], int]


@dataclass(slots=True)
class Settings:
    """Global parameters the running script reads (mutable: $xlog_level and MI may change them)."""

    max_while_loops: int = DEFAULT_MAX_WHILE_LOOPS
    xlog_level: int = L_NOTICE
    xlog_print_level: int = L_NOTICE
    log_level: int = L_NOTICE
    enable_asserts: bool = False


@dataclass(slots=True)
class CompiledRoute:
    kind: str
    name: str | None
    body: Action
    file: str
    line: int
    interval: int | None = None  # timer_route[name, seconds]


@dataclass(slots=True)
class Program:
    """A checked, compiled script. ``run`` executes one route for one message and returns its return code."""

    script: object
    routes: dict[tuple[str, str | None], CompiledRoute] = field(default_factory=dict)
    modparams: dict[str, dict[str, object]] = field(default_factory=dict)
    globals: dict[str, object] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    modules: list[str] = field(default_factory=list)
    # $shv (cfgutils shvset pre-filled; one table shared by every Context) and the initial $var values
    # (cfgutils varset) each worker's $var dict starts from: Context(vars=dict(p.initial_vars), shv=p.shv)
    shv: dict[str, object] = field(default_factory=dict)
    initial_vars: dict[str, object] = field(default_factory=dict)
    # what the script uses that pysips only declares: {"modules": [names loaded but not emulated],
    # "functions": {function name: its OpenSIPS module}} (E202/E219 warnings; `pysips check` summarises it)
    unimplemented: dict[str, object] = field(default_factory=lambda: {"modules": [], "functions": {}})
    # b2b XML scenarios (modparam script_scenario / extern_scenario), loaded by `pysips run`: id -> Scenario
    b2b_scenarios: dict[str, object] = field(default_factory=dict)
    # every module function the script calls (pysips run suspends scripts in greenlets only when one can sleep)
    called: frozenset[str] = frozenset()

    def configure_env(self, env: object) -> None:
        """Start an Env's $xlog_level / $log_level from the script's xlog_level= / log_level= globals (OpenSIPS
        defaults: xlog_level L_NOTICE). The proxy calls this once per Env it builds."""
        s = self.settings
        for attr in ("xlog_level", "default_xlog_level"):
            if hasattr(env, attr):
                setattr(env, attr, s.xlog_level)
        if "log_level" in self.globals or "debug" in self.globals:
            for attr in ("log_level", "default_log_level"):
                if hasattr(env, attr):
                    setattr(env, attr, s.log_level)

    def has_route(self, kind: str, name: str | None = None) -> bool:
        return (kind, name) in self.routes

    def run(self, kind: str, name: str | None, ctx: object) -> int:
        """Run route ``kind[name]`` on ``ctx``. Returns its return code (0 after exit/drop); sets ctx.dropped."""
        route = self.routes.get((kind, name))
        if route is None:
            raise ScriptRuntimeError(f"no {route_label(kind, name)} in the script")
        r = Run(self, getattr(ctx, "trace", None))
        ctx.route_type = kind
        ctx.route_name = name if name is not None else ""
        saved_stack = ctx.route_stack
        ctx.route_stack = [name]
        try:
            ret = route.body(ctx, r)
        finally:
            ctx.route_stack = saved_stack
        if r.flags & FL_DROP:
            ctx.dropped = True
        if r.flags & FL_EXIT:
            return 0
        return ret


def route_label(kind: str, name: str | None) -> str:
    prefix = "route" if kind == "request" else f"{kind}_route"
    return prefix if name is None else f"{prefix}[{name}]"


_LEVEL_NAMES = {L_ALERT: "ALERT", L_CRIT: "CRITICAL", L_ERR: "ERROR", L_WARN: "WARNING", L_NOTICE: "NOTICE"}


def log_error(ctx: object, text: str, level: int = L_ERR) -> None:
    """Log a script-engine diagnostic through the Env, prefixed like OpenSIPS's LM_* lines (``ERROR:core:``) so
    it is told apart from the script's own xlog output."""
    env = getattr(ctx, "env", None)
    if env is not None:
        env.log(ctx, level, f"{_LEVEL_NAMES.get(level, 'INFO')}:script: {text}")


# ------------------------------------------------------------------ integers (C int semantics)


def i32(v: int) -> int:
    """Wrap to a signed 32-bit int as OpenSIPS's C arithmetic does."""
    if -0x80000000 <= v <= 0x7FFFFFFF:
        return v
    return ((v + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def c_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return i32(q if (a >= 0) == (b >= 0) else -q)


def c_mod(a: int, b: int) -> int:
    return a - b * c_div(a, b)


INT_OPS: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: i32(a + b),
    "-": lambda a, b: i32(a - b),
    "*": lambda a, b: i32(a * b),
    "/": c_div,
    "%": c_mod,
    "&": lambda a, b: a & b,
    "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
    "<<": lambda a, b: i32(a << (b & 31)),
    ">>": lambda a, b: a >> (b & 31),
}


def binop(op: str, lv: object, rv: object, right_is_pv: bool) -> int | str:
    """route.c eval_elem EXPR_O: int arithmetic, string '+' concatenation, byte-wise & | ^ on equal-length strings.

    ``right_is_pv``: an int read from a variable also has a string form in OpenSIPS (PV_VAL_STR|PV_VAL_INT), so
    ``"a" + $var(n)`` concatenates while ``"a" + 1`` fails ("invalid string operands").
    """
    if type(lv) is int:
        if rv is None:
            rv = 0
        elif type(rv) is not int:
            raise NoValue("invalid numeric operands")
        if (op == "/" or op == "%") and rv == 0:
            return 0  # OpenSIPS logs "divide by 0" and the value is 0
        return INT_OPS[op](lv, rv)
    ls = "" if lv is None else lv
    if op == "+":
        if rv is None:
            return ls
        if type(rv) is int:
            if not right_is_pv:
                raise NoValue("invalid string operands")
            return ls + str(rv)
        return ls + rv
    if op in ("&", "|", "^") and type(rv) is str:
        if len(ls) != len(rv):
            raise NoValue("different length string operands")
        f = INT_OPS[op]
        return "".join(chr(f(ord(a), ord(b)) & 0xFF) for a, b in zip(ls, rv, strict=True))
    raise NoValue(f"invalid operator {op} for string operands")


def compound(op: str, lv: object, rv: object) -> int | str:
    """action.c do_assign for += -= ...: both sides non-NULL; ints do arithmetic; strings only concatenate."""
    if lv is None or rv is None:
        raise NoValue("NULL value(s) in complex assignment expressions (+=, -=, etc.)")
    base = op[:-1]
    if type(lv) is int and type(rv) is int:
        if base in ("/", "%") and rv == 0:
            raise NoValue("division by zero in assignment")
        return INT_OPS[base](lv, rv)
    if type(lv) is str and type(rv) is str and base == "+":
        return lv + rv
    raise NoValue(
        f"unsupported operand type(s) for {op}: {'string' if type(lv) is str else 'int'} and "
        f"{'string' if type(rv) is str else 'int'}"
    )


def truth(v: object) -> int:
    """Truthiness of a bare variable: false if absent/NULL, empty string or int 0 (route.c SCRIPTVAR_O NO_OP)."""
    if v is None or v == "" or v == 0:
        return 0
    return 1


# ------------------------------------------------------------------ comparisons (route.c comp_scriptvar)


def _str_cmp(op: str, a: str, b: str) -> int:
    a = a.lower()
    b = b.lower()
    if op == "==":
        return 1 if a == b else 0
    if op == "!=":
        return 1 if a != b else 0
    if op == ">":
        return 1 if a > b else 0
    if op == "<":
        return 1 if a < b else 0
    if op == ">=":
        return 1 if a >= b else 0
    if op == "<=":
        return 1 if a <= b else 0
    return -1


def _int_cmp(op: str, a: int, b: int) -> int:
    if op == "==" or op == "=~":
        return 1 if a == b else 0
    if op == "!=" or op == "!~":
        return 1 if a != b else 0
    if op == ">":
        return 1 if a > b else 0
    if op == "<":
        return 1 if a < b else 0
    if op == ">=":
        return 1 if a >= b else 0
    if op == "<=":
        return 1 if a <= b else 0
    return -1


NEG_OPS = frozenset({"!=", "!~"})


def cmp_values(op: str, lv: object, rv: object) -> int:
    """Both operands are variables: NULL rules, then int/int numeric, else string (an int var has a string form)."""
    if lv is None or rv is None:
        if lv is None and rv is None:
            return 1 if op in ("==", "=~") else 0
        return 1 if op in NEG_OPS else 0
    if op == "=~" or op == "!~":
        pat = dyn_regex(str(rv))
        if pat is None:
            return -1
        hit = pat.search(str(lv)) is not None
        return 1 if hit == (op == "=~") else 0
    if type(lv) is int and type(rv) is int:
        return _int_cmp(op, lv, rv)
    # an explicit URI port ($rp, $op, $dp) is a StrInt: numeric against another int-valued operand
    if (type(lv) is StrInt or type(lv) is int) and (type(rv) is StrInt or type(rv) is int):
        return _int_cmp(op, int(lv), int(rv))
    return _str_cmp(op, str(lv), str(rv))


def cmp_const_str(op: str, lv: object, rs: str) -> int:
    if lv is None:
        return 1 if op in NEG_OPS else 0
    return _str_cmp(op, lv if type(lv) is str else str(lv), rs)


def cmp_const_int(op: str, lv: object, rn: int) -> int:
    if lv is None:
        return 1 if op in NEG_OPS else 0
    if type(lv) is not int:
        if type(lv) is StrInt:  # PV_VAL_STR|PV_VAL_INT: $rp == 5080 compares numerically
            return _int_cmp(op, int(lv), rn)
        return -1  # "invalid operation: left is a string, right is a number"
    return _int_cmp(op, lv, rn)


def cmp_regex(op: str, lv: object, pat: re.Pattern) -> int:
    if lv is None:
        return 1 if op == "!~" else 0
    hit = pat.search(lv if type(lv) is str else str(lv)) is not None
    return 1 if hit == (op == "=~") else 0


class NetMatcher:
    """An ``ip/mask`` literal prepared at load time: membership is two integer operations per test."""

    __slots__ = ("net", "family", "base", "mask")

    def __init__(self, text: str) -> None:
        self.net = ipaddress.ip_network(text.strip("[]"), strict=False)
        self.family = socket.AF_INET if self.net.version == 4 else socket.AF_INET6
        self.base = int(self.net.network_address)
        self.mask = int(self.net.netmask)

    def contains(self, text: str) -> bool | None:
        """True/False, or None when ``text`` is not an IP address."""
        ip = text.strip("[]")
        try:
            packed = socket.inet_pton(self.family, ip)
        except OSError:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                return None
            return False  # an address of the other family
        return int.from_bytes(packed, "big") & self.mask == self.base


def cmp_net(op: str, lv: object, net: NetMatcher) -> int:
    if lv is None:
        return 1 if op in NEG_OPS else 0
    inside = net.contains(lv if type(lv) is str else str(lv))
    if inside is None:
        return -1  # "Var value is not an IP"
    return 1 if inside == (op == "==") else 0


# ------------------------------------------------------------------ regexes


def compile_posix(pattern: str) -> re.Pattern:
    """Compile like route.c's regcomp(REG_EXTENDED|REG_NOSUB|REG_ICASE) for =~ / !~. Raises ValueError."""
    from pysips.modules._regex import compile_ere

    return compile_ere(pattern, icase=True, newline=False)


def compile_script_regex(pattern: str) -> re.Pattern:
    """A module function's REGEX parameter: REG_EXTENDED|REG_ICASE|REG_NEWLINE (mod_fix.c). Raises ValueError."""
    from pysips.modules._regex import compile_script_regex as compile_

    return compile_(pattern)


_DYN_CACHE: dict[tuple[str, bool], re.Pattern | None] = {}


def dyn_regex(pattern: str, newline: bool = False) -> re.Pattern | None:
    """A regex taken from a variable at run time, compiled once per distinct text (bounded cache).
    ``newline`` selects the module-parameter flavour (REG_NEWLINE) over the ``=~`` one."""
    key = (pattern, newline)
    pat = _DYN_CACHE.get(key, False)
    if pat is False:
        try:
            pat = compile_script_regex(pattern) if newline else compile_posix(pattern)
        except ValueError:
            pat = None
        if len(_DYN_CACHE) > 256:
            _DYN_CACHE.clear()
        _DYN_CACHE[key] = pat
    return pat
