"""sipmsgops: header and message checks/edits (1.8+; before that these functions lived in textops).

Unlike OpenSIPS, whose edits are "lumps" applied when the message is sent, pysips edits the message object at once:
a header added by ``append_hf`` is visible to a following ``is_present_hf`` or ``$hdr`` in the same route.
Replies built by the Env must include ``ctx.reply_headers`` (filled by ``append_to_reply``/``append_time``).
"""

from __future__ import annotations

import fnmatch
import re
import time
from email.utils import formatdate
from typing import Any

from pysips.modules import (
    BRANCH,
    ERROR,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REGEX,
    REQUEST,
    STR,
    VAR,
    FunctionSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules.core import log_error, request_of

_ANY_MSG = frozenset({REQUEST, ONREPLY, FAILURE, BRANCH, LOCAL})
_REQ_ONLY = frozenset({REQUEST, FAILURE, BRANCH, LOCAL})

# ---------------------------------------------------------------- helpers


def parse_header_lines(text: str) -> list[tuple[str, str]]:
    """'Name: value\\r\\n...' (the text of append_hf & co) -> [(name, value)]; ValueError if a line has no name."""
    out: list[tuple[str, str]] = []
    for line in re.split(r"\r?\n", text):
        if not line.strip():
            continue
        if line[0] in " \t" and out:
            name, value = out[-1]
            out[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise ValueError(f"bad header line {line!r}")
        out.append((name.strip(), value.strip()))
    return out


def _canon(name: str) -> str:
    from pysips.sip.headers import canonical_name

    return canonical_name(name)


def rebuild_headers(msg: Any, headers: list[tuple[str, str]]) -> None:
    """Replace the whole header list of msg by ``headers`` (order kept)."""
    for name in {_canon(n) for n, _ in msg.headers()}:
        msg.remove_header(name)
    for name, value in headers:
        msg.add_header(name, value)


def insert_headers(msg: Any, new: list[tuple[str, str]], anchor: str | None, after: bool) -> bool:
    """Add headers at the end/start, or right after/before the first header named ``anchor``. False: no anchor."""
    if anchor is None:
        if after:
            for name, value in new:
                msg.add_header(name, value)
        else:
            for name, value in reversed(new):
                msg.add_header(name, value, first=True)
        return True
    key = _canon(anchor)
    hdrs = msg.headers()
    for i, (name, _) in enumerate(hdrs):
        if _canon(name) == key:
            pos = i + 1 if after else i
            rebuild_headers(msg, hdrs[:pos] + new + hdrs[pos:])
            return True
    return False


def method_of(msg: Any) -> str | None:
    """The request method, or for a reply the CSeq method (OpenSIPS is_method on replies)."""
    if msg.is_request:
        return msg.method
    cseq = msg.cseq
    return cseq.method if cseq is not None else None


def reply_headers(ctx: Any) -> list[str]:
    """The header lines the next reply built for this message gets (append_to_reply, auth challenges...)."""
    lst = getattr(ctx, "reply_headers", None)
    if lst is None:
        lst = ctx.reply_headers = []
    return lst


# ---------------------------------------------------------------- functions


def w_append_to_reply(ctx: Any, text: str) -> int:
    if not text:
        return -1
    reply_headers(ctx).append(text if text.endswith("\n") else text + "\r\n")
    return 1


def w_append_time(ctx: Any) -> int:
    reply_headers(ctx).append(f"Date: {formatdate(time.time(), usegmt=True)}\r\n")
    return 1


def _add_hf(ctx: Any, text: str, anchor: str | None, after: bool) -> int:
    try:
        new = parse_header_lines(text)
    except ValueError as e:
        log_error(ctx, f"append_hf/insert_hf: {e}")
        return -1
    if not new:
        return -1
    return 1 if insert_headers(ctx.msg, new, anchor or None, after) else -1


def w_append_hf(ctx: Any, text: str, anchor: str | None = None) -> int:
    return _add_hf(ctx, text, anchor, True)


def w_insert_hf(ctx: Any, text: str, anchor: str | None = None) -> int:
    return _add_hf(ctx, text, anchor, False)


def w_append_urihf(ctx: Any, prefix: str, suffix: str) -> int:
    req = request_of(ctx)
    if req is None:
        return -1
    return _add_hf(ctx, f"{prefix}{req.ruri}{suffix}", None, True)


def w_is_present_hf(ctx: Any, name: str) -> int:
    return 1 if ctx.msg.has_header(name) else -1


def methods_fixup(value: Any) -> frozenset[str]:
    """'INVITE|bye' -> {'INVITE', 'BYE'} once at load time (is_method is the most called function)."""
    names = frozenset(w.strip().upper() for w in str(value).split("|") if w.strip())
    if not names:
        raise ValueError("empty method list")
    return names


def w_is_method(ctx: Any, methods: Any) -> int:
    m = method_of(ctx.msg)
    if m is None:
        return -1
    wanted = methods if isinstance(methods, frozenset) else methods_fixup(methods)
    return 1 if m.upper() in wanted else -1


def _remove_where(msg: Any, match: Any) -> int:
    names = {n for n, _ in msg.headers() if match(n)}
    count = 0
    for name in {_canon(n) for n in names}:
        count += msg.remove_header(name)
    return count


def w_remove_hf(ctx: Any, name: str, flags: str | None = None) -> int:
    """remove_hf(name) -> number of header lines removed (> 0 true). 2.x flags: 'r' regex, 'g' glob."""
    msg = ctx.msg
    if flags and "r" in flags:
        return w_remove_hf_re(ctx, re.compile(name, re.IGNORECASE))
    if flags and "g" in flags:
        return w_remove_hf_glob(ctx, name)
    n = msg.remove_header(name)
    return n if n > 0 else -1


def w_remove_hf_re(ctx: Any, regex: Any) -> int:
    from pysips.modules._regex import script_regex

    regex = script_regex(regex)
    n = _remove_where(ctx.msg, lambda h: regex.search(h) is not None)
    return n if n > 0 else -1


def w_remove_hf_glob(ctx: Any, pattern: str) -> int:
    pat = pattern.lower()
    n = _remove_where(ctx.msg, lambda h: fnmatch.fnmatchcase(h.lower(), pat))
    return n if n > 0 else -1


def w_has_totag(ctx: Any) -> int:
    to = ctx.msg.to
    return 1 if to is not None and to.tag else -1


def _param_fixup(value: Any) -> str:
    s = str(value)
    if not s:
        raise ValueError("empty parameter name")
    return s


def w_ruri_has_param(ctx: Any, name: str, value: str | None = None) -> int:
    req = request_of(ctx)
    if req is None:
        return -1
    v = req.ruri.get_param(name)
    if v is None:
        return -1
    if value is None:
        return 1 if v == "" else -1
    return 1 if v == value else -1


def w_ruri_add_param(ctx: Any, param: str) -> int:
    req = request_of(ctx)
    if req is None or not param:
        return -1
    name, sep, value = param.lstrip(";").partition("=")
    uri = req.ruri.copy()
    uri.params.append((name, value if sep else None))
    ctx.set_ruri(uri)
    return 1


def w_ruri_del_param(ctx: Any, name: str) -> int:
    req = request_of(ctx)
    if req is None:
        return -1
    if not req.ruri.has_param(name):
        return -1
    uri = req.ruri.copy()
    uri.remove_param(name)
    ctx.set_ruri(uri)
    return 1


_E164 = re.compile(r"\+[0-9]{2,15}")


def is_e164(user: str | None) -> bool:
    return bool(user) and _E164.fullmatch(user) is not None  # type: ignore[arg-type]


def w_is_uri_user_e164(ctx: Any, uri: str) -> int:
    from pysips.errors import SIPParseError
    from pysips.sip.uri import parse_uri

    if not uri:
        return -1
    try:
        u = parse_uri(uri)
    except SIPParseError:
        return -1
    return 1 if is_e164(u.user) else -1


def _mime_matches(ct: str | None, mime: str) -> bool:
    if not ct:
        return False
    base = ct.split(";", 1)[0].strip().lower()
    want = mime.strip().lower()
    if base == want:
        return True
    if base.startswith("multipart/"):
        return False
    return want.endswith("/*") and base.startswith(want[:-1])


def w_has_body(ctx: Any, mime: str | None = None) -> int:
    msg = ctx.msg
    if not msg.body:
        return -1
    if not mime:
        return 1
    ct = msg.content_type
    if _mime_matches(ct, mime):
        return 1
    if ct and ct.lower().startswith("multipart/"):
        # a part with that Content-Type inside a multipart body
        needle = re.compile(rb"(?im)^content-type:\s*" + re.escape(mime.strip().encode()) + rb"\b")
        return 1 if needle.search(msg.body) else -1
    return -1


def w_is_privacy(ctx: Any, ptype: str) -> int:
    values = [v.strip().lower() for line in ctx.msg.get_headers("Privacy") for v in re.split(r"[;,]", line)]
    return 1 if ptype.strip().lower() in values else -1


def _options(msg: Any, hdr: str) -> list[str]:
    return [v.strip() for v in msg.get_values(hdr)]


def w_list_hdr_has_option(ctx: Any, hdr: str, option: str) -> int:
    opt = option.strip().lower()
    return 1 if any(v.lower() == opt for v in _options(ctx.msg, hdr)) else -1


def w_list_hdr_add_option(ctx: Any, hdr: str, option: str) -> int:
    msg = ctx.msg
    values = _options(msg, hdr)
    if any(v.lower() == option.strip().lower() for v in values):
        return 1
    values.append(option.strip())
    msg.set_header(hdr, ", ".join(values))
    return 1


def w_list_hdr_remove_option(ctx: Any, hdr: str, option: str) -> int:
    msg = ctx.msg
    values = _options(msg, hdr)
    keep = [v for v in values if v.lower() != option.strip().lower()]
    if len(keep) == len(values):
        return -1
    if keep:
        msg.set_header(hdr, ", ".join(keep))
    else:
        msg.remove_header(hdr)
    return 1


def w_change_reply_status(ctx: Any, code: int, reason: str) -> int:
    msg = ctx.msg
    if msg is None or msg.is_request:
        return -1
    new = int(code)
    old = msg.status
    # a provisional reply cannot become final (nor the reverse), and a 2xx must stay a 2xx
    if not 100 <= new <= 699 or (old < 200) != (new < 200) or (old // 100 == 2) != (new // 100 == 2):
        return -1
    msg.status = new
    msg.reason = reason
    return 1


def _d(name: str, *params: ParamSpec, routes: frozenset[str] = _ANY_MSG) -> FunctionSpec:
    return FunctionSpec(name, tuple(params), None, routes)


def _s(name: str, opt: bool = False) -> ParamSpec:
    return ParamSpec(STR, optional=opt, name=name)


APPEND_TO_REPLY = FunctionSpec(
    "append_to_reply", (_s("txt"),), w_append_to_reply, frozenset({REQUEST, FAILURE, BRANCH, ERROR})
)
APPEND_HF = FunctionSpec("append_hf", (_s("txt"), _s("hdr_anchor", True)), w_append_hf, _ANY_MSG)
INSERT_HF = FunctionSpec("insert_hf", (_s("txt"), _s("hdr_anchor", True)), w_insert_hf, _ANY_MSG)
APPEND_URIHF = FunctionSpec("append_urihf", (_s("prefix"), _s("suffix")), w_append_urihf, _REQ_ONLY)
IS_PRESENT_HF = FunctionSpec("is_present_hf", (_s("hf_name"),), w_is_present_hf, _ANY_MSG)
APPEND_TIME = FunctionSpec("append_time", (), w_append_time, _REQ_ONLY)
IS_METHOD = FunctionSpec(
    "is_method", (ParamSpec(STR, name="name", fixup=methods_fixup),), w_is_method, _ANY_MSG
)
REMOVE_HF = FunctionSpec("remove_hf", (_s("hname"), _s("flags", True)), w_remove_hf, _ANY_MSG)
HAS_BODY = FunctionSpec("has_body", (_s("mime", True),), w_has_body, _ANY_MSG)
IS_PRIVACY = FunctionSpec("is_privacy", (_s("privacy_type"),), w_is_privacy, _ANY_MSG)
HAS_TOTAG = FunctionSpec("has_totag", (), w_has_totag, _ANY_MSG)
_CODEC = (
    _d("codec_exists", _s("name"), _s("clock", True)),
    _d("codec_delete", _s("name"), _s("clock", True)),
    _d("codec_move_up", _s("name"), _s("clock", True)),
    _d("codec_move_down", _s("name"), _s("clock", True)),
    _d("codec_exists_re", ParamSpec(REGEX, name="regexp")),
    _d("codec_delete_re", ParamSpec(REGEX, name="regexp")),
    _d("codec_delete_except_re", ParamSpec(REGEX, name="regexp")),
    _d("codec_move_up_re", ParamSpec(REGEX, name="regexp")),
    _d("codec_move_down_re", ParamSpec(REGEX, name="regexp")),
)
# the functions 1.x textops had before they moved here (textops re-exports them)
TEXTOPS_1X = (
    APPEND_TO_REPLY,
    APPEND_HF,
    INSERT_HF,
    APPEND_URIHF,
    IS_PRESENT_HF,
    APPEND_TIME,
    IS_METHOD,
    REMOVE_HF,
    HAS_BODY,
    IS_PRIVACY,
    _d("filter_body", _s("content_type")),
    _d("strip_body", _s("mime", True)),
    _d("add_body", _s("body_text"), _s("new_content_type", True)),
    *_CODEC,
)

MODULE = ModuleSpec.build(
    "sipmsgops",
    functions=[
        APPEND_TO_REPLY,
        FunctionSpec(
            "append_body_to_reply", (_s("txt"),), None, frozenset({REQUEST, FAILURE, BRANCH, ERROR})
        ),
        APPEND_HF,
        INSERT_HF,
        APPEND_URIHF,
        IS_PRESENT_HF,
        APPEND_TIME,
        IS_METHOD,
        REMOVE_HF,
        FunctionSpec("remove_hf_re", (ParamSpec(REGEX, name="hname_expr"),), w_remove_hf_re, _ANY_MSG),
        FunctionSpec("remove_hf_glob", (_s("hname_pattern"),), w_remove_hf_glob, _ANY_MSG),
        HAS_TOTAG,
        FunctionSpec("ruri_has_param", (_s("param", False), _s("value", True)), w_ruri_has_param, _REQ_ONLY),
        FunctionSpec("ruri_add_param", (_s("param"),), w_ruri_add_param, _REQ_ONLY),
        FunctionSpec("ruri_del_param", (_s("param"),), w_ruri_del_param, _REQ_ONLY),
        _d("ruri_tel2sip", routes=_REQ_ONLY),
        FunctionSpec(
            "is_uri_user_e164", (_s("uri"),), w_is_uri_user_e164, frozenset({REQUEST, FAILURE, BRANCH, LOCAL})
        ),
        HAS_BODY,
        FunctionSpec("has_body_part", (_s("mime", True),), w_has_body, _ANY_MSG),
        _d("is_audio_on_hold"),
        IS_PRIVACY,
        _d("remove_body_part", _s("mime", True), _s("revert", True)),
        _d("add_body_part", _s("body"), _s("mime"), _s("headers", True)),
        _d("get_updated_body_part", _s("mime", True), ParamSpec(VAR, name="variable")),
        _d("sipmsg_validate", _s("flags", True), ParamSpec(VAR, optional=True, name="result_pvar")),
        *_CODEC,
        FunctionSpec(
            "change_reply_status",
            (ParamSpec(INT, name="code"), _s("reason")),
            w_change_reply_status,
            frozenset({ONREPLY}),
        ),
        _d("stream_exists", ParamSpec(REGEX, name="regexp"), ParamSpec(REGEX, optional=True, name="regexp2")),
        _d("stream_delete", ParamSpec(REGEX, name="regexp"), ParamSpec(REGEX, optional=True, name="regexp2")),
        FunctionSpec("list_hdr_has_option", (_s("hdr_name"), _s("option")), w_list_hdr_has_option, _ANY_MSG),
        FunctionSpec("list_hdr_add_option", (_s("hdr_name"), _s("option")), w_list_hdr_add_option, _ANY_MSG),
        FunctionSpec(
            "list_hdr_remove_option", (_s("hdr_name"), _s("option")), w_list_hdr_remove_option, _ANY_MSG
        ),
        _d(
            "get_glob_headers_values",
            _s("hdr_name_glob"),
            ParamSpec(VAR, name="hdr_names_avp"),
            ParamSpec(VAR, name="hdr_vals_avp"),
        ),
        _d("sip_to_json", ParamSpec(VAR, name="out_var")),
        # 1.x-only names kept so old scripts load
        _d("filter_body", _s("content_type")),
        _d("strip_body", _s("mime", True)),
        _d("add_body", _s("body_text"), _s("new_content_type", True)),
    ],
)
