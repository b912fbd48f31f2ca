"""Transformations: ``{s.len}``, ``{uri.user}``, ``{param.value,x}``... applied to pseudo-variable values.

Semantics follow OpenSIPS transformations.c. A transformation receives the value (int, str or None) and its
parameters, and returns the new value. NULL in gives NULL out (every family checks that first), and a failing
transformation yields NULL too: pv_get_spec_value() turns a transformation error into a NULL value, so a chain simply
stops at the first None.

Each entry of TRANSFORMATIONS is a TrSpec: the parameter signature (checked and split by pvars.parse_pv at load time)
and ``fn(value, params, ctx)``. ``params`` is a tuple whose items are constants (int / str) or PVSpec objects (PVs
given as parameters, e.g. ``{s.substr,$var(i),2}``), resolved at run time with :func:`param_int` / :func:`param_str`.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import csv
import hashlib
import hmac
import ipaddress
import re
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pysips.script.context import StrInt, is_intlike


class TrFail(Exception):
    """Raised inside a transformation to yield NULL (an OpenSIPS transformation error)."""


@dataclass(frozen=True, slots=True)
class TrSpec:
    """``sig``: one letter per parameter — n number/PV, s string/PV (no blanks), w string allowing blanks and quotes
    (s.fill.*, no PV), c one literal character, r the raw rest (re.subst; may hold '{' '}'), i optional leading index
    (nameaddr.<idx>.uri). A trailing '?' makes the parameter optional. ``pv_params``: whether PVs are allowed."""

    name: str
    sig: str
    fn: Callable[[Any, tuple, Any], Any]
    pv_params: bool = True


TRANSFORMATIONS: dict[str, TrSpec] = {}


def register_transformation(
    name: str, sig: str, fn: Callable[[Any, tuple, Any], Any], pv_params: bool = True
) -> None:
    """Add a transformation (modules add families such as json.*); ``name`` is the full lower-case name."""
    TRANSFORMATIONS[name.lower()] = TrSpec(name.lower(), sig, fn, pv_params)


def _reg(name: str, sig: str = "", pv_params: bool = True) -> Callable:
    def deco(fn: Callable) -> Callable:
        register_transformation(name, sig, fn, pv_params)
        return fn

    return deco


# ---------------------------------------------------------------- parameter helpers


def param_int(p: Any, ctx: Any) -> int:
    """An int parameter: a constant, or a PV whose value must be int-like (PV_VAL_INT), else the transformation fails."""
    if type(p) is int:
        return p
    v = p.get(ctx)
    if isinstance(v, int):
        return v
    if isinstance(v, StrInt):
        return int(v)
    raise TrFail("int parameter expected")


def param_str(p: Any, ctx: Any) -> str:
    """A string parameter: a constant, or a PV whose value must be a non-empty string."""
    if type(p) is str:
        return p
    v = p.get(ctx)
    if v is None:
        raise TrFail("string parameter expected")
    v = str(v)
    if not v:
        raise TrFail("empty string parameter")
    return v


def _s(v: Any) -> str:
    return v if type(v) is str else str(v)


# ---------------------------------------------------------------- s.


@_reg("s.len")
def s_len(v: Any, p: tuple, ctx: Any) -> Any:
    return len(_s(v))


_INT_PREFIX = re.compile(r"[+-]?[0-9]*")


def _str2sint(s: str) -> int:
    """OpenSIPS str2sint as used by s.int: converts up to the first non-digit ("12abc" -> 12, "abc" -> 0)."""
    m = _INT_PREFIX.match(s)
    t = m.group(0) if m else ""
    if t in ("", "+", "-"):
        return 0
    return _wrap32(int(t))


def _wrap32(n: int) -> int:
    """C int overflow, as OpenSIPS stores script integers in an int."""
    n &= 0xFFFFFFFF
    return n - 0x100000000 if n & 0x80000000 else n


@_reg("s.int")
def s_int(v: Any, p: tuple, ctx: Any) -> Any:
    if isinstance(v, int):
        return v
    if isinstance(v, StrInt):
        return int(v)
    return _str2sint(v)


@_reg("s.md5")
def s_md5(v: Any, p: tuple, ctx: Any) -> Any:
    return hashlib.md5(_s(v).encode("utf-8", "surrogateescape")).hexdigest()


def _hash(algo: str) -> Callable:
    def fn(v: Any, p: tuple, ctx: Any) -> Any:
        return hashlib.new(algo, _s(v).encode("utf-8", "surrogateescape")).hexdigest()

    return fn


def _hmac(algo: str) -> Callable:
    def fn(v: Any, p: tuple, ctx: Any) -> Any:
        key = param_str(p[0], ctx).encode("utf-8", "surrogateescape")
        return hmac.new(key, _s(v).encode("utf-8", "surrogateescape"), algo).hexdigest()

    return fn


for _a in ("sha1", "sha224", "sha256", "sha384", "sha512"):
    register_transformation(f"s.{_a}", "", _hash(_a))
    register_transformation(f"s.{_a}_hmac", "s", _hmac(_a))


@_reg("s.crc32")
def s_crc32(v: Any, p: tuple, ctx: Any) -> Any:
    return str(zlib.crc32(_s(v).encode("utf-8", "surrogateescape")) & 0xFFFFFFFF)


@_reg("s.tolower")
def s_tolower(v: Any, p: tuple, ctx: Any) -> Any:
    # ASCII only, as the C loop does
    return _s(v).translate(_LOWER)


@_reg("s.toupper")
def s_toupper(v: Any, p: tuple, ctx: Any) -> Any:
    return _s(v).translate(_UPPER)


_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


@_reg("s.encode.hexa")
def s_encode_hexa(v: Any, p: tuple, ctx: Any) -> Any:
    return _s(v).encode("latin-1", "replace").hex()


@_reg("s.decode.hexa")
def s_decode_hexa(v: Any, p: tuple, ctx: Any) -> Any:
    s = _s(v)
    # an odd trailing digit is ignored, as the C loop runs len/2 times
    try:
        return bytes.fromhex(s[: len(s) // 2 * 2]).decode("latin-1")
    except ValueError as e:
        raise TrFail("bad hexa") from e


@_reg("s.hex2dec")
def s_hex2dec(v: Any, p: tuple, ctx: Any) -> Any:
    if is_intlike(v):
        return int(v)
    if not v or not all(c in "0123456789abcdefABCDEF" for c in v):
        raise TrFail("not hexa")
    return _wrap32(int(v, 16))


@_reg("s.dec2hex")
def s_dec2hex(v: Any, p: tuple, ctx: Any) -> Any:
    if is_intlike(v):
        n = int(v)
    else:
        if not re.fullmatch(r"[+-]?[0-9]+", v):
            raise TrFail("not a number")
        n = _wrap32(int(v))
    return format(n & 0xFFFFFFFF, "x")


@_reg("s.date2unix")
def s_date2unix(v: Any, p: tuple, ctx: Any) -> Any:
    if isinstance(v, int):
        raise TrFail("string expected")
    try:
        t = time.strptime(v, "%a, %d %b %Y %H:%M:%S GMT")
    except ValueError as e:
        raise TrFail("bad date") from e
    return str(calendar.timegm(t))


@_reg("s.escape.common")
def s_escape_common(v: Any, p: tuple, ctx: Any) -> Any:
    s = _s(v)
    return s.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"').replace("\0", "\\0")


_UNESC_COMMON = re.compile(r"\\(['\"\\0])")


@_reg("s.unescape.common")
def s_unescape_common(v: Any, p: tuple, ctx: Any) -> Any:
    return _UNESC_COMMON.sub(lambda m: "\0" if m.group(1) == "0" else m.group(1), _s(v))


_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_USER_OK = _ALNUM | frozenset("-_.!~*'()&=+$,;?/")
_PARAM_OK = _ALNUM | frozenset("-_.!~*'()[]/:&+$")


def _escape(s: str, ok: frozenset) -> str:
    out = []
    for ch in s:
        o = ord(ch)
        if o < 32 or o > 126:
            raise TrFail("invalid character")
        out.append(ch if ch in ok else f"%{o:02x}")
    return "".join(out)


_PCT = re.compile(r"%(..)?", re.S)


def _unescape_user(s: str) -> str:
    def rep(m: re.Match) -> str:
        h = m.group(1)
        if h is None or not all(c in "0123456789abcdefABCDEF" for c in h):
            raise TrFail("invalid hex digit")
        c = int(h, 16)
        if c < 32 or c > 126:
            raise TrFail("invalid escaped character")
        return chr(c)

    return _PCT.sub(rep, s)


@_reg("s.escape.user")
def s_escape_user(v: Any, p: tuple, ctx: Any) -> Any:
    return _escape(_s(v), _USER_OK)


@_reg("s.unescape.user")
def s_unescape_user(v: Any, p: tuple, ctx: Any) -> Any:
    return _unescape_user(_s(v))


@_reg("s.escape.param")
def s_escape_param(v: Any, p: tuple, ctx: Any) -> Any:
    return _escape(_s(v), _PARAM_OK)


@_reg("s.unescape.param")
def s_unescape_param(v: Any, p: tuple, ctx: Any) -> Any:
    return _unescape_user(_s(v))


@_reg("s.substr", "nn")
def s_substr(v: Any, p: tuple, ctx: Any) -> Any:
    s = _s(v)
    n = len(s)
    i = param_int(p[0], ctx)
    j = param_int(p[1], ctx)
    if i < 0:
        if -i > n:
            raise TrFail("negative start out of range")
        i += n
    if i >= n:
        raise TrFail("start out of range")
    if j < 1:
        j = n + j - i
    if i + j > n:
        j = n - i
    # a negative length past the start gives an empty string in C (len <= 0)
    return s[i : i + j] if j > 0 else ""


@_reg("s.select", "nc")
def s_select(v: Any, p: tuple, ctx: Any) -> Any:
    s = _s(v)
    i = param_int(p[0], ctx)
    parts = s.split(p[1])
    if i < 0:
        i += len(parts)
        if i < 0:
            return None
    if i >= len(parts):
        return None
    return parts[i]


def _index_start(i: int, n: int) -> int:
    if i < 0:
        if n > 0:
            i = (-i) % n
            if i > 0:
                i = n - i
        else:
            i = 0
    return i


@_reg("s.index", "sn?")
def s_index(v: Any, p: tuple, ctx: Any) -> Any:
    s = _s(v)
    needle = param_str(p[0], ctx)
    n = len(s)
    i = _index_start(param_int(p[1], ctx), n) if len(p) > 1 else 0
    if i >= n or len(needle) > n - i:
        return None
    r = s.find(needle, i)
    return None if r < 0 else r


@_reg("s.rindex", "sn?")
def s_rindex(v: Any, p: tuple, ctx: Any) -> Any:
    s = _s(v)
    needle = param_str(p[0], ctx)
    n = len(s)
    i = _index_start(param_int(p[1], ctx), n) if len(p) > 1 else n - 1
    if len(needle) > n:
        return None
    if i >= n:
        i = n - 1
    if len(needle) > n - i:
        i = n - len(needle)
    r = s.rfind(needle, 0, i + len(needle))
    return None if r < 0 else r


def _fill(v: Any, p: tuple, left: bool) -> str:
    s = _s(v)
    pad, width = p[0], p[1]
    k = width - len(s)
    if k < 0:
        return s
    if len(pad) == 1:
        fill = pad * k
    elif left:
        # the C code starts with the tail of the pad for a non-even fill, then whole pads
        r = k % len(pad)
        fill = pad[len(pad) - r :] + pad * (k // len(pad)) if r else pad * (k // len(pad))
    else:
        fill = (pad * (k // len(pad) + 1))[:k]
    return fill + s if left else s + fill


@_reg("s.fill.left", "wn", pv_params=False)
def s_fill_left(v: Any, p: tuple, ctx: Any) -> Any:
    return _fill(v, p, True)


@_reg("s.fill.right", "wn", pv_params=False)
def s_fill_right(v: Any, p: tuple, ctx: Any) -> Any:
    return _fill(v, p, False)


@_reg("s.width", "n")
def s_width(v: Any, p: tuple, ctx: Any) -> Any:
    s = _s(v)
    w = param_int(p[0], ctx)
    if w <= 0:
        raise TrFail("width must be >= 1")
    return s[:w] if w <= len(s) else s + " " * (w - len(s))


@_reg("s.b64encode")
def s_b64encode(v: Any, p: tuple, ctx: Any) -> Any:
    return base64.b64encode(_s(v).encode("utf-8", "surrogateescape")).decode("ascii")


@_reg("s.b64decode")
def s_b64decode(v: Any, p: tuple, ctx: Any) -> Any:
    s = _s(v)
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError) as e:
        raise TrFail("bad base64") from e
    return raw.decode("utf-8", "surrogateescape")


@_reg("s.xor", "s")
def s_xor(v: Any, p: tuple, ctx: Any) -> Any:
    s = _s(v)
    key = param_str(p[0], ctx)
    return "".join(chr(ord(c) ^ ord(key[i % len(key)])) for i, c in enumerate(s))


_WS = " \t\r\n"


@_reg("s.trim")
def s_trim(v: Any, p: tuple, ctx: Any) -> Any:
    # an int value keeps its int type: OpenSIPS leaves the flags alone
    return v if isinstance(v, int) else v.strip(_WS)


@_reg("s.trimr")
def s_trimr(v: Any, p: tuple, ctx: Any) -> Any:
    return v if isinstance(v, int) else v.rstrip(_WS)


@_reg("s.triml")
def s_triml(v: Any, p: tuple, ctx: Any) -> Any:
    return v if isinstance(v, int) else v.lstrip(_WS)


@_reg("s.reverse")
def s_reverse(v: Any, p: tuple, ctx: Any) -> Any:
    return _s(v)[::-1]


@_reg("s.eval")
def s_eval(v: Any, p: tuple, ctx: Any) -> Any:
    from pysips.script.pvars import PVError, parse_format

    try:
        fmt = parse_format(_s(v))
    except PVError as e:
        raise TrFail(str(e)) from e
    return fmt.eval(ctx)


# ---------------------------------------------------------------- uri.


_CACHE_MAX = 256
# Parsed URIs / Vias / name-addrs by text, like transformations.c's last-value caches. Read-only use: the
# transformations never modify what they parse, so sharing the objects is safe.
_URI_CACHE: dict[str, Any] = {}
_VIA_CACHE: dict[str, Any] = {}
_NA_CACHE: dict[str, list] = {}


def _remember(cache: dict, key: str, value: Any) -> Any:
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[key] = value
    return value


def _parse_uri(v: Any) -> Any:
    u = _URI_CACHE.get(v) if type(v) is str else None
    if u is not None:
        return u
    from pysips.errors import SIPParseError
    from pysips.sip.uri import parse_uri

    if isinstance(v, int) or not v:
        raise TrFail("uri expected")
    try:
        return _remember(_URI_CACHE, v, parse_uri(v))
    except SIPParseError as e:
        raise TrFail("invalid uri") from e


def _nz(s: Any) -> Any:
    """OpenSIPS marks an empty field as NULL."""
    return s if s else None


def _params_text(params: list[tuple[str, str | None]]) -> str | None:
    if not params:
        return None
    return ";".join(n if val is None else f"{n}={val}" for n, val in params)


def _uri_field(attr: str) -> Callable:
    def fn(v: Any, p: tuple, ctx: Any) -> Any:
        return _nz(getattr(_parse_uri(v), attr))

    return fn


for _n, _attr in (
    ("user", "user"),
    ("host", "host"),
    ("domain", "host"),
    ("passwd", "password"),
    ("headers", "headers"),
):
    register_transformation(f"uri.{_n}", "", _uri_field(_attr))


@_reg("uri.port")
def uri_port(v: Any, p: tuple, ctx: Any) -> Any:
    return _parse_uri(v).port


@_reg("uri.params")
def uri_params(v: Any, p: tuple, ctx: Any) -> Any:
    return _params_text(_parse_uri(v).params)


def _param_lookup(params: list[tuple[str, str | None]], name: str) -> Any:
    name = name.lower()
    for n, val in params:
        if n.lower() == name:
            return "" if val is None else val
    return None


@_reg("uri.param", "s")
def uri_param(v: Any, p: tuple, ctx: Any) -> Any:
    u = _parse_uri(v)
    return _param_lookup(u.params, param_str(p[0], ctx))


def _uri_named_param(pname: str) -> Callable:
    def fn(v: Any, p: tuple, ctx: Any) -> Any:
        # a flag parameter (";lr") has an empty value, which OpenSIPS reports as NULL
        return _nz(_param_lookup(_parse_uri(v).params, pname))

    return fn


for _n, _pn in (
    ("transport", "transport"),
    ("ttl", "ttl"),
    ("uparam", "user"),
    ("maddr", "maddr"),
    ("method", "method"),
    ("lr", "lr"),
    ("r2", "r2"),
):
    register_transformation(f"uri.{_n}", "", _uri_named_param(_pn))


@_reg("uri.schema")
def uri_schema(v: Any, p: tuple, ctx: Any) -> Any:
    s = _s(v)
    i = s.find(":", 0, 5)
    if i < 0:
        raise TrFail("no scheme")
    _parse_uri(v)
    return s[:i]


# ---------------------------------------------------------------- via.


_VIA_COMMENT = re.compile(r"\s*\(([^)]*)\)\s*$")


def _parse_via(v: Any) -> Any:
    via = _VIA_CACHE.get(v) if type(v) is str else None
    if via is not None:
        return via
    from pysips.errors import SIPParseError
    from pysips.sip.headers import parse_via

    if isinstance(v, int) or len(v) <= 2:
        raise TrFail("via expected")
    text = v
    if text.rstrip().endswith(")"):
        # a Via comment "(...)" after the params (RFC 3261 comment): parse_via does not take it
        m = _VIA_COMMENT.search(text)
        if m is not None:
            text = text[: m.start()]
    try:
        vias = parse_via(text)
    except SIPParseError as e:
        raise TrFail("invalid via") from e
    if not vias:
        raise TrFail("invalid via")
    return _remember(_VIA_CACHE, v, vias[0])


@_reg("via.name")
def via_name(v: Any, p: tuple, ctx: Any) -> Any:
    return _nz(_parse_via(v).protocol.partition("/")[0])


@_reg("via.version")
def via_version(v: Any, p: tuple, ctx: Any) -> Any:
    return _nz(_parse_via(v).protocol.partition("/")[2])


@_reg("via.transport")
def via_transport(v: Any, p: tuple, ctx: Any) -> Any:
    return _nz(_parse_via(v).transport)


@_reg("via.host")
def via_host(v: Any, p: tuple, ctx: Any) -> Any:
    return _nz(_parse_via(v).host)


@_reg("via.port")
def via_port(v: Any, p: tuple, ctx: Any) -> Any:
    return _parse_via(v).port


@_reg("via.params")
def via_params(v: Any, p: tuple, ctx: Any) -> Any:
    return _params_text(_parse_via(v).params)


@_reg("via.comment")
def via_comment(v: Any, p: tuple, ctx: Any) -> Any:
    _parse_via(v)
    m = _VIA_COMMENT.search(_s(v))
    return _nz(m.group(1)) if m else None


@_reg("via.param", "s")
def via_param(v: Any, p: tuple, ctx: Any) -> Any:
    return _param_lookup(_parse_via(v).params, param_str(p[0], ctx))


def _via_named(name: str) -> Callable:
    def fn(v: Any, p: tuple, ctx: Any) -> Any:
        return _nz(_param_lookup(_parse_via(v).params, name))

    return fn


for _n in ("branch", "received", "rport"):
    register_transformation(f"via.{_n}", "", _via_named(_n))


# ---------------------------------------------------------------- param. (a "a=1;b=2" list)


def _split_params(s: str) -> list[tuple[str, str | None]]:
    """Split a ';' parameter list honouring double quotes; names and values are trimmed."""
    out: list[tuple[str, str | None]] = []
    cur: list[str] = []
    q = False
    items = []
    for ch in s:
        if ch == '"':
            q = not q
        if ch == ";" and not q:
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    items.append("".join(cur))
    for it in items:
        it = it.strip(_WS)
        if not it:
            continue
        name, eq, val = it.partition("=")
        out.append((name.strip(_WS), val.strip(_WS) if eq else None))
    return out


def _plist(v: Any) -> list[tuple[str, str | None]]:
    if isinstance(v, int) or not v:
        raise TrFail("param list expected")
    lst = _split_params(v)
    if not lst:
        raise TrFail("empty param list")
    return lst


@_reg("param.value", "s")
def param_value(v: Any, p: tuple, ctx: Any) -> Any:
    return _param_lookup(_plist(v), param_str(p[0], ctx))


def _at(lst: list, i: int) -> Any:
    if i < 0:
        i += len(lst)
    if 0 <= i < len(lst):
        return lst[i]
    return None


@_reg("param.valueat", "n")
def param_valueat(v: Any, p: tuple, ctx: Any) -> Any:
    item = _at(_plist(v), param_int(p[0], ctx))
    if item is None:
        return None
    return "" if item[1] is None else item[1]


@_reg("param.name", "n")
def param_name(v: Any, p: tuple, ctx: Any) -> Any:
    item = _at(_plist(v), param_int(p[0], ctx))
    return None if item is None else item[0]


@_reg("param.count")
def param_count(v: Any, p: tuple, ctx: Any) -> Any:
    return len(_plist(v))


@_reg("param.exist", "s")
def param_exist(v: Any, p: tuple, ctx: Any) -> Any:
    return 0 if _param_lookup(_plist(v), param_str(p[0], ctx)) is None else 1


# ---------------------------------------------------------------- nameaddr.


@dataclass(slots=True)
class RawNameAddr:
    """A name-addr / addr-spec split without re-serialising anything (text exactly as written)."""

    body: str
    display: str | None  # with its quotes, as OpenSIPS's to_body.display
    uri: str
    params: str | None  # "tag=1;x=2" (no leading ';')
    param_list: list[tuple[str, str | None]]


def split_name_addr(text: str) -> RawNameAddr:
    """Split one ``"Bob" <sip:b@x>;tag=1`` (or ``sip:b@x;tag=1``) into its raw parts. Raises TrFail on bad syntax."""
    s = text.strip(_WS)
    if not s:
        raise TrFail("empty name-addr")
    i = 0
    n = len(s)
    lt = -1
    while i < n:
        c = s[i]
        if c == '"':
            j = i + 1
            while j < n and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            if j >= n:
                raise TrFail("unterminated quoted display name")
            i = j + 1
            continue
        if c == "<":
            lt = i
            break
        i += 1
    if lt >= 0:
        gt = s.find(">", lt)
        if gt < 0:
            raise TrFail("missing '>'")
        display = s[:lt].strip(_WS) or None
        uri = s[lt + 1 : gt].strip(_WS)
        rest = s[gt + 1 :].strip(_WS)
    else:
        display = None
        uri, _, rest = s.partition(";")
        uri = uri.strip(_WS)
        rest = (";" + rest) if _ else ""
    if rest and not rest.startswith(";"):
        raise TrFail("junk after the URI")
    params = rest[1:].strip(_WS) if rest else ""
    return RawNameAddr(s, display, uri, params or None, _split_params(params) if params else [])


def split_name_addr_list(text: str) -> list[RawNameAddr]:
    """Comma-separated name-addr list (commas inside quotes or <> do not split). Raises TrFail."""
    lst = _NA_CACHE.get(text)
    if lst is None:
        lst = _remember(_NA_CACHE, text, _split_name_addr_list(text))
    return lst


def _split_name_addr_list(text: str) -> list[RawNameAddr]:
    out = []
    cur: list[str] = []
    q = False
    ang = False
    for ch in text:
        if ch == '"' and not ang:
            q = not q
        elif ch == "<" and not q:
            ang = True
        elif ch == ">" and not q:
            ang = False
        if ch == "," and not q and not ang:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [split_name_addr(x) for x in out]


def _nameaddr(v: Any, p: tuple, ctx: Any, has_index: bool) -> RawNameAddr | None:
    if isinstance(v, int) or not v:
        raise TrFail("name-addr expected")
    lst = split_name_addr_list(v)
    if not has_index:
        return lst[0]
    idx = param_int(p[0], ctx)
    return _at(lst, idx)


def _na(field: str) -> Callable:
    def fn(v: Any, p: tuple, ctx: Any) -> Any:
        na = _nameaddr(v, p, ctx, bool(p))
        if na is None:
            return None
        if field == "len":
            return len(na.body)
        return _nz(getattr(na, field))

    return fn


for _n, _f in (("uri", "uri"), ("name", "display"), ("len", "len"), ("params", "params")):
    register_transformation(f"nameaddr.{_n}", "i?", _na(_f))


@_reg("nameaddr.param", "i?s")
def nameaddr_param(v: Any, p: tuple, ctx: Any) -> Any:
    has_index = len(p) == 2
    na = _nameaddr(v, p, ctx, has_index)
    if na is None:
        return None
    name = p[-1]
    for n, val in na.param_list:
        if n == name:  # case-sensitive, as tr_eval_nameaddr compares with strncmp
            return _nz(val)
    return None


# ---------------------------------------------------------------- csv.


def _csv(v: Any) -> list[str]:
    if isinstance(v, int) or not v:
        raise TrFail("csv expected")
    try:
        rows = list(csv.reader([v], strict=True))
    except csv.Error as e:
        raise TrFail("bad csv") from e
    if not rows:
        raise TrFail("bad csv")
    return rows[0]


@_reg("csv.count")
def csv_count(v: Any, p: tuple, ctx: Any) -> Any:
    return len(_csv(v))


@_reg("csv.value", "n")
def csv_value(v: Any, p: tuple, ctx: Any) -> Any:
    fields = _csv(v)
    i = param_int(p[0], ctx)
    if i < 0:
        i += len(fields)
    if i < 0 or i >= len(fields):
        raise TrFail("index out of bounds")
    return fields[i]


# ---------------------------------------------------------------- ip.


def _ip(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1]
    try:
        return ipaddress.ip_address(s)
    except ValueError:
        return None


def _ip_str(v: Any) -> str:
    if isinstance(v, int) or not v:
        raise TrFail("ip expected")
    return v


@_reg("ip.family")
def ip_family(v: Any, p: tuple, ctx: Any) -> Any:
    n = len(_ip_str(v))
    if n == 4:
        return "INET"
    if n == 16:
        return "INET6"
    raise TrFail("binary address expected")


@_reg("ip.ntop")
def ip_ntop(v: Any, p: tuple, ctx: Any) -> Any:
    s = _ip_str(v)
    if len(s) not in (4, 16):
        raise TrFail("binary address expected")
    return str(ipaddress.ip_address(s.encode("latin-1")))


@_reg("ip.pton")
def ip_pton(v: Any, p: tuple, ctx: Any) -> Any:
    a = _ip(_ip_str(v))
    if a is None:
        raise TrFail("invalid IP")
    return a.packed.decode("latin-1")


def _isip(kinds: tuple) -> Callable:
    def fn(v: Any, p: tuple, ctx: Any) -> Any:
        a = _ip(_s(_ip_str(v)))
        return 1 if a is not None and a.version in kinds else 0

    return fn


register_transformation("ip.isip", "", _isip((4, 6)))
register_transformation("ip.isip4", "", _isip((4,)))
register_transformation("ip.isip6", "", _isip((6,)))

_PRIVATE = [
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8")
]


@_reg("ip.isprivate")
def ip_isprivate(v: Any, p: tuple, ctx: Any) -> Any:
    a = _ip(_s(_ip_str(v)))
    if a is None or a.version != 4:
        return 0
    return 1 if any(a in n for n in _PRIVATE) else 0


def _resolve(family: int) -> Callable:
    def fn(v: Any, p: tuple, ctx: Any) -> Any:
        host = _ip_str(v)
        a = _ip(host)
        if a is not None:
            return str(a)
        try:
            infos = socket.getaddrinfo(host, None, family, socket.SOCK_DGRAM)
        except OSError:
            return None
        return infos[0][4][0] if infos else None

    return fn


register_transformation("ip.resolve", "", _resolve(socket.AF_UNSPEC))
register_transformation("ip.resolve4", "", _resolve(socket.AF_INET))
register_transformation("ip.resolve6", "", _resolve(socket.AF_INET6))


@_reg("ip.matches", "s")
def ip_matches(v: Any, p: tuple, ctx: Any) -> Any:
    a = _ip(_ip_str(v))
    if a is None:
        raise TrFail("invalid input IP")
    net = param_str(p[0], ctx)
    addr, slash, bits = net.partition("/")
    if not slash:
        raise TrFail("ip/len expected")
    na = _ip(addr)
    if na is None or not bits.isdigit() or int(bits) > na.max_prefixlen:
        raise TrFail("invalid network")
    if na.version != a.version:
        raise TrFail("different address families")
    network = ipaddress.ip_network(f"{na}/{bits}", strict=False)
    return 1 if a in network else 0


# ---------------------------------------------------------------- re.


@dataclass(frozen=True, slots=True)
class Subst:
    regex: re.Pattern
    repl: str
    count: int  # 0 = all (g flag)


_SUBST_CACHE: dict[str, Subst] = {}


def parse_subst(expr: str) -> Subst:
    """Parse a sed-like ``/re/repl/flags`` (flags: i ignore case, g global, s: ignored). Raises ValueError.

    The regex is POSIX ERE; Python's re accepts the constructs scripts use. ``\\N`` in the replacement is group N.
    """
    cached = _SUBST_CACHE.get(expr)
    if cached is not None:
        return cached
    if len(expr) < 4:
        raise ValueError("subst expression too short")
    sep = expr[0]
    parts: list[str] = []
    cur: list[str] = []
    i = 1
    while i < len(expr):
        c = expr[i]
        if c == "\\" and i + 1 < len(expr) and expr[i + 1] == sep:
            cur.append(sep)
            i += 2
            continue
        if c == "\\" and i + 1 < len(expr):
            cur.append(expr[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(cur))
            cur = []
            if len(parts) == 2:
                break
        else:
            cur.append(c)
        i += 1
    if len(parts) != 2:
        raise ValueError("subst expression needs /re/repl/flags")
    flags_text = expr[i + 1 :]
    rflags = 0
    count = 1
    for f in flags_text:
        if f == "i":
            rflags |= re.IGNORECASE
        elif f == "g":
            count = 0
        elif f == "s":
            pass
        else:
            raise ValueError(f"unknown subst flag {f!r}")
    regex = re.compile(parts[0], rflags)
    repl = re.sub(r"\\([0-9])", r"\\g<\1>", parts[1])
    try:
        regex.sub(repl, "")
    except (re.error, IndexError) as e:
        raise ValueError(f"bad replacement: {e}") from e
    s = Subst(regex, repl, count)
    if len(_SUBST_CACHE) < 1024:
        _SUBST_CACHE[expr] = s
    return s


@_reg("re.subst", "r")
def re_subst(v: Any, p: tuple, ctx: Any) -> Any:
    if isinstance(v, int) or not v:
        raise TrFail("string expected")
    expr = p[0]
    if type(expr) is not str:
        expr = param_str(expr, ctx)
    try:
        sb = parse_subst(expr)
        out, n = sb.regex.subn(sb.repl, v, count=sb.count)
    except (ValueError, re.error, IndexError) as e:
        raise TrFail(str(e)) from e
    return out if n else v


# ---------------------------------------------------------------- running a chain


def run_chain(v: Any, chain: tuple, ctx: Any) -> Any:
    """Apply compiled (fn, params) pairs left to right; NULL or an error ends the chain with NULL."""
    for fn, params in chain:
        if v is None:
            return None
        try:
            v = fn(v, params, ctx)
        except TrFail:
            return None
    return v
