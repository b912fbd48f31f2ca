"""signaling: ``send_reply`` answers statefully when the request has a transaction, statelessly otherwise.

The choice is the Env's: ``ctx.env.reply(ctx, code, reason, stateful=None)`` means "auto".
"""

from __future__ import annotations

from typing import Any

from pysips.modules import ERROR, FAILURE, INT, REQUEST, STR, FunctionSpec, ModuleSpec, ParamSpec
from pysips.modules.sl import _code, reply_code_fixup


def w_send_reply(ctx: Any, code: Any, reason: str) -> int:
    req = ctx.request_msg()
    if req is None or req.method == "ACK":
        return -1
    c = _code(ctx, code)
    if c is None:
        return -1
    return ctx.env.reply(ctx, c, reason, None)


MODULE = ModuleSpec.build(
    "signaling",
    functions=[
        FunctionSpec(
            "send_reply",
            (ParamSpec(INT, name="code", fixup=reply_code_fixup), ParamSpec(STR, name="reason")),
            w_send_reply,
            frozenset({REQUEST, FAILURE, ERROR}),
        ),
    ],
)
