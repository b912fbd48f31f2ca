"""tm: transaction functions. Transaction state lives in the proxy; these functions record script decisions on the
Context (``t_on_failure`` & co) and call the Env for everything that needs a transaction:

  env.relay(ctx, flags: int, outbound: str | None) -> int       t_relay (flags: OpenSIPS bit values, see T_RELAY_FLAGS)
  env.t_newtran(ctx) -> int                                     0 = retransmission absorbed (script stops)
  env.t_check_trans(ctx) -> int                                 see the README semantics (0 stops the script)
  env.t_reply(ctx, code, reason) -> int; env.t_reply_with_body(ctx, code, reason, body) -> int
  env.t_was_cancelled(ctx), env.t_local_replied(ctx, which) -> bool or return code (>0 true)
  env.t_reply_code(ctx) -> int | None                           t_check_status outside onreply/failure routes
  env.t_replicate(ctx, uri, flags) -> int, env.t_flush_flags(ctx) -> int, env.t_cancel_branch(ctx, flags) -> int
Without such a method the base Env records the call and a neutral code is returned (documented per function).
"""

from __future__ import annotations

from typing import Any

from pysips.errors import ScriptRuntimeError
from pysips.modules import (
    ALL_ROUTES,
    ANY,
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REGEX,
    REQUEST,
    ROUTE,
    STR,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules.core import log_error, parse_socket
from pysips.modules.sl import _code, reply_code_fixup
from pysips.script.context import is_intlike

# t_relay flags: OpenSIPS 3.x names and the 2.x numeric values they replace
T_RELAY_FLAGS = {
    "no-auto-477": 0x02,
    "no-dns-failover": 0x04,
    "pass-reason-hdr": 0x08,
    "allow-no-cancel": 0x10,
}


def relay_flags_fixup(value: Any) -> int | str:
    """'no-auto-477,no-dns-failover' (3.x), 0x02|0x04 numbers (2.x) -> int mask; a 2.x destination stays a str."""
    if isinstance(value, int):
        return value
    s = str(value).strip()
    if not s:
        return 0
    try:
        return int(s, 0)
    except ValueError:
        pass
    mask = 0
    for name in (x.strip().lower() for x in s.split(",")):
        if not name:
            continue
        bit = T_RELAY_FLAGS.get(name)
        if bit is None:
            if len(s.split(",")) == 1 and _looks_like_dest(s):
                # 2.x t_relay("proto:host:port" [, flags])
                parse_socket(s)
                return s
            raise ValueError(f"unknown t_relay flag {name!r} (known: {', '.join(T_RELAY_FLAGS)})")
        mask |= bit
    return mask


def _looks_like_dest(s: str) -> bool:
    return any(c in s for c in ".:[") or s.isalnum()


def flag_names(mask: int) -> list[str]:
    return [n for n, b in T_RELAY_FLAGS.items() if mask & b]


# fr_timeout / fr_inv_timeout modparams: the defaults $T_fr_timeout / $T_fr_inv_timeout read before a script
# sets them (OpenSIPS keeps them in globals too)
_settings: dict[str, int] = {"fr_timeout": 5, "fr_inv_timeout": 120}


def init(params: dict[str, Any]) -> None:
    """Apply the resolved tm modparams (called once at script load). 1.x spells them fr_timer / fr_inv_timer."""
    for new, old, default in (("fr_timeout", "fr_timer", 5), ("fr_inv_timeout", "fr_inv_timer", 120)):
        v = params.get(new, default)
        if v == default and params.get(old, default) != default:
            v = params[old]
        if not isinstance(v, int) or v <= 0:
            raise ValueError(f"{new} must be a positive number of seconds, got {v!r}")
        _settings[new] = v


# ---------------------------------------------------------------- pseudo-variables (tm.c mod_items)
# The proxy tells these PVs about the transaction through the Context: ctx.t_branch_idx (branch / onreply /
# failure routes), ctx.t_branch_ruri, ctx.t_branch_last_reply_code; and through the Env: env.t_reply_code(ctx),
# env.t_id(ctx). $T_fr_timeout / $T_fr_inv_timeout written by the script are kept as ctx.t_fr_timeout /
# ctx.t_fr_inv_timeout for the proxy to use when it arms the branch timers.

_BRANCH_ROUTES = frozenset({"branch", "onreply", "failure"})


def pv_t_reply_code(ctx: Any) -> int:
    """0 without a transaction; the current reply in onreply_route, else the transaction's (last sent / winning)."""
    if ctx.route_type == "onreply":
        rep = ctx.reply_msg()
        if rep is not None:
            return rep.status
    fn = getattr(ctx.env, "t_reply_code", None)
    if fn is not None:
        code = fn(ctx)
        if code is not None:
            return code
    code = getattr(ctx, "t_reply_code", None)
    if code is not None:
        return code
    rep = ctx.reply_msg()
    return rep.status if rep is not None else 0


def pv_t_branch_idx(ctx: Any) -> int | None:
    if ctx.route_type not in _BRANCH_ROUTES:
        return None
    return getattr(ctx, "t_branch_idx", 0) or 0


def pv_t_ruri(ctx: Any) -> str | None:
    uri = getattr(ctx, "t_branch_ruri", None)
    if uri is not None:
        return str(uri)
    req = ctx.request_msg()
    if req is None:
        return None
    raw = getattr(req, "ruri_raw", None)
    return raw if raw is not None else str(req.ruri)


def pv_t_id(ctx: Any) -> str | None:
    fn = getattr(ctx.env, "t_id", None)
    return fn(ctx) if fn is not None else getattr(ctx, "t_id", None)


def pv_t_branch_last_reply_code(ctx: Any) -> int | None:
    return getattr(ctx, "t_branch_last_reply_code", None)


def _timeout_pv(attr: str) -> tuple[Any, Any]:
    def get(ctx: Any) -> int:
        v = getattr(ctx, attr, None)
        return _settings[attr[2:]] if v is None else v

    def set_(ctx: Any, op: str, value: Any) -> None:
        if value is None:  # "$T_fr_timeout = NULL" restores the default
            setattr(ctx, attr, None)
            return
        if not is_intlike(value):
            raise ScriptRuntimeError(f"$T_{attr[2:]}: assigning non-int value as a timeout")
        setattr(ctx, attr, int(value))

    return get, set_


def _register_pvs() -> None:
    from pysips.script.pvars import register_pv

    register_pv("T_reply_code", pv_t_reply_code)
    register_pv("T_branch_idx", pv_t_branch_idx)
    register_pv("T_ruri", pv_t_ruri)
    register_pv("T_id", pv_t_id)
    register_pv("T_branch_last_reply_code", pv_t_branch_last_reply_code)
    for attr in ("t_fr_timeout", "t_fr_inv_timeout"):
        get, set_ = _timeout_pv(attr)
        register_pv("T_" + attr[2:], get, set_)


_register_pvs()


def _env_call(ctx: Any, name: str, default: Any, *args: Any, **kw: Any) -> Any:
    fn = getattr(ctx.env, name, None)
    if fn is not None:
        return fn(ctx, *args, **kw)
    ctx.env.record(name, **{f"arg{i}": a for i, a in enumerate(args)}, **kw)
    return default


def w_t_relay(ctx: Any, flags: Any = None, outbound: str | None = None) -> int:
    msg = ctx.msg
    if msg is None or not msg.is_request:
        return -2
    dest: str | None = outbound or None
    if isinstance(flags, str):
        try:
            f = relay_flags_fixup(flags)
        except ValueError as e:
            log_error(ctx, f"t_relay: {e}")
            return -1
        if isinstance(f, str):
            # 2.x t_relay(dest, flags): the second parameter holds the flags
            dest, f = f, relay_flags_fixup(outbound) if outbound else 0
            if isinstance(f, str):
                log_error(ctx, f"t_relay: bad flags {outbound!r}")
                return -1
        mask = f
    else:
        mask = flags or 0
    return ctx.env.relay(ctx, mask, dest)


def w_t_newtran(ctx: Any) -> int:
    return _env_call(ctx, "t_newtran", 1)


def w_t_check_trans(ctx: Any) -> int:
    return _env_call(ctx, "t_check_trans", -1)


def w_t_reply(ctx: Any, code: Any, reason: str) -> int:
    c = _code(ctx, code)
    if c is None:
        return -1
    fn = getattr(ctx.env, "t_reply", None)
    if fn is not None:
        return fn(ctx, c, reason)
    return ctx.env.reply(ctx, c, reason, True)


def w_t_reply_with_body(ctx: Any, code: Any, reason: str, body: str) -> int:
    c = _code(ctx, code)
    if c is None:
        return -1
    return _env_call(ctx, "t_reply_with_body", 1, c, reason, body)


def _truth(r: Any) -> int:
    """Env answers may be bool or an OpenSIPS return code."""
    if isinstance(r, bool):
        return 1 if r else -1
    return 1 if r is not None and r > 0 else -1


def w_t_on_failure(ctx: Any, name: str) -> int:
    # 1.x: route "0" disarms
    ctx.t_on_failure = None if str(name) == "0" else str(name)
    return 1


def w_t_on_reply(ctx: Any, name: str) -> int:
    # 1.x: route "0" disarms
    ctx.t_on_reply = None if str(name) == "0" else str(name)
    return 1


def w_t_on_branch(ctx: Any, name: str) -> int:
    # 1.x: route "0" disarms
    ctx.t_on_branch = None if str(name) == "0" else str(name)
    return 1


def reply_code(ctx: Any) -> int | None:
    """The reply status t_check_status looks at: the reply in onreply/failure routes, else the transaction's."""
    rep = ctx.reply_msg()
    if rep is not None:
        return rep.status
    code = getattr(ctx, "t_reply_code", None)
    if code is None:
        fn = getattr(ctx.env, "t_reply_code", None)
        code = fn(ctx) if fn is not None else None
    return code


def w_t_check_status(ctx: Any, rx: Any) -> int:
    code = reply_code(ctx)
    if code is None:
        return -1
    if isinstance(rx, str):
        from pysips.modules._regex import compile_script_regex

        rx = compile_script_regex(rx)
    return 1 if rx.search(str(code)) else -1


def w_t_was_cancelled(ctx: Any) -> int:
    fn = getattr(ctx.env, "t_was_cancelled", None)
    if fn is not None:
        return _truth(fn(ctx))
    return 1 if getattr(ctx, "t_cancelled", False) else -1


def local_replied_fixup(value: Any) -> str:
    s = str(value).strip().lower()
    for w in ("all", "branch", "last"):
        if s.startswith(w):
            return w
    raise ValueError(f'invalid value {value!r} (use "all", "branch" or "last")')


def w_t_local_replied(ctx: Any, which: str) -> int:
    fn = getattr(ctx.env, "t_local_replied", None)
    if fn is None:
        return -1
    return _truth(fn(ctx, local_replied_fixup(which)))


def w_t_replicate(ctx: Any, uri: str, flags: Any = None) -> int:
    f = relay_flags_fixup(flags) if isinstance(flags, str) else (flags or 0)
    return _env_call(ctx, "t_replicate", 1, uri, f)


def w_t_flush_flags(ctx: Any) -> int:
    return _env_call(ctx, "t_flush_flags", 1)


def w_t_add_hdrs(ctx: Any, hdrs: str) -> int:
    ctx.t_extra_hdrs = hdrs
    return 1


def w_t_add_cancel_reason(ctx: Any, reason: str) -> int:
    ctx.t_cancel_reason = reason
    return 1


def cancel_branch_fixup(value: Any) -> str:
    s = str(value or "")
    for c in s:
        if c.lower() not in "ao":
            raise ValueError(f"unknown t_cancel_branch flag {c!r} (a = all, o = others)")
    return s.lower()


def w_t_cancel_branch(ctx: Any, flags: str | None = None) -> int:
    return _env_call(ctx, "t_cancel_branch", 1, cancel_branch_fixup(flags))


def _d(name: str, *params: ParamSpec, routes: frozenset[str]) -> FunctionSpec:
    return FunctionSpec(name, tuple(params), None, routes)


def _s(name: str, opt: bool = False) -> ParamSpec:
    return ParamSpec(STR, optional=opt, name=name)


_RF = frozenset({REQUEST, FAILURE})
_RFOBL = frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL})
_RFOB = frozenset({REQUEST, FAILURE, ONREPLY, BRANCH})

MODULE = ModuleSpec.build(
    "tm",
    functions=[
        FunctionSpec(
            "t_relay",
            (
                ParamSpec(STR, optional=True, name="flags", fixup=relay_flags_fixup),
                ParamSpec(STR, optional=True, name="outbound_proxy"),
            ),
            w_t_relay,
            _RF,
        ),
        FunctionSpec("t_newtran", (), w_t_newtran, frozenset({REQUEST})),
        FunctionSpec("t_check_trans", (), w_t_check_trans, frozenset({REQUEST, BRANCH})),
        FunctionSpec(
            "t_reply",
            (ParamSpec(INT, name="code", fixup=reply_code_fixup), _s("reason_phrase")),
            w_t_reply,
            _RF,
        ),
        FunctionSpec(
            "t_reply_with_body",
            (ParamSpec(INT, name="code", fixup=reply_code_fixup), _s("reason_phrase"), _s("body")),
            w_t_reply_with_body,
            _RF,
        ),
        FunctionSpec(
            "t_on_failure",
            (ParamSpec(ROUTE, name="failure_route", route_kind="failure"),),
            w_t_on_failure,
            _RFOBL,
        ),
        FunctionSpec(
            "t_on_reply", (ParamSpec(ROUTE, name="reply_route", route_kind="onreply"),), w_t_on_reply, _RFOBL
        ),
        FunctionSpec(
            "t_on_branch", (ParamSpec(ROUTE, name="branch_route", route_kind="branch"),), w_t_on_branch, _RFOB
        ),
        FunctionSpec("t_check_status", (ParamSpec(REGEX, name="re"),), w_t_check_status, _RFOB),
        FunctionSpec("t_was_cancelled", (), w_t_was_cancelled, _RFOB),
        FunctionSpec(
            "t_local_replied",
            (ParamSpec(STR, name="reply", fixup=local_replied_fixup),),
            w_t_local_replied,
            _RFOB,
        ),
        FunctionSpec(
            "t_replicate",
            (_s("uri"), ParamSpec(STR, optional=True, name="flags", fixup=relay_flags_fixup)),
            w_t_replicate,
            _RF,
        ),
        FunctionSpec("t_flush_flags", (), w_t_flush_flags, frozenset({REQUEST, BRANCH})),
        FunctionSpec("t_add_hdrs", (_s("sip_hdrs"),), w_t_add_hdrs, frozenset({REQUEST})),
        FunctionSpec("t_add_cancel_reason", (_s("reason_hdr"),), w_t_add_cancel_reason, frozenset({REQUEST})),
        FunctionSpec(
            "t_cancel_branch",
            (ParamSpec(STR, optional=True, name="flags", fixup=cancel_branch_fixup),),
            w_t_cancel_branch,
            frozenset({ONREPLY}),
        ),
        _d("t_write_req", _s("info"), _s("fifo"), routes=frozenset({REQUEST, FAILURE, BRANCH})),
        _d("t_write_unix", _s("info"), _s("sock"), routes=frozenset({REQUEST, FAILURE, BRANCH})),
        _d(
            "t_new_request",
            _s("method"),
            _s("ruri"),
            _s("from"),
            _s("to"),
            _s("body", True),
            _s("ctx", True),
            routes=ALL_ROUTES,
        ),
        _d("t_inject_branches", _s("source"), _s("flags", True), routes=frozenset({REQUEST, ONREPLY})),
        _d(
            "t_wait_for_new_branches",
            ParamSpec(INT, optional=True, name="branches"),
            routes=frozenset({REQUEST}),
        ),
        _d("t_wait_no_more_branches", routes=_RFOB),
        _d("t_anycast_replicate", routes=frozenset({REQUEST})),
        _d(
            "t_reply_by_callid",
            ParamSpec(INT, name="code"),
            _s("reason_phrase"),
            _s("callid", True),
            _s("cseq", True),
            routes=frozenset({REQUEST}),
        ),
        _d(
            "t_get_branch_idx_by_attr",
            _s("attr"),
            _s("val_str", True),
            ParamSpec(INT, optional=True, name="val_int"),
            ParamSpec(VAR, optional=True, name="result_var"),
            ParamSpec(INT, optional=True, name="offset"),
            routes=ALL_ROUTES,
        ),
        _d("t_release", routes=frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("fr_timeout", INT, 5),
        ModParamSpec("fr_inv_timeout", INT, 120),
        ModParamSpec("fr_timer", INT, 5),
        ModParamSpec("fr_inv_timer", INT, 120),
        ModParamSpec("fr_timer_avp", STR),
        ModParamSpec("fr_inv_timer_avp", STR),
        ModParamSpec("wt_timer", INT, 5),
        ModParamSpec("delete_timer", INT, 2),
        ModParamSpec("T1_timer", INT, 500),
        ModParamSpec("T2_timer", INT, 4000),
        ModParamSpec("ruri_matching", INT, 1),
        ModParamSpec("via1_matching", INT, 1),
        ModParamSpec("unix_tx_timeout", INT, 2),
        ModParamSpec("restart_fr_on_each_reply", INT, 1),
        ModParamSpec("tw_append", STR, None, repeatable=True),
        ModParamSpec("enable_stats", INT, 1),
        ModParamSpec("pass_provisional_replies", INT, 0),
        ModParamSpec("syn_branch", INT, 1),
        ModParamSpec("onreply_avp_mode", INT, 0),
        ModParamSpec("disable_6xx_block", INT, 0),
        ModParamSpec("minor_branch_flag", ANY),
        ModParamSpec("own_timer_proc", INT, 0),
        ModParamSpec("timer_partitions", INT, 1),
        ModParamSpec("auto_100trying", INT, 1),
        ModParamSpec("tm_replication_cluster", INT, 0),
        ModParamSpec("cluster_param", STR, "cid"),
        ModParamSpec("cluster_auto_cancel", INT, 1),
        ModParamSpec("local_request_route", STR),
        ModParamSpec("local_reply_route", STR),
    ],
)
