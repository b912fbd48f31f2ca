"""AST of an OpenSIPS routing script.

Produced by pysips.script.parser (from the Lark tree), consumed by pysips.script.compiler, which checks it and
compiles it into closures. Every node carries its position so any error can point at file:line:col.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Pos:
    file: str
    line: int
    column: int


NOPOS = Pos("", 0, 0)


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Const:
    """A number (int), a NULL (None) or a string literal.

    ``quote`` is '"' or "'" for strings ('' for numbers and NULL). Double-quoted strings are format strings where
    the function takes one (3.x STR params, xlog, assignments): the compiler splits them into literal and PV parts.
    """

    value: int | str | None
    pos: Pos = NOPOS
    quote: str = ""


@dataclass(frozen=True, slots=True)
class PVRef:
    """A pseudo-variable token exactly as written: ``$ru``, ``$hdr(From)``, ``$(avp(x)[0]{s.len})``."""

    text: str
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class IPNet:
    """An IP or ip/mask literal on the right of a comparison: ``$si == 10.0.0.0/8``."""

    text: str
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Call:
    """A function call: ``name(args)``. An empty parameter slot (``f(, "x")``) is None in ``args``."""

    name: str
    args: tuple[Expr | None, ...]
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class RouteCall:
    """``route(name[, p1, ...])``; ``name`` is a str, or a PVRef/Const when computed at run time."""

    name: str | PVRef | Const
    args: tuple[Expr, ...]
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class BinOp:
    """Arithmetic / bitwise / string operators: + - * / % & | ^ << >>."""

    op: str
    left: Expr
    right: Expr
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class UnOp:
    """``~x`` (bitwise not) or ``-x``."""

    op: str
    operand: Expr
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right`` with op in == != > < >= <= =~ !~; left is a PVRef in valid OpenSIPS."""

    op: str
    left: Expr
    right: Expr
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Logic:
    """``&&`` / ``||`` (op 'and' / 'or'); equal precedence, left associative, as in OpenSIPS."""

    op: str
    left: Expr
    right: Expr
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class AssignExpr:
    """An assignment used as a condition: ``if ($var(a) = f())`` (rare but legal)."""

    target: PVRef
    op: str
    value: Expr
    pos: Pos = NOPOS


Expr = Const | PVRef | IPNet | Call | RouteCall | BinOp | UnOp | Compare | Logic | Not | AssignExpr


# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Block:
    stmts: tuple[Stmt, ...]
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class ExprStmt:
    """A call (function or route) used as a statement."""

    expr: Call | RouteCall
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Assign:
    """``target op value`` with op in = := += -= *= /= %= &= |= ^=."""

    target: PVRef
    op: str
    value: Expr
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class If:
    cond: Expr
    then: Block
    orelse: Block | None
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class While:
    cond: Expr
    body: Block
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class ForEach:
    """``for ($var(v) in $(avp(x)[*])) { ... }``."""

    var: PVRef
    iterable: PVRef
    body: Block
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Case:
    """One ``case V:`` (value int or str) or ``default:`` (is_default True); stmts run with C fall-through."""

    value: int | str | None
    is_default: bool
    stmts: tuple[Stmt, ...]
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Switch:
    subject: Expr
    cases: tuple[Case, ...]
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Break:
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Return:
    """``return``, ``return(n)``, ``return($var(x))``, 3.x ``return(n, v1, v2)``."""

    value: Expr | None
    extra: tuple[Expr, ...] = ()
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Exit:
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Drop:
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class Assert:
    cond: Expr
    message: str | None
    pos: Pos = NOPOS


Stmt = ExprStmt | Assign | If | While | ForEach | Switch | Break | Return | Exit | Drop | Assert | Block


# ---------------------------------------------------------------- top level


@dataclass(frozen=True, slots=True)
class GlobalParam:
    """``name = value``. ``value`` is int, str, or for socket=/listen= the raw text after '='."""

    name: str
    value: int | str
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class LoadModule:
    """``loadmodule "tm.so"``: ``name`` is the module name ('tm'), ``path`` as written."""

    name: str
    path: str
    pos: Pos = NOPOS


@dataclass(frozen=True, slots=True)
class ModParam:
    """``modparam("tm|sl", "param", value)``: ``module`` is a regex in OpenSIPS."""

    module: str
    param: str
    value: int | str
    pos: Pos = NOPOS


ROUTE_KINDS = ("request", "onreply", "failure", "branch", "local", "error", "startup", "timer", "event")


@dataclass(frozen=True, slots=True)
class RouteDef:
    """A route block. kind in ROUTE_KINDS; name None for the main route / global onreply_route / local_route...

    ``route`` and ``route[0]`` are the main request route (name None). ``interval`` is set for timer_route.
    """

    kind: str
    name: str | None
    body: Block
    pos: Pos = NOPOS
    interval: int | None = None


@dataclass(slots=True)
class Script:
    """A parsed script: top-level items in file order, plus what the parser learnt on the way."""

    path: str
    globals: list[GlobalParam] = field(default_factory=list)
    loadmodules: list[LoadModule] = field(default_factory=list)
    modparams: list[ModParam] = field(default_factory=list)
    routes: list[RouteDef] = field(default_factory=list)
    mpath: str | None = None
    generation: int = 3  # 1, 2 or 3: the OpenSIPS syntax generation detected (or forced)
    files: list[str] = field(default_factory=list)  # every file read (includes)
    sources: dict[str, list[str]] = field(default_factory=dict)  # file -> its lines, for error carets
