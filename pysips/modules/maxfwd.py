"""maxfwd: Max-Forwards processing (RFC 3261 16.3 / 16.6).

``mf_process_maxfwd_header(max)``: 2 = header added with ``max``; 1 = decremented (a value above ``max_limit`` is
first lowered to it); -1 = the header is 0 (the script should answer 483); -2 = unparsable header.
"""

from __future__ import annotations

from typing import Any

from pysips.modules import BRANCH, FAILURE, INT, REQUEST, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MAXFWD_UPPER_LIMIT = 256
_settings = {"max_limit": MAXFWD_UPPER_LIMIT}


def init(params: dict[str, Any]) -> None:
    """Apply the resolved modparams (called once at script load)."""
    limit = params.get("max_limit", MAXFWD_UPPER_LIMIT)
    if not isinstance(limit, int) or not 1 <= limit <= MAXFWD_UPPER_LIMIT:
        raise ValueError(f"max_limit must be 1..{MAXFWD_UPPER_LIMIT}, got {limit!r}")
    _settings["max_limit"] = limit


def maxfwd_fixup(value: Any) -> int:
    v = int(value)
    if not 1 <= v <= MAXFWD_UPPER_LIMIT:
        raise ValueError(f"invalid Max-Forwards value {v} (1..{MAXFWD_UPPER_LIMIT})")
    return v


def _present(msg: Any) -> int:
    """The Max-Forwards value; -1 if absent, -2 if unparsable."""
    raw = msg.get_header("Max-Forwards")
    if raw is None:
        return -1
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 5:
        return -2
    return int(raw)


def w_mf_process_maxfwd_header(ctx: Any, max_value: int) -> int:
    msg = ctx.msg
    if msg is None or not msg.is_request:
        return -2
    val = _present(msg)
    if val == -1:
        msg.add_header("Max-Forwards", str(max_value))
        return 2
    if val == -2:
        return -2
    if val == 0:
        return -1
    limit = _settings["max_limit"]
    if val > limit:
        val = limit + 1
    msg.set_header("Max-Forwards", str(val - 1))
    return 1


def w_is_maxfwd_lt(ctx: Any, limit: int) -> int:
    msg = ctx.msg
    if msg is None or not msg.is_request:
        return -3
    val = _present(msg)
    if val < 0:
        return val - 1
    return -1 if val >= limit else 1


MODULE = ModuleSpec.build(
    "maxfwd",
    functions=[
        FunctionSpec(
            "mf_process_maxfwd_header",
            (ParamSpec(INT, name="max_value", fixup=maxfwd_fixup),),
            w_mf_process_maxfwd_header,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "is_maxfwd_lt",
            (ParamSpec(INT, name="max_value", fixup=maxfwd_fixup),),
            w_is_maxfwd_lt,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
    ],
    params=[ModParamSpec("max_limit", INT, MAXFWD_UPPER_LIMIT)],
)
