"""avpops: is_avp_set() is implemented; the other functions are declarations from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

import re
from typing import Any

from pysips.modules import (
    ALL_ROUTES,
    ANY,
    BRANCH,
    EVENT,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STARTUP,
    STR,
    TIMER,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

_AVP = re.compile(r"\s*\$avp\(([^)\[\]]+)\)(?:\[(\d+)\])?\s*")


def avp_name_fixup(value: Any) -> tuple[str, int | None]:
    """'$avp(name)' or '$avp(name)[i]' -> (name, index or None)."""
    m = _AVP.fullmatch(str(value))
    if m is None:
        raise ValueError(f"expected an AVP such as $avp(name), got {value!r}")
    return m.group(1), int(m.group(2)) if m.group(2) is not None else None


def w_is_avp_set(ctx: Any, name: tuple[str, int | None]) -> int:
    """True when the AVP (or its value at the index) exists; OpenSIPS counts a set AVP even when empty."""
    avp, idx = name
    n = ctx.avps.count(avp)
    return 1 if (n > 0 if idx is None else n > idx) else -1


MODULE = ModuleSpec.build(
    "avpops",
    doc="is_avp_set only; the rest is declared",
    functions=[
        FunctionSpec(
            "avp_db_query",
            (
                ParamSpec(STR, name="query"),
                ParamSpec(STR, optional=True, name="res_col_avps"),
                ParamSpec(INT, optional=True, name="db_id"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "avp_print",
            (),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_db_load",
            (
                ParamSpec(STR, name="source"),
                ParamSpec(STR, name="name"),
                ParamSpec(INT, optional=True, name="db_id"),
                ParamSpec(STR, optional=True, name="prefix"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_db_delete",
            (
                ParamSpec(STR, name="source"),
                ParamSpec(STR, name="name"),
                ParamSpec(INT, optional=True, name="db_id"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_db_store",
            (
                ParamSpec(STR, name="source"),
                ParamSpec(STR, name="name"),
                ParamSpec(INT, optional=True, name="db_id"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_delete",
            (ParamSpec(STR, name="name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_copy",
            (ParamSpec(STR, name="from_avp"), ParamSpec(STR, name="to_avp")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_shuffle",
            (ParamSpec(STR, name="name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_pushto",
            (ParamSpec(STR, name="destination"), ParamSpec(STR, name="name")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_check",
            (ParamSpec(STR, name="name"), ParamSpec(STR, name="op_value")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_op",
            (ParamSpec(STR, name="name"), ParamSpec(STR, name="op_value")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_subst",
            (ParamSpec(STR, name="avps"), ParamSpec(STR, name="subst")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "is_avp_set",
            (ParamSpec(STR, name="name", raw=True, fixup=avp_name_fixup),),
            w_is_avp_set,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_insert",
            (ParamSpec(ANY, name="avp_name"), ParamSpec(ANY, name="value"), ParamSpec(ANY, name="index")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR, None, repeatable=True),
        ModParamSpec("avp_url", STR),
        ModParamSpec("avp_table", STR, "usr_preferences"),
        ModParamSpec("use_domain", INT, 0),
        ModParamSpec("uuid_column", STR, "uuid"),
        ModParamSpec("attribute_column", STR, "attribute"),
        ModParamSpec("value_column", STR, "value"),
        ModParamSpec("type_column", STR, "type"),
        ModParamSpec("username_column", STR, "username"),
        ModParamSpec("domain_column", STR, "domain"),
        ModParamSpec("db_scheme", STR, None, repeatable=True),
        ModParamSpec("buf_size", INT, 1024),
    ],
)
