"""Parse an OpenSIPS routing script into the AST of pysips.script.ast.

Pipeline: read the file and splice include_file/import_file lines (OpenSIPS 3.x cfg_pp.c, done textually),
blank comments (``#`` and nested ``/* */``) keeping every line and column in place, run the LALR parser of
grammar/opensips.lark with panic-mode error recovery (so every syntax error is reported, not only the first),
then convert the tree into AST nodes whose Pos points into the file that held the text.

Nothing here raises on bad input: parse_text/parse_file return ``(Script, [ScriptError...])`` where the list
holds errors and warnings (severity "error"/"warning", codes E1xx/W1xx).

OpenSIPS 1.x conditions (``uri==myself``, ``method=="INVITE"``, ``src_ip==10.0.0.1``...) become the AST of
their 2.x+ spelling, with a warning W101: ``uri==myself`` -> ``Call("is_myself", (Const("$rd", quote='"'),))``
(``!=`` wraps it in Not), ``method==X`` -> ``Compare("==", PVRef("$rm"), X)``, ``src_ip`` -> ``$si``,
``dst_ip`` -> ``$Ri``, ``src_port`` -> ``$sp``, ``dst_port`` -> ``$Rp``, ``proto`` -> ``$pr``, ``af`` -> ``$af``,
``uri``/``from_uri``/``to_uri`` -> ``$ru``/``$fu``/``$tu``, ``status`` -> ``$rs``. OpenSIPS 2.1 removed these
keywords, so in a script detected (or forced) as 2.x/3.x they are errors E114, the W101 text as their hint.
Other choices worth knowing:
  * bare ``return`` and ``return()`` give ``Return(Const(1))`` (cfg.y returns 1).
  * ``async(f(...), resume_route[, timeout])`` -> ``ExprStmt(Call("async", (Call f, Const(route)[, Const(n)])))``;
    ``launch(...)`` likewise with the name "launch".
  * a bare word used as a function argument (2.x ``setflag(NAT)``) or ``tls:1.2.3.4:5061`` in
    force_send_socket is ``Const(text, quote="")``.
  * a bare keyword command of 1.x/2.x (``force_rport;``, ``append_branch;``) is a call without arguments (W102).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.parsers.lalr_analysis import Shift

from pysips.errors import ScriptError
from pysips.script import ast as A
from pysips.script.grammar_loader import get_lark, grammar_text

MAX_ERRORS = 50
MAX_INCLUDE_DEPTH = 50

# 1.x/2.x core commands that were grammar keywords and could be written without parentheses (cfg.y of 1.11/2.4)
LEGACY_BARE_COMMANDS = frozenset(
    {
        "append_branch",
        "force_rport",
        "force_local_rport",
        "add_local_rport",
        "force_tcp_alias",
        "revert_uri",
        "isdsturiset",
        "resetdsturi",
        "reset_dsturi",
    }
)

# 1.x condition keywords -> the pseudo-variable of 2.x+
LEGACY_OPERANDS = {
    "uri": "$ru",
    "from_uri": "$fu",
    "to_uri": "$tu",
    "status": "$rs",
    "method": "$rm",
    "src_ip": "$si",
    "dst_ip": "$Ri",
    "src_port": "$sp",
    "dst_port": "$Rp",
    "proto": "$pr",
    "af": "$af",
    "msg:len": "$ml",
}
# what `X == myself` checks, as the argument of is_myself()
LEGACY_MYSELF = {"uri": "$rd", "from_uri": "$fd", "to_uri": "$td", "src_ip": "$si", "dst_ip": "$Ri"}

ROUTE_KINDS_BY_KEYWORD = {
    "route": "request",
    "onreply_route": "onreply",
    "failure_route": "failure",
    "branch_route": "branch",
    "error_route": "error",
    "local_route": "local",
    "startup_route": "startup",
    "timer_route": "timer",
    "event_route": "event",
}
_TOP_STARTERS = frozenset({"GNAME", "LOADMODULE", "MODPARAM"} | {k.upper() for k in ROUTE_KINDS_BY_KEYWORD})

_TOP_WORDS = frozenset({"loadmodule", "modparam"} | set(ROUTE_KINDS_BY_KEYWORD))

_TOKEN_NAMES = {
    "_SEMI": "`;`",
    "_COMMA": "`,`",
    "_COLON": "`:`",
    "_LPAR": "`(`",
    "_RPAR": "`)`",
    "_LBRACE": "`{`",
    "_RBRACE": "`}`",
    "_LSQB": "`[`",
    "_RSQB": "`]`",
    "ID": "a name",
    "PV": "a variable",
    "STRING": "a string",
    "NUMBER": "a number",
    "EQ": "`=`",
    "GNAME": "a parameter name",
}

_INCLUDE_RE = re.compile(r"""^[ \t]*(include_file|import_file)\s*(["'])([^"'\n]*)\2""")


def _pv_regex() -> str:
    m = re.search(r"^PV: /(.*)/$", grammar_text(), re.M)
    assert m, "grammar/opensips.lark has no PV terminal"
    return m.group(1).replace(r"\/", "/")


_SCAN_RE: re.Pattern[str] | None = None


def _scan_re() -> re.Pattern[str]:
    global _SCAN_RE
    if _SCAN_RE is None:
        _SCAN_RE = re.compile(
            r'(?P<s>"(?:[^"\\]|\\[\s\S])*"|\'[^\']*\')|(?P<pv>'
            + _pv_regex()
            + r")|(?P<lc>#[^\n]*)|(?P<bc>/\*)|(?P<kc>//)|(?P<uq>[\"'])"
        )
    return _SCAN_RE


_STRINGS_RE = re.compile(r'"(?:[^"\\]|\\[\s\S])*"|\'[^\']*\'')
_NEST_RE = re.compile(r"/\*|\*/")
_ESCAPE_RE = re.compile(r"\\(?:([nrat\"\\])|x([0-9a-fA-F]{1,2})|([0-7]{2,3})|(\r?\n))")
_ESCAPES = {"n": "\n", "r": "\r", "a": "\a", "t": "\t", '"': '"', "\\": "\\"}


def unescape(body: str) -> str:
    """Decode the escapes of a "double-quoted" string as cfg.lex does (a lone ``\\1`` stays for subst)."""
    if "\\" not in body:
        return body

    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return _ESCAPES[m.group(1)]
        if m.group(2):
            return chr(int(m.group(2), 16))
        if m.group(3):
            return chr(int(m.group(3), 8) & 0xFF)
        return ""

    return _ESCAPE_RE.sub(repl, body)


def _blank(s: str) -> str:
    return re.sub(r"[^\n]", " ", s)


def parse_number(text: str) -> int:
    if text.startswith("0x"):
        return int(text, 16)
    if len(text) > 1 and text.startswith("0"):
        return int(text, 8)
    return int(text)


@dataclass
class _Unit:
    """The text handed to the lexer, and where each of its lines came from."""

    text: str = ""
    linemap: list[tuple[str, int]] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


class _Parse:
    def __init__(self, path: str, generation: int | None) -> None:
        self.path = path
        self.forced_generation = generation
        self.diags: list[ScriptError] = []
        self.nerrors = 0
        self.unit = _Unit()
        self.legacy_seen = False
        self.stopped = False
        self.fatal_lexical = False

    # ------------------------------------------------------------ diagnostics

    def where(self, line: int) -> tuple[str, int, str]:
        """(file, line, source line) of a line of the combined text."""
        lm = self.unit.linemap
        if 1 <= line <= len(lm):
            f, ln = lm[line - 1]
        elif lm:
            f, ln = lm[-1]
        else:
            f, ln = self.path, 1
        src = self.unit.sources.get(f, [])
        return f, ln, src[ln - 1] if 1 <= ln <= len(src) else ""

    def pos(self, line: int, column: int) -> A.Pos:
        f, ln, _ = self.where(line)
        return A.Pos(f, ln, column)

    def diag(
        self, code: str, message: str, line: int, column: int, hint: str = "", severity: str = "error"
    ) -> None:
        if self.stopped:
            return
        f, ln, src = self.where(line)
        if ln == 0:  # the line added around a snippet
            src = ""
        for d in self.diags:
            if (d.file, d.line, d.column, d.severity) == (f, ln, column, severity):
                return
        self.diags.append(ScriptError(message, f, ln, column, src, hint, code, severity))
        if severity == "error":
            self.nerrors += 1
            if self.nerrors >= MAX_ERRORS:
                self.diags.append(
                    ScriptError(
                        f"too many errors ({MAX_ERRORS}), giving up", f, ln, column, src, "", "E199", "error"
                    )
                )
                self.stopped = True

    def diag_at(self, code: str, message: str, pos: A.Pos, hint: str = "", severity: str = "error") -> None:
        """A diagnostic about an AST node (pos already mapped to its file)."""
        if self.stopped:
            return
        src = self.unit.sources.get(pos.file, [])
        line = src[pos.line - 1] if 1 <= pos.line <= len(src) else ""
        self.diags.append(ScriptError(message, pos.file, pos.line, pos.column, line, hint, code, severity))
        if severity == "error":
            self.nerrors += 1

    # ------------------------------------------------------------ preprocessing

    def load(self, text: str, *, wrap: bool = False) -> None:
        self.unit.files.append(self.path)
        out: list[str] = []
        if wrap:
            out.append("route {")
            self.unit.linemap.append((self.path, 0))
        gen_hint = self.forced_generation or detect_generation(text)
        self._splice(self.path, text, 0, out, gen_hint)
        if wrap:
            out.append("}")
            self.unit.linemap.append((self.path, 0))
        self.unit.text = self._strip_comments("\n".join(out))

    def _splice(self, path: str, text: str, depth: int, out: list[str], gen: int) -> None:
        lines = text.split("\n")
        self.unit.sources[path] = lines
        base = os.path.dirname(path)
        for i, line in enumerate(lines, 1):
            m = _INCLUDE_RE.match(line) if ("include_file" in line or "import_file" in line) else None
            out.append("" if m else line)
            self.unit.linemap.append((path, i))
            if not m:
                continue
            kw, target = m.group(1), m.group(3)
            col = m.start(2) + 1
            line_no = len(out)
            if depth + 1 > MAX_INCLUDE_DEPTH:
                self.diag(
                    "E111",
                    f"{kw}: maximum include depth ({MAX_INCLUDE_DEPTH}) reached",
                    line_no,
                    col,
                    "is a file including itself?",
                )
                continue
            found = None
            if os.path.isabs(target):
                found = target if os.path.isfile(target) else None
            elif os.path.isfile(target):  # relative to the working directory first, as cfg_pp.c does
                found = target
            elif os.path.isfile(os.path.join(base, target)):
                found = os.path.join(base, target)
            if found is None:
                if kw == "import_file" and gen == 2:
                    self.diag(
                        "W110",
                        f"import_file: {target!r} not found (ignored, as OpenSIPS 2.x does)",
                        line_no,
                        col,
                        severity="warning",
                    )
                else:
                    self.diag(
                        "E110",
                        f"{kw}: cannot open {target!r}",
                        line_no,
                        col,
                        "relative paths are tried against the working directory, then the including file's directory",
                    )
                continue
            try:
                with open(found, encoding="utf-8", errors="replace") as fh:
                    inc = fh.read()
            except OSError as e:
                self.diag("E110", f"{kw}: cannot read {target!r}: {e.strerror}", line_no, col)
                continue
            if found not in self.unit.files:
                self.unit.files.append(found)
            self._splice(found, inc, depth + 1, out, gen)

    def _strip_comments(self, text: str) -> str:
        """Blank comments (positions kept) and report unterminated strings/comments and `//` comments."""
        scan = _scan_re()
        parts: list[str] = []
        pos = 0
        n = len(text)
        while pos < n:
            m = scan.search(text, pos)
            if not m:
                break
            kind = m.lastgroup
            if kind in ("s", "pv"):
                parts.append(text[pos : m.end()])
                pos = m.end()
                continue
            parts.append(text[pos : m.start()])
            start = m.start()
            if kind == "lc":
                parts.append(_blank(m.group()))
                pos = m.end()
            elif kind == "bc":
                depth, p = 1, m.end()
                while depth:
                    c = _NEST_RE.search(text, p)
                    if not c:
                        break
                    depth += 1 if c.group() == "/*" else -1
                    p = c.end()
                if depth:
                    line, col = self._line_col(text, start)
                    self.diag(
                        "E104",
                        "unterminated comment: `/*` without `*/`",
                        line,
                        col,
                        "comments nest in OpenSIPS: every `/*` inside a comment needs its own `*/`",
                    )
                    self.fatal_lexical = True
                    p = n
                parts.append(_blank(text[start:p]))
                pos = p
            elif kind == "kc":
                end = text.find("\n", start)
                end = n if end < 0 else end
                line, col = self._line_col(text, start)
                self.diag(
                    "E105",
                    "`//` is not a comment in OpenSIPS",
                    line,
                    col,
                    "`//` comments are Kamailio syntax; use `#` or `/* ... */`",
                )
                parts.append(_blank(text[start:end]))
                pos = end
            else:  # a quote that never closes
                line, col = self._line_col(text, start)
                self.diag(
                    "E103",
                    "unterminated string",
                    line,
                    col,
                    f"add the closing {m.group()} (strings may span lines, so it runs to the end of the file)",
                )
                self.fatal_lexical = True
                parts.append(_blank(text[start:]))
                pos = n
        parts.append(text[pos:])
        return "".join(parts)

    @staticmethod
    def _line_col(text: str, offset: int) -> tuple[int, int]:
        line = text.count("\n", 0, offset) + 1
        return line, offset - (text.rfind("\n", 0, offset) + 1) + 1

    # ------------------------------------------------------------ parsing with recovery

    def parse(self) -> Tree | None:
        lark = get_lark()
        ip = lark.parse_interactive(self.unit.text)
        ps = ip.parser_state
        lt = ip.lexer_thread
        self._ps = ps
        self._lexstate = lt.state
        self._root = lt.lexer.root_lexer
        self._states = ps.parse_conf.states
        gen = lt.lex(ps)
        prev: Token | None = None
        while not self.stopped:
            try:
                tok = next(gen)
            except StopIteration:
                break
            except UnexpectedToken as e:  # the contextual lexer saw a token this state does not take
                self._syntax_error(e.token, prev)
                prev = e.token
                if self._recover(e.token) == "eof":
                    break
                gen = lt.lex(ps)
                continue
            except UnexpectedCharacters as e:
                self._char_error(e)
                self._lexstate.line_ctr.feed(self.unit.text[e.pos_in_stream : e.pos_in_stream + 1])
                gen = lt.lex(ps)
                continue
            try:
                ps.feed_token(tok)
            except UnexpectedToken:
                self._syntax_error(tok, prev)
                prev = tok
                if self._recover(tok) == "eof":
                    break
                gen = lt.lex(ps)
                continue
            prev = tok
        return self._finish(prev)

    def _finish(self, prev: Token | None) -> Tree | None:
        ps = self._ps
        last = self._lexstate.last_token
        end = Token.new_borrow_pos("$END", "", last) if last is not None else Token("$END", "", 0, 1, 1)
        if last is not None:
            end.line, end.column = self._end_line_col(last)
        if not self._would_shift("$END"):
            opened = self._open_braces()
            if self.fatal_lexical:
                pass
            elif opened:
                line = self.where(opened[-1].line)[1]
                hint = f"unbalanced braces: the `{{` on line {line} is never closed"
                self.diag("E107", "syntax error: unexpected end of file", end.line, end.column, hint)
            else:
                self._syntax_error(end, prev)
            # drop the unfinished items (an unclosed route...) and keep what was complete
            for i in range(len(ps.state_stack) - 1, -1, -1):
                if self._would_shift("$END", ps.state_stack[: i + 1]):
                    del ps.state_stack[i + 1 :]
                    del ps.value_stack[i:]
                    break
            else:
                return None
        return ps.feed_token(end, True)

    def _open_braces(self) -> list[Token]:
        """The `{` tokens on the parser stack that no `}` closes yet, outermost first."""
        opened: list[Token] = []
        for v in self._ps.value_stack:
            if isinstance(v, Token) and v.type == "_LBRACE":
                opened.append(v)
            elif isinstance(v, Token) and v.type == "_RBRACE" and opened:
                opened.pop()
        return opened

    def _end_line_col(self, tok: Token) -> tuple[int, int]:
        return tok.end_line or tok.line, (tok.end_column or tok.column)

    def _accepting(self, ttype: str, also: str | None = None) -> int | None:
        stack = self._ps.state_stack
        for i in range(len(stack) - 1, -1, -1):
            st = self._states[stack[i]]
            if ttype in st and (also is None or also in st):
                return i
        return None

    def _sync(self, tok: Token) -> bool:
        """Pop the parser stack to the nearest state that takes ``tok`` and feed it.

        A `;` is fed only where a statement may start (where `}` is taken too): feeding it to a half-parsed
        statement would turn the wreck into a second, bogus error."""
        i = self._accepting(tok.type, "_RBRACE" if tok.type == "_SEMI" else None)
        if i is None:
            return False
        ps = self._ps
        if not self._would_shift(tok.type, ps.state_stack[: i + 1]):
            return False
        del ps.state_stack[i + 1 :]
        del ps.value_stack[i:]
        ps.feed_token(tok)
        return True

    def _next_root_token(self) -> Token:
        while True:
            try:
                return self._root.next_token(self._lexstate, self._ps)
            except EOFError:
                return Token("$END", "")
            except UnexpectedCharacters as e:
                self._lexstate.line_ctr.feed(self.unit.text[e.pos_in_stream : e.pos_in_stream + 1])

    def _recover(self, bad: Token) -> str:
        """Skip to the end of the broken statement (`;` or `}` at the same brace depth) or the next top-level
        item, and put the parser in a state that continues from there."""
        depth = 0
        tok = bad
        while True:
            t = tok.type
            if t == "$END":
                return "eof"
            if t == "_LBRACE":
                depth += 1
            elif t == "_RBRACE":
                if depth == 0:
                    if self._sync(tok):
                        return "ok"
                else:
                    depth -= 1
                    if depth == 0:
                        semi = Token.new_borrow_pos("_SEMI", ";", tok)
                        if self._sync(semi) or self._pop_to_top():
                            return "ok"
            elif depth == 0 and t == "_SEMI":
                if self._sync(tok):
                    return "ok"
            elif depth == 0 and t in _TOP_STARTERS:
                if self._sync(tok):
                    return "ok"
            tok = self._next_root_token()

    def _pop_to_top(self) -> bool:
        i = self._accepting("LOADMODULE")
        if i is None:
            return False
        del self._ps.state_stack[i + 1 :]
        del self._ps.value_stack[i:]
        return True

    def _char_error(self, e: UnexpectedCharacters) -> None:
        ch = self.unit.text[e.pos_in_stream : e.pos_in_stream + 1]
        hint = ""
        if ch == "@":
            hint = "quote values that are not names or numbers"
        self.diag("E102", f"syntax error: unexpected character {ch!r}", e.line, e.column, hint)

    def _would_shift(self, ttype: str, stack: list | None = None) -> bool:
        """Run the LALR automaton on a copy of the state stack only: would ``ttype`` be shifted (accepted)?

        Values are left alone on purpose: lark's tree builder extends left-recursive lists in place, so a
        trial reduction on copied values would corrupt the real tree."""
        stack = list(self._ps.state_stack if stack is None else stack)
        states = self._states
        end_state = self._ps.parse_conf.end_state
        for _ in range(10_000):
            try:
                action, arg = states[stack[-1]][ttype]
            except KeyError:
                return False
            if action is Shift:
                return True
            size = len(arg.expansion)
            if size:
                del stack[-size:]
            stack.append(states[stack[-1]][arg.origin.name][1])
            if stack[-1] == end_state:
                return True
        return False

    def _expected(self) -> set[str]:
        """Terminals the parser really takes here (LALR merges lookaheads, so check each one)."""
        return {
            t
            for t in self._states[self._ps.position]
            if (t.isupper() or t == "$END") and self._would_shift(t)
        }

    def _syntax_error(self, tok: Token, prev: Token | None) -> None:
        expected = self._expected()
        desc = "end of file" if tok.type == "$END" else f"`{_short(tok.value)}`"
        message = f"syntax error: unexpected {desc}"
        names = sorted({_TOKEN_NAMES[t] for t in expected if t in _TOKEN_NAMES})
        if expected and len(expected) <= 3 and len(names) == len(expected):
            message += ", expected " + " or ".join(names)
        code, hint = self._hint(tok, prev, expected)
        line, col = (tok.line, tok.column) if tok.line else (1, 1)
        self.diag(code, message, line, col, hint)

    def _hint(self, tok: Token, prev: Token | None, expected: set[str]) -> tuple[str, str]:
        text = self.unit.text
        t = tok.type
        if t == "_LSQB" and prev is not None and prev.type == "PV" and prev.end_pos == tok.start_pos:
            close = text.find("]", tok.start_pos)
            index = text[tok.start_pos : close + 1] if close > 0 else "[...]"
            pv = str(prev.value)
            fixed = pv[:-1] + index + ")" if pv.startswith("$(") else f"$({pv[1:]}{index})"
            return "E106", f"`{pv}{index}` is Kamailio syntax; OpenSIPS puts the index inside: `{fixed}`"
        if prev is not None and prev.type == "STRING" and re.search(r"[;{}]\s*\n", prev.value):
            return "E101", (
                f"the string that starts on line {self.where(prev.line)[1]} swallows code: is a closing quote missing?"
            )
        if t == "_RBRACE" and self._accepting("_RBRACE") is None:
            return "E107", "unbalanced braces: this `}` has no matching `{`"
        if self._accepting("_RBRACE") is not None and (
            t in _TOP_STARTERS - {"GNAME", "ROUTE"}
            or (t in ("_LSQB", "_LBRACE") and prev is not None and prev.type == "ROUTE")
            or (prev is not None and prev.type == "ID" and prev.value in _TOP_WORDS and t != "_LPAR")
        ):
            return "E107", "a new route or module line starts here: is a `}` missing before it?"
        if t == "EQ" and prev is not None and prev.type == "EQ" and prev.end_pos == tok.start_pos:
            return "E101", "`==` compares (in conditions); use `=` to assign"
        if t == "LT" or text[tok.start_pos : tok.start_pos + 1] == "<":
            m = re.match(r"<%?=?\s*@?[\w.-]+\s*%?>", text[tok.start_pos : tok.start_pos + 60])
            if m:
                return "E101", f"`{m.group()}` looks like a template placeholder: put a real value there"
        if t == "EQ" and prev is not None and prev.type == "ID":
            return "E101", f"variables start with `$`: `$var({prev.value}) = ...`"
        if t in ("ID", "GNAME") and re.match(r"\s*=(?!=)", text[tok.end_pos : tok.end_pos + 20]):
            if self._accepting("PV") is not None:
                return "E101", f"variables start with `$`: `$var({tok.value}) = ...`"
        if t == "ID" and tok.value in ("elif", "elsif", "elseif"):
            return "E101", "write `else if`"
        if t == "ELSE":
            return "E101", "`else` must directly follow the statement of its `if`: remove the `;` before it?"
        for t_need, shown in (("_SEMI", "`;`"), ("_RPAR", "`)`")):
            if t_need in expected and prev is not None and tok.line and prev.end_line:
                if tok.line > prev.end_line:
                    return "E101", f"missing {shown} at the end of line {self.where(prev.end_line)[1]}?"
                if len(expected) == 1:
                    return "E101", f"missing {shown} after `{_short(prev.value)}`?"
        if t == "ID" and prev is not None and prev.type == "ID" and "_LPAR" in expected:
            return "E101", f"function calls need parentheses: `{prev.value}()`"
        if t == "STRING" and "GNAME" in expected:
            return "E101", "global parameters are written `name = value`"
        if t in ("ID", "NUMBER") and "GNAME" in expected and prev is None:
            return "E101", "global parameters are written `name = value`"
        return "E101", ""

    # ------------------------------------------------------------ tree -> AST

    def build(self, tree: Tree | None, script: A.Script) -> None:
        if tree is None:
            return
        for item in tree.children:
            if not isinstance(item, Tree):
                continue
            try:
                handler = getattr(self, "top_" + item.data)
                handler(item, script)
            except _Drop:
                continue

    def tpos(self, node: Tree | Token) -> A.Pos:
        if isinstance(node, Token):
            return self.pos(node.line or 1, node.column or 1)
        meta = node.meta
        if getattr(meta, "empty", True):
            for child in node.children:
                if isinstance(child, (Tree, Token)):
                    return self.tpos(child)
            return A.Pos(self.path, 0, 0)
        return self.pos(meta.line, meta.column)

    # top level ---------------------------------------------------

    def top_global_param(self, t: Tree, script: A.Script) -> None:
        name_tok, _eq, gv = t.children
        value = self.gvalue(gv)
        name = str(name_tok)
        if name == "mpath":  # HEAD takes several dirs: mpath="/a/":"/b/"
            dirs = [_string_value(k) for k in gv.children if isinstance(k, Token) and k.type == "STRING"]
            script.mpath = ":".join(dirs) if dirs else str(value)
            return
        script.globals.append(A.GlobalParam(name, value, self.tpos(name_tok)))

    def gvalue(self, t: Tree) -> int | str:
        toks = [c for c in t.children if isinstance(c, Token)]
        types = [k.type for k in toks]
        if types in (["NUMBER"], ["BOOL"]):
            return _num(toks[0])
        if len(toks) == 2 and types[0] in ("MINUS", "PLUS") and types[1] == "NUMBER":
            n = parse_number(toks[1])
            return -n if types[0] == "MINUS" else n
        raw = self.unit.text[t.meta.start_pos : t.meta.end_pos]
        if types and all(x == "STRING" for x in types) and not _STRINGS_RE.sub("", raw).strip():
            return "".join(_string_value(k) for k in toks)
        if types == ["ID"]:
            return str(toks[0])
        return re.sub(r"\s*\n\s*", " ", raw).strip()

    def top_loadmodule(self, t: Tree, script: A.Script) -> None:
        path = self.string(t.children[1]).value
        name = os.path.basename(str(path))
        if name.endswith(".so"):
            name = name[:-3]
        script.loadmodules.append(A.LoadModule(name, str(path), self.tpos(t)))

    def top_modparam(self, t: Tree, script: A.Script) -> None:
        _kw, mod, param, value = t.children
        v = self.string(value).value if value.data == "string" else self.snumber(value).value
        script.modparams.append(
            A.ModParam(str(self.string(mod).value), str(self.string(param).value), v, self.tpos(t))
        )

    def top_route_def(self, t: Tree, script: A.Script) -> None:
        kw = t.children[0]
        head = t.children[1] if len(t.children) == 3 else None
        body = self.block(t.children[-1])
        kind = ROUTE_KINDS_BY_KEYWORD[str(kw)]
        names: list[Token] = []
        if head is not None:
            names = [c.children[0] for c in head.children if isinstance(c, Tree)]
        pos = self.tpos(kw)
        name = _route_name(names[0]) if names else None
        interval = None
        extra = names[1] if len(names) > 1 else None

        def bad(msg: str, hint: str) -> None:
            self.diag_at("E109", msg, pos, hint)

        if kind == "timer":
            if name is None or extra is None or extra.type != "NUMBER":
                bad("timer_route needs a name and an interval", "write `timer_route[name, seconds] { ... }`")
                return
            interval = parse_number(extra)
        elif extra is not None and not (kind == "event" and str(extra) in ("sync", "async")):
            bad(f"invalid {kw} statement", f"write `{kw}[name] {{ ... }}`")
            return
        if kind in ("failure", "branch", "event") and name is None:
            bad(f"{kw} needs a name", f"write `{kw}[name] {{ ... }}`")
            return
        if kind in ("error", "local", "startup") and name is not None:
            bad(f"{kw} takes no name", f"write `{kw} {{ ... }}`")
            return
        if kind == "request" and name == "0":
            name = None
        self.check_breaks(body, False)
        script.routes.append(A.RouteDef(kind, name, body, pos, interval))

    # statements ----------------------------------------------------

    def block(self, t: Tree) -> A.Block:
        return A.Block(self.stmts(t.children), self.tpos(t))

    def stmts(self, children: list) -> tuple[A.Stmt, ...]:
        out = []
        for c in children:
            if isinstance(c, Tree):
                s = self.stmt(c)
                if s is not None:
                    out.append(s)
        return tuple(out)

    def stmt(self, t: Tree) -> A.Stmt | None:
        try:
            return getattr(self, "s_" + t.data)(t)
        except _Drop:
            return None

    def as_block(self, t: Tree) -> A.Block:
        s = self.stmt(t)
        if isinstance(s, A.Block):
            return s
        return A.Block(() if s is None else (s,), self.tpos(t))

    def s_block(self, t: Tree) -> A.Block:
        return self.block(t)

    def s_empty_stmt(self, t: Tree) -> None:
        return None

    def s_expr_stmt(self, t: Tree) -> A.ExprStmt:
        e = self.expr(t.children[0])
        return A.ExprStmt(e, e.pos)

    def s_bare_word(self, t: Tree) -> A.ExprStmt | None:
        call = self.bare_call(t.children[0])
        return None if call is None else A.ExprStmt(call, call.pos)

    def bare_call(self, tok: Token) -> A.Call | None:
        name = str(tok)
        pos = self.tpos(tok)
        if name in LEGACY_BARE_COMMANDS:
            self.legacy_seen = True
            self.diag_at(
                "W102",
                f"`{name}` without parentheses is OpenSIPS 1.x/2.x syntax; write `{name}()`",
                pos,
                severity="warning",
            )
            return A.Call(name, (), pos)
        self.diag_at("E108", f"bare word `{name}` found, command calls need '()'", pos, f"write `{name}()`")
        return None

    def s_assign(self, t: Tree) -> A.Assign:
        pv, op, value = t.children
        return A.Assign(self.pvref(pv), str(op), self.expr(value), self.tpos(pv))

    def s_if_stmt(self, t: Tree) -> A.If:
        c = t.children
        orelse = self.as_block(c[4]) if len(c) == 5 else None
        return A.If(self.expr(c[1]), self.as_block(c[2]), orelse, self.tpos(t))

    def s_while_stmt(self, t: Tree) -> A.While:
        return A.While(self.expr(t.children[1]), self.as_block(t.children[2]), self.tpos(t))

    def s_foreach_stmt(self, t: Tree) -> A.ForEach:
        _for, var, _in, it, body = t.children
        return A.ForEach(self.pvref(var), self.pvref(it), self.as_block(body), self.tpos(t))

    def s_switch_stmt(self, t: Tree) -> A.Switch:
        cases = []
        for c in t.children[2:]:
            if c.data == "default_clause":
                cases.append(A.Case(None, True, self.stmts(c.children[1:]), self.tpos(c)))
            else:
                v = c.children[1]
                value = self.string(v).value if v.data == "string" else self.snumber(v).value
                cases.append(A.Case(value, False, self.stmts(c.children[2:]), self.tpos(c)))
        return A.Switch(self.pvref(t.children[1]), tuple(cases), self.tpos(t))

    def s_return_stmt(self, t: Tree) -> A.Return:
        c = t.children
        pos = self.tpos(t)
        if len(c) == 1:
            return A.Return(A.Const(1, pos), (), pos)
        head = c[1]
        if isinstance(head, Tree) and head.data == "ret_head":
            value = self.expr(head.children[0]) if head.children else A.Const(1, pos)
        else:
            value = self.expr(head)
        return A.Return(value, tuple(self.expr(x) for x in c[2:]), pos)

    def s_exit_stmt(self, t: Tree) -> A.Exit:
        return A.Exit(self.tpos(t))

    def s_drop_stmt(self, t: Tree) -> A.Drop:
        return A.Drop(self.tpos(t))

    def s_break_stmt(self, t: Tree) -> A.Break:
        return A.Break(self.tpos(t))

    def s_assert_stmt(self, t: Tree) -> A.Assert:
        msg = t.children[2]
        return A.Assert(
            self.expr(t.children[1]), None if msg is None else str(self.string(msg).value), self.tpos(t)
        )

    def check_breaks(self, node: A.Stmt | A.Block, in_loop: bool) -> None:
        """`break` is only allowed inside switch/while/for (cfg.y brk_stm)."""
        if isinstance(node, A.Break):
            if not in_loop:
                self.diag_at(
                    "E112",
                    "`break` outside a switch, while or for",
                    node.pos,
                    "`break` only leaves a switch/while/for: use `exit` to stop the script "
                    "or `return` to leave this route",
                )
        elif isinstance(node, A.Block):
            for s in node.stmts:
                self.check_breaks(s, in_loop)
        elif isinstance(node, A.If):
            self.check_breaks(node.then, in_loop)
            if node.orelse is not None:
                self.check_breaks(node.orelse, in_loop)
        elif isinstance(node, (A.While, A.ForEach)):
            self.check_breaks(node.body, True)
        elif isinstance(node, A.Switch):
            for case in node.cases:
                for s in case.stmts:
                    self.check_breaks(s, True)

    # expressions -----------------------------------------------------

    def expr(self, n: Tree | Token) -> A.Expr:
        if isinstance(n, Token):
            return self.token_expr(n)
        return getattr(self, "e_" + n.data)(n)

    def token_expr(self, tok: Token) -> A.Expr:
        t = tok.type
        pos = self.tpos(tok)
        if t == "PV":
            return A.PVRef(str(tok), pos)
        if t == "NULLV":
            return A.Const(None, pos)
        if t in ("NUMBER", "BOOL"):
            return A.Const(_num(tok), pos)
        if t in ("IPV4", "IPV6", "IPNET"):
            return A.IPNet(str(tok), pos)
        if t == "ID":
            return A.Const(str(tok), pos)
        raise _Drop()

    def pvref(self, tok: Token) -> A.PVRef:
        return A.PVRef(str(tok), self.tpos(tok))

    def string(self, t: Tree) -> A.Const:
        toks = t.children
        quote = '"' if any(k.startswith('"') for k in toks) else "'"
        return A.Const("".join(_string_value(k) for k in toks), self.tpos(t), quote)

    def snumber(self, t: Tree) -> A.Const:
        c = t.children
        if len(c) == 1:
            return A.Const(_num(c[0]), self.tpos(t))
        n = parse_number(c[1])
        return A.Const(-n if c[0].type == "MINUS" else n, self.tpos(t))

    def e_string(self, t: Tree) -> A.Const:
        return self.string(t)

    def e_snumber(self, t: Tree) -> A.Const:
        return self.snumber(t)

    def e_host(self, t: Tree) -> A.Const:
        return A.Const("".join(str(k) for k in t.children), self.tpos(t))

    def e_sockaddr(self, t: Tree) -> A.Const:
        raw = self.unit.text[t.meta.start_pos : t.meta.end_pos]
        return A.Const(re.sub(r"\s+", "", raw), self.tpos(t))

    def e_call(self, t: Tree) -> A.Call:
        name = t.children[0]
        args = t.children[1:]
        if len(args) == 1 and args[0] is None:
            return A.Call(str(name), (), self.tpos(name))
        return A.Call(str(name), tuple(None if a is None else self.expr(a) for a in args), self.tpos(name))

    def e_route_call(self, t: Tree) -> A.RouteCall:
        target = t.children[1]
        name: str | A.PVRef | A.Const
        if isinstance(target, Token):
            name = self.pvref(target) if target.type == "PV" else str(target)
        else:
            c = self.string(target)
            name = c if "$" in str(c.value) else str(c.value)
        return A.RouteCall(name, tuple(self.expr(a) for a in t.children[2:]), self.tpos(t))

    def e_async_call(self, t: Tree) -> A.Call:
        return self._async("async", t)

    def e_launch_call(self, t: Tree) -> A.Call:
        return self._async("launch", t)

    def _async(self, kind: str, t: Tree) -> A.Call:
        args: list[A.Expr] = [self.e_call(t.children[1])]
        rest = t.children[2:]
        if rest:
            rn = rest[0].children[0]
            args.append(A.Const(_route_name(rn), self.tpos(rn), '"'))
            for x in rest[1:]:
                args.append(self.expr(x))
        return A.Call(kind, tuple(args), self.tpos(t))

    def e_logic(self, t: Tree) -> A.Logic:
        left, op, right = t.children
        return A.Logic(
            "and" if op.type in ("AND", "ANDW") else "or", self.expr(left), self.expr(right), self.tpos(t)
        )

    def e_not_(self, t: Tree) -> A.Not:
        return A.Not(self.expr(t.children[1]), self.tpos(t))

    def e_assign_expr(self, t: Tree) -> A.AssignExpr:
        pv, op, value = t.children
        return A.AssignExpr(self.pvref(pv), str(op), self.expr(value), self.tpos(t))

    def e_bare_word(self, t: Tree) -> A.Expr:
        call = self.bare_call(t.children[0])
        if call is None:
            raise _Drop()
        return call

    def e_binop(self, t: Tree) -> A.BinOp:
        left, op, right = t.children
        return A.BinOp(str(op), self.expr(left), self.expr(right), self.tpos(t))

    def e_unop(self, t: Tree) -> A.UnOp:
        return A.UnOp("~", self.expr(t.children[1]), self.tpos(t))

    def e_compare(self, t: Tree) -> A.Expr:
        lhs, op, rhs = t.children
        pos = self.tpos(t)
        opstr = str(op)
        lkw = str(lhs) if isinstance(lhs, Token) and lhs.type in ("ID", "MSGLEN") else None
        rhost = (
            "".join(str(k) for k in rhs.children) if isinstance(rhs, Tree) and rhs.data == "host" else None
        )
        if lkw is None and rhost != "myself":
            return A.Compare(opstr, self.expr(lhs), self.expr(rhs), pos)
        return self.legacy_compare(lhs, lkw, opstr, rhs, rhost, pos)

    def legacy_compare(
        self, lhs: Tree | Token, lkw: str | None, op: str, rhs: Tree | Token, rhost: str | None, pos: A.Pos
    ) -> A.Expr:
        """1.x conditions: rewrite to the 2.x+ form and warn."""
        written = f"{lkw if lkw else _short(str(getattr(lhs, 'value', '') or 'X'))}{op}{rhost or '...'}"
        if lkw == "myself" and rhost in LEGACY_MYSELF:  # `myself == uri`
            lkw, rhost = rhost, "myself"
        if rhost == "myself":
            if lkw is not None and lkw not in LEGACY_MYSELF:
                self.diag_at("E113", f"`{lkw}` cannot be compared with `myself`", pos)
                raise _Drop()
            if op not in ("==", "!="):
                self.diag_at("E113", f"`myself` takes only == or !=, not {op}", pos)
                raise _Drop()
            arg = LEGACY_MYSELF[lkw] if lkw is not None else str(getattr(lhs, "value", ""))
            if lkw is None:  # `$var(x) == myself`
                argc = A.Const(arg, pos, '"')
                written = f"{arg}{op}myself"
            else:
                argc = A.Const(arg, pos, '"')
            self.legacy_seen = True
            self.diag_at(
                "W101",
                f'`{written}` is OpenSIPS 1.x syntax; use `is_myself("{arg}")`',
                pos,
                severity="warning",
            )
            call = A.Call("is_myself", (argc,), pos)
            return call if op == "==" else A.Not(call, pos)
        assert lkw is not None
        pv = LEGACY_OPERANDS.get(lkw)
        if pv is None:
            self.diag_at(
                "E113",
                f"`{lkw}` is not a variable: the left side of a comparison must be a `$` variable",
                pos,
                f"did you mean `$var({lkw})`?",
            )
            raise _Drop()
        self.legacy_seen = True
        self.diag_at(
            "W101",
            f"`{lkw}{op}...` is OpenSIPS 1.x syntax; use `{pv}{op}...`",
            pos,
            "OpenSIPS 2.1 removed the uri/method/src_ip/... condition keywords",
            severity="warning",
        )
        right = self.expr(rhs)
        if lkw == "msg:len" and rhost == "max_len":  # cfg.y MAX_LEN: the biggest message OpenSIPS reads
            right = A.Const(65535, right.pos)
        if lkw in ("src_ip", "dst_ip") and isinstance(right, A.Const) and isinstance(right.value, str):
            if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+:[0-9a-fA-F:]*", right.value):
                right = A.IPNet(right.value, right.pos)
        return A.Compare(op, A.PVRef(pv, self.tpos(lhs)), right, pos)


class _Drop(Exception):
    """An item that was reported as an error and is left out of the AST."""


def _short(s: str, n: int = 30) -> str:
    s = str(s).split("\n", 1)[0]
    return s if len(s) <= n else s[: n - 3] + "..."


def _num(tok: Token) -> int:
    if tok.type == "BOOL":
        return 1 if tok.value in ("yes", "true", "on", "enable") else 0
    return parse_number(tok.value)


def _string_value(tok: Token) -> str:
    v = tok.value
    return unescape(v[1:-1]) if v[0] == '"' else v[1:-1]


def _route_name(tok: Token) -> str:
    if tok.type == "STRING":
        return _string_value(tok)
    return str(tok)


# ---------------------------------------------------------------- generation detection

_GEN3 = re.compile(
    r"^[ \t]*(?:socket|udp_workers|tcp_workers|timer_workers|xlog_level|xlog_print_level|stderror_enabled|syslog_enabled)\s*="
    r"|\$socket_(?:in|out)\b|\$\$|\b(?:send_reply|sl_send_reply|t_reply)\s*\(\s*\d"
    r"|\breturn\s*\([^()\n]*,|\blaunch\s*\(|\b(?:cache_fetch|pv_printf)\s*\([^)\n]*,\s*\$",
    re.M,
)
_GEN2 = re.compile(
    r"^[ \t]*(?:listen|children|tcp_children|debug|fork|log_stderror|log_facility|port)\s*="
    r'|\b(?:sl_send_reply|send_reply|t_reply)\s*\(\s*"\d|\bis_myself\s*\(|\besac\b'
    r'|\bsetflag\s*\(\s*\w|"\$(?:avp|var)\(',
    re.M,
)
_GEN1 = re.compile(
    r"\b(?:uri|from_uri|to_uri|src_ip|dst_ip|method|status)\s*(?:==|!=|=~|!~)|\bmyself\b|\$avp\([is]:",
    re.M,
)


def detect_generation(text: str) -> int:
    """Guess the OpenSIPS syntax generation (1, 2 or 3) of a script from telltale constructs (3 if none)."""
    if _GEN1.search(text) and not _GEN3.search(text):
        return 1
    if _GEN3.search(text):
        return 3
    if _GEN2.search(text):
        return 2
    return 3


# ---------------------------------------------------------------- public API


def _run(
    text: str, path: str, generation: int | None, wrap: bool = False
) -> tuple[A.Script, list[ScriptError]]:
    p = _Parse(path, generation)
    p.load(text, wrap=wrap)
    script = A.Script(path=path)
    script.files = list(p.unit.files)
    script.sources = p.unit.sources
    if p.stopped:
        return script, p.diags
    tree = p.parse()
    p.stopped = False if p.nerrors < MAX_ERRORS else p.stopped
    p.build(tree, script)
    if generation is not None:
        script.generation = generation
    else:
        script.generation = detect_generation(p.unit.text)
        if p.legacy_seen and script.generation != 1 and not _GEN3.search(p.unit.text):
            script.generation = 1
    if p.legacy_seen and script.generation >= 2:
        _legacy_to_errors(p, script.generation, generation is not None)
    p.diags.sort(
        key=lambda d: (script.files.index(d.file) if d.file in script.files else 0, d.line, d.column)
    )
    return script, p.diags


def _legacy_to_errors(p: _Parse, gen: int, forced: bool) -> None:
    """OpenSIPS 2.1 removed the 1.x condition keywords (``uri==myself``, ``method==``, ``src_ip==``...): in a
    2.x/3.x script they are syntax errors there, so the W101 warnings become errors E114 whose hint is the fix."""
    if forced:
        why = f"--opensips-version {gen}"
    else:
        why = "detected"
        m = _GEN3.search(p.unit.text) if gen == 3 else _GEN2.search(p.unit.text)
        if m:
            f, ln, _ = p.where(p.unit.text.count("\n", 0, m.start()) + 1)
            why = f"`{m.group().strip()}` at {os.path.basename(f)}:{ln}"
    for i, d in enumerate(p.diags):
        if d.code != "W101":
            continue
        written = d.message.split("`", 2)[1] if d.message.count("`") >= 2 else "this condition"
        p.diags[i] = ScriptError(
            f"`{written}` is not accepted by OpenSIPS 2.1+ (this script uses OpenSIPS {gen}.x syntax: {why})",
            d.file,
            d.line,
            d.column,
            d.source_line,
            d.message,
            "E114",
            "error",
        )
        p.nerrors += 1


def parse_text(
    text: str, path: str = "<string>", *, generation: int | None = None
) -> tuple[A.Script, list[ScriptError]]:
    """Parse script text; ``path`` names it in positions and anchors relative include_file paths."""
    return _run(text, path, generation)


def parse_file(path: str, *, generation: int | None = None) -> tuple[A.Script, list[ScriptError]]:
    """Parse a script file (and the files it includes)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as e:
        err = ScriptError(f"cannot read {path}: {e.strerror}", path, 0, 0, "", "", "E100", "error")
        return A.Script(path=path), [err]
    return _run(text, path, generation)


_SCRIPT_START = re.compile(
    r"\A(?:\s|#[^\n]*)*(?:(?:route|onreply_route|failure_route|branch_route|error_route|local_route|startup_route"
    r"|timer_route|event_route)\s*[\[{]|loadmodule\b|modparam\b|[a-zA-Z][\w-]*\s*=(?![=~])|include_file\b|import_file\b)"
)


def parse_snippet(text: str, *, generation: int | None = None) -> tuple[A.Script, list[ScriptError]]:
    """Parse a whole script, or a bare list of statements (wrapped into ``route { ... }``); for tests."""
    if _SCRIPT_START.match(text):
        return _run(text, "<snippet>", generation)
    return _run(text, "<snippet>", generation, wrap=True)
