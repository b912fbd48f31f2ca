"""statistics: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

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

MODULE = ModuleSpec.build(
    "statistics",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "update_stat",
            (ParamSpec(STR, name="variable"), ParamSpec(INT, name="value")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "reset_stat",
            (ParamSpec(STR, name="variable"),),
            None,
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
