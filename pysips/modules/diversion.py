"""diversion: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    FAILURE,
    INT,
    LOCAL,
    REQUEST,
    STR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "diversion",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "add_diversion",
            (
                ParamSpec(STR, name="reason"),
                ParamSpec(STR, optional=True, name="uri"),
                ParamSpec(INT, optional=True, name="counter"),
            ),
            None,
            frozenset({REQUEST, FAILURE, LOCAL}),
        ),
    ],
    params=[
        ModParamSpec("suffix", STR, ""),
    ],
)
