"""statistics: script-defined statistics (OpenSIPS modules/statistics): update_stat / reset_stat.

``modparam("statistics", "variable", "name[/no_reset]")`` declares a statistic of group "script" (or
``group:name``); ``update_stat("[group:]name", n)`` adds n, creating the statistic on first use as OpenSIPS 3.x does;
``reset_stat`` sets it back to 0. They are read with get_statistics / prometheus like the core ones (pysips/mi/stats.py).
Outside a server (``pysips simulate``) the values live on the script Env.
"""

from __future__ import annotations

from typing import Any

from pysips.modules import (
    ALL_ROUTES,
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
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)


def _owner(ctx: Any) -> Any:
    env = ctx.env
    return getattr(env, "core", None) or env


def w_update_stat(ctx: Any, variable: str, value: int) -> int:
    from pysips.mi.stats import update_script_stat

    try:
        delta = int(value)
    except (TypeError, ValueError):
        return -1
    name = str(variable).strip()
    if not name:
        return -1
    update_script_stat(_owner(ctx), name, delta)
    return 1


def w_reset_stat(ctx: Any, variable: str) -> int:
    from pysips.mi.stats import reset_script_stat

    return 1 if reset_script_stat(_owner(ctx), str(variable).strip()) else -1


MODULE = ModuleSpec.build(
    "statistics",
    doc="script statistics: update_stat, reset_stat (the rest declared only)",
    functions=[
        FunctionSpec(
            "update_stat",
            (ParamSpec(STR, name="variable"), ParamSpec(INT, name="value")),
            w_update_stat,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "reset_stat",
            (ParamSpec(STR, name="variable"),),
            w_reset_stat,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "stat_iter_init",
            (ParamSpec(STR, name="group"), ParamSpec(STR, name="iter")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "stat_iter_next",
            (ParamSpec(VAR, name="name"), ParamSpec(VAR, name="val"), ParamSpec(STR, name="iter")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "update_stat_series",
            (ParamSpec(STR, name="profile"), ParamSpec(STR, name="variable"), ParamSpec(INT, name="value")),
            None,
            ALL_ROUTES,
        ),
    ],
    params=[
        ModParamSpec("variable", STR, None, repeatable=True),
        ModParamSpec("stat_groups", STR, None, repeatable=True),
        ModParamSpec("stat_series_profile", STR, None, repeatable=True),
    ],
)
