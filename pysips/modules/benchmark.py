"""benchmark: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
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

MODULE = ModuleSpec.build(
    "benchmark",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "bm_start_timer",
            (ParamSpec(STR, name="name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "bm_log_timer",
            (ParamSpec(STR, name="name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
    ],
    params=[
        ModParamSpec("enable", INT, 0),
        ModParamSpec("granularity", INT, 100),
        ModParamSpec("loglevel", INT),
    ],
)
