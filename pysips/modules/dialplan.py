"""dialplan: dp_translate() over rules in a db_text table (OpenSIPS's dialplan module, one default partition).

Rules (columns dpid, pr, match_op, match_exp, match_flags, subst_exp, repl_exp, timerec, disabled, attrs) are read
at script load from ``db_url`` (``text:///dir``, table ``table_name``, default "dialplan") and again by MI
``dp_reload``. For one dialplan id the rules are tried by ascending ``pr``: match_op 0 compares the whole input
(match_flags 1: case-insensitive), 1 searches the regular expression, 2 matches a shell pattern; a rule whose
``timerec`` does not match now, or that is disabled, is skipped. The first match translates: with ``subst_exp``
the input is rewritten by it with ``repl_exp`` (\\1... back-references); without it the output is ``repl_exp``
(or the input when that is empty). Its ``attrs`` go to the attrs variable (or ``attrs_pvar``).

``dp_translate(id, input [, out_var [, attrs_var]])`` (3.x) and ``dp_translate("id", "$src/$dst")`` (2.x) return 1
on a match, -1 otherwise. Database URLs other than db_text are refused at load (pysips has no SQL drivers).
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from dataclasses import dataclass
from typing import Any

from pysips.db.dbtext import open_db
from pysips.errors import ConfigError, MIError
from pysips.modules import (
    BRANCH,
    EVENT,
    FAILURE,
    INT,
    LOCAL,
    REQUEST,
    STARTUP,
    STR,
    TIMER,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules.core import log_error


@dataclass(slots=True)
class Rule:
    pr: int
    match_op: int
    match_exp: str
    regex: re.Pattern | None
    subst: re.Pattern | None
    repl: str
    attrs: str
    timerec: Any


class DialplanData:
    """The rules of every dialplan id, loaded from the db_text table; ``reload`` re-reads it in place."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.rules: dict[int, list[Rule]] = {}
        self.attrs_pvar = params.get("attrs_pvar") or params.get("attribute_pvar")
        self.problem: str | None = None  # why there are no rules (a database pysips cannot read)
        self.reload()

    def reload(self) -> None:
        url = self.params.get("db_url")
        if not url:
            self.rules = {}
            return
        table = self.params.get("table_name") or "dialplan"
        scheme, sep, rest = str(url).partition("://")
        if sep and scheme.lower() not in ("text", "dbtext", "db_text") or (sep and not os.path.isdir(rest)):
            # the rules live on the server's database, not necessarily where the script is checked; pysips
            # reads db_text only: run with no rules and say so at the first translation (as dispatcher does)
            self.problem = f"db_url {url!r}: only db_text (text:///dir) is available; no dialplan rules"
            self.rules = {}
            return
        rows = open_db(str(url)).table(str(table)).rows
        rules: dict[int, list[Rule]] = {}
        for row in rows:
            if int(row.get("disabled") or 0):
                continue
            rules.setdefault(int(row.get("dpid") or 0), []).append(_rule(row))
        for lst in rules.values():
            lst.sort(key=lambda r: r.pr)
        self.rules = rules

    def translate(self, dpid: int, text: str, now: float) -> tuple[str, str] | None:
        for r in self.rules.get(dpid, ()):
            if r.timerec is not None and not r.timerec.match(now):
                continue
            if r.match_op == 0:
                m = None
                ok = text == r.match_exp if r.regex is None else bool(r.regex.fullmatch(text))
            elif r.match_op == 2:
                m = None
                ok = fnmatch.fnmatchcase(text, r.match_exp)
            else:
                assert r.regex is not None
                m = r.regex.search(text)
                ok = m is not None
            if not ok:
                continue
            if r.subst is not None:
                out = r.subst.sub(_backrefs(r.repl), text, count=1)
            elif r.repl:
                out = m.expand(_backrefs(r.repl)) if m is not None else r.repl
            else:
                out = text
            return out, r.attrs
        return None


def _backrefs(repl: str) -> str:
    """OpenSIPS's \\1 back-references as Python's (\\g<1>), so "\\10" reads as group 1 then "0"."""
    return re.sub(r"\\(\d)", r"\\g<\1>", repl)


def _rule(row: dict[str, Any]) -> Rule:
    op = int(row.get("match_op") or 0)
    exp = str(row.get("match_exp") or "")
    flags = re.IGNORECASE if int(row.get("match_flags") or 0) & 1 else 0
    try:
        regex = re.compile(exp, flags) if op == 1 or (op == 0 and flags) else None
        if op == 0 and flags:
            regex = re.compile(re.escape(exp), flags)
        subst_exp = str(row.get("subst_exp") or "")
        subst = re.compile(subst_exp, flags) if subst_exp else None
    except re.error as e:
        raise ConfigError(f"dialplan rule {row.get('id')}: bad regular expression: {e}") from None
    timerec = None
    tr = str(row.get("timerec") or "").strip()
    if tr:
        from pysips.modules._timerec import parse_timerec_expr

        try:
            timerec = parse_timerec_expr(tr)
        except ValueError as e:
            raise ConfigError(f"dialplan rule {row.get('id')}: bad timerec: {e}") from None
    return Rule(
        int(row.get("pr") or 0), op, exp, regex, subst, str(row.get("repl_exp") or ""), str(row.get("attrs") or ""),
        timerec,
    )  # fmt: skip


def _build(params: dict[str, Any]) -> DialplanData:
    return DialplanData(params)


class DialplanError(ConfigError):
    pass


_DATA: Any = None


def init(params: dict[str, Any]) -> None:
    """Load the rules at script load (OpenSIPS mod_init): bad rows are reported by ``pysips check``."""
    from pysips.modules.dispatcher import LoadedData

    global _DATA
    _DATA = LoadedData("dialplan", _build, DialplanError)
    _DATA.init(params)


def _input_fixup(value: Any) -> Any:
    """The input as written: "$src/$dst" (2.x: read one variable, write the other) or a format string."""
    from pysips.script.pvars import parse_format, parse_pv

    text = str(value)
    m = re.fullmatch(r"\s*(\$[^/]+?)\s*/\s*(\$.+?)\s*", text)
    if m:
        return ("pair", parse_pv(m.group(1), generation=2), parse_pv(m.group(2), generation=2))
    return ("fmt", parse_format(text))


def w_dp_translate(
    ctx: Any, dpid: Any, inp: Any = None, out_var: Any = None, attrs_var: Any = None, partition: Any = None
) -> int:
    if _DATA is None or inp is None:
        return -1
    data = _DATA.state(ctx)
    if data.problem:
        log_error(ctx, f"dialplan: {data.problem}")
        data.problem = None  # said once
    if inp[0] == "pair":
        text = inp[1].get(ctx)
        dest = inp[2]
    else:
        text = inp[1].eval(ctx)
        dest = out_var
    if text is None:
        return -1
    try:
        dpid = int(dpid)
    except (TypeError, ValueError):
        return -1
    found = data.translate(dpid, str(text), time.time())
    if found is None:
        return -1
    out, attrs = found
    if dest is not None:
        dest.set(ctx, "=", out)
    if attrs_var is not None:
        attrs_var.set(ctx, "=", attrs)
    elif data.attrs_pvar:
        from pysips.script.pvars import parse_pv

        parse_pv(str(data.attrs_pvar)).set(ctx, "=", attrs)
    return 1


def mi_dp_reload(core: Any, params: Any = None) -> str:
    if _DATA is None:
        raise MIError("dialplan is not loaded", 500)
    try:
        _DATA.mi_state(core).reload()
    except (ConfigError, OSError) as e:
        raise MIError(f"reload failed: {e}", 500) from None
    return "OK"


def mi_dp_translate(core: Any, params: Any = None) -> dict:
    if _DATA is None:
        raise MIError("dialplan is not loaded", 500)
    p = params or {}
    try:
        dpid = int(p.get("dpid") if isinstance(p, dict) else p[0])
        text = str(p.get("input") if isinstance(p, dict) else p[1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise MIError("Invalid params", -32602) from None
    found = _DATA.mi_state(core).translate(dpid, text, time.time())
    if found is None:
        raise MIError("No translation", 404)
    return {"Output": found[0], "ATTRIBUTES": found[1]}


MODULE = ModuleSpec.build(
    "dialplan",
    doc="dp_translate over a db_text dialplan table (default partition); dp_reload",
    functions=[
        FunctionSpec(
            "dp_translate",
            (
                ParamSpec(INT, name="id"),
                ParamSpec(STR, optional=True, name="input", raw=True, fixup=_input_fixup),
                ParamSpec(VAR, optional=True, name="out_var"),
                ParamSpec(VAR, optional=True, name="attrs_var"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_dp_translate,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("table_name", STR),
        ModParamSpec("dpid_col", STR),
        ModParamSpec("pr_col", STR),
        ModParamSpec("match_op_col", STR),
        ModParamSpec("match_exp_col", STR),
        ModParamSpec("match_len_col", STR),
        ModParamSpec("subst_exp_col", STR),
        ModParamSpec("repl_exp_col", STR),
        ModParamSpec("attrs_col", STR),
        ModParamSpec("attrs_pvar", STR),
        ModParamSpec("attribute_pvar", STR),
        ModParamSpec("fetch_rows", INT, 1000),
        ModParamSpec("dsabled_col", STR),
        ModParamSpec("match_flags_col", STR),
        ModParamSpec("disabled_col", STR),
        ModParamSpec("partition", STR, None, repeatable=True),
        ModParamSpec("timerec_col", STR),
    ],
    mi_commands={
        "dp_reload": mi_dp_reload,
        "dp_translate": mi_dp_translate,
        "dialplan:reload": mi_dp_reload,
        "dialplan:translate": mi_dp_translate,
    },
)
