"""rtp_relay: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    BRANCH,
    FAILURE,
    INT,
    REQUEST,
    STR,
    FunctionSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "rtp_relay",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "rtp_relay_engage",
            (ParamSpec(STR, name="engine"), ParamSpec(INT, optional=True, name="set")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
    ],
    params=[],
)
