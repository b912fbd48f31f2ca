"""exec: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    ALL_ROUTES,
    ANY,
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
    "exec",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "exec",
            (
                ParamSpec(STR, name="command"),
                ParamSpec(STR, optional=True, name="stdin"),
                ParamSpec(VAR, optional=True, name="stdout"),
                ParamSpec(VAR, optional=True, name="stderr"),
                ParamSpec(VAR, optional=True, name="envavp"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "exec_dset", (ParamSpec(ANY, name="commandDEPRECATED"),), None, frozenset({REQUEST, FAILURE})
        ),
        FunctionSpec(
            "exec_msg",
            (ParamSpec(ANY, name="commandDEPRECATED"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, LOCAL, TIMER, EVENT}),
        ),
        FunctionSpec(
            "exec_avp",
            (ParamSpec(ANY, name="command"), ParamSpec(ANY, optional=True, name="avplistDEPRECATED")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "exec_getenv",
            (ParamSpec(ANY, name="environment_variable"), ParamSpec(ANY, name="avpDEPRECATED")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, LOCAL, STARTUP, TIMER, EVENT}),
        ),
    ],
    params=[
        ModParamSpec("time_to_kill", INT, 0),
        ModParamSpec("setvars", INT, 0),
        ModParamSpec("async", INT, 0),
    ],
)
