"""regex: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

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
    "regex",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "pcre_match",
            (ParamSpec(STR, name="string"), ParamSpec(STR, name="pcre_regex")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "pcre_match_group",
            (ParamSpec(STR, name="string"), ParamSpec(INT, optional=True, name="group")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
    ],
    params=[
        ModParamSpec("file", STR),
        ModParamSpec("max_groups", INT),
        ModParamSpec("group_max_size", INT),
        ModParamSpec("pcre_caseless", INT, 0),
        ModParamSpec("pcre_multiline", INT, 0),
        ModParamSpec("pcre_dotall", INT, 0),
        ModParamSpec("pcre_extended", INT, 0),
    ],
)
