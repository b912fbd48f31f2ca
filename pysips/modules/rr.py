"""rr: Record-Route insertion and loose routing (RFC 3261 16.4, 16.6, 16.12), as OpenSIPS's rr module does it.

``record_route()`` writes ``<sip:[user@]ADDR[:PORT][;transport=T];lr;ftag=TAG[params]>`` at the top of the
Record-Route list; ADDR/PORT are the advertised address/port when set, else the receiving socket (OpenSIPS uses the
sending socket, decided later; with enable_double_rr it may add a second header when the two differ — the proxy can
do that at send time, see the report). The port is left out when it is 5060 and not advertised, as in OpenSIPS.

``loose_route()`` removes the Route entries that point to this proxy (``ctx.env.is_myself``), saves their parameters
for ``check_route_param``/``is_direction``/``$rr_params`` in ``ctx.route_params``, sets ``ctx.du`` to the next loose
hop, and handles a previous strict router (R-URI is ours) and a strict next hop.
"""

from __future__ import annotations

from typing import Any

from pysips.modules import (
    BRANCH,
    FAILURE,
    INT,
    REGEX,
    REQUEST,
    STR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules.core import is_myself, log_error, request_of

_settings: dict[str, Any] = {
    "append_fromtag": 1,
    "enable_double_rr": 1,
    "add_username": 0,
    "enable_full_lr": 0,
}


def init(params: dict[str, Any]) -> None:
    """Apply the resolved rr modparams (called once at script load)."""
    for k in _settings:
        if k in params and params[k] is not None:
            _settings[k] = int(params[k])


# ---------------------------------------------------------------- Record-Route


def _lr(ctx: Any) -> str:
    return ";lr=on" if _settings["enable_full_lr"] else ";lr"


def _from_tag(msg: Any) -> str | None:
    fr = msg.from_
    return fr.tag if fr is not None else None


def _user_part(req: Any) -> str:
    if not _settings["add_username"]:
        return ""
    user = req.ruri.user
    return f"{user}@" if user else ""


def _local_hostport(ctx: Any) -> str:
    adv_host = getattr(ctx, "advertised_address", None)
    adv_port = getattr(ctx, "advertised_port", None)
    host = adv_host or ctx.local_ip
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if adv_port:
        return f"{host}:{adv_port}"
    port = ctx.local_port
    if port and port != 5060:
        return f"{host}:{port}"
    return host


def _transport(ctx: Any) -> str:
    proto = (ctx.proto or "udp").lower()
    return "" if proto == "udp" else f";transport={proto}"


def _extra_params(ctx: Any, params: str | None) -> str:
    out = params or ""
    if out and not out.startswith(";"):
        out = ";" + out
    pending = getattr(ctx, "rr_params", None)
    if pending:
        out += "".join(pending)
    return out


def _insert_rr(ctx: Any, values: list[str]) -> None:
    msg = ctx.msg
    for v in reversed(values):
        msg.push_value("Record-Route", v)
    ctx.rr_added = list(values)


def w_record_route(ctx: Any, params: str | None = None) -> int:
    req = request_of(ctx)
    if req is None:
        return -1
    if getattr(ctx, "rr_added", None):
        log_error(ctx, "double attempt to record-route")
        return -1
    tag = _from_tag(req) if _settings["append_fromtag"] else None
    suffix = _lr(ctx) + (f";ftag={tag}" if tag else "") + _extra_params(ctx, params)
    value = f"<sip:{_user_part(req)}{_local_hostport(ctx)}{_transport(ctx)}{suffix}>"
    _insert_rr(ctx, [value])
    return 1


def _preset_uri(data: str) -> str:
    d = data.strip()
    low = d.lower()
    if low.startswith("sip:") or low.startswith("sips:"):
        return d
    return "sip:" + d


def w_record_route_preset(ctx: Any, addr: str, addr2: str | None = None) -> int:
    req = request_of(ctx)
    if req is None or not addr:
        return -1
    if getattr(ctx, "rr_added", None):
        log_error(ctx, "double attempt to record-route")
        return -1
    tag = _from_tag(req) if _settings["append_fromtag"] else None
    user = _user_part(req)
    suffix = (f";ftag={tag}" if tag else "") + _lr(ctx) + _extra_params(ctx, None)

    def build(a: str, r2: bool) -> str:
        uri = _preset_uri(a)
        if user:
            uri = uri.replace(":", ":" + user, 1)
        return f"<{uri}{';r2=on' if r2 else ''}{suffix}>"

    if addr2:
        # the entry facing the next hop goes on top
        _insert_rr(ctx, [build(addr2, True), build(addr, True)])
    else:
        _insert_rr(ctx, [build(addr, False)])
    return 1


def w_add_rr_param(ctx: Any, param: str) -> int:
    if not param:
        return -1
    p = param if param.startswith(";") else ";" + param
    added = getattr(ctx, "rr_added", None)
    if not added:
        pending = getattr(ctx, "rr_params", None)
        if pending is None:
            pending = ctx.rr_params = []
        pending.append(p)
        return 1
    msg = ctx.msg
    for _ in added:
        msg.pop_value("Record-Route")
    _insert_rr(ctx, [v[:-1] + p + ">" if v.endswith(">") else v + p for v in added])
    return 1


# ---------------------------------------------------------------- loose routing


def _uri_is_me(ctx: Any, uri: Any) -> bool:
    port = uri.port
    if port is None:
        port = 5061 if uri.scheme == "sips" or (uri.get_param("transport") or "").lower() == "tls" else 5060
    return is_myself(ctx, uri.host, port)


def _params_text(uri: Any) -> str:
    return ";".join(k if v is None else f"{k}={v}" for k, v in uri.params)


def _is_loose(uri: Any) -> bool:
    return uri.has_param("lr")


def _set_routes(msg: Any, values: list[str]) -> None:
    msg.remove_header("Route")
    for v in values:
        msg.add_header("Route", v)


# Called with the context after loose_route() routed an in-dialog request (dialog matching hooks in here).
LOOSE_ROUTE_CALLBACKS: list = []


def w_loose_route(ctx: Any) -> int:
    rc = _loose_route(ctx)
    if rc == 1 and LOOSE_ROUTE_CALLBACKS:
        for cb in LOOSE_ROUTE_CALLBACKS:
            cb(ctx)
    return rc


def _loose_route(ctx: Any) -> int:
    req = request_of(ctx)
    if req is None:
        return -1
    routes = req.routes
    if not routes:
        return -1
    values = req.get_values("Route")
    preloaded = not (req.to is not None and req.to.tag)
    if preloaded:
        return _after_loose(ctx, req, routes, values, True)
    ruri = req.ruri
    if _uri_is_me(ctx, ruri) and not ruri.has_param("gr"):
        return _after_strict(ctx, req, routes, values)
    return _after_loose(ctx, req, routes, values, False)


def _after_strict(ctx: Any, req: Any, routes: list[Any], values: list[str]) -> int:
    """The previous hop was a strict router: the R-URI is our Record-Route URI, the target is the last Route."""
    ctx.route_params = _params_text(req.ruri)
    ctx.route_uri = str(req.ruri)
    first = routes[0].uri
    if _settings["enable_double_rr"] and first.has_param("r2") and _uri_is_me(ctx, first):
        routes, values = routes[1:], values[1:]
        if not routes:
            _set_routes(req, [])
            return -1
    first = routes[0].uri
    if _is_loose(first):
        last = routes[-1].uri
        ctx.set_ruri(last.copy())
        ctx.du = str(first)
        _set_routes(req, values[:-1])
    else:
        ctx.set_ruri(first.copy())
        _set_routes(req, values[1:])
    return 1


def _after_loose(ctx: Any, req: Any, routes: list[Any], values: list[str], preloaded: bool) -> int:
    first = routes[0].uri
    if _uri_is_me(ctx, first):
        ctx.route_params = _params_text(first)
        ctx.route_uri = str(first)
        routes, values = routes[1:], values[1:]
        # double Record-Route (r2=on): the next entry is our other interface
        if _settings["enable_double_rr"] and first.has_param("r2") and routes:
            routes, values = routes[1:], values[1:]
        _set_routes(req, values)
        if not routes:
            return -1 if preloaded else 1
    nxt = routes[0].uri
    if _is_loose(nxt):
        ctx.du = str(nxt)
        return 1
    # strict next hop (RFC 3261 16.6 step 6): R-URI goes last, the next hop becomes the R-URI
    old_ruri = str(req.ruri)
    ctx.set_ruri(nxt.copy())
    _set_routes(req, values[1:] + [f"<{old_ruri}>"])
    return 1


def w_check_route_param(ctx: Any, rx: Any) -> int:
    params = getattr(ctx, "route_params", None)
    if not params:
        return -1
    if isinstance(rx, str):
        from pysips.modules._regex import compile_script_regex

        rx = compile_script_regex(rx)
    return 1 if rx.search(params) else -1


def direction_fixup(value: Any) -> str:
    s = str(value).strip().lower()
    if s not in ("downstream", "upstream"):
        raise ValueError(f'unknown direction {value!r} (use "downstream" or "upstream")')
    return s


def w_is_direction(ctx: Any, direction: str) -> int:
    params = getattr(ctx, "route_params", None)
    if not params:
        return -1
    ftag = None
    for p in params.split(";"):
        k, _, v = p.partition("=")
        if k.strip().lower() == "ftag":
            ftag = v.strip()
    if not ftag:
        return -1
    req = request_of(ctx)
    if req is None:
        return -1
    downstream = _from_tag(req) == ftag
    want = direction_fixup(direction)
    return 1 if (want == "downstream") == downstream else -1


_RFB = frozenset({REQUEST, FAILURE, BRANCH})
_RQ = frozenset({REQUEST})

MODULE = ModuleSpec.build(
    "rr",
    functions=[
        FunctionSpec("loose_route", (), w_loose_route, _RQ),
        FunctionSpec("record_route", (ParamSpec(STR, optional=True, name="params"),), w_record_route, _RFB),
        FunctionSpec(
            "record_route_preset",
            (ParamSpec(STR, name="address"), ParamSpec(STR, optional=True, name="address2")),
            w_record_route_preset,
            _RFB,
        ),
        FunctionSpec("add_rr_param", (ParamSpec(STR, name="param"),), w_add_rr_param, _RFB),
        FunctionSpec("check_route_param", (ParamSpec(REGEX, name="re"),), w_check_route_param, _RQ),
        FunctionSpec(
            "is_direction", (ParamSpec(STR, name="dir", fixup=direction_fixup),), w_is_direction, _RQ
        ),
    ],
    params=[
        ModParamSpec("append_fromtag", INT, 1),
        ModParamSpec("enable_double_rr", INT, 1),
        ModParamSpec("enable_full_lr", INT, 0),
        ModParamSpec("add_username", INT, 0),
        ModParamSpec("ignore_user", STR),
        ModParamSpec("enable_socket_mismatch_warning", INT, 1),
    ],
)
