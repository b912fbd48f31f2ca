"""sl: stateless replies (``sl_send_reply``, ``sl_reply_error``) through ``ctx.env.reply(..., stateful=False)``."""

from __future__ import annotations

from typing import Any

from pysips.modules import ERROR, INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec


def reply_code_fixup(value: Any) -> int:
    """A reply code given as a constant must be 100..699 (2.x passes it as the string "404")."""
    try:
        code = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"bad reply code {value!r}") from None
    if not 100 <= code <= 699:
        raise ValueError(f"reply code {code} out of range (100..699)")
    return code


def _code(ctx: Any, code: Any) -> int | None:
    try:
        c = int(code)
    except (TypeError, ValueError):
        c = 0
    if not 100 <= c <= 699:
        env = ctx.env
        env.log(ctx, -1, f"invalid reply code {code!r}")
        return None
    return c


def w_sl_send_reply(ctx: Any, code: Any, reason: str) -> int:
    msg = ctx.msg
    if msg is None or not msg.is_request:
        return -1
    c = _code(ctx, code)
    if c is None:
        return -1
    if msg.method == "ACK":
        # an ACK is never answered
        return -1
    return ctx.env.reply(ctx, c, reason, False)


def w_sl_reply_error(ctx: Any) -> int:
    """Reply with the status derived from the last internal error ($err.rcode / $err.rreason; 500 by default)."""
    msg = ctx.msg
    if msg is None or not msg.is_request or msg.method == "ACK":
        return -1
    code = getattr(ctx, "err_rcode", 0) or 500
    reason = getattr(ctx, "err_rreason", None) or "Server Internal Error"
    return ctx.env.reply(ctx, int(code), reason, False)


MODULE = ModuleSpec.build(
    "sl",
    functions=[
        FunctionSpec(
            "sl_send_reply",
            (ParamSpec(INT, name="code", fixup=reply_code_fixup), ParamSpec(STR, name="reason")),
            w_sl_send_reply,
            frozenset({REQUEST, ERROR}),
        ),
        FunctionSpec("sl_reply_error", (), w_sl_reply_error, frozenset({REQUEST})),
    ],
    params=[ModParamSpec("enable_stats", INT, 1)],
)
