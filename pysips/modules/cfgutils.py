"""cfgutils: random events, sleeps, time recurrences, timestamps, set helpers, script locks and $shv.

Locks are no-ops: a pysips worker runs one script at a time to completion, so a lock taken and released inside one
route run cannot be contended -- except across a sleep()/usleep(), which `pysips run` turns into a pause of that
script while others run (pysips/proxy/suspend.py): a sleep inside a locked section is not mutually exclusive here.
``sleep``/``usleep`` ask ``ctx.env.sleep(ctx, seconds)``; the base Env (check, simulate) only records them.

Module state set from modparams by :func:`init`: the random-event probability, and the initial ``$shv`` / ``$var``
values (``shvset``/``varset`` "name=i:1" / "name=s:text") exposed by :func:`shared_vars` / :func:`initial_vars`.
"""

from __future__ import annotations

import random
import time
from typing import Any

from pysips.modules import (
    ALL_ROUTES,
    INT,
    STR,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules._timerec import TimeRecExpr, parse_timerec_expr
from pysips.modules.core import log_error

_state: dict[str, Any] = {"initial": 10, "prob": 10}
_SHV: dict[str, Any] = {}
_VARS: dict[str, Any] = {}
_rng = random.Random()


def _parse_set(spec: str) -> tuple[str, Any]:
    """'name=i:12' / 'name=s:text' (cfgutils shvset/varset) -> (name, value)."""
    name, sep, rest = spec.partition("=")
    typ, sep2, val = rest.partition(":")
    if not sep or not sep2 or not name.strip() or typ.strip().lower() not in ("i", "s"):
        raise ValueError(f"bad shvset/varset value {spec!r} (expected name=i:number or name=s:text)")
    if typ.strip().lower() == "i":
        try:
            return name.strip(), int(val.strip())
        except ValueError:
            raise ValueError(f"bad integer in {spec!r}") from None
    return name.strip(), val


def init(params: dict[str, Any]) -> None:
    """Apply the resolved cfgutils modparams (called once at script load)."""
    p = params.get("initial_probability", 10)
    if not isinstance(p, int) or not 0 <= p <= 100:
        raise ValueError(f"initial_probability must be 0..100, got {p!r}")
    _state["initial"] = _state["prob"] = p
    _VARS.clear()  # varset values belong to this script load; $shv values live on (shared memory)
    for key, target in (("shvset", _SHV), ("varset", _VARS)):
        vals = params.get(key) or []
        for spec in [vals] if isinstance(vals, str) else vals:
            name, value = _parse_set(spec)
            target[name] = value


def shared_vars() -> dict[str, Any]:
    """The process-wide $shv table, pre-filled by shvset: the proxy passes it as ``Context(shv=...)``."""
    return _SHV


def initial_vars() -> dict[str, Any]:
    """$var values from varset, to seed each worker's $var dict."""
    return dict(_VARS)


def seed(n: int | None) -> None:
    """Make rand_event reproducible (tests)."""
    _rng.seed(n)


def _prob_fixup(value: Any) -> int:
    p = int(value)
    if not 0 <= p <= 100:
        raise ValueError(f"probability {p} out of range (0..100)")
    return p


def w_rand_event(ctx: Any, prob: int | None = None) -> int:
    p = _state["prob"] if prob is None else prob
    if p <= 0:
        return -1
    if p >= 100:
        return 1
    return 1 if _rng.randrange(100) < p else -1


def w_rand_set_prob(ctx: Any, prob: int) -> int:
    if not 0 <= prob <= 100:
        log_error(ctx, f"rand_set_prob: invalid probability {prob}")
        return -1
    _state["prob"] = prob
    return 1


def w_rand_reset_prob(ctx: Any) -> int:
    _state["prob"] = _state["initial"]
    return 1


def w_rand_get_prob(ctx: Any) -> int:
    return _state["prob"]


def _sleep(ctx: Any, seconds: float) -> int:
    fn = getattr(ctx.env, "sleep", None)
    if fn is not None:
        fn(ctx, seconds)
    else:
        ctx.env.record("sleep", seconds=seconds)
    return 1


def w_sleep(ctx: Any, sec: int) -> int:
    return _sleep(ctx, max(0, sec))


def w_usleep(ctx: Any, usec: int) -> int:
    return _sleep(ctx, max(0, usec) / 1_000_000)


def w_status(ctx: Any) -> int:
    ctx.env.record("mem_status")
    return 1


def _avp_name(spec: Any) -> str | None:
    """The AVP name of an un-indexed ``$avp(name)`` spec (whose values are all taken), else None."""
    if getattr(spec, "is_avp", False) and not getattr(spec, "has_index", False):
        inner = getattr(spec, "inner", None)
        if isinstance(inner, str):
            return inner
    return None


def _all_values(ctx: Any, spec: Any) -> list[Any]:
    name = _avp_name(spec)
    return ctx.avps.get_all(name) if name is not None else spec.get_all(ctx)


def w_set_count(ctx: Any, var: Any, out: Any = None) -> int:
    """Count the values of var into out; 1.x had no output variable and returned the count."""
    n = len(_all_values(ctx, var))
    if out is None:
        return n
    out.set(ctx, "=", n)
    return 1


def w_set_select_weight(ctx: Any, var: Any) -> int:
    """Roulette-wheel pick among the integer values of var; returns the index (values taken newest first)."""
    weights: list[int] = []
    for v in _all_values(ctx, var):
        try:
            weights.append(max(0, int(v)))
        except (TypeError, ValueError):
            weights.append(0)
    total = sum(weights)
    if not weights or total <= 0:
        return -1
    r = _rng.randrange(total)
    for i, w in enumerate(weights):
        if r < w:
            return i
        r -= w
    return len(weights) - 1


def w_ts_usec_delta(
    ctx: Any, t1s: int, t1us: int, t2s: int, t2us: int, delta_str: Any = None, delta_int: Any = None
) -> int:
    delta = abs((t1s * 1_000_000 + t1us) - (t2s * 1_000_000 + t2us))
    if delta_str is None and delta_int is None:
        log_error(ctx, "ts_usec_delta: no output variable")
        return -1
    if delta_str is not None:
        delta_str.set(ctx, "=", str(delta))
    if delta_int is not None:
        if delta > 2**31 - 1:
            return -1
        delta_int.set(ctx, "=", delta)
    return 1


def w_get_accurate_time(ctx: Any, sec: Any, usec: Any, as_str: Any = None) -> int:
    now = time.time()
    s = int(now)
    us = int(round((now - s) * 1_000_000)) % 1_000_000
    sec.set(ctx, "=", s)
    usec.set(ctx, "=", us)
    if as_str is not None:
        as_str.set(ctx, "=", f"{s}.{us:06d}")
    return 1


def timerec_fixup(value: Any) -> TimeRecExpr:
    return parse_timerec_expr(str(value))


def w_check_time_rec(ctx: Any, rec: Any, ts: int | None = None) -> int:
    if isinstance(rec, TimeRecExpr):
        expr = rec
    else:
        try:
            expr = parse_timerec_expr(str(rec))
        except ValueError as e:
            log_error(ctx, f"check_time_rec: {e}")
            return -2
    now = ctx.now if ts is None else ts
    return 1 if expr.match(now) else -1


def w_lock(ctx: Any, *keys: str) -> int:
    return 1


def w_shuffle_avps(ctx: Any, spec: Any) -> int:
    """Shuffle every value of an AVP in place."""
    name = _avp_name(spec)
    if name is None or name not in ctx.avps:
        return -1
    vals = ctx.avps.get_all(name)
    _rng.shuffle(vals)
    ctx.avps.delete_all(name)
    for v in vals:
        ctx.avps.append(name, v)
    return 1


def _v(name: str, opt: bool = False) -> ParamSpec:
    return ParamSpec(VAR, optional=opt, name=name)


def _i(name: str, opt: bool = False) -> ParamSpec:
    return ParamSpec(INT, optional=opt, name=name)


_R = ALL_ROUTES

MODULE = ModuleSpec.build(
    "cfgutils",
    functions=[
        FunctionSpec(
            "rand_event",
            (ParamSpec(INT, optional=True, name="probability", fixup=_prob_fixup),),
            w_rand_event,
            _R,
        ),
        FunctionSpec(
            "rand_set_prob", (ParamSpec(INT, name="probability", fixup=_prob_fixup),), w_rand_set_prob, _R
        ),
        FunctionSpec("rand_reset_prob", (), w_rand_reset_prob, _R),
        FunctionSpec("rand_get_prob", (), w_rand_get_prob, _R),
        FunctionSpec("sleep", (_i("time"),), w_sleep, _R),
        FunctionSpec("usleep", (_i("time"),), w_usleep, _R),
        FunctionSpec("abort", (), None, _R),
        FunctionSpec("pkg_status", (), w_status, _R),
        FunctionSpec("shm_status", (), w_status, _R),
        FunctionSpec("set_count", (_v("var_to_count"), _v("ret_var", True)), w_set_count, _R),
        FunctionSpec("set_select_weight", (_v("int_list_var"),), w_set_select_weight, _R),
        FunctionSpec(
            "ts_usec_delta",
            (
                _i("t1_sec"),
                _i("t1_usec"),
                _i("t2_sec"),
                _i("t2_usec"),
                _v("delta_str", True),
                _v("delta_int", True),
            ),
            w_ts_usec_delta,
            _R,
        ),
        FunctionSpec(
            "check_time_rec",
            (ParamSpec(STR, name="time_string", fixup=timerec_fixup), _i("timestamp", True)),
            w_check_time_rec,
            _R,
        ),
        FunctionSpec("get_static_lock", (ParamSpec(STR, name="key"),), w_lock, _R),
        FunctionSpec("release_static_lock", (ParamSpec(STR, name="key"),), w_lock, _R),
        FunctionSpec("get_dynamic_lock", (ParamSpec(STR, name="key"),), w_lock, _R),
        FunctionSpec("release_dynamic_lock", (ParamSpec(STR, name="key"),), w_lock, _R),
        FunctionSpec(
            "strings_share_lock",
            (ParamSpec(STR, name="key1"), ParamSpec(STR, optional=True, name="key2")),
            None,
            _R,
        ),
        FunctionSpec(
            "get_accurate_time", (_v("sec"), _v("usec"), _v("str_sec_usec", True)), w_get_accurate_time, _R
        ),
        FunctionSpec("shuffle_avps", (_v("name"),), w_shuffle_avps, _R),
    ],
    params=[
        ModParamSpec("initial_probability", INT, 10),
        ModParamSpec("hash_file", STR),
        ModParamSpec("shv_hash_size", INT, 64),
        ModParamSpec("shvset", STR, None, repeatable=True),
        ModParamSpec("varset", STR, None, repeatable=True),
        ModParamSpec("lock_pool_size", INT, 32),
    ],
)
