"""Load-time checks and the closure compiler for OpenSIPS routing scripts.

``compile_script(script)`` walks the AST once: it reports every semantic error it finds (unknown function, missing
loadmodule, arity, parameter kinds, route types, undefined or duplicate routes, modparams, regexes, pseudo-variables,
read-only writes...) and turns every statement and expression into a Python closure with its fixups done (regexes
compiled, format strings split, constant parameters converted, function specs resolved, PVs parsed). The closures
follow OpenSIPS's action.c / route.c: see pysips.script.interp for the run-time rules they share.

Closure shapes: statements and value/condition expressions are ``f(ctx, run)``; the per-request path performs no
name lookup and touches no AST node.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pysips.errors import PysipsError, ScriptError, ScriptRuntimeError, SIPParseError
from pysips.script import ast as A
from pysips.script.interp import (
    E_BUG,
    E_UNSPEC,
    EXPR_DROP,
    FL_BREAK,
    FL_DROP,
    FL_EXIT,
    FL_RETURN,
    L_CRIT,
    L_DBG,
    L_ERR,
    L_WARN,
    LOG_LEVELS,
    OSER_EC_ASSERT,
    OSER_EL_CRITIC,
    ROUTE_MAX_REC_LEV,
    CompiledRoute,
    NetMatcher,
    NoValue,
    Program,
    Run,
    Settings,
    binop,
    cmp_const_int,
    cmp_const_str,
    cmp_net,
    cmp_regex,
    cmp_values,
    compile_posix,
    compile_script_regex,
    compound,
    dyn_regex,
    log_error,
    route_label,
    run_error_route,
    set_error,
    set_parse_error,
    truth,
)

__all__ = ["compile_script", "Program", "ERROR_CODES"]

# Stable codes of the semantic (E2xx) diagnostics.
ERROR_CODES = {
    "E201": "unknown function",
    "E202": "OpenSIPS function or module that pysips does not implement (warning)",
    "E203": "function of a module that is not loaded",
    "E204": "wrong number of parameters",
    "E205": "wrong parameter kind",
    "E206": "function not allowed in this route type",
    "E207": "route called but not defined",
    "E208": "route defined twice",
    "E209": "function names a route that does not exist (t_on_failure...)",
    "E210": "modparam for a module that is not loaded",
    "E211": "modparam: unknown parameter",
    "E212": "modparam: value of the wrong type",
    "E213": "invalid regular expression",
    "E214": "unknown or invalid pseudo-variable / transformation",
    "E215": "write to a read-only pseudo-variable",
    "E216": "transformation on the left side of an assignment",
    "E217": "comparison with a non-variable on the left",
    "E218": "break outside switch/while/for",
    "E219": "function declared but not implemented by pysips yet (warning)",
    "E220": "unknown module",
    "E221": "for-each over a variable without [*] index",
    "E222": "invalid parameter value (fixup)",
    "E223": "invalid xlog level",
    "E224": "invalid IP network",
    "E225": "switch subject is not a variable",
    "E226": "deprecated pseudo-variable (warning)",
    "E227": "module initialisation failed (bad modparam value)",
}

_TOP_KINDS = ("onreply", "failure", "branch", "local", "error", "startup", "timer", "event")
_VALUE_FLAGS_STOP = FL_RETURN | FL_EXIT


def compile_script(script: A.Script, *, registry: dict | None = None) -> tuple[Program, list[ScriptError]]:
    """Check ``script`` and compile it. Returns the Program and ALL diagnostics (errors and warnings).

    The Program is usable only when no diagnostic has severity "error".
    """
    c = _Compiler(script, registry)
    prog = c.compile()
    return prog, c.errors


class _Compiler:
    def __init__(self, script: A.Script, registry: dict | None) -> None:
        from pysips import modules as M

        self.M = M
        self.script = script
        self.gen = script.generation
        self.errors: list[ScriptError] = []
        self.registry = registry if registry is not None else M.load_registry()
        try:
            self.known_funcs = M.known_unimplemented_functions()
        except ImportError:
            self.known_funcs = {}
        try:
            self.known_mods = M.known_unimplemented_modules()
        except ImportError:
            self.known_mods = frozenset()
        self.settings = Settings()
        self.loaded: list[str] = []
        self.funcs: dict[str, tuple[Any, str]] = {}
        self.route_defs: dict[tuple[str, str | None], A.RouteDef] = {}
        self.cells: dict[tuple[str, str | None], list] = {}
        self.pv_cache: dict[str, Any] = {}
        self.pv_warned: set[tuple] = set()
        self.kinds: frozenset[str] = frozenset({"request"})
        self.loop_depth = 0
        self.cur_file = ""
        self.unimpl_modules: list[str] = []
        self.unimpl_functions: dict[str, str] = {}
        self.called: set[str] = set()

    # ------------------------------------------------------------ diagnostics

    def err(
        self,
        message: str,
        pos: A.Pos | None,
        code: str,
        hint: str = "",
        severity: str = "error",
        col_offset: int = 0,
    ) -> None:
        pos = pos or A.NOPOS
        file = pos.file or self.script.path
        src = ""
        lines = self.script.sources.get(file)
        if lines and 0 < pos.line <= len(lines):
            src = lines[pos.line - 1]
        self.errors.append(
            ScriptError(message, file, pos.line, pos.column + col_offset, src, hint, code, severity)
        )

    # ------------------------------------------------------------ top level

    def compile(self) -> Program:
        s = self.script
        prog = Program(script=s)
        self._globals(prog)
        self._loadmodules()
        self._modparams(prog)
        self._init_modules(prog)
        self._collect_routes()
        kinds_of = self._route_kinds()
        for key, rd in self.route_defs.items():
            self.kinds = kinds_of.get(key, frozenset({rd.kind}))
            self.loop_depth = 0
            self.cur_file = rd.pos.file or s.path
            body = self._route_body(rd)
            self.cells.setdefault(key, [None])[0] = body
            prog.routes[key] = CompiledRoute(rd.kind, key[1], body, self.cur_file, rd.pos.line, rd.interval)
        prog.settings = self.settings
        prog.modules = list(self.loaded)
        prog.called = frozenset(self.called)
        prog.unimplemented = {
            "modules": sorted(self.unimpl_modules),
            "functions": dict(sorted(self.unimpl_functions.items())),
        }
        self.errors.sort(key=lambda e: (e.file, e.line, e.column))
        return prog

    def _globals(self, prog: Program) -> None:
        for g in self.script.globals:
            prev = prog.globals.get(g.name)
            if g.name in ("listen", "socket", "alias") and prev is not None:
                prog.globals[g.name] = (prev if isinstance(prev, list) else [prev]) + [g.value]
            else:
                prog.globals[g.name] = g.value
            if g.name in ("max_while_loops", "xlog_level", "xlog_print_level", "log_level", "debug"):
                if not isinstance(g.value, int):
                    self.err(f"global parameter {g.name} expects an integer", g.pos, "E212")
                    continue
                attr = "log_level" if g.name == "debug" else g.name
                setattr(self.settings, attr, g.value)
            elif g.name == "enable_asserts":
                self.settings.enable_asserts = bool(g.value) and g.value not in ("no", "false", "off")

    def _loadmodules(self) -> None:
        seen: set[str] = set()
        for lm in self.script.loadmodules:
            name = lm.name
            if name in seen:
                continue
            seen.add(name)
            if name in self.registry:
                self.loaded.append(name)
            elif name in self.known_mods:
                self.err(
                    f'module "{name}" is an OpenSIPS module that pysips does not implement',
                    lm.pos,
                    "E202",
                    hint="its functions and modparams are accepted but do nothing (calls return -1)",
                    severity="warning",
                )
                self.loaded.append(name)
                self.unimpl_modules.append(name)
            else:
                self.err(f'unknown module "{name}" (loadmodule "{lm.path}")', lm.pos, "E220")
        loaded_set = set(self.loaded)
        for mname, spec in self.registry.items():
            if getattr(spec, "core", False) or mname == "core" or mname in loaded_set:
                for fname, fspec in spec.functions.items():
                    self.funcs.setdefault(fname, (fspec, mname))

    def _modparams(self, prog: Program) -> None:
        for mname in self.loaded:
            spec = self.registry.get(mname)
            if spec is not None:
                prog.modparams[mname] = {
                    p.name: ([] if p.repeatable else p.default) for p in spec.params.values()
                }
        for mp in self.script.modparams:
            try:
                rx = re.compile(mp.module)
                targets = [m for m in self.loaded if rx.fullmatch(m)]
            except re.error:
                targets = [m for m in self.loaded if m == mp.module]
            if not targets:
                hint = f'add loadmodule "{mp.module}.so"' if re.fullmatch(r"[\w]+", mp.module) else ""
                self.err(f'modparam for module "{mp.module}" which is not loaded', mp.pos, "E210", hint)
                continue
            for m in targets:
                spec = self.registry.get(m)
                if spec is None:
                    continue  # a known OpenSIPS module pysips does not emulate: already warned at loadmodule
                pspec = spec.params.get(mp.param)
                if pspec is None:
                    known = ", ".join(sorted(spec.params)) or "none"
                    self.err(
                        f'unknown parameter "{mp.param}" for module "{m}"',
                        mp.pos,
                        "E211",
                        hint=f"parameters of {m}: {known}",
                    )
                    continue
                value = mp.value
                if pspec.kind == self.M.INT and not isinstance(value, int):
                    sval = str(value).strip()
                    if re.fullmatch(r"-?\d+", sval):
                        value = int(sval)
                    else:
                        self.err(
                            f'modparam "{mp.param}" of module "{m}" expects an integer, got "{value}"',
                            mp.pos,
                            "E212",
                        )
                        continue
                elif pspec.kind == self.M.STR and isinstance(value, int):
                    self.err(
                        f'modparam "{mp.param}" of module "{m}" expects a string, got the number {value}',
                        mp.pos,
                        "E212",
                        hint=f'quote it: modparam("{mp.module}", "{mp.param}", "{value}")',
                    )
                    continue
                if pspec.repeatable:
                    prog.modparams[m][mp.param].append(value)
                else:
                    prog.modparams[m][mp.param] = value

    def _init_modules(self, prog: Program) -> None:
        """Run each loaded module's init(params) with its resolved modparams (OpenSIPS mod_init), then expose
        the cfgutils tables ($shv, varset) on the Program."""
        for mname in self.loaded:
            hook = self.M.init_hook(mname)
            if hook is None or mname not in prog.modparams:
                continue
            try:
                hook(prog.modparams[mname])
            except (ValueError, TypeError, OSError, PysipsError) as e:
                pos = next((m.pos for m in self.script.modparams if m.module == mname), None)
                if pos is None:
                    pos = next((lm.pos for lm in self.script.loadmodules if lm.name == mname), None)
                self.err(f'module "{mname}": {e}', pos, "E227")
        if "cfgutils" in prog.modparams:
            from pysips.modules import cfgutils

            prog.shv = cfgutils.shared_vars()
            prog.initial_vars = cfgutils.initial_vars()

    def _collect_routes(self) -> None:
        for rd in self.script.routes:
            name = rd.name
            if rd.kind == "request" and name == "0":
                name = None
            key = (rd.kind, name)
            if key in self.route_defs:
                first = self.route_defs[key].pos
                self.err(
                    f"{route_label(rd.kind, name)} defined twice (first at {first.file or self.script.path}:{first.line})",
                    rd.pos,
                    "E208",
                )
                continue
            self.route_defs[key] = rd
            self.cells[key] = [None]

    def _route_kinds(self) -> dict[tuple[str, str | None], frozenset[str]]:
        """Which top-level route types reach each named route() (functions are checked against all of them)."""
        calls: dict[tuple[str, str | None], set[str]] = {}
        for key, rd in self.route_defs.items():
            names: set[str] = set()
            _static_route_calls(rd.body, names)
            calls[key] = names
        reached: dict[tuple[str, str | None], set[str]] = {}
        for key, rd in self.route_defs.items():
            if rd.kind == "request" and rd.name is not None:
                continue
            stack = [key]
            seen = {key}
            while stack:
                k = stack.pop()
                for n in calls.get(k, ()):
                    sub = ("request", n)
                    if sub in self.route_defs and sub not in seen:
                        seen.add(sub)
                        reached.setdefault(sub, set()).add(rd.kind)
                        stack.append(sub)
        out: dict[tuple[str, str | None], frozenset[str]] = {}
        for key, rd in self.route_defs.items():
            if rd.kind == "request" and rd.name is not None:
                out[key] = frozenset(reached.get(key) or {"request"})
            else:
                out[key] = frozenset({rd.kind})
        return out

    # ------------------------------------------------------------ pseudo-variables

    def pv(self, node: A.PVRef) -> Any:
        from pysips.script.pvars import PVError, parse_pv

        spec = self.pv_cache.get(node.text)
        if spec is not None:
            return spec
        try:
            spec = parse_pv(node.text, generation=self.gen)
        except PVError as e:
            self._pv_error(e, node.pos, 0)
            return None
        self.pv_cache[node.text] = spec
        self._pv_warning(spec, node.pos, 0)
        return spec

    def pv_text(self, text: str, pos: A.Pos, col_offset: int = 1) -> Any:
        """A PV given inside a quoted string (2.x output variables: "$avp(x)")."""
        from pysips.script.pvars import PVError, parse_pv

        try:
            spec = parse_pv(text, generation=self.gen)
        except PVError as e:
            self._pv_error(e, pos, col_offset)
            return None
        self._pv_warning(spec, pos, col_offset)
        return spec

    def _pv_warning(self, spec: Any, pos: A.Pos, col_offset: int) -> None:
        """A PV OpenSIPS deprecated (2.x names kept until 3.2...): reported once per spelling and line."""
        text = getattr(spec, "warning", None)
        if not text:
            return
        key = (text, pos.file, pos.line)
        if key in self.pv_warned:
            return
        self.pv_warned.add(key)
        self.err(text, pos, "E226", severity="warning", col_offset=col_offset)

    def fmt(self, node: A.Const) -> Any:
        """A format string (double quotes): returns the FormatString, or None after reporting its error."""
        from pysips.script.pvars import PVError, parse_format

        try:
            f = parse_format(node.value, generation=self.gen)
        except PVError as e:
            self._pv_error(e, node.pos, 1)
            return None
        for _, spec in f.parts:
            if spec is not None:
                self._pv_warning(spec, node.pos, 1)
        return f

    def _pv_error(self, e: Exception, pos: A.Pos, col_offset: int) -> None:
        code = getattr(e, "code", "") or "E214"
        msg = getattr(e, "message", None) or str(e)
        off = getattr(e, "offset", 0) or 0
        self.err(msg, pos, code if code.startswith("E") else "E214", col_offset=col_offset + off)

    def writable_pv(self, node: A.PVRef, what: str = "assignment") -> Any:
        spec = self.pv(node)
        if spec is None:
            return None
        if getattr(spec, "has_transformations", False):
            self.err(
                f"transformations are not accepted on the left side of an {what}",
                node.pos,
                "E216",
                hint="apply the transformation on the right side",
            )
            return None
        if not getattr(spec, "writable", True):
            self.err(
                f"invalid left operand in {what}: {node.text} is read-only",
                node.pos,
                "E215",
                hint=_readonly_hint(node.text),
            )
            return None
        return spec

    # ------------------------------------------------------------ statements

    def _route_body(self, rd: A.RouteDef) -> Callable:
        lst = self.block(rd.body)
        if lst is None:

            def empty_route(ctx: Any, r: Run) -> int:
                return 1

            return empty_route

        def route_body(ctx: Any, r: Run) -> int:
            ret = lst(ctx, r)
            r.flags &= ~FL_RETURN
            return ret

        return route_body

    def block(self, block: A.Block | tuple | None) -> Callable | None:
        """Compile a statement list into one run_action_list closure (None when empty)."""
        if block is None:
            return None
        stmts = block.stmts if isinstance(block, A.Block) else block
        items: list[tuple[Callable, int, bool]] = []
        for st in stmts:
            compiled = self.stmt(st)
            if compiled is None:
                continue
            fn, sets_rc = compiled
            items.append((fn, st.pos.line, sets_rc))
        if not items:
            return None
        return _make_list(tuple(items), self.cur_file, ("error", None) in self.route_defs)

    def stmt(self, st: A.Stmt) -> tuple[Callable, bool] | None:
        t = type(st)
        if t is A.ExprStmt:
            e = st.expr
            if type(e) is A.RouteCall:
                return self.route_call(e), False
            if type(e) is A.Call:
                return self.call(e), True
            return self.value(e), True
        if t is A.Assign:
            return self.assign(st.target, st.op, st.value, st.pos), True
        if t is A.If:
            return self.if_(st), False
        if t is A.While:
            return self.while_(st), True
        if t is A.ForEach:
            return self.foreach(st), True
        if t is A.Switch:
            return self.switch(st), True
        if t is A.Break:
            if self.loop_depth == 0:
                self.err("break outside switch, while or for", st.pos, "E218")

            def brk(ctx: Any, r: Run) -> int:
                r.flags |= FL_BREAK
                return E_BUG  # do_action leaves ret at E_BUG for break: it shows in $rc

            return brk, True
        if t is A.Return:
            return self.return_(st), True
        if t is A.Exit:

            def exit_(ctx: Any, r: Run) -> int:
                r.flags |= FL_EXIT
                return 0

            return exit_, True
        if t is A.Drop:

            def drop(ctx: Any, r: Run) -> int:
                r.flags |= FL_DROP | FL_EXIT
                return E_BUG

            return drop, True
        if t is A.Assert:
            return self.compile_assert(st), True
        if t is A.Block:
            lst = self.block(st)
            return (lst, True) if lst is not None else None
        self.err(f"unsupported statement {t.__name__}", getattr(st, "pos", None), "E201")
        return None

    def assign(self, target: A.PVRef, op: str, value: A.Expr, pos: A.Pos) -> Callable:
        spec = self.writable_pv(target)
        is_null = type(value) is A.Const and value.value is None and value.quote == ""
        val = None if is_null else self.value(value)
        if spec is None:
            return _noop_fail
        setter = spec.set
        where = f"{pos.file or self.cur_file}:{pos.line}"
        if is_null:
            if op not in ("=", ":="):
                self.err(f"NULL is not accepted with {op}", pos, "E205")

            def assign_null(ctx: Any, r: Run) -> int:
                setter(ctx, op, None)
                return 1

            return assign_null
        if op in ("=", ":="):
            # the two commonest right sides get a closure without the value-closure layer
            if type(value) is A.Const:
                cv = value.value

                def assign_const(ctx: Any, r: Run) -> int:
                    setter(ctx, op, cv)
                    return 1

                return assign_const
            if type(value) is A.PVRef and self.pv(value) is not None:
                vget = self.pv(value).get

                def assign_pv(ctx: Any, r: Run) -> int:
                    setter(ctx, op, vget(ctx))
                    return 1

                return assign_pv

            def assign_eq(ctx: Any, r: Run) -> int:
                try:
                    v = val(ctx, r)
                except NoValue as e:
                    log_error(ctx, f"{e}; no value in right expression at {where}", L_WARN)
                    return -1
                setter(ctx, op, v)
                return 1

            return assign_eq
        getter = spec.get

        def assign_op(ctx: Any, r: Run) -> int:
            try:
                v = compound(op, getter(ctx), val(ctx, r))
            except NoValue as e:
                log_error(ctx, f"{e} at {where}")
                return -1
            setter(ctx, "=", v)
            return 1

        return assign_op

    def if_(self, st: A.If) -> Callable:
        cond = self.cond(st.cond)
        then = self.block(st.then)
        orelse = self.block(st.orelse)
        where = f"{st.pos.file or self.cur_file}:{st.pos.line}"

        def if_stmt(ctx: Any, r: Run) -> int:
            v = cond(ctx, r)
            if v < 0 or r.flags & _VALUE_FLAGS_STOP:
                if v == EXPR_DROP or r.flags & _VALUE_FLAGS_STOP:
                    ctx.rc = 0
                    return 0
                log_error(ctx, f"error in expression at {where}", L_WARN)
            if v > 0:
                if then is not None:
                    ret = then(ctx, r)
                    ctx.rc = ret
                    return ret
            elif orelse is not None:
                ret = orelse(ctx, r)
                ctx.rc = ret
                return ret
            ctx.rc = v
            return 1

        return if_stmt

    def while_(self, st: A.While) -> Callable:
        cond = self.cond(st.cond)
        self.loop_depth += 1
        body = self.block(st.body)
        self.loop_depth -= 1
        settings = self.settings
        where = f"{st.pos.file or self.cur_file}:{st.pos.line}"

        def while_stmt(ctx: Any, r: Run) -> int:
            ret = E_BUG
            limit = settings.max_while_loops
            n = 0
            while True:
                if n >= limit:
                    log_error(
                        ctx,
                        f"max while loops reached ({limit}), increase the 'max_while_loops' global! ({where})",
                    )
                    break
                n += 1
                v = cond(ctx, r)
                if v < 0 or r.flags & _VALUE_FLAGS_STOP:
                    if v == EXPR_DROP or r.flags & _VALUE_FLAGS_STOP:
                        return 0
                    log_error(ctx, f"error in expression at {where}", L_WARN)
                ret = 1
                if v <= 0 or body is None:
                    break
                ret = body(ctx, r)
                if r.flags & (FL_RETURN | FL_EXIT | FL_BREAK):
                    r.flags &= ~FL_BREAK
                    break
            return ret

        return while_stmt

    def foreach(self, st: A.ForEach) -> Callable:
        var = self.writable_pv(st.var, "for-each")
        it = self.pv(st.iterable)
        if it is not None and "[*]" not in st.iterable.text.replace(" ", ""):
            self.err(
                'for-each must be used on a "[*]" index',
                st.iterable.pos,
                "E221",
                hint=f"write $({st.iterable.text.lstrip('$').strip('()')}[*])",
            )
        self.loop_depth += 1
        body = self.block(st.body)
        self.loop_depth -= 1
        if var is None or it is None:
            return _noop_fail
        setter = var.set
        get_all = it.get_all

        def foreach_stmt(ctx: Any, r: Run) -> int:
            ret = 1
            for v in get_all(ctx):
                if v is None:
                    break
                setter(ctx, "=", v)
                if body is None:
                    continue
                ret = body(ctx, r)
                if r.flags & (FL_RETURN | FL_EXIT | FL_BREAK):
                    r.flags &= ~FL_BREAK
                    return ret
            return ret

        return foreach_stmt

    def switch(self, st: A.Switch) -> Callable:
        if type(st.subject) is not A.PVRef:
            self.err("switch() needs a script variable", st.subject.pos, "E225")
        subj = self.value(st.subject)
        self.loop_depth += 1
        items: list[tuple[bool, Any, Callable | None]] = []
        default_body = None
        has_default = False
        for case in st.cases:
            body = self.block(case.stmts)
            if case.is_default:
                has_default = True
                default_body = body
                items.append((True, None, None))
            else:
                cv = case.value
                items.append((False, cv.lower() if isinstance(cv, str) else cv, body))
        self.loop_depth -= 1
        items_t = tuple(items)
        last = len(items_t) - 1

        def switch_stmt(ctx: Any, r: Run) -> int:
            v = subj(ctx, r)
            sv = v.lower() if type(v) is str else (str(v) if type(v) is int else None)
            rc = 1
            matched = False
            for i, (is_def, cv, body) in enumerate(items_t):
                if not matched and not is_def:
                    if type(cv) is str:
                        matched = sv is not None and sv == cv
                    else:
                        matched = type(v) is int and v == cv
                if matched:
                    if body is not None:
                        rc = body(ctx, r)
                        if r.flags & (FL_RETURN | FL_EXIT | FL_BREAK):
                            r.flags &= ~FL_BREAK
                            return rc
                    if i == last:
                        matched = False
            if not matched and has_default and default_body is not None:
                rc = default_body(ctx, r)
                r.flags &= ~FL_BREAK
            return rc

        return switch_stmt

    def return_(self, st: A.Return) -> Callable:
        extra = tuple(self.value(x) for x in st.extra)
        v = st.value
        if v is None:
            const: int | None = 1
            getter = None
        elif type(v) is A.Const and type(v.value) is int:
            const, getter = v.value, None
        elif type(v) is A.PVRef:
            spec = self.pv(v)
            const, getter = None, (spec.get if spec is not None else None)
        else:
            self.err("return() takes a number or a script variable", v.pos, "E205")
            const, getter = 1, None

        def return_stmt(ctx: Any, r: Run) -> int:
            if extra:
                ctx.return_values = tuple(f(ctx, r) for f in extra)
            elif ctx.return_values:
                ctx.return_values = ()
            r.flags |= FL_RETURN
            if getter is None:
                return const
            x = getter(ctx)
            if x is None:
                return -1
            return x if type(x) is int else 1

        return return_stmt

    def compile_assert(self, st: A.Assert) -> Callable:
        cond = self.cond(st.cond)
        settings = self.settings
        where = f"{st.pos.file or self.cur_file}:{st.pos.line}"
        text = f"ASSERTION FAILED ({st.message}) at {where}" if st.message else f"ASSERTION FAILED at {where}"

        def assert_stmt(ctx: Any, r: Run) -> int:
            if not settings.enable_asserts:
                return E_BUG
            if cond(ctx, r) <= 0:
                log_error(ctx, text, L_CRIT)
                set_error(ctx, OSER_EC_ASSERT, OSER_EL_CRITIC, "assertion failed", 500, "server error")
                run_error_route(ctx, r)
                return 0
            return 1

        return assert_stmt

    # ------------------------------------------------------------ routes

    def route_call(self, node: A.RouteCall) -> Callable:
        args = tuple(self._route_arg(a) for a in node.args)
        where = f"{node.pos.file or self.cur_file}:{node.pos.line}"
        name = node.name
        if isinstance(name, str):
            key = ("request", None if name == "0" else name)
            if key not in self.route_defs:
                self.err(f"route[{name}] is called but not defined", node.pos, "E207")
                return _noop_fail
            return _make_route_call(self.cells[key], args, where, key[1])
        if type(name) is A.PVRef:
            spec = self.pv(name)
            get_name = spec.get if spec is not None else (lambda ctx: None)
        else:
            f = self.fmt(name) if name.quote == '"' else None
            get_name = f.eval if f is not None else (lambda ctx, v=str(name.value): v)
        cells = self.cells

        def dyn_body(ctx: Any, r: Run) -> tuple[Callable | None, str | None]:
            n = get_name(ctx)
            n = None if n is None else str(n)
            cell = cells.get(("request", n))
            if cell is None:
                log_error(ctx, f"unknown route({n}) at {where}", -3)
                return None, n
            return cell[0], n

        return _make_route_call(dyn_body, args, where)

    def _route_arg(self, a: A.Expr) -> Callable:
        if type(a) is A.Const:
            v = a.value

            def const_arg(ctx: Any, r: Run) -> Any:
                return v

            return const_arg
        return self.value(a)

    # ------------------------------------------------------------ expressions: value mode

    def value(self, e: A.Expr) -> Callable:
        """Closure computing the value of ``e`` (int, str or None); raises NoValue like OpenSIPS's failed ops."""
        t = type(e)
        if t is A.Const:
            v = e.value

            def const(ctx: Any, r: Run) -> Any:
                return v

            return const
        if t is A.PVRef:
            spec = self.pv(e)
            if spec is None:
                return _const_none
            get = spec.get

            def pv_value(ctx: Any, r: Run) -> Any:
                return get(ctx)

            return pv_value
        if t is A.BinOp:
            op = e.op
            right_pv = type(e.right) is A.PVRef
            if op not in ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"):
                self.err(f"unknown operator {op}", e.pos, "E205")
            lget = self._ctx_getter(e.left)
            rget = self._ctx_getter(e.right)
            if lget is not None and rget is not None:
                # operands that need no run state (constants, variables): one closure level less

                def bin_simple(ctx: Any, r: Run) -> Any:
                    return binop(op, lget(ctx), rget(ctx), right_pv)

                return bin_simple
            left = self.value(e.left)
            right = self.value(e.right)

            def bin_value(ctx: Any, r: Run) -> Any:
                return binop(op, left(ctx, r), right(ctx, r), right_pv)

            return bin_value
        if t is A.UnOp:
            operand = self.value(e.operand)
            if e.op == "~":

                def bnot(ctx: Any, r: Run) -> Any:
                    v = operand(ctx, r)
                    if type(v) is not int:
                        raise NoValue("binary NOT on non-numeric value")
                    return ~v

                return bnot

            def neg(ctx: Any, r: Run) -> Any:
                v = operand(ctx, r)
                if type(v) is not int:
                    raise NoValue("invalid numeric operand for unary -")
                return -v

            return neg
        if t is A.Call or t is A.RouteCall:
            fn = self.call(e) if t is A.Call else self.route_call(e)

            def call_value(ctx: Any, r: Run) -> Any:
                ret = fn(ctx, r)
                ctx.rc = ret
                if ret == 0:
                    r.flags |= FL_EXIT
                return ret

            return call_value
        if t is A.AssignExpr:
            do = self.assign(e.target, e.op, e.value, e.pos)
            spec = self.pv(e.target)
            get = spec.get if spec is not None else (lambda ctx: None)

            def assign_value(ctx: Any, r: Run) -> Any:
                do(ctx, r)
                return get(ctx)

            return assign_value
        if t is A.IPNet:
            v = e.text
            return lambda ctx, r: v
        # comparisons and logic in value position evaluate to their 1/0/-1 result
        cond = self.cond(e)
        return cond

    def _ctx_getter(self, e: A.Expr) -> Callable | None:
        """A ``get(ctx)`` for a constant or a variable (no run state needed), else None."""
        if type(e) is A.Const:
            v = e.value
            return lambda ctx: v
        if type(e) is A.PVRef:
            spec = self.pv(e)
            return spec.get if spec is not None else (lambda ctx: None)
        return None

    # ------------------------------------------------------------ expressions: condition mode

    def cond(self, e: A.Expr) -> Callable:
        """Closure returning 1 (true), 0 (false), -1 (error) or EXPR_DROP, as route.c eval_expr."""
        t = type(e)
        if t is A.Logic:
            left = self.cond(e.left)
            right = self.cond(e.right)
            if e.op in ("and", "&&"):

                def and_(ctx: Any, r: Run) -> int:
                    v = left(ctx, r)
                    if v != 1:
                        return v
                    return right(ctx, r)

                return and_

            def or_(ctx: Any, r: Run) -> int:
                v = left(ctx, r)
                if v != 0:
                    return v
                return right(ctx, r)

            return or_
        if t is A.Not:
            inner = self.cond(e.operand)

            def not_(ctx: Any, r: Run) -> int:
                v = inner(ctx, r)
                if v < 0:
                    return v
                return 0 if v else 1

            return not_
        if t is A.Compare:
            return self.compare(e)
        if t is A.PVRef:
            spec = self.pv(e)
            if spec is None:
                return _cond_false
            get = spec.get

            def pv_truth(ctx: Any, r: Run) -> int:
                v = get(ctx)
                if v is None or v == "" or v == 0:
                    return 0
                return 1

            return pv_truth
        if t is A.Const:
            v = 1 if e.value else 0
            return lambda ctx, r: v
        if t is A.Call or t is A.RouteCall:
            fn = self.call(e) if t is A.Call else self.route_call(e)

            def call_cond(ctx: Any, r: Run) -> int:
                ret = fn(ctx, r)
                ctx.rc = ret
                if ret > 0:
                    return 1
                if ret == 0:
                    r.flags |= FL_EXIT
                    return EXPR_DROP
                return 0

            return call_cond
        val = self.value(e)

        def value_truth(ctx: Any, r: Run) -> int:
            try:
                return truth(val(ctx, r))
            except NoValue as ex:
                log_error(ctx, str(ex))
                return 0

        return value_truth

    def compare(self, e: A.Compare) -> Callable:
        op = e.op
        if type(e.left) is not A.PVRef:
            self.err(
                "the left side of a comparison must be a script variable",
                e.left.pos if hasattr(e.left, "pos") else e.pos,
                "E217",
                hint="OpenSIPS's grammar refuses constants on the left: swap the operands "
                "(e.g. $var(x) == 1, not 1 == $var(x))",
            )
        left = self.value(e.left)
        rt = type(e.right)
        right = e.right
        if rt is A.Const and right.value is None and right.quote == "":
            if op not in ("==", "!="):
                self.err(f"NULL can only be compared with == or !=, not {op}", right.pos, "E205")
            eq = op == "=="

            def cmp_null(ctx: Any, r: Run) -> int:
                v = left(ctx, r)
                return (1 if v is None else 0) if eq else (0 if v is None else 1)

            return cmp_null
        if rt is A.Const and type(right.value) is str:
            rs = right.value
            if op in ("=~", "!~"):
                try:
                    pat = compile_posix(rs)
                except ValueError as ex:
                    self.err(f"invalid regular expression: {ex}", right.pos, "E213")
                    return _cond_false

                def cmp_re(ctx: Any, r: Run) -> int:
                    return cmp_regex(op, left(ctx, r), pat)

                return cmp_re

            def cmp_s(ctx: Any, r: Run) -> int:
                return cmp_const_str(op, left(ctx, r), rs)

            return cmp_s
        if rt is A.Const and type(right.value) is int:
            rn = right.value

            def cmp_n(ctx: Any, r: Run) -> int:
                return cmp_const_int(op, left(ctx, r), rn)

            return cmp_n
        if rt is A.IPNet:
            try:
                net = NetMatcher(right.text)
            except ValueError as ex:
                self.err(f"invalid IP network {right.text}: {ex}", right.pos, "E224")
                return _cond_false
            if op not in ("==", "!="):
                self.err(f"an IP network can only be compared with == or !=, not {op}", e.pos, "E205")

            def cmp_ip(ctx: Any, r: Run) -> int:
                return cmp_net(op, left(ctx, r), net)

            return cmp_ip
        rv = self.value(right)

        def cmp_vv(ctx: Any, r: Run) -> int:
            return cmp_values(op, left(ctx, r), rv(ctx, r))

        return cmp_vv

    # ------------------------------------------------------------ function calls

    def call(self, node: A.Call) -> Callable:
        name = node.name
        if name in ("xlog", "xdbg"):
            return self.xlog(node)
        if name == "log" and name not in self.funcs:
            return self.log_stmt(node)
        if name in ("async", "launch") and name not in self.funcs:
            return self.async_stmt(node)
        entry = self.funcs.get(name)
        if entry is None:
            return self._unresolved(node)
        spec, module = entry
        self._check_route_types(node, spec)
        args = node.args
        if self.gen <= 2 and len(args) == 2 and spec.name in _BFLAG_FUNCS:
            args = (args[1], args[0])  # 1.x/2.x: setbflag(branch_idx, flag); 3.1 swapped them
        while args and args[-1] is None and len(args) > spec.max_args:
            args = args[:-1]
        if not spec.min_args <= len(args) <= spec.max_args:
            want = (
                str(spec.max_args)
                if spec.min_args == spec.max_args
                else f"{spec.min_args} to {spec.max_args}"
            )
            self.err(
                f"function {name}() takes {want} parameter{'s' if spec.max_args != 1 else ''}, {len(args)} given",
                node.pos,
                "E204",
                hint=_signature(name, spec),
            )
            return _noop_fail
        conv: list[tuple[bool, Any]] = []
        ok = True
        for i, pspec in enumerate(spec.params):
            a = args[i] if i < len(args) else None
            c = self._param(node, i, pspec, a)
            if c is None:
                ok = False
                continue
            conv.append(c)
        if spec.impl is None:
            self.err(
                f"{name}() (module {module}) is declared but not implemented by pysips yet",
                node.pos,
                "E219",
                severity="warning",
            )
            self.unimpl_functions[name] = module
            return _make_unimplemented(name, module, node.pos)
        if not ok:
            return _noop_fail
        self.called.add(name)
        return _make_call(spec.impl, conv, f"{node.pos.file or self.cur_file}:{node.pos.line}", name)

    def async_stmt(self, node: A.Call) -> Callable:
        """``async(f(...), resume_route[, timeout])`` and ``launch(f(...)[, report_route])`` (OpenSIPS 2.1+).

        pysips has no asynchronous functions yet, so both run ``f`` synchronously, like OpenSIPS does for a
        function that completes at once (tm t_handle_async: ASYNC_SYNC / ASYNC_NO_IO -> resume now):
          * async: ``f`` runs, then route[resume_route] runs with $rc = f's return code, then the script stops
            (async breaks the route that called it, as in action.c ASYNC_T); the timeout is checked, not used.
          * launch: ``f`` runs, then route[report_route] (if given) with $rc set, then the script carries on;
            the report route is a top route of its own (its exit does not stop the launching route). The
            optional third parameter (newer grammars) reaches the report route as $param(1). OpenSIPS runs the
            report route on a dummy message; pysips runs it on the current one.
        """
        name = node.name
        is_async = name == "async"
        args = node.args
        usage = (
            "async(function(...), resume_route[, timeout])"
            if is_async
            else "launch(function(...)[, report_route[, route_parameter]])"
        )
        nmin, nmax = (2, 3) if is_async else (1, 3)
        if not nmin <= len(args) <= nmax:
            self.err(
                f"{name}() takes {nmin} to {nmax} parameters, {len(args)} given", node.pos, "E204", usage
            )
            return _noop_fail
        fnode = args[0]
        if type(fnode) is not A.Call or fnode.name in ("async", "launch"):
            self.err(
                f"the first parameter of {name}() must be a function call",
                getattr(fnode, "pos", None) or node.pos,
                "E205",
                hint=usage,
            )
            return _noop_fail
        fn = self.call(fnode)
        resume: Callable | None = None
        rnode = args[1] if len(args) > 1 else None
        if rnode is not None:
            if type(rnode) is not A.Const or not isinstance(rnode.value, str) or not rnode.value:
                self.err(f"{name}(): the route must be given by its name", rnode.pos, "E205", hint=usage)
                return _noop_fail
            key = ("request", rnode.value)
            if key not in self.route_defs:
                self.err(
                    f"{name}(): route[{rnode.value}] is not defined",
                    rnode.pos,
                    "E209",
                    hint=f"define route[{rnode.value}] {{ ... }}",
                )
                return _noop_fail
            where = f"{node.pos.file or self.cur_file}:{node.pos.line}"
            rargs: tuple[Callable, ...] = ()
            if not is_async and len(args) == 3:
                rargs = (self._route_arg(args[2]),)
            resume = _make_route_call(self.cells[key], rargs, where, rnode.value)
        if is_async and len(args) == 3:
            tnode = args[2]
            if not (type(tnode) is A.Const and type(tnode.value) is int) and type(tnode) is not A.PVRef:
                self.err("async(): the timeout must be a number of seconds", tnode.pos, "E205", hint=usage)
                return _noop_fail
            if type(tnode) is A.PVRef:
                self.pv(tnode)

        if is_async:

            def async_call(ctx: Any, r: Run) -> int:
                ctx.rc = fn(ctx, r)
                if not r.flags & (FL_EXIT | FL_DROP):
                    resume(ctx, r)
                r.flags |= FL_EXIT  # the route that called async() ends here
                return 0

            return async_call

        def launch_call(ctx: Any, r: Run) -> int:
            ret = fn(ctx, r)
            ctx.rc = ret
            if resume is not None:
                flags = r.flags
                resume(ctx, r)
                # the report route is a route of its own: its exit/return does not end the launching route
                r.flags = flags | (r.flags & FL_DROP)
            return 1

        return launch_call

    def _unresolved(self, node: A.Call) -> Callable:
        name = node.name
        for mname, mspec in self.registry.items():
            if name in mspec.functions:
                self.err(
                    f'{name}(): missing loadmodule "{mname}.so" (the function belongs to module {mname})',
                    node.pos,
                    "E203",
                    hint=f'add loadmodule "{mname}.so" before the routes',
                )
                return _noop_fail
        module = self.known_funcs.get(name)
        if module is not None:
            self.err(
                f"{name} is an OpenSIPS function (module {module}) that pysips does not implement",
                node.pos,
                "E202",
                hint="the call returns -1 at run time",
                severity="warning",
            )
            self.unimpl_functions[name] = module
            return _make_unimplemented(name, module, node.pos)
        self.err(
            f"unknown command <{name}>, missing loadmodule?",
            node.pos,
            "E201",
            hint=_unknown_hint(name) or self._close_match_hint(name),
        )
        return _noop_fail

    def _close_match_hint(self, name: str) -> str:
        """A typo (``is_methos``): suggest the nearest function pysips or OpenSIPS knows."""
        import difflib

        names = set(self.known_funcs)
        for mspec in self.registry.values():
            names.update(mspec.functions)
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.8)
        if not close:
            return ""
        cand = close[0]
        entry = self.funcs.get(cand)
        if entry is not None:
            return f"did you mean {cand}()?"
        module = next((m for m, ms in self.registry.items() if cand in ms.functions), None)
        module = module or self.known_funcs.get(cand, "?")
        return f'did you mean {cand}() (module {module}: loadmodule "{module}.so")?'

    def _check_route_types(self, node: A.Call, spec: Any) -> None:
        allowed = spec.route_types
        bad = sorted(k for k in self.kinds if k not in allowed)
        if bad:
            blocks = ", ".join(route_label(k, None) for k in bad)
            ok = ", ".join(route_label(k, None) for k in sorted(allowed))
            self.err(
                f"command {node.name}() cannot be used in the block {blocks}",
                node.pos,
                "E206",
                hint=f"{node.name}() is allowed in: {ok}",
            )

    def _param(self, node: A.Call, i: int, pspec: Any, a: A.Expr | None) -> tuple[bool, Any] | None:
        """Convert parameter i: (True, constant) or (False, getter(ctx)); None after reporting an error."""
        M = self.M
        kind = pspec.kind
        label = f"parameter {i + 1}{' (' + pspec.name + ')' if pspec.name else ''} of {node.name}()"
        if a is None or (type(a) is A.Const and a.value is None and a.quote == ""):
            if pspec.optional:
                return (True, None)
            self.err(f"{label} is mandatory", node.pos, "E205")
            return None
        where = a.pos if getattr(a, "pos", None) and a.pos.line else node.pos
        fix = pspec.fixup
        res: tuple[bool, Any] | None
        if type(a) is A.PVRef:
            spec = self.pv(a)
            if spec is None:
                return None
            if kind == M.VAR:
                if not getattr(spec, "writable", True):
                    self.err(f"{label} must be a writable variable; {a.text} is read-only", where, "E215")
                    return None
                if getattr(spec, "has_transformations", False):
                    self.err(f"{label} is written by the function: no transformations allowed", where, "E216")
                    return None
                return (True, spec)
            return (False, _pv_getter(kind, spec, label, M))
        if type(a) is not A.Const:
            self.err(f"{label}: expressions are not accepted as function parameters", where, "E205")
            return None
        v = a.value
        if kind == M.VAR:
            if self.gen <= 2 and isinstance(v, str) and v.startswith("$"):
                spec = self.pv_text(v, where)
                if spec is None:
                    return None
                return (True, spec)
            self.err(
                f"{label} needs an unquoted variable (it is written by the function)",
                where,
                "E205",
                hint=f"write {v} without quotes"
                if isinstance(v, str) and v.startswith("$")
                else "e.g. $var(out)",
            )
            return None
        if kind == M.INT:
            if type(v) is int:
                res = (True, v)
            else:
                s = v.strip()
                if re.fullmatch(r"[+-]?(0x[0-9a-fA-F]+|\d+)", s):
                    res = (True, int(s, 0) if s.lower().startswith(("0x", "-0x", "+0x")) else int(s))
                    if self.gen >= 3:
                        self._gen3_kind_warning(label, where, f"write {s} without quotes")
                elif self.gen <= 2 and "$" in s and a.quote == '"':
                    f = self.fmt(a)
                    if f is None:
                        return None
                    res = (False, _fmt_int_getter(f, label))
                else:
                    self.err(f'{label} expects an integer, got the string "{v}"', where, "E205")
                    return None
        elif kind == M.REGEX:
            if type(v) is int and self.gen >= 3:
                self._gen3_kind_warning(label, where, f'write "{v}"')
            try:
                res = (True, compile_script_regex(str(v)))
            except ValueError as ex:
                self.err(f"invalid regular expression in {label}: {ex}", where, "E213")
                return None
        elif kind == M.ROUTE:
            rname = str(v)
            rkind = pspec.route_kind
            if a.quote == '"' and "$" in rname:
                f = self.fmt(a)
                if f is None:
                    return None
                if not f.is_static:
                    return (False, f.eval)  # a computed route name: checked when the function runs
                rname = f.static_value
            # 1.x/2.x scripts write t_on_failure("0") to disarm the route: no route "0" is needed
            if (rkind, rname) not in self.route_defs and not (rname == "0" and self.gen <= 2):
                self.err(
                    f"{node.name}(): {route_label(rkind, rname)} is not defined",
                    where,
                    "E209",
                    hint=f"define {route_label(rkind, rname)} {{ ... }}",
                )
                return None
            res = (True, rname)
        elif kind == M.FLAG:
            res = (True, v)
        else:  # STR, ANY
            if type(v) is int:
                if kind == M.STR and self.gen >= 3:
                    self._gen3_kind_warning(label, where, f'write "{v}"')
                res = (True, v if kind == M.ANY else str(v))
            elif a.quote == '"' and not pspec.raw:
                f = self.fmt(a)
                if f is None:
                    return None
                res = (True, f.static_value) if f.is_static else (False, f.eval)
            else:
                res = (True, v)
        if fix is not None and res[0]:
            try:
                res = (True, fix(res[1]))
            except ValueError as ex:
                self.err(f"{label}: {ex}", where, "E222")
                return None
        return res

    def _gen3_kind_warning(self, label: str, where: A.Pos, hint: str) -> None:
        """OpenSIPS 3.x refuses a quoted number for an int parameter and a bare number for a string one
        (mod_fix.c fix_cmd: "expected to be an integer or variable"); pysips converts it and warns."""
        expected = "an integer" if "without quotes" in hint else "a string"
        self.err(
            f"{label}: OpenSIPS 3.x expects {expected} or a variable here",
            where,
            "E205",
            hint=hint,
            severity="warning",
        )

    def log_stmt(self, node: A.Call) -> Callable:
        """``log([level,] "text")``: a literal message printed if level <= log_level (action.c LOG_T)."""
        args = node.args
        if len(args) == 1:
            level, tnode = L_ERR, args[0]
        elif len(args) == 2 and type(args[0]) is A.Const and type(args[0].value) is int:
            level, tnode = args[0].value, args[1]
        else:
            self.err('log() takes ([level,] "text")', node.pos, "E204")
            return _noop_fail
        if type(tnode) is not A.Const or not isinstance(tnode.value, str):
            self.err("log() needs a string", node.pos, "E205")
            return _noop_fail
        text = tnode.value
        settings = self.settings

        def log_call(ctx: Any, r: Run) -> int:
            env = ctx.env
            if level <= getattr(env, "log_level", settings.log_level):
                env.log(ctx, level, text)
            return 1

        return log_call

    def xlog(self, node: A.Call) -> Callable:
        args = node.args
        name = node.name
        if name == "xdbg":
            if len(args) != 1:
                self.err("xdbg() takes 1 parameter", node.pos, "E204")
                return _noop_fail
            level, fnode = L_DBG, args[0]
        elif len(args) == 1:
            level, fnode = None, args[0]
        elif len(args) == 2:
            lv = args[0]
            fnode = args[1]
            if type(lv) is A.Const and isinstance(lv.value, str) and lv.value.strip() in LOG_LEVELS:
                level = LOG_LEVELS[lv.value.strip()]
            elif type(lv) is A.Const and type(lv.value) is int:
                level = lv.value
            else:
                self.err(
                    f"invalid xlog level {getattr(lv, 'value', getattr(lv, 'text', lv))!r}",
                    getattr(lv, "pos", node.pos),
                    "E223",
                    hint="one of " + ", ".join(LOG_LEVELS),
                )
                return _noop_fail
        else:
            self.err("xlog() takes 1 or 2 parameters", node.pos, "E204", hint='xlog([level,] "format")')
            return _noop_fail
        if type(fnode) is A.Const and isinstance(fnode.value, str):
            f = self.fmt(fnode) if fnode.quote != "'" else None
            if f is None and fnode.quote != "'":
                return _noop_fail
            text_of = (
                (lambda ctx, s=fnode.value: s)
                if f is None
                else ((lambda ctx, s=f.static_value: s) if f.is_static else f.eval)
            )
        elif type(fnode) is A.PVRef:
            spec = self.pv(fnode)
            if spec is None:
                return _noop_fail
            get = spec.get
            text_of = lambda ctx: str(get(ctx))  # noqa: E731
        else:
            self.err("xlog() needs a format string", node.pos, "E205")
            return _noop_fail
        settings = self.settings

        def xlog_call(ctx: Any, r: Run) -> int:
            lvl = settings.xlog_print_level if level is None else level
            env = ctx.env
            if lvl <= getattr(env, "xlog_level", settings.xlog_level):
                env.log(ctx, lvl, text_of(ctx))
            return 1

        return xlog_call


# ------------------------------------------------------------------ closure factories (module level: no captures
# of the compiler object, so a Program holds no reference to the AST)


def _make_list(items: tuple, file: str, has_error_route: bool = False) -> Callable:
    if has_error_route:
        return _make_list_err(items, file)

    def run_action_list(ctx: Any, r: Run) -> int:
        ret = E_UNSPEC
        trace = r.trace
        ctx.cfg_file = file
        for fn, line, sets_rc in items:
            ctx.cfg_line = line
            if trace is not None:
                trace.append((file, line))
            try:
                ret = fn(ctx, r)
            except ScriptRuntimeError as e:
                log_error(ctx, f"{file}:{line}: {e}")
                ret = -1
            if sets_rc:
                ctx.rc = ret
            if ret == 0:
                r.flags |= FL_EXIT
            if r.flags:
                break
        return ret

    return run_action_list


def _make_list_err(items: tuple, file: str) -> Callable:
    """run_action_list for scripts with an error_route: after each action, an error recorded on the Context
    (ctx.err_class, set when a header fails to parse) runs error_route, as action.c run_action_list does."""

    def run_action_list(ctx: Any, r: Run) -> int:
        ret = E_UNSPEC
        trace = r.trace
        ctx.cfg_file = file
        for fn, line, sets_rc in items:
            ctx.cfg_line = line
            if trace is not None:
                trace.append((file, line))
            try:
                ret = fn(ctx, r)
            except ScriptRuntimeError as e:
                log_error(ctx, f"{file}:{line}: {e}")
                ret = -1
            if sets_rc:
                ctx.rc = ret
            if ret == 0:
                r.flags |= FL_EXIT
            if ctx.err_class:
                run_error_route(ctx, r)
            if r.flags:
                break
        return ret

    return run_action_list


def _make_route_call(target: list | Callable, args: tuple, where: str, rname: str | None = None) -> Callable:
    """``target`` is the one-element cell holding a route's compiled body (filled once every route is compiled,
    so forward and recursive calls work) or, for a computed name, a function returning (body, name) at run time.
    The called route's name is pushed on ctx.route_stack for $route while it runs."""
    cell = target if isinstance(target, list) else None
    get_body = None if cell is not None else target

    def route_call(ctx: Any, r: Run) -> int:
        if cell is not None:
            body, name = cell[0], rname
        else:
            body, name = get_body(ctx, r)
            if body is None:
                ctx.rc = E_BUG
                return E_BUG
        if r.depth >= ROUTE_MAX_REC_LEV:
            log_error(
                ctx, f"route recursion limit reached, giving up! (nested routes: {r.depth + 1}) at {where}"
            )
            ctx.rc = E_UNSPEC
            return E_UNSPEC
        saved = ctx.params
        if args:
            ctx.params = tuple(a(ctx, r) for a in args)
        elif saved:
            ctx.params = ()
        stack = ctx.route_stack
        stack.append(name)
        cfg_file = ctx.cfg_file  # the callee may live in another (included) file
        r.depth += 1
        try:
            ret = body(ctx, r)
        finally:
            r.depth -= 1
            ctx.params = saved
            ctx.cfg_file = cfg_file
            stack.pop()
        ctx.rc = ret
        return ret

    return route_call


def _make_call(impl: Callable, conv: list[tuple[bool, Any]], where: str, name: str) -> Callable:
    if all(is_const for is_const, _ in conv):
        consts = tuple(v for _, v in conv)

        def call_const(ctx: Any, r: Run) -> int:
            try:
                return impl(ctx, *consts)
            except SIPParseError as e:
                set_parse_error(ctx, e)
                log_error(ctx, f"{name}() at {where}: {e}")
                return -1
            except ScriptRuntimeError as e:
                log_error(ctx, f"{name}() failed at {where}: {e}")
                return -1
            except Exception as e:  # a bug in a module must not take the server down: log it, fail the call
                log_error(ctx, f"internal error in {name}() at {where}: {type(e).__name__}: {e}", L_CRIT)
                return -1

        return call_const
    parts = tuple(conv)

    def call_dyn(ctx: Any, r: Run) -> int:
        try:
            args = [v if is_const else v(ctx) for is_const, v in parts]
            return impl(ctx, *args)
        except SIPParseError as e:
            set_parse_error(ctx, e)
            log_error(ctx, f"{name}() at {where}: {e}")
            return -1
        except ScriptRuntimeError as e:
            log_error(ctx, f"{name}() failed at {where}: {e}")
            return -1
        except Exception as e:  # see call_const
            log_error(ctx, f"internal error in {name}() at {where}: {type(e).__name__}: {e}", L_CRIT)
            return -1

    return call_dyn


def _make_unimplemented(name: str, module: str, pos: A.Pos) -> Callable:
    text = f"{name}() (module {module}) is not implemented by pysips: returning -1 at {pos.file}:{pos.line}"

    def unimplemented(ctx: Any, r: Run) -> int:
        log_error(ctx, text)
        return -1

    return unimplemented


def _pv_getter(kind: str, spec: Any, label: str, M: Any) -> Callable:
    get = spec.get
    if kind == M.INT:

        def int_param(ctx: Any) -> int:
            v = get(ctx)
            if type(v) is int:
                return v
            if v is not None:
                try:
                    return int(str(v).strip())
                except ValueError:
                    pass
            raise ScriptRuntimeError(f"{label} expected an integer, got {v!r}")

        return int_param
    if kind == M.STR or kind == M.ROUTE:

        def str_param(ctx: Any) -> str:
            v = get(ctx)
            if v is None:
                raise ScriptRuntimeError(f"{label}: the variable is NULL")
            return v if type(v) is str else str(v)

        return str_param
    if kind == M.REGEX:

        def regex_param(ctx: Any) -> re.Pattern:
            v = get(ctx)
            pat = None if v is None else dyn_regex(str(v), True)
            if pat is None:
                raise ScriptRuntimeError(f"{label}: invalid regular expression {v!r}")
            return pat

        return regex_param
    return get


def _fmt_int_getter(f: Any, label: str) -> Callable:
    def fmt_int(ctx: Any) -> int:
        s = f.eval(ctx)
        try:
            return int(s.strip())
        except ValueError:
            raise ScriptRuntimeError(f"{label} expected an integer, got {s!r}") from None

    return fmt_int


def _noop_fail(ctx: Any, r: Run) -> int:
    return -1


def _const_none(ctx: Any, r: Run) -> None:
    return None


def _cond_false(ctx: Any, r: Run) -> int:
    return 0


def _static_route_calls(node: Any, out: set[str]) -> None:
    """Collect the literal names of route(x) calls anywhere under ``node``."""
    if isinstance(node, A.RouteCall):
        if isinstance(node.name, str):
            out.add(node.name)
        for a in node.args:
            _static_route_calls(a, out)
        return
    if isinstance(node, tuple | list):
        for x in node:
            _static_route_calls(x, out)
        return
    slots = getattr(type(node), "__slots__", None)
    if not slots or isinstance(node, A.Pos):
        return
    for s in slots:
        _static_route_calls(getattr(node, s, None), out)


def _signature(name: str, spec: Any) -> str:
    parts = []
    for p in spec.params:
        s = f"{p.kind}{' ' + p.name if p.name else ''}"
        parts.append(f"[{s}]" if p.optional else s)
    return f"{name}({', '.join(parts)})"


def _readonly_hint(text: str) -> str:
    if text.startswith(("$fu", "$fU", "$fd", "$fn", "$from")):
        return "use uac_replace_from() to change the From header"
    if text.startswith(("$tu", "$tU", "$td", "$tn", "$to")):
        return "use uac_replace_to() to change the To header"
    if text.startswith("$hdr"):
        return "headers are edited with append_hf() / remove_hf()"
    return "only writable variables ($var, $avp, $ru, $du, ...) can be assigned"


_BFLAG_FUNCS = frozenset({"setbflag", "resetbflag", "isbflagset"})

_RENAMED = {
    "rewriteuri": "seturi",
    "rewritehost": "sethost",
    "rewritehostport": "sethostport",
    "rewriteuser": "setuser",
    "setduri": "setdsturi",
    "resetduri": "resetdsturi",
    "isduriset": "isdsturiset",
    "sl_send_reply_2": "sl_send_reply",
}


def _unknown_hint(name: str) -> str:
    if name in _RENAMED:
        return f"{name}() was renamed {_RENAMED[name]}() in OpenSIPS 3.x"
    if name in ("myself", "uri"):
        return '`uri==myself` is OpenSIPS 1.x syntax; use is_myself("$rd")'
    return ""
