"""textops: regular-expression search and replace on the message text.

As in OpenSIPS: ``search`` looks at the whole message (first line included); ``replace*``, ``search_append`` and
``subst`` work from the first header to the end of the message (the request line is left alone; use ``subst_uri``);
the ``*_body`` variants only see the body. Regexes are POSIX extended, case-insensitive, with REG_NEWLINE (see
_regex.py); ``subst`` takes '/re/repl/flags' with \\N back-references, \\u (the R-URI), PVs, and the i/g/s flags.

An edit rebuilds the message: the text is re-parsed (Content-Length recomputed) and ``ctx.msg`` (and ``ctx.req``
when it is the same object) is replaced by the new Request/Response. An edit that leaves an unparsable message is
refused (-1) instead of sending broken SIP.
"""

from __future__ import annotations

import re
from typing import Any

from pysips.modules import (
    BRANCH,
    FAILURE,
    LOCAL,
    ONREPLY,
    REGEX,
    REQUEST,
    STR,
    FunctionSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules._regex import SubstExpr, parse_subst, script_regex
from pysips.modules.core import log_error, request_of
from pysips.modules.sipmsgops import TEXTOPS_1X

_ANY_MSG = frozenset({REQUEST, ONREPLY, FAILURE, BRANCH, LOCAL})
_NO_LOCAL = frozenset({REQUEST, ONREPLY, FAILURE, BRANCH})

# ---------------------------------------------------------------- message text helpers


def _text(msg: Any) -> str:
    return msg.to_bytes().decode("utf-8", "surrogateescape")


def _head_start(text: str) -> int:
    """Offset of the first header (just after the request/status line)."""
    i = text.find("\n")
    return len(text) if i < 0 else i + 1


def _body_start(text: str) -> int:
    i = text.find("\r\n\r\n")
    if i >= 0:
        return i + 4
    i = text.find("\n\n")
    return len(text) if i < 0 else i + 2


def _regex(rx: Any) -> re.Pattern[str]:
    return script_regex(rx)


_CL = re.compile(r"(?im)^(content-length|l)[ \t]*:[^\r\n]*")


def replace_message(ctx: Any, text: str) -> bool:
    """Re-parse ``text`` as the current message (fixing Content-Length) and install it on ctx. False if unparsable."""
    from pysips.errors import SIPParseError
    from pysips.sip.message import parse_message

    b = _body_start(text)
    head, body = text[:b], text[b:]
    body_len = len(body.encode("utf-8", "surrogateescape"))
    head = _CL.sub(lambda m: f"{m.group(1)}: {body_len}", head, count=1)
    data = (head + body).encode("utf-8", "surrogateescape")
    try:
        new = parse_message(data, max_size=max(65535, len(data)))
    except SIPParseError as e:
        log_error(ctx, f"the edited message does not parse any more ({e}); edit dropped")
        return False
    old = ctx.msg
    ctx.msg = new
    if ctx.req is old:
        ctx.req = new
    return True


def _set_body(ctx: Any, body: str) -> bool:
    ctx.msg.set_body(body.encode("utf-8", "surrogateescape"))
    return True


def _body(msg: Any) -> str:
    return msg.body.decode("utf-8", "surrogateescape")


# ---------------------------------------------------------------- search / replace


def w_search(ctx: Any, rx: Any) -> int:
    return 1 if _regex(rx).search(_text(ctx.msg)) else -1


def w_search_body(ctx: Any, rx: Any) -> int:
    body = _body(ctx.msg)
    if not body:
        return -1
    return 1 if _regex(rx).search(body) else -1


def w_search_append(ctx: Any, rx: Any, txt: str) -> int:
    text = _text(ctx.msg)
    start = _head_start(text)
    m = _regex(rx).search(text, start)
    if not m:
        return -1
    return 1 if replace_message(ctx, text[: m.end()] + txt + text[m.end() :]) else -1


def w_search_append_body(ctx: Any, rx: Any, txt: str) -> int:
    body = _body(ctx.msg)
    if not body:
        return -1
    m = _regex(rx).search(body)
    if not m:
        return -1
    return 1 if _set_body(ctx, body[: m.end()] + txt + body[m.end() :]) else -1


def _replace_in(text: str, start: int, rx: re.Pattern[str], txt: str, count: int) -> tuple[str, int] | None:
    """Replace matches at or after ``start`` (count=0: all); None if a match is empty (OpenSIPS refuses those)."""
    out: list[str] = [text[:start]]
    pos = start
    n = 0
    for m in rx.finditer(text, start):
        if m.start() == m.end():
            return None
        out.append(text[pos : m.start()])
        out.append(txt)
        pos = m.end()
        n += 1
        if count and n >= count:
            break
    out.append(text[pos:])
    return "".join(out), n


def _replace(ctx: Any, rx: Any, txt: str, count: int) -> int:
    text = _text(ctx.msg)
    res = _replace_in(text, _head_start(text), _regex(rx), txt, count)
    if res is None:
        log_error(ctx, "matched string is empty... invalid regexp?")
        return -1
    new, n = res
    if not n:
        return -1
    return 1 if replace_message(ctx, new) else -1


def _replace_body(ctx: Any, rx: Any, txt: str, count: int) -> int:
    body = _body(ctx.msg)
    if not body:
        return -1
    res = _replace_in(body, 0, _regex(rx), txt, count)
    if res is None:
        log_error(ctx, "matched string is empty... invalid regexp?")
        return -1
    new, n = res
    if not n:
        return -1
    return 1 if _set_body(ctx, new) else -1


def w_replace(ctx: Any, rx: Any, txt: str) -> int:
    return _replace(ctx, rx, txt, 1)


def w_replace_all(ctx: Any, rx: Any, txt: str) -> int:
    return _replace(ctx, rx, txt, 0)


def w_replace_body(ctx: Any, rx: Any, txt: str) -> int:
    return _replace_body(ctx, rx, txt, 1)


def w_replace_body_all(ctx: Any, rx: Any, txt: str) -> int:
    return _replace_body(ctx, rx, txt, 0)


def w_replace_body_atonce(ctx: Any, rx: Any, txt: str) -> int:
    return _replace_body(ctx, rx, txt, 0)


# ---------------------------------------------------------------- subst


def _pv_parser(text: str) -> Any:
    from pysips.script.pvars import parse_pv

    return parse_pv(text)


def subst_fixup(value: Any) -> SubstExpr:
    """Load-time parse of '/re/repl/flags' (PVs in the replacement are parsed here too)."""
    return parse_subst(str(value), pv_parser=_pv_parser)


def _subst_expr(ctx: Any, se: Any) -> SubstExpr | None:
    if isinstance(se, SubstExpr):
        return se
    try:
        return parse_subst(str(se), pv_parser=_pv_parser)
    except Exception as e:  # PVError or ValueError: the script gets -1 and a log line
        log_error(ctx, f"bad subst expression {se!r}: {e}")
        return None


def w_subst(ctx: Any, se: Any) -> int:
    expr = _subst_expr(ctx, se)
    if expr is None:
        return -1
    text = _text(ctx.msg)
    start = _head_start(text)
    new, n = expr.run(text[start:], ctx)
    if not n:
        return -1
    return 1 if replace_message(ctx, text[:start] + new) else -1


def w_subst_body(ctx: Any, se: Any) -> int:
    expr = _subst_expr(ctx, se)
    if expr is None:
        return -1
    body = _body(ctx.msg)
    if not body:
        return -1
    new, n = expr.run(body, ctx)
    if not n:
        return -1
    return 1 if _set_body(ctx, new) else -1


def w_subst_uri(ctx: Any, se: Any) -> int:
    from pysips.errors import SIPParseError

    expr = _subst_expr(ctx, se)
    req = request_of(ctx)
    if expr is None or req is None:
        return -1
    new, n = expr.run(str(req.ruri), ctx)
    if not n:
        return -1
    try:
        ctx.set_ruri(new)
    except SIPParseError as e:
        log_error(ctx, f"subst_uri: the new R-URI {new!r} is invalid: {e}")
        return -1
    return 1


def w_subst_user(ctx: Any, se: Any) -> int:
    expr = _subst_expr(ctx, se)
    req = request_of(ctx)
    if expr is None or req is None:
        return -1
    new, n = expr.run(req.ruri.user or "", ctx)
    if not n:
        return -1
    uri = req.ruri.copy()
    uri.user = new or None
    if not new:
        uri.password = None
    ctx.set_ruri(uri)
    return 1


def _rx(name: str = "re") -> ParamSpec:
    return ParamSpec(REGEX, name=name)


def _s(name: str) -> ParamSpec:
    return ParamSpec(STR, name=name)


def _se() -> ParamSpec:
    return ParamSpec(STR, name="subst_expr", fixup=subst_fixup)


MODULE = ModuleSpec.build(
    "textops",
    functions=[
        FunctionSpec("search", (_rx(),), w_search, _ANY_MSG),
        FunctionSpec("search_body", (_rx(),), w_search_body, _ANY_MSG),
        FunctionSpec("search_append", (_rx(), _s("txt")), w_search_append, _ANY_MSG),
        FunctionSpec("search_append_body", (_rx(), _s("txt")), w_search_append_body, _ANY_MSG),
        FunctionSpec("replace", (_rx(), _s("txt")), w_replace, _ANY_MSG),
        FunctionSpec("replace_body", (_rx(), _s("txt")), w_replace_body, _ANY_MSG),
        FunctionSpec("replace_all", (_rx(), _s("txt")), w_replace_all, _ANY_MSG),
        FunctionSpec("replace_body_all", (_rx(), _s("txt")), w_replace_body_all, _ANY_MSG),
        FunctionSpec("replace_body_atonce", (_rx(), _s("txt")), w_replace_body_atonce, _ANY_MSG),
        FunctionSpec("subst", (_se(),), w_subst, _ANY_MSG),
        FunctionSpec("subst_uri", (_se(),), w_subst_uri, _NO_LOCAL),
        FunctionSpec("subst_user", (_se(),), w_subst_user, _NO_LOCAL),
        FunctionSpec("subst_body", (_se(),), w_subst_body, _ANY_MSG),
        # 1.x textops also carried the header functions that 1.8 moved to sipmsgops
        *TEXTOPS_1X,
    ],
)
