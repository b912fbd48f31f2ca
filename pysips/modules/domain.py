"""domain: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    BRANCH,
    EVENT,
    FAILURE,
    INT,
    LOCAL,
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
    "domain",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "is_from_local",
            (ParamSpec(VAR, optional=True, name="attrs_var"),),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "is_uri_host_local",
            (ParamSpec(VAR, optional=True, name="attrs_var"),),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "is_domain_local",
            (ParamSpec(STR, name="domain"), ParamSpec(VAR, optional=True, name="attrs_var")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("db_mode", INT, 0),
        ModParamSpec("domain_table", STR),
        ModParamSpec("domain_col", STR),
        ModParamSpec("attrs_col", STR),
    ],
)
