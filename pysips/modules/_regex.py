"""POSIX extended regular expressions (what OpenSIPS compiles with regcomp) translated to Python ``re``.

OpenSIPS compiles script regexes with ``REG_EXTENDED|REG_ICASE|REG_NEWLINE`` (mod_fix.c ``fixup_regcomp``) and
``subst`` expressions with ``REG_EXTENDED|REG_NEWLINE`` plus the ``i``/``s`` flags (re.c ``subst_parser``). The
translation keeps the meaning of the constructs scripts use: bracket expressions (where a backslash is literal and
``[:alpha:]`` classes exist), GNU escapes (``\\w \\s \\b \\< \\>``), back-references, and a leading ``*`` taken
literally. POSIX leftmost-longest alternation is not emulated (Python takes the leftmost alternative that matches).

Also here: the ``/re/repl/flags`` substitution used by textops ``subst*`` and the ``re.subst`` transformation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_CLASSES = {
    "alpha": "a-zA-Z",
    "digit": "0-9",
    "alnum": "a-zA-Z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": r" \t\n\r\f\v",
    "blank": r" \t",
    "punct": r"!-/:-@\[-`{-~",
    "print": r" -~",
    "graph": r"!-~",
    "cntrl": r"\x00-\x1f\x7f",
    "xdigit": "0-9A-Fa-f",
    "word": "a-zA-Z0-9_",
}

# GNU regex escapes with the same meaning in Python; other letters after a backslash stand for themselves
_GNU_ESCAPES = {
    "w": r"\w",
    "W": r"\W",
    "s": r"\s",
    "S": r"\S",
    "b": r"\b",
    "B": r"\B",
    "<": r"\b",
    ">": r"\b",
}
_GNU_ESCAPES.update({"`": r"\A", "'": r"\Z"})


def _bracket(p: str, i: int, newline: bool) -> tuple[str, int]:
    """Translate the bracket expression starting at p[i] == '['; returns (python, index after ']')."""
    j = i + 1
    out = ["["]
    negate = False
    if j < len(p) and p[j] == "^":
        negate = True
        out.append("^")
        j += 1
    first = True
    while j < len(p):
        c = p[j]
        if c == "]" and not first:
            if negate and newline:
                # REG_NEWLINE: a non-matching list never matches a newline
                out.append(r"\n")
            out.append("]")
            return "".join(out), j + 1
        first = False
        if c == "[" and j + 1 < len(p) and p[j + 1] in ":.=":
            kind = p[j + 1]
            end = p.find(kind + "]", j + 2)
            if end < 0:
                raise ValueError(f"unterminated [{kind} in bracket expression")
            name = p[j + 2 : end]
            if kind == ":":
                if name not in _CLASSES:
                    raise ValueError(f"unknown character class [:{name}:]")
                out.append(_CLASSES[name])
            else:
                out.append(re.escape(name))
            j = end + 2
            continue
        if c in "\\[&~|":
            # a backslash is an ordinary character inside POSIX brackets; Python needs it (and set ops) escaped
            out.append("\\" + c)
        elif c == "-" and j + 1 < len(p) and p[j + 1] == "]":
            out.append(r"\-")
        else:
            out.append(c)
        j += 1
    raise ValueError("unterminated bracket expression '['")


def ere_to_python(pattern: str, *, newline: bool = True) -> str:
    """Translate a POSIX ERE (glibc dialect) into an equivalent Python regex source."""
    p = pattern
    out: list[str] = []
    i = 0
    n = len(p)
    # positions where a repetition operator has nothing to repeat and is therefore literal
    atom_start = True
    while i < n:
        c = p[i]
        if c == "\\":
            if i + 1 >= n:
                raise ValueError("trailing backslash")
            e = p[i + 1]
            if e in _GNU_ESCAPES:
                out.append(_GNU_ESCAPES[e])
            elif e.isdigit() and e != "0":
                out.append("\\" + e)
            elif e.isalnum():
                out.append(re.escape(e))
            else:
                out.append("\\" + e)
            i += 2
            atom_start = False
            continue
        if c == "[":
            s, i = _bracket(p, i, newline)
            out.append(s)
            atom_start = False
            continue
        if c in "*+?" and atom_start:
            out.append("\\" + c)
            i += 1
            atom_start = False
            continue
        if c == "{" and atom_start:
            out.append(r"\{")
            i += 1
            atom_start = False
            continue
        if c == "(":
            out.append("(")
            i += 1
            atom_start = True
            continue
        if c == "|":
            out.append("|")
            i += 1
            atom_start = True
            continue
        if c == "$" and not newline:
            out.append(r"\Z")
            i += 1
            continue
        if c == "^":
            out.append("^")
            i += 1
            atom_start = True
            continue
        out.append(c)
        i += 1
        atom_start = False
    return "".join(out)


_CACHE: dict[tuple[str, bool, bool], re.Pattern[str]] = {}
# compiled pattern -> (ERE source, icase, newline), to re-derive the module flavour of a regex compiled elsewhere
_SOURCE: dict[re.Pattern[str], tuple[str, bool, bool]] = {}


def compile_ere(pattern: str, *, icase: bool = True, newline: bool = True) -> re.Pattern[str]:
    """Compile like regcomp(REG_EXTENDED [|REG_ICASE] [|REG_NEWLINE]); raises ValueError with a readable message."""
    key = (pattern, icase, newline)
    rx = _CACHE.get(key)
    if rx is not None:
        return rx
    flags = re.IGNORECASE if icase else 0
    flags |= re.MULTILINE if newline else re.DOTALL
    try:
        rx = re.compile(ere_to_python(pattern, newline=newline), flags)
    except re.error as e:
        raise ValueError(f"bad regular expression {pattern!r}: {e.msg}") from None
    if len(_CACHE) < 4096:
        _CACHE[key] = rx
        _SOURCE[rx] = key
    return rx


def compile_script_regex(pattern: str) -> re.Pattern[str]:
    """A REGEX function parameter: REG_EXTENDED|REG_ICASE|REG_NEWLINE (OpenSIPS mod_fix.c)."""
    return compile_ere(pattern, icase=True, newline=True)


def script_regex(rx: str | re.Pattern[str]) -> re.Pattern[str]:
    """The regex a module function must use: REG_NEWLINE on (``^``/``$`` at line boundaries), as OpenSIPS compiles
    CMD_PARAM_REGEX parameters. A pattern compiled for ``=~`` (no REG_NEWLINE) is re-derived from its ERE source."""
    if isinstance(rx, str):
        return compile_script_regex(rx)
    src = _SOURCE.get(rx)
    if src is not None and not src[2]:
        return compile_ere(src[0], icase=src[1], newline=True)
    return rx


def pv_token_end(s: str, i: int) -> int:
    """Index just after the pseudo-variable starting at s[i] == '$' (``$ru``, ``$hdr(X)``, ``$(avp(a)[1]{s.len})``)."""
    j = i + 1
    n = len(s)
    if j < n and s[j] == "(":
        depth = 0
        while j < n:
            if s[j] in "({[":
                depth += 1
            elif s[j] in ")}]":
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        raise ValueError(f"unterminated pseudo-variable in {s!r}")
    while j < n and (s[j].isalnum() or s[j] in "_."):
        j += 1
    if j < n and s[j] == "(":
        depth = 0
        while j < n:
            if s[j] == "(":
                depth += 1
            elif s[j] == ")":
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        raise ValueError(f"unterminated pseudo-variable in {s!r}")
    if j == i + 1:
        raise ValueError(f"bad pseudo-variable at {s[i:]!r}")
    return j


@dataclass(frozen=True, slots=True)
class SubstExpr:
    """A parsed ``/re/replacement/flags`` expression (re.c ``subst_parser``)."""

    source: str
    regex: re.Pattern[str]
    parts: tuple[Any, ...]  # str literal | int group number | "uri" marker tuple | PVSpec
    replace_all: bool

    def expand(self, m: re.Match[str], ctx: Any) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, int):
                out.append(m.group(part) or "")
            elif part == ("uri",):
                out.append(_current_ruri(ctx))
            else:
                v = part.get(ctx) if ctx is not None else None
                out.append("" if v is None else str(v))
        return "".join(out)

    def run(self, text: str, ctx: Any = None) -> tuple[str, int]:
        """Apply to text; returns (new_text, number_of_replacements)."""
        count = 0
        pieces: list[str] = []
        pos = 0
        for m in self.regex.finditer(text):
            pieces.append(text[pos : m.start()])
            pieces.append(self.expand(m, ctx))
            pos = m.end()
            count += 1
            if not self.replace_all:
                break
        if not count:
            return text, 0
        pieces.append(text[pos:])
        return "".join(pieces), count


def _current_ruri(ctx: Any) -> str:
    msg = getattr(ctx, "msg", None)
    ruri = getattr(msg, "ruri", None)
    return "" if ruri is None else str(ruri)


_CHAR_ESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t", "$": "$"}


def _parse_repl(repl: str, max_group: int, pv_parser: Callable[[str], Any] | None) -> tuple[Any, ...]:
    parts: list[Any] = []
    lit: list[str] = []
    i = 0
    n = len(repl)
    while i < n:
        c = repl[i]
        if c == "\\" and i + 1 < n:
            e = repl[i + 1]
            i += 2
            if e in _CHAR_ESCAPES:
                lit.append(_CHAR_ESCAPES[e])
            elif e == "u":
                if lit:
                    parts.append("".join(lit))
                    lit = []
                parts.append(("uri",))
            elif e.isdigit():
                g = int(e)
                if g > max_group:
                    raise ValueError(
                        f"replacement uses \\{g} but the expression has only {max_group} group(s)"
                    )
                if lit:
                    parts.append("".join(lit))
                    lit = []
                parts.append(g)
            else:
                lit.append(e)
            continue
        if c == "$" and pv_parser is not None:
            end = pv_token_end(repl, i)
            if lit:
                parts.append("".join(lit))
                lit = []
            parts.append(pv_parser(repl[i:end]))
            i = end
            continue
        lit.append(c)
        i += 1
    if lit:
        parts.append("".join(lit))
    return tuple(parts)


def parse_subst(expr: str, *, pv_parser: Callable[[str], Any] | None = None) -> SubstExpr:
    """Parse '/re/repl/flags' (any separator but '\\'); flags i (ignore case), g (all), s (dot matches newline).

    ``pv_parser`` turns a ``$...`` token of the replacement into an object with ``.get(ctx)``; without it a '$' is
    literal. Raises ValueError with the reason.
    """
    if len(expr) < 3:
        raise ValueError(f"subst expression too short: {expr!r}")
    sep = expr[0]
    if sep == "\\":
        raise ValueError(f"invalid separator '\\' in {expr!r}")
    i = 1
    while i < len(expr):
        if expr[i] == sep and expr[i - 1] != "\\":
            break
        i += 1
    else:
        raise ValueError(f"no separator found in {expr!r}")
    regex_src = expr[1:i]
    j = i + 1
    esc = False
    while j < len(expr):
        if esc:
            esc = False
        elif expr[j] == "\\":
            esc = True
        elif expr[j] == sep:
            break
        j += 1
    else:
        raise ValueError(f"missing separator after the replacement in {expr!r}")
    repl_src = expr[i + 1 : j]
    icase = False
    newline = True
    replace_all = False
    for f in expr[j + 1 :]:
        if f == "i":
            icase = True
        elif f == "s":
            newline = False
        elif f == "g":
            replace_all = True
        else:
            raise ValueError(f"unknown flag {f!r} in {expr!r}")
    rx = compile_ere(regex_src, icase=icase, newline=newline)
    parts = _parse_repl(repl_src, rx.groups, pv_parser)
    return SubstExpr(source=expr, regex=rx, parts=parts, replace_all=replace_all)
