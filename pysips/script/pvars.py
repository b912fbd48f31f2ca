"""Pseudo-variables: parse ``$...`` tokens once into PVSpec objects whose get/set are prepared closures.

Syntax and semantics follow OpenSIPS pvar.c (``pv_parse_spec``, the ``_pv_names_table`` getters/setters):

* ``$name``, ``$name(inner)``; an index, a transformation or a context needs the outer parentheses:
  ``$(name[idx])``, ``$(name(inner)[idx]{tr1}{tr2,p})``, ``$(<request>ru)``.
* index: integer (negative = from the end), ``*`` (all values; get() joins them with ", "), a PV, and for AVPs
  ``append`` (write only).
* the inner name of $hdr/$avp/$hdrcnt/$param may itself be a PV: ``$hdr($var(h))``.

Values are int, str or None (NULL); which PVs give ints follows pvar.c's PV_TYPE_INT flag (``$rs``, ``$sp``, ``$cl``,
``$ml``, ``$Ts``...). Explicit URI ports ($rp/$op/$dp) are StrInt: strings that compare numerically with ints.
Everything is resolved while parsing, so get() does no name lookups.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from pysips.errors import PysipsError, ScriptRuntimeError
from pysips.script.context import FLAGS, Branch, Context, StrInt, is_intlike
from pysips.script.transformations import TRANSFORMATIONS, TrFail, TrSpec, run_chain

NULL_TEXT = "<null>"  # how pv_printf prints a NULL value (pvar.c str_null)
FIELD_DELIM = ", "  # PV_FIELD_DELIM: joins the values of [*]


class PVError(PysipsError):
    """A bad pseudo-variable or format string; ``offset`` is relative to the text given to the parser."""

    def __init__(self, message: str, offset: int = 0, code: str = "E301") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.code = code


# Stable error codes (E1xx syntax and E2xx semantic belong to the parser and the compiler).
E_UNKNOWN_PV = "E301"
E_UNKNOWN_TR = "E302"
E_SYNTAX = "E303"
E_INDEX = "E304"
E_NAME = "E305"
E_GENERATION = "E306"
E_TR_PARAMS = "E307"


Getter = Callable[[Context], Any]


# ---------------------------------------------------------------- PV definitions


class PVDef:
    """One entry of the PV table.

    ``first(ctx)`` (or ``first(ctx, name)`` when ``inner``) returns the value without an index;
    ``values(ctx[, name])`` returns every value (list) and enables ``[idx]`` / ``[*]``;
    ``setter(ctx, name, index, op, value)`` makes the PV writable (name None without inner; index None, an int,
    "*" or "append"); ``parse_name(text, offset)`` validates / converts a static inner name;
    ``dyn_name``: the inner name may be a PV.
    """

    __slots__ = (
        "name",
        "inner",
        "first",
        "values",
        "setter",
        "parse_name",
        "dyn_name",
        "gens",
        "hint",
        "warn",
    )

    def __init__(
        self,
        name: str,
        first: Callable[..., Any],
        *,
        inner: bool = False,
        values: Callable[..., list] | None = None,
        setter: Callable[..., None] | None = None,
        parse_name: Callable[[str, int], Any] | None = None,
        dyn_name: bool = False,
        gens: tuple[int, int] = (1, 9),
        hint: str = "",
        warn: str = "",
    ) -> None:
        self.name = name
        self.inner = inner
        self.first = first
        self.values = values
        self.setter = setter
        self.parse_name = parse_name
        self.dyn_name = dyn_name
        self.gens = gens
        self.hint = hint
        self.warn = warn  # a deprecation note for 3.x scripts (PVSpec.warning)


_TABLE: dict[tuple[str, bool], PVDef] = {}


def _def(name: str, first: Callable[..., Any], **kw: Any) -> PVDef:
    d = PVDef(name, first, **kw)
    _TABLE[(name, d.inner)] = d
    return d


def register_pv(
    name: str,
    getter: Callable[..., Any],
    setter: Callable[..., None] | None = None,
    inner: bool = False,
    values: Callable[..., list] | None = None,
    dyn_name: bool = True,
) -> None:
    """Add a PV (modules: $T_reply_code, $DLG_status, $b2b_logic.key(...)).

    ``getter(ctx)`` or, with ``inner=True``, ``getter(ctx, name: str)``. ``setter(ctx, op, value)`` or
    ``setter(ctx, name, op, value)`` (value None = NULL). ``values`` (same arguments as the getter, returns a list)
    enables ``[idx]`` and ``[*]``.
    """
    if setter is None:
        wrapped_set = None
    elif inner:

        def wrapped_set(ctx: Context, nm: Any, index: Any, op: str, value: Any) -> None:
            setter(ctx, nm, op, value)

    else:

        def wrapped_set(ctx: Context, nm: Any, index: Any, op: str, value: Any) -> None:
            setter(ctx, op, value)

    _def(name, getter, inner=inner, values=values, setter=wrapped_set, dyn_name=dyn_name and inner)


def known_pv_names() -> list[str]:
    """Every PV name, with ``(...)`` after those that take an inner name (for --list and docs)."""
    _load_module_pvs()
    return sorted(f"{n}(...)" if inner else n for (n, inner) in _TABLE)


# ---------------------------------------------------------------- helpers for the getters


def _req(ctx: Context) -> Any:
    m = ctx.msg
    return m if m is not None and m.is_request else None


def _default_port(uri: Any) -> int:
    """get_uri_port(): the port implied by the scheme / transport when the URI has none."""
    if uri.scheme == "sips":
        return 5061
    t = uri.get_param("transport")
    if t and t.lower() == "tls":
        return 5061
    return 5060


def _port_value(uri: Any) -> Any:
    """An explicit port is a string usable as an int (pv_get_strintval); a missing one is the default int."""
    p = uri.port
    if p is None:
        return _default_port(uri)
    return StrInt(str(p))


def _proto_value(uri: Any) -> Any:
    t = uri.get_param("transport")
    if t:
        return t
    return "tls" if uri.scheme == "sips" else "udp"


def _nz(v: Any) -> Any:
    return v if v else None


def _parse_uri_or_none(text: str | None) -> Any:
    if not text:
        return None
    from pysips.sip.uri import parse_uri

    try:
        return parse_uri(text)
    except PysipsError:
        return None


def _ruri_text(ctx: Context) -> Any:
    m = ctx.msg
    if m is None or not m.is_request:
        return None
    raw = getattr(m, "ruri_raw", None)
    return raw if raw is not None else str(m.ruri)


def _ouri_text(ctx: Context) -> Any:
    m = ctx.msg
    if m is None or not m.is_request:
        return None
    if ctx.ouri is not None:
        return ctx.ouri
    return _ruri_text(ctx)


def _ouri(ctx: Context) -> Any:
    m = ctx.msg
    if m is None or not m.is_request:
        return None
    if ctx.ouri is None:
        return m.ruri
    return _parse_uri_or_none(ctx.ouri)


def _display_text(na: Any) -> Any:
    """The display name as OpenSIPS keeps it: as written, with its quotes when it was quoted."""
    return _nz(na.display)


def _parsed_header(view: Callable[[Any], Any], header: str) -> Callable[[Context], Any]:
    """The parsed view of a header for a PV getter: NULL when absent or malformed; a malformed header also
    records a parse error on the Context ($err.*, error_route), as OpenSIPS's parse_from_header() does."""

    def get(ctx: Context) -> Any:
        m = ctx.msg
        if m is None:
            return None
        try:
            return view(m)
        except (PysipsError, AttributeError, ValueError) as e:
            if m.get_header(header) is not None:
                from pysips.script.interp import set_parse_error

                set_parse_error(ctx, PVParseFailure(f"error parsing {header} header", e))
            return None

    return get


class PVParseFailure(PysipsError):
    """A header a PV reads is malformed (400 Bad Request, as the SIP parser would answer)."""

    def __init__(self, message: str, cause: Exception) -> None:
        super().__init__(message)
        self.status = getattr(cause, "status", 400)
        self.reason = getattr(cause, "reason", "Bad Request")


_from = _parsed_header(lambda m: m.from_, "From")
_to = _parsed_header(lambda m: m.to, "To")


def _na_getters(which: Callable[[Context], Any]) -> dict[str, Callable[[Context], Any]]:
    def uri(ctx: Context) -> Any:
        na = which(ctx)
        return str(na.uri) if na is not None else None

    def user(ctx: Context) -> Any:
        na = which(ctx)
        return _nz(na.uri.user) if na is not None else None

    def domain(ctx: Context) -> Any:
        na = which(ctx)
        return _nz(na.uri.host) if na is not None else None

    def name(ctx: Context) -> Any:
        na = which(ctx)
        return _display_text(na) if na is not None else None

    def tag(ctx: Context) -> Any:
        na = which(ctx)
        return _nz(na.tag) if na is not None else None

    return {"uri": uri, "user": user, "domain": domain, "name": name, "tag": tag}


def _hdr_uri(header: str) -> Callable[[Context], Any]:
    """The URI of the first name-addr of a header ($ai, $rt, $di, $re)."""
    from pysips.script.transformations import split_name_addr_list

    def get(ctx: Context) -> Any:
        m = ctx.msg
        v = m.get_header(header) if m is not None else None
        if not v:
            return None
        try:
            return _nz(split_name_addr_list(v)[0].uri)
        except TrFail:
            return None

    return get


def _body_text(m: Any) -> str:
    b = m.body
    return b.decode("utf-8", "surrogateescape") if isinstance(b, bytes | bytearray) else b


def _int_name(text: str, off: int) -> Any:
    """$param(1): an int when it looks like one, else the name as a string (pv_parse_param_name)."""
    return int(text) if text.isdigit() else text


# ---------------------------------------------------------------- the core table


def _build_table() -> None:
    # --- request URI
    def get_ru(ctx: Context) -> Any:
        return _ruri_text(ctx)

    def set_ru(ctx: Context, name: Any, index: Any, op: str, value: Any) -> None:
        if _req(ctx) is None:
            raise ScriptRuntimeError("cannot set the R-URI of a reply")
        if value is None:
            raise ScriptRuntimeError("str value required to set R-URI")
        try:
            ctx.set_ruri(str(value))
        except PysipsError as e:
            raise ScriptRuntimeError(f"failed to set RURI: {e}") from e

    for n in ("ru", "ruri"):
        _def(n, get_ru, setter=set_ru)

    def _ruri_attr(attr: str) -> Callable[[Context], Any]:
        def get(ctx: Context) -> Any:
            m = ctx.msg
            if m is None or not m.is_request:
                return None
            return _nz(getattr(m.ruri, attr))

        return get

    def _rewrite(field: str) -> Callable[..., None]:
        def setter(ctx: Context, name: Any, index: Any, op: str, value: Any) -> None:
            m = _req(ctx)
            if m is None:
                raise ScriptRuntimeError("cannot rewrite the R-URI of a reply")
            u = m.ruri.copy()
            if field == "user":
                # OpenSIPS: $rU = NULL clears the user part
                u.user = None if value is None or value == "" else str(value)
            elif field == "host":
                if value is None:
                    raise ScriptRuntimeError("str value required to set R-URI hostname")
                u.host = str(value)
            else:
                if value is None or value == "":
                    u.port = None
                else:
                    try:
                        u.port = int(value)
                    except ValueError as e:
                        raise ScriptRuntimeError(f"bad port {value!r}") from e
            ctx.set_ruri(u)

        return setter

    for n in ("rU", "ruri.user"):
        _def(n, _ruri_attr("user"), setter=_rewrite("user"))
    for n in ("rd", "ruri.domain"):
        _def(n, _ruri_attr("host"), setter=_rewrite("host"))

    def get_rp(ctx: Context) -> Any:
        m = ctx.msg
        if m is None or not m.is_request:
            return None
        return _port_value(m.ruri)

    _def("rp", get_rp, setter=_rewrite("port"))

    def get_rP(ctx: Context) -> Any:
        m = ctx.msg
        if m is None or not m.is_request:
            return None
        return _proto_value(m.ruri)

    _def("rP", get_rP)

    def get_ru_q(ctx: Context) -> Any:
        return None if _req(ctx) is None else ctx.ruri_q

    def set_ru_q(ctx: Context, name: Any, index: Any, op: str, value: Any) -> None:
        if not is_intlike(value):
            raise ScriptRuntimeError("int value required to set r-uri queue value")
        ctx.ruri_q = min(int(value), 1000)

    _def("ru_q", get_ru_q, setter=set_ru_q)

    # --- original R-URI
    for n in ("ou", "ouri"):
        _def(n, _ouri_text)

    def _ouri_attr(fn: Callable[[Any], Any]) -> Callable[[Context], Any]:
        def get(ctx: Context) -> Any:
            u = _ouri(ctx)
            return None if u is None else fn(u)

        return get

    _def("oU", _ouri_attr(lambda u: _nz(u.user)))
    _def("od", _ouri_attr(lambda u: _nz(u.host)))
    _def("op", _ouri_attr(_port_value))
    _def("oP", _ouri_attr(_proto_value))

    # --- destination URI
    def get_du(ctx: Context) -> Any:
        return ctx.du

    def set_du(ctx: Context, name: Any, index: Any, op: str, value: Any) -> None:
        ctx.du = None if value is None else str(value)

    for n in ("du", "duri"):
        _def(n, get_du, setter=set_du)

    def _du_attr(fn: Callable[[Any], Any]) -> Callable[[Context], Any]:
        def get(ctx: Context) -> Any:
            u = _parse_uri_or_none(ctx.du)
            return None if u is None else fn(u)

        return get

    def _du_rewrite(field: str) -> Callable[..., None]:
        def setter(ctx: Context, name: Any, index: Any, op: str, value: Any) -> None:
            # pv_set_dsturi_host/port: rewrite one part of $du, building it from the R-URI when $du is unset
            base = ctx.du if ctx.du else _ruri_text(ctx)
            u = _parse_uri_or_none(base)
            if u is None:
                raise ScriptRuntimeError("no destination URI to rewrite")
            u = u.copy()
            if field == "host":
                if value is None:
                    raise ScriptRuntimeError("str value required to set dst uri host")
                u.host = str(value)
                u.user = None
            elif value is None or value == "":
                u.port = None
            else:
                try:
                    u.port = int(value)
                except ValueError as e:
                    raise ScriptRuntimeError(f"bad port {value!r}") from e
            ctx.du = str(u)

        return setter

    _def("dd", _du_attr(lambda u: _nz(u.host)), setter=_du_rewrite("host"))
    _def("dp", _du_attr(_port_value), setter=_du_rewrite("port"))
    _def("dP", _du_attr(_proto_value))

    # --- From / To
    fg = _na_getters(_from)
    for n in ("fu", "from"):
        _def(n, fg["uri"])
    for n in ("fU", "from.user"):
        _def(n, fg["user"])
    for n in ("fd", "from.domain"):
        _def(n, fg["domain"])
    _def("fn", fg["name"])
    _def("ft", fg["tag"])
    tg = _na_getters(_to)
    for n in ("tu", "to"):
        _def(n, tg["uri"])
    for n in ("tU", "to.user"):
        _def(n, tg["user"])
    for n in ("td", "to.domain"):
        _def(n, tg["domain"])
    _def("tn", tg["name"])
    _def("tt", tg["tag"])

    # --- first line, Call-ID, CSeq
    def get_ci(ctx: Context) -> Any:
        m = ctx.msg
        return None if m is None else m.get_header("Call-ID")

    _def("ci", get_ci)

    def get_cs(ctx: Context) -> Any:
        # pvar.c returns the CSeq number as a plain string (pv_get_strval)
        m = ctx.msg
        v = m.get_header("CSeq") if m is not None else None
        if not v:
            return None
        return v.split(None, 1)[0]

    _def("cs", get_cs)

    def get_rm(ctx: Context) -> Any:
        m = ctx.msg
        if m is None:
            return None
        if m.is_request:
            return m.method
        v = m.get_header("CSeq")
        parts = v.split() if v else []
        return parts[1] if len(parts) > 1 else None

    _def("rm", get_rm)

    def get_rs(ctx: Context) -> Any:
        m = ctx.msg
        return None if m is None or m.is_request else m.status

    def get_rr(ctx: Context) -> Any:
        m = ctx.msg
        return None if m is None or m.is_request else m.reason

    _def("rs", get_rs)
    _def("rr", get_rr)

    # --- headers
    def get_ua(ctx: Context) -> Any:
        m = ctx.msg
        return None if m is None else m.get_header("User-Agent")

    _def("ua", get_ua)

    def hdr_first(ctx: Context, name: str) -> Any:
        m = ctx.msg
        return None if m is None else m.get_header(name)

    def hdr_values(ctx: Context, name: str) -> list:
        m = ctx.msg
        return [] if m is None else m.get_headers(name)

    _def("hdr", hdr_first, inner=True, values=hdr_values, dyn_name=True)

    def hdrcnt(ctx: Context, name: str) -> Any:
        m = ctx.msg
        return 0 if m is None else len(m.get_headers(name))

    _def("hdrcnt", hdrcnt, inner=True, dyn_name=True)

    def hdr_names(ctx: Context) -> list:
        m = ctx.msg
        return [] if m is None else m.header_names()

    def hdr_name_first(ctx: Context) -> Any:
        names = hdr_names(ctx)
        return names[0] if names else None

    _def("hdr_name", hdr_name_first, values=hdr_names, gens=(3, 9))

    def ct_values(ctx: Context, field: Any = 0) -> list:
        from pysips.script.transformations import split_name_addr_list

        m = ctx.msg
        if m is None:
            return []
        out: list = []
        for line in m.get_headers("Contact"):
            if line.strip() == "*":
                out.append("*" if not field else None)
                continue
            try:
                nas = split_name_addr_list(line)
            except TrFail as e:
                from pysips.script.interp import set_parse_error

                set_parse_error(ctx, PVParseFailure("error parsing Contact header", e))  # parse_contact.c
                continue
            for na in nas:
                if not field:
                    out.append(na.body)
                elif field == "uri":
                    out.append(na.uri)
                elif field == "name":
                    out.append(_nz(na.display))
                elif field == "params":
                    out.append(na.params)
                else:
                    v = next((val for n, val in na.param_list if n.lower() == field), None)
                    out.append(_nz(v))
        return out

    def ct_first(ctx: Context) -> Any:
        v = ct_values(ctx)
        return v[0] if v else None

    _def("ct", ct_first, values=ct_values)

    _CT_FIELDS = ("name", "uri", "q", "expires", "methods", "received", "params")

    def ct_field_name(text: str, off: int) -> Any:
        t = text.lower()
        if t not in _CT_FIELDS:
            raise PVError(f"unsupported CT field <{text}>", off, E_NAME)
        return t

    def ct_field_first(ctx: Context, field: str) -> Any:
        v = ct_values(ctx, field)
        return v[0] if v else None

    _def("ct.fields", ct_field_first, inner=True, values=ct_values, parse_name=ct_field_name)

    def get_cT(ctx: Context) -> Any:
        m = ctx.msg
        return None if m is None else m.get_header("Content-Type")

    _def("cT", get_cT, values=lambda ctx: [v] if (v := get_cT(ctx)) is not None else [])

    def get_cl(ctx: Context) -> Any:
        m = ctx.msg
        v = m.get_header("Content-Length") if m is not None else None
        if v is None:
            return None
        try:
            return int(v.strip())
        except ValueError:
            return None

    _def("cl", get_cl)

    # --- message buffer / body
    def get_ml(ctx: Context) -> Any:
        m = ctx.msg
        return None if m is None else len(m.to_bytes())

    def get_mb(ctx: Context) -> Any:
        m = ctx.msg
        return None if m is None else m.to_bytes().decode("utf-8", "surrogateescape")

    _def("ml", get_ml)
    _def("mb", get_mb)

    def get_rb(ctx: Context) -> Any:
        m = ctx.msg
        if m is None:
            return None
        return _nz(_body_text(m))

    def rb_values(ctx: Context, mime: Any = None) -> list:
        v = get_rb(ctx) if mime is None else rb_mime(ctx, mime)
        return [v] if v is not None else []

    _def("rb", get_rb, values=rb_values)

    def rb_mime(ctx: Context, mime: str) -> Any:
        # multipart bodies are not split: the body counts when its Content-Type is the one asked for
        m = ctx.msg
        if m is None:
            return None
        ct = m.get_header("Content-Type") or ""
        if ct.split(";", 1)[0].strip().lower() != mime.lower():
            return None
        return _nz(_body_text(m))

    def rb_name(text: str, off: int) -> Any:
        if "/" not in text:
            raise PVError(f"unsupported mime <{text}>", off, E_NAME)
        return text

    _def("rb", rb_mime, inner=True, values=rb_values, parse_name=rb_name)

    # --- flags
    def get_mf(ctx: Context) -> Any:
        return FLAGS.names(ctx.flags, "msg")

    def get_bf(ctx: Context) -> Any:
        return FLAGS.names(ctx.bflags, "branch")

    _def("mf", get_mf)
    _def("bf", get_bf)

    # --- transport
    def get_si(ctx: Context) -> Any:
        return ctx.src_ip

    def get_sp(ctx: Context) -> Any:
        return ctx.src_port

    for n in ("si", "src_ip"):
        _def(n, get_si)
    _def("sp", get_sp)

    def _af(ip: str | None) -> Any:
        if not ip:
            return None
        return "INET6" if ":" in ip else "INET"

    def get_Ri(ctx: Context) -> Any:
        return ctx.local_ip

    def get_Rp(ctx: Context) -> Any:
        return ctx.local_port

    def get_proto(ctx: Context) -> Any:
        return ctx.proto

    v2 = (1, 2)
    # the 2.x transport PVs lived on until OpenSIPS 3.2 (removed in 3.3): accepted in 3.x with a warning
    old = (1, 3)
    _def("Ri", get_Ri, gens=old, warn="$Ri was removed in OpenSIPS 3.3; use $socket_in(ip)")
    _def("Rp", get_Rp, gens=old, warn="$Rp was removed in OpenSIPS 3.3; use $socket_in(port)")
    _def("proto", get_proto, gens=old, warn="$proto was removed in OpenSIPS 3.3; use $socket_in(proto)")
    _def("pr", get_proto, gens=old, warn="$pr was removed in OpenSIPS 3.3; use $socket_in(proto)")
    _def(
        "af",
        lambda ctx: _af(ctx.src_ip),
        gens=old,
        warn="$af was removed in OpenSIPS 3.3; use $socket_in(af)",
    )

    _SOCK_FIELDS = ("ip", "port", "proto", "advertised_ip", "advertised_port", "tag", "anycast", "af")

    def sock_name(text: str, off: int) -> Any:
        t = text.lower()
        if t not in _SOCK_FIELDS:
            raise PVError(f"unsupported SOCKET_IN/OUT field <{text}>", off, E_NAME)
        return t

    def sock_desc(ctx: Context) -> str:
        ip = ctx.local_ip
        host = f"[{ip}]" if ":" in ip else ip
        return f"{ctx.proto}:{host}:{ctx.local_port}"

    def sock_field(ctx: Context, field: str) -> Any:
        if field == "ip":
            return ctx.local_ip
        if field == "port":
            return ctx.local_port
        if field == "proto":
            return ctx.proto
        if field == "advertised_ip":
            return ctx.advertised_address
        if field == "advertised_port":
            p = ctx.advertised_port
            return None if p is None else int(p)
        if field == "tag":
            return ctx.socket_tag
        if field == "anycast":
            return 0
        return ctx.local_af or _af(ctx.local_ip)

    v3 = (3, 9)
    _def("socket_in", sock_desc, gens=v3)
    _def("socket_in", sock_field, inner=True, parse_name=sock_name, gens=v3)

    def get_sock_out(ctx: Context) -> Any:
        return ctx.force_socket if ctx.force_socket is not None else sock_desc(ctx)

    def set_sock_out(ctx: Context, name: Any, index: Any, op: str, value: Any) -> None:
        ctx.force_socket = None if value is None else str(value)

    _def("socket_out", get_sock_out, setter=set_sock_out, gens=v3)

    def get_fs(ctx: Context) -> Any:
        return ctx.force_socket

    _def("fs", get_fs, setter=set_sock_out, gens=old, warn="$fs was removed in OpenSIPS 3.3; use $socket_out")

    # --- script variables
    def avp_first(ctx: Context, name: str) -> Any:
        a = ctx._avps
        if a is None:
            return None
        lst = a._d.get(name)
        return lst[0] if lst else None

    def avp_values(ctx: Context, name: str) -> list:
        a = ctx._avps
        return [] if a is None else a.get_all(name)

    def avp_set(ctx: Context, name: str, index: Any, op: str, value: Any) -> None:
        avps = ctx.avps
        if value is not None and type(value) not in (int, str):
            value = _plain(value)
        if value is None:
            if op == ":=" or index == "*":
                avps.delete_all(name)
            else:
                avps.delete(name, index if type(index) is int else 0)
            return
        if op == ":=" or index == "*":
            avps.set_all(name, value)
        elif type(index) is int:
            if not avps.replace(name, index, value):
                raise ScriptRuntimeError(f"AVP $avp({name}) has no index {index} to replace")
        elif index == "append":
            avps.append(name, value)
        else:
            avps.push(name, value)

    _def("avp", avp_first, inner=True, values=avp_values, setter=avp_set, dyn_name=True)

    def var_get(ctx: Context, name: str) -> Any:
        v = ctx._vars
        return None if v is None else v.get(name)

    def var_set(ctx: Context, name: str, index: Any, op: str, value: Any) -> None:
        if value is None:
            ctx.vars.pop(name, None)
        else:
            ctx.vars[name] = value if type(value) in (int, str) else _plain(value)

    _def("var", var_get, inner=True, setter=var_set)

    def shv_get(ctx: Context, name: str) -> Any:
        v = ctx._shv
        return None if v is None else v.get(name)

    def shv_set(ctx: Context, name: str, index: Any, op: str, value: Any) -> None:
        if value is None:
            ctx.shv.pop(name, None)
        else:
            ctx.shv[name] = value if type(value) in (int, str) else _plain(value)

    _def("shv", shv_get, inner=True, setter=shv_set)

    # --- time
    def get_Ts(ctx: Context) -> Any:
        return int(ctx.now)

    def get_Tsm(ctx: Context) -> Any:
        return int((ctx.now % 1) * 1_000_000)

    def get_TS(ctx: Context) -> Any:
        return int(getattr(ctx.env, "startup_time", ctx.now))

    def get_Tf(ctx: Context) -> Any:
        return time.ctime(int(ctx.now))

    _def("Ts", get_Ts)
    _def("Tsm", get_Tsm)
    _def("TS", get_TS)
    _def("Tf", get_Tf)

    def time_name(text: str, off: int) -> Any:
        return text

    def get_time(ctx: Context, fmt: str) -> Any:
        return _nz(time.strftime(fmt, time.localtime(ctx.now)))

    _def("time", get_time, inner=True, parse_name=time_name)

    # --- script state
    def get_rc(ctx: Context) -> Any:
        return ctx.rc

    _def("rc", get_rc)
    _def("retcode", get_rc)
    _def("?", get_rc, gens=v2)

    def param_get(ctx: Context, name: Any) -> Any:
        params = ctx.params
        if isinstance(name, int) or (isinstance(name, str) and name.isdigit()):
            i = int(name)
            return params[i - 1] if 1 <= i <= len(params) else None
        if isinstance(params, dict):
            return params.get(name)
        return None

    _def("param", param_get, inner=True, parse_name=_int_name, dyn_name=True)

    def return_get(ctx: Context, name: Any) -> Any:
        vals = ctx.return_values
        if isinstance(name, int) or (isinstance(name, str) and name.isdigit()):
            i = int(name)
            return vals[i] if 0 <= i < len(vals) else None
        return None

    def return_index(text: str, off: int) -> Any:
        if not text.isdigit():
            raise PVError("route $return variable accepts only integer indexes", off, E_NAME)
        return int(text)

    _def("return", return_get, inner=True, parse_name=return_index, dyn_name=True, gens=v3)

    def argv_get(ctx: Context, name: str) -> Any:
        a = ctx.argv
        return None if a is None else a.get(name)

    _def("argv", argv_get, inner=True)

    def get_cfg_line(ctx: Context) -> Any:
        return ctx.cfg_line

    def get_cfg_file(ctx: Context) -> Any:
        return ctx.cfg_file

    _def("cfg_line", get_cfg_line)
    _def("cfg_file", get_cfg_file)

    # $route: the route stack, innermost first ($(route[-1]) is the top route, [*] the whole stack)
    _TOP_NAMES = {
        "request": "route",
        "onreply": "onreply_route",
        "failure": "failure_route",
        "branch": "branch_route",
        "error": "error_route",
        "local": "local_route",
        "startup": "startup_route",
        "timer": "timer_route",
        "event": "event_route",
    }
    _UNNAMED_TOP = ("error", "local", "startup")

    def _stack(ctx: Context) -> list:
        # names of the routes entered, outermost first; "" and None both mean an unnamed route
        st = ctx.route_stack
        if st is None:
            st = [ctx.route_name]
        return [n or None for n in st] if st else [None]

    def _route_label(ctx: Context, i: int, name: Any) -> str:
        if i == 0:
            t = _TOP_NAMES.get(ctx.route_type, "")
            if name is None or ctx.route_type in _UNNAMED_TOP:
                return t
            return f"{t}[{name}]"
        return "route" if name is None else f"route[{name}]"

    def route_values(ctx: Context) -> list:
        st = _stack(ctx)
        labels = [_route_label(ctx, i, n) for i, n in enumerate(st)]
        return labels[::-1]

    def route_first(ctx: Context) -> Any:
        return route_values(ctx)[0]

    def route_all(ctx: Context) -> list:
        return route_values(ctx)

    _def("route", route_first, values=route_all, gens=v3)

    def route_name_values(ctx: Context) -> list:
        return [n if n is not None else "" for n in _stack(ctx)][::-1]

    _def("route.name", lambda ctx: route_name_values(ctx)[0], values=route_name_values, gens=v3)

    def route_type_values(ctx: Context) -> list:
        st = _stack(ctx)
        return ([_TOP_NAMES.get(ctx.route_type, "")] + ["route"] * (len(st) - 1))[::-1]

    _def("route.type", lambda ctx: route_type_values(ctx)[0], values=route_type_values, gens=v3)

    def get_log_level(ctx: Context) -> Any:
        return ctx.env.log_level

    def set_log_level(ctx: Context, name: Any, index: Any, op: str, value: Any) -> None:
        env = ctx.env
        if value is None:
            env.log_level = env.default_log_level
        elif is_intlike(value):
            env.log_level = int(value)
        else:
            raise ScriptRuntimeError("int value required to set $log_level")

    _def("log_level", get_log_level, setter=set_log_level)

    def get_xlog_level(ctx: Context) -> Any:
        return ctx.env.xlog_level

    def set_xlog_level(ctx: Context, name: Any, index: Any, op: str, value: Any) -> None:
        env = ctx.env
        if value is None:
            env.xlog_level = env.default_xlog_level
        elif is_intlike(value):
            env.xlog_level = int(value)
        else:
            raise ScriptRuntimeError("int value required to set $xlog_level")

    _def("xlog_level", get_xlog_level, setter=set_xlog_level)

    def color_name(text: str, off: int) -> Any:
        if len(text) != 2:
            raise PVError(f"invalid color spec <{text}>: two letters expected", off, E_NAME)
        return text

    # colours are terminal escapes; pysips logs plain text
    _def("C", lambda ctx, name: "", inner=True, parse_name=color_name)

    def _err(attr: str) -> Callable[[Context], Any]:
        return lambda ctx: getattr(ctx, attr)

    _def("err.class", _err("err_class"))
    _def("err.level", _err("err_level"))
    _def("err.info", _err("err_info"))
    _def("err.rcode", _err("err_rcode"))
    _def("err.rreason", _err("err_rreason"))

    _def("pp", lambda ctx: os.getpid())
    _def("mi", lambda ctx: getattr(ctx.msg, "id", 0) if ctx.msg is not None else None)
    _def("msg.is_request", lambda ctx: None if ctx.msg is None else (1 if ctx.msg.is_request else 0), gens=v3)
    _def(
        "msg.type",
        lambda ctx: None if ctx.msg is None else ("request" if ctx.msg.is_request else "reply"),
        gens=v3,
    )

    # --- identity headers
    _def("ai", _hdr_uri("P-Asserted-Identity"))
    _def("rt", _hdr_uri("Refer-To"))
    _def("di", _hdr_uri("Diversion"))
    _def("re", _hdr_uri("Remote-Party-ID"))

    def _div_param(pname: str) -> Callable[[Context], Any]:
        from pysips.script.transformations import split_name_addr_list

        def get(ctx: Context) -> Any:
            m = ctx.msg
            v = m.get_header("Diversion") if m is not None else None
            if not v:
                return None
            try:
                na = split_name_addr_list(v)[0]
            except TrFail:
                return None
            return next((val for n, val in na.param_list if n.lower() == pname), None)

        return get

    _def("dir", _div_param("reason"))
    _def("dip", _div_param("privacy"))

    def _ppi(field: str) -> Callable[[Context], Any]:
        from pysips.script.transformations import split_name_addr_list

        def get(ctx: Context) -> Any:
            m = ctx.msg
            v = m.get_header("P-Preferred-Identity") if m is not None else None
            if not v:
                return None
            try:
                na = split_name_addr_list(v)[0]
            except TrFail:
                return None
            if field == "uri":
                return _nz(na.uri)
            if field == "name":
                return _nz(na.display)
            u = _parse_uri_or_none(na.uri)
            if u is None:
                return None
            return _nz(u.user if field == "user" else u.host)

        return get

    _def("pu", _ppi("uri"))
    _def("pU", _ppi("user"))
    _def("pd", _ppi("domain"))
    _def("pn", _ppi("name"))

    # --- authorization credentials (the first Authorization / Proxy-Authorization header)
    def _auth_params(ctx: Context) -> dict[str, str] | None:
        m = ctx.msg
        if m is None:
            return None
        h = m.get_header("Authorization") or m.get_header("Proxy-Authorization")
        if not h:
            return None
        scheme, _, rest = h.strip().partition(" ")
        out: dict[str, str] = {}
        for item in _split_auth(rest):
            k, eq, v = item.partition("=")
            if eq:
                v = v.strip()
                if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                    v = v[1:-1]
                out[k.strip().lower()] = v
        return out

    def _auth(key: str, part: str = "") -> Callable[[Context], Any]:
        def get(ctx: Context) -> Any:
            p = _auth_params(ctx)
            if p is None:
                return None
            v = p.get(key)
            if v is None:
                return None
            if part == "user":
                return v.partition("@")[0]
            if part == "domain":
                return v.partition("@")[2] or p.get("realm")
            return v

        return get

    _def("au", _auth("username", "user"))
    _def("aU", _auth("username"))
    _def("ad", _auth("username", "domain"))
    _def("ar", _auth("realm"))
    _def("adu", _auth("uri"))
    for n, k in (
        ("an", "nonce"),
        ("auth.nonce", "nonce"),
        ("auth.resp", "response"),
        ("auth.cnonce", "cnonce"),
    ):
        _def(n, _auth(k))
    for n, k in (
        ("auth.opaque", "opaque"),
        ("auth.alg", "algorithm"),
        ("auth.qop", "qop"),
        ("auth.nc", "nc"),
    ):
        _def(n, _auth(k))

    # --- branches ($branch(uri|duri|q|path|flags|socket), index = branch number)
    _BR_FIELDS = ("uri", "duri", "q", "path", "flags", "socket")

    def br_name(text: str, off: int) -> Any:
        t = text.lower()
        if t not in _BR_FIELDS:
            raise PVError(f"unknown branch field <{text}>", off, E_NAME)
        return t

    def _br_field(b: Branch, field: str) -> Any:
        if field == "uri":
            return b.uri
        if field == "duri":
            return b.du
        if field == "q":
            return b.q
        if field == "path":
            return b.path
        if field == "flags":
            return FLAGS.names(b.flags, "branch")
        return b.socket

    def br_values(ctx: Context, field: str = "uri") -> list:
        b = ctx._branches
        return [] if not b else [_br_field(x, field) for x in b]

    def br_first(ctx: Context, field: str = "uri") -> Any:
        b = ctx._branches
        return _br_field(b[0], field) if b else None

    def br_append(ctx: Context, field: Any, index: Any, op: str, value: Any) -> None:
        # `$branch = "sip:..."` adds a new branch (pv_set_msg_branch)
        if value is None:
            raise ScriptRuntimeError("a URI is required to add a branch")
        ctx.branches.append(Branch(str(value)))

    def br_set(ctx: Context, field: str, index: Any, op: str, value: Any) -> None:
        brs = ctx.branches
        i = index if type(index) is int else 0
        if i < 0:
            i += len(brs)
        if not 0 <= i < len(brs):
            raise ScriptRuntimeError(f"no branch with index {index}")
        b = brs[i]
        try:
            if field == "uri":
                if value is None:
                    raise ScriptRuntimeError("a branch URI cannot be NULL")
                b.uri = str(value)
            elif field == "duri":
                b.du = None if value is None else str(value)
            elif field == "q":
                b.q = -1 if value is None else int(value)
            elif field == "path":
                b.path = None if value is None else str(value)
            elif field == "flags":
                b.flags = 0 if value is None else int(value)
            else:
                b.socket = None if value is None else str(value)
        except ValueError as e:
            raise ScriptRuntimeError(f"bad value {value!r} for $branch({field})") from e

    _def("branch", lambda ctx: br_first(ctx), values=lambda ctx: br_values(ctx), setter=br_append)
    _def("branch", br_first, inner=True, values=br_values, setter=br_set, parse_name=br_name)


def _split_auth(s: str) -> list[str]:
    out, cur, q = [], [], False
    for ch in s:
        if ch == '"':
            q = not q
        if ch == "," and not q:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [x.strip() for x in out if x.strip()]


def _plain(v: Any) -> Any:
    """Store plain int/str (a StrInt assigned to a var is a string in OpenSIPS: no PV_TYPE_INT)."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return int(v)
    return str(v)


_build_table()


# ---------------------------------------------------------------- the spec


class PVSpec:
    """A parsed pseudo-variable. ``get``, ``get_all`` and ``set`` are closures prepared at parse time.

    get(ctx) -> int | str | None; get_all(ctx) -> list (every value for [*] / for-each; [v] or [] otherwise);
    set(ctx, op, value) with op '=' or ':=' (compound ops are the interpreter's business) and value None for NULL;
    raises ScriptRuntimeError for a read-only PV or a failed write.
    """

    __slots__ = (
        "text",
        "name",
        "inner",
        "index",
        "context",
        "writable",
        "is_avp",
        "is_var",
        "has_transformations",
        "has_index",
        "warning",
        "get",
        "get_all",
        "set",
    )

    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name
        self.inner: Any = None  # static inner name, or a PVSpec for a dynamic one
        self.index: Any = None  # None, int, "*", "append" or a PVSpec
        self.context: str | None = None
        self.writable = False
        self.is_avp = False
        self.is_var = False
        self.has_transformations = False
        self.has_index = False
        self.warning: str | None = None  # set for PVs OpenSIPS deprecated (the compiler may warn)
        self.get: Getter = _null
        self.get_all: Callable[[Context], list] = _empty
        self.set: Callable[[Context, str, Any], None] = _read_only(text)

    def __repr__(self) -> str:
        return f"PVSpec({self.text!r})"


def _null(ctx: Context) -> Any:
    return None


def _empty(ctx: Context) -> list:
    return []


def _read_only(text: str) -> Callable[[Context, str, Any], None]:
    def set_(ctx: Context, op: str, value: Any) -> None:
        raise ScriptRuntimeError(f"invalid left operand: {text} is read-only")

    return set_


# ---------------------------------------------------------------- parsing


def _is_name_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "_.")


def _scan_balanced(text: str, i: int, open_c: str, close_c: str) -> int:
    """Index of the ``close_c`` matching the already-consumed opener (nesting counted), or -1."""
    n = 0
    while i < len(text):
        c = text[i]
        if c == close_c:
            if n == 0:
                return i
            n -= 1
        elif c == open_c:
            n += 1
        i += 1
    return -1


def parse_pv(text: str, *, generation: int = 3) -> PVSpec:
    """Parse a whole ``$...`` token (PVRef.text). Raises PVError (offset relative to ``text``)."""
    spec, end = parse_pv_at(text, 0, generation=generation)
    if end != len(text):
        raise PVError(f"unexpected text {text[end:]!r} after pseudo-variable {text[:end]}", end, E_SYNTAX)
    return spec


def parse_pv_at(text: str, start: int, *, generation: int = 3) -> tuple[PVSpec, int]:
    """Parse the PV that starts at ``text[start]`` (a '$'); returns the spec and the index just after it."""
    if start >= len(text) or text[start] != "$":
        raise PVError("a pseudo-variable starts with '$'", start, E_SYNTAX)
    p = start + 1
    n = len(text)
    outer = False
    if p < n and text[p] == "(":
        outer = True
        p += 1
    if p < n and text[p] == "$":
        p += 1
        if outer:
            if p >= n or text[p] != ")":
                raise PVError("expected ')' after '$$'", p, E_SYNTAX)
            p += 1
        spec = PVSpec(text[start:p], "$")
        spec.get = _marker
        spec.get_all = lambda ctx: ["$"]
        return spec, p
    context = None
    if p < n and text[p] == "<":
        q = p + 1
        while q < n and _is_name_char(text[q]):
            q += 1
        if q >= n or text[q] != ">":
            raise PVError("expected '>' closing the PV context", q, E_SYNTAX)
        context = text[p + 1 : q]
        if context not in ("request", "reply"):
            raise PVError(f"unknown pseudo-variable context <{context}>", p + 1, E_SYNTAX)
        p = q + 1
    name_start = p
    while p < n and _is_name_char(text[p]):
        p += 1
    name = text[name_start:p]
    if not name and not (generation <= 2 and p < n and text[p] == "?"):
        raise PVError(
            "missing pseudo-variable name after '$' (write '$$' for a literal '$')", name_start, E_SYNTAX
        )
    if not name:
        name = "?"
        p += 1
    inner_text: str | None = None
    inner_off = 0
    index_text: str | None = None
    index_off = 0
    tr_text: str | None = None
    tr_off = 0
    if outer:
        if p >= n:
            raise PVError(f"unterminated pseudo-variable $({name}: missing ')'", p, E_SYNTAX)
        c = text[p]
        if c == "(":
            close = _scan_balanced(text, p + 1, "(", ")")
            if close < 0:
                raise PVError(f"missing ')' closing the name of ${name}", p, E_SYNTAX)
            inner_text, inner_off = text[p + 1 : close], p + 1
            p = close + 1
            c = text[p] if p < n else ""
        if c == "[":
            close = _scan_balanced(text, p + 1, "[", "]")
            if close < 0:
                raise PVError(f"missing ']' closing the index of ${name}", p, E_SYNTAX)
            index_text, index_off = text[p + 1 : close], p + 1
            p = close + 1
            c = text[p] if p < n else ""
        if c == "{":
            tr_off = p
            q = p
            while True:
                close = _scan_balanced(text, q + 1, "{", "}")
                if close < 0:
                    raise PVError(f"missing '}}' closing a transformation of ${name}", q, E_SYNTAX)
                q = close + 1
                while q < n and text[q] in " \t":
                    q += 1
                if q >= n or text[q] != "{":
                    break
            tr_text = text[p : close + 1]
            p = q
            c = text[p] if p < n else ""
        if c != ")":
            if not c:
                raise PVError(f"unterminated pseudo-variable $({name}: missing ')'", p, E_SYNTAX)
            raise PVError(f"invalid character {c!r} in pseudo-variable $({name}", p, E_SYNTAX)
        p += 1
    elif p < n and text[p] == "(":
        close = _scan_balanced(text, p + 1, "(", ")")
        if close < 0:
            raise PVError(f"missing ')' closing the name of ${name}", p, E_SYNTAX)
        inner_text, inner_off = text[p + 1 : close], p + 1
        p = close + 1
    spec = _compile(
        text[start:p],
        name,
        name_start,
        context,
        inner_text,
        inner_off,
        index_text,
        index_off,
        tr_text,
        tr_off,
        generation,
    )
    return spec, p


def _marker(ctx: Context) -> Any:
    return "$"


_modules_loaded = False


def _load_module_pvs() -> bool:
    """Module PVs ($T_*, $DLG_*...) are registered when pysips.modules is imported: do it on the first miss."""
    global _modules_loaded
    if _modules_loaded:
        return False
    _modules_loaded = True
    from pysips.modules import load_registry

    load_registry()
    return True


def _lookup(name: str, has_inner: bool, off: int, generation: int) -> PVDef:
    d = _TABLE.get((name, has_inner))
    if d is None and _load_module_pvs():
        d = _TABLE.get((name, has_inner))
    if d is None:
        other = _TABLE.get((name, not has_inner))
        if other is not None:
            if has_inner:
                raise PVError(f"pseudo-variable ${name} does not take a name", off, E_NAME)
            raise PVError(f"pseudo-variable ${name} needs a name: ${name}(...)", off, E_NAME)
        raise PVError(f"unknown pseudo-variable ${name}" + ("()" if has_inner else ""), off, E_UNKNOWN_PV)
    lo, hi = d.gens
    if not lo <= max(generation, 1) <= hi:
        where = "OpenSIPS 2.x" if hi <= 2 else "OpenSIPS 3.x"
        msg = f"pseudo-variable ${name} exists only in {where}"
        if d.hint:
            msg += f"; {d.hint}"
        raise PVError(msg, off, E_GENERATION)
    return d


def _compile(
    text: str,
    name: str,
    name_off: int,
    context: str | None,
    inner_text: str | None,
    inner_off: int,
    index_text: str | None,
    index_off: int,
    tr_text: str | None,
    tr_off: int,
    generation: int,
) -> PVSpec:
    d = _lookup(name, inner_text is not None, name_off, generation)
    spec = PVSpec(text, name)
    spec.context = context
    spec.is_avp = name == "avp"
    spec.is_var = name == "var"
    if d.warn and generation >= 3:
        spec.warning = d.warn

    # --- inner name
    dyn: PVSpec | None = None
    static_name: Any = None
    if inner_text is not None:
        if inner_text == "":
            raise PVError(f"pseudo-variable ${name} does not get an empty name", inner_off, E_NAME)
        if inner_text.startswith("$") and d.dyn_name:
            dyn = _sub_pv(inner_text, inner_off, generation)
        elif d.parse_name is not None:
            static_name = d.parse_name(inner_text, inner_off)
        else:
            static_name = inner_text
        spec.inner = dyn if dyn is not None else static_name

    # --- index
    idx: Any = None
    idx_pv: PVSpec | None = None
    if index_text is not None:
        if d.values is None and not (d.setter is not None and name == "avp"):
            raise PVError(f"pseudo-variable ${name} does not take an index", index_off - 1, E_INDEX)
        t = index_text.strip()
        if t.startswith("$"):
            idx_pv = _sub_pv(t, index_off, generation)
            idx = idx_pv
        elif t == "*":
            idx = "*"
        elif t.lower() == "append" and name == "avp":
            idx = "append"
        else:
            s = t[1:] if t.startswith("-") else t
            if not s.isdigit():
                raise PVError(f"invalid index [{index_text}] in ${name}", index_off, E_INDEX)
            idx = int(t)
        spec.index = idx
        spec.has_index = True

    first = d.first
    values = d.values

    # --- base getter (name x index)
    if inner_text is None:
        if idx is None or idx == 0 or idx == "append":
            get = first if idx != "append" else _null
            get_all = _single(get)
        else:
            get, get_all = _indexed(lambda ctx: values(ctx), idx)
            if idx == "*" and d.name == "route":
                # pv_get_route PV_IDX_ALL: the call stack outermost first, "route > route[a] > route[b]"
                def get(ctx: Context, _v: Callable = values) -> Any:
                    return " > ".join(reversed(_v(ctx)))
    else:
        if dyn is not None:
            get1 = _dyn_name_getter(first, dyn)
            vals = _dyn_name_values(values, dyn) if values is not None else None
        else:
            nm = static_name

            def get1(ctx: Context, _f: Callable = first, _n: Any = nm) -> Any:
                return _f(ctx, _n)

            if values is not None:

                def vals(ctx: Context, _v: Callable = values, _n: Any = nm) -> list:
                    return _v(ctx, _n)

            else:
                vals = None
        if idx is None or idx == 0 or idx == "append":
            get = get1 if idx != "append" else _null
            get_all = _single(get)
        else:
            get, get_all = _indexed(vals, idx)

    # --- transformations
    if tr_text is not None:
        chain = _parse_chain(tr_text, tr_off, generation)
        get = _with_chain(get, chain)
        base_all = get_all

        def get_all(ctx: Context, _b: Callable = base_all, _c: tuple = chain) -> list:
            return [run_chain(v, _c, ctx) for v in _b(ctx)]

        spec.has_transformations = True

    # --- context
    if context is not None:
        get = _in_context(get, context, None)
        get_all = _in_context(get_all, context, [])

    spec.get = get
    spec.get_all = get_all

    # --- setter
    if d.setter is not None and tr_text is None:
        spec.writable = True
        spec.set = _make_setter(d.setter, dyn, static_name, idx, context)
    return spec


def _sub_pv(text: str, off: int, generation: int) -> PVSpec:
    try:
        sub, end = parse_pv_at(text, 0, generation=generation)
    except PVError as e:
        raise PVError(e.message, off + e.offset, e.code) from e
    if end != len(text):
        raise PVError(f"unexpected text {text[end:]!r} after {text[:end]}", off + end, E_SYNTAX)
    return sub


def _single(get: Getter) -> Callable[[Context], list]:
    def get_all(ctx: Context) -> list:
        v = get(ctx)
        return [] if v is None else [v]

    return get_all


def _name_value(v: Any) -> Any:
    if v is None:
        return None
    return v if type(v) is str else str(v)


def _dyn_name_getter(first: Callable, dyn: PVSpec) -> Getter:
    dget = dyn.get

    def get(ctx: Context) -> Any:
        nm = _name_value(dget(ctx))
        if nm is None:
            return None
        return first(ctx, nm)

    return get


def _dyn_name_values(values: Callable, dyn: PVSpec) -> Callable[[Context], list]:
    dget = dyn.get

    def vals(ctx: Context) -> list:
        nm = _name_value(dget(ctx))
        if nm is None:
            return []
        return values(ctx, nm)

    return vals


def _pick(lst: list, i: int) -> Any:
    if i < 0:
        i += len(lst)
        if i < 0:
            return None
    return lst[i] if i < len(lst) else None


def _join(lst: list) -> Any:
    """[*] read as one value: every value printed and joined with ", " (always a string, as pvar.c builds it)."""
    if not lst:
        return None
    return FIELD_DELIM.join("" if v is None else str(v) for v in lst)


def _runtime_index(ipv: PVSpec, ctx: Context) -> int | None:
    """A PV used as an index must hold an int (pv_get_spec_index: PV_VAL_INT), else the read gives NULL."""
    v = ipv.get(ctx)
    if isinstance(v, int):
        return v
    if isinstance(v, StrInt):
        return int(v)
    return None


def _indexed(vals: Callable[[Context], list] | None, idx: Any) -> tuple[Getter, Callable[[Context], list]]:
    assert vals is not None
    if idx == "*":

        def get(ctx: Context) -> Any:
            return _join(vals(ctx))

        return get, vals
    if isinstance(idx, int):

        def get(ctx: Context) -> Any:
            return _pick(vals(ctx), idx)

        return get, _single(get)
    ipv: PVSpec = idx

    def get(ctx: Context) -> Any:
        i = _runtime_index(ipv, ctx)
        if i is None:
            return None
        return _pick(vals(ctx), i)

    return get, _single(get)


def _with_chain(get: Getter, chain: tuple) -> Getter:
    if len(chain) == 1:
        fn, params = chain[0]

        def get1(ctx: Context) -> Any:
            v = get(ctx)
            if v is None:
                return None
            try:
                return fn(v, params, ctx)
            except TrFail:
                return None

        return get1

    def getn(ctx: Context) -> Any:
        return run_chain(get(ctx), chain, ctx)

    return getn


def _in_context(fn: Callable, context: str, empty: Any) -> Callable:
    """$(<request>...) / $(<reply>...): evaluate against the request or the reply of the transaction."""
    pick = Context.request_msg if context == "request" else Context.reply_msg

    def wrapped(ctx: Context) -> Any:
        m = pick(ctx)
        if m is None:
            return [] if empty is not None else None
        cur = ctx.msg
        if m is cur:
            return fn(ctx)
        ctx.msg = m
        try:
            return fn(ctx)
        finally:
            ctx.msg = cur

    return wrapped


def _make_setter(
    setter: Callable, dyn: PVSpec | None, static_name: Any, idx: Any, context: str | None
) -> Callable[[Context, str, Any], None]:
    def set_(ctx: Context, op: str, value: Any) -> None:
        if dyn is not None:
            nm = _name_value(dyn.get(ctx))
            if nm is None:
                raise ScriptRuntimeError(f"the name of {dyn.text} is NULL")
        else:
            nm = static_name
        if isinstance(idx, PVSpec):
            i = _runtime_index(idx, ctx)
            if i is None:
                raise ScriptRuntimeError(f"invalid index value in {idx.text}")
        else:
            i = idx
        setter(ctx, nm, i, op, value)

    if context is None:
        return set_
    pick = Context.request_msg if context == "request" else Context.reply_msg

    def set_ctx(ctx: Context, op: str, value: Any) -> None:
        m = pick(ctx)
        if m is None:
            raise ScriptRuntimeError(f"no {context} message for this pseudo-variable")
        cur = ctx.msg
        ctx.msg = m
        try:
            set_(ctx, op, value)
        finally:
            ctx.msg = cur

    return set_ctx


# ---------------------------------------------------------------- transformation chains


def _parse_chain(text: str, off: int, generation: int) -> tuple:
    """``{s.substr,1,2}{s.len}`` -> ((fn, params), ...); offsets in errors point into the original text."""
    chain = []
    i = 0
    n = len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        if text[i] != "{":
            raise PVError("expected '{' starting a transformation", off + i, E_SYNTAX)
        close = _scan_balanced(text, i + 1, "{", "}")
        if close < 0:
            raise PVError("unbalanced '{' in a transformation", off + i, E_SYNTAX)
        chain.append(_parse_one_tr(text[i + 1 : close], off + i + 1, generation))
        i = close + 1
    return tuple(chain)


def _split_tr_params(body: str, maxsplit: int = -1) -> list[tuple[str, int]]:
    """Split on ',' not inside () [] {} and not escaped with '\\'; returns (text, offset) pairs."""
    out: list[tuple[str, int]] = []
    depth = 0
    start = 0
    i = 0
    while i < len(body) and len(out) != maxsplit:
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            i += 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            out.append((body[start:i], start))
            start = i + 1
        i += 1
    out.append((body[start:], start))
    return out


def _resolve_tr_name(body: str, off: int) -> tuple[TrSpec, str, int, str | None, int]:
    """Find the transformation name at the start of ``body``: returns (spec, rest after the name, rest offset,
    nameaddr index text or None, its offset)."""
    head = body
    for stop in (",",):
        j = head.find(stop)
        if j >= 0:
            head = head[:j]
    name = head.strip()
    key = name.lower()
    spec = TRANSFORMATIONS.get(key)
    na_index = None
    na_off = 0
    if spec is None and key.startswith("nameaddr."):
        # {nameaddr.<index>.field}: the index (number or PV) comes between the class and the field
        rest = name[len("nameaddr.") :]
        dot = rest.rfind(".")
        if dot > 0:
            cand = TRANSFORMATIONS.get("nameaddr." + rest[dot + 1 :].lower())
            if cand is not None:
                spec = cand
                na_index = rest[:dot]
                na_off = off + len("nameaddr.")
    if spec is None:
        cls = key.split(".", 1)[0]
        known_cls = {k.split(".", 1)[0] for k in TRANSFORMATIONS}
        if "." not in key or cls not in known_cls:
            raise PVError(f"unknown transformation class [{{{name}}}]", off, E_UNKNOWN_TR)
        raise PVError(f"unknown transformation: {{{name}}}", off, E_UNKNOWN_TR)
    return spec, body[len(head) :], off + len(head), na_index, na_off


def _parse_one_tr(body: str, off: int, generation: int) -> tuple:
    spec, rest, rest_off, na_index, na_off = _resolve_tr_name(body, off)
    sig = spec.sig
    params: list[Any] = []
    if "r" in sig:
        if not rest.startswith(","):
            raise PVError(f"transformation {{{spec.name}}} needs a parameter", rest_off, E_TR_PARAMS)
        raw = rest[1:]
        raw_off = rest_off + 1
        if raw.lstrip().startswith("$"):
            params.append(_sub_pv(raw.strip(), raw_off + (len(raw) - len(raw.lstrip())), generation))
        else:
            params.append(raw.lstrip(" \t").replace("\\{", "{").replace("\\}", "}"))
        return (spec.fn, tuple(params))
    kinds = _sig_items(sig)
    items = _split_tr_params(rest[1:]) if rest.startswith(",") else []
    if kinds and kinds[-1][0] == "c" and rest.startswith(","):
        # the separator of s.select is taken literally, even when it is ','
        items = _split_tr_params(rest[1:], len(kinds) - 1)
    if kinds and kinds[0][0] == "i":
        # nameaddr index: written between class and field, never as a ',' parameter
        kinds = kinds[1:]
        if na_index is not None:
            params.append(_parse_tr_param(na_index, na_off, "n", spec, generation))
    elif na_index is not None:
        raise PVError(f"transformation {{{spec.name}}} does not take an index", na_off, E_TR_PARAMS)
    required = sum(1 for _, opt in kinds if not opt)
    if len(items) < required or len(items) > len(kinds):
        want = f"{required}" if required == len(kinds) else f"{required} to {len(kinds)}"
        raise PVError(
            f"transformation {{{spec.name}}} takes {want} parameter(s), got {len(items)}",
            rest_off,
            E_TR_PARAMS,
        )
    for (ptext, poff), (kind, _opt) in zip(items, kinds, strict=False):
        params.append(_parse_tr_param(ptext, rest_off + 1 + poff, kind, spec, generation))
    return (spec.fn, tuple(params))


def _sig_items(sig: str) -> list[tuple[str, bool]]:
    out = []
    for ch in sig:
        if ch == "?":
            out[-1] = (out[-1][0], True)
        else:
            out.append((ch, False))
    return out


def _parse_tr_param(ptext: str, poff: int, kind: str, spec: TrSpec, generation: int) -> Any:
    t = ptext.strip(" \t")
    lead = len(ptext) - len(ptext.lstrip(" \t"))
    if t.startswith("$") and kind in "nsw":
        if not spec.pv_params:
            raise PVError(
                f"transformation {{{spec.name}}} does not allow variables", poff + lead, E_TR_PARAMS
            )
        return _sub_pv(t, poff + lead, generation)
    if kind == "n":
        s = t[1:] if t[:1] in "+-" else t
        if not s.isdigit():
            raise PVError(f"invalid number {t!r} in {{{spec.name}}}", poff + lead, E_TR_PARAMS)
        return int(t)
    if kind == "c":
        if len(ptext) < 1:
            raise PVError(f"{{{spec.name}}} needs a separator character", poff, E_TR_PARAMS)
        return ptext[0]
    if kind == "w":
        w = ptext.rstrip(" \t") if len(ptext.strip(" \t")) > 0 else ptext
        if len(w) >= 2 and w[0] == w[-1] and w[0] in "'\"":
            w = w[1:-1]
        if not w:
            raise PVError(f"{{{spec.name}}} with an empty pad is a no-op (use quotes)", poff, E_TR_PARAMS)
        return w
    if not t:
        raise PVError(f"empty parameter in {{{spec.name}}}", poff, E_TR_PARAMS)
    return t.replace("\\,", ",")


# ---------------------------------------------------------------- format strings


class FormatString:
    """A string with embedded PVs ("$fU@$fd"), split once; eval() prints NULL as "<null>" like pv_printf."""

    __slots__ = ("text", "parts", "is_static", "static_value", "eval")

    def __init__(self, text: str, parts: list[tuple[str, PVSpec | None]]) -> None:
        self.text = text
        self.parts = parts
        self.is_static = all(spec is None for _, spec in parts)
        self.static_value = "".join(lit for lit, _ in parts) if self.is_static else ""
        self.eval: Callable[[Context], str] = self._make_eval()

    def _make_eval(self) -> Callable[[Context], str]:
        if self.is_static:
            value = self.static_value
            return lambda ctx: value
        getters = []
        for lit, spec in self.parts:
            if lit:
                getters.append(lit)
            if spec is not None:
                getters.append(spec.get)
        if len(getters) == 1:
            g = getters[0]

            def eval1(ctx: Context) -> str:
                v = g(ctx)
                if v is None:
                    return NULL_TEXT
                return v if type(v) is str else str(v)

            return eval1
        items = tuple(getters)

        def evaln(ctx: Context) -> str:
            out = []
            for g in items:
                if type(g) is str:
                    out.append(g)
                else:
                    v = g(ctx)
                    out.append(NULL_TEXT if v is None else v if type(v) is str else str(v))
            return "".join(out)

        return evaln

    def specs(self) -> list[PVSpec]:
        return [s for _, s in self.parts if s is not None]

    def __repr__(self) -> str:
        return f"FormatString({self.text!r})"


def parse_format(text: str, *, generation: int = 3) -> FormatString:
    """Split a format string into literal text and PVs. ``$$`` is a literal '$'. Raises PVError."""
    parts: list[tuple[str, PVSpec | None]] = []
    lit: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0:
            lit.append(text[i:])
            break
        lit.append(text[i:j])
        if j + 1 < n and text[j + 1] == "$":
            lit.append("$")
            i = j + 2
            continue
        spec, end = parse_pv_at(text, j, generation=generation)
        parts.append(("".join(lit), spec))
        lit = []
        i = end
    if lit or not parts:
        parts.append(("".join(lit), None))
    return FormatString(text, parts)


def value_to_str(v: Any) -> str:
    """How a value prints (pv_value_print): NULL -> "<null>", ints in decimal."""
    if v is None:
        return NULL_TEXT
    return v if type(v) is str else str(v)
