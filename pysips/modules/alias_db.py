"""alias_db: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STARTUP,
    STR,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "alias_db",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "alias_db_lookup",
            (ParamSpec(STR, name="table_name"), ParamSpec(STR, optional=True, name="flags")),
            None,
            frozenset({REQUEST, FAILURE}),
        ),
        FunctionSpec(
            "alias_db_find",
            (
                ParamSpec(STR, name="table_name"),
                ParamSpec(STR, name="input_uri"),
                ParamSpec(VAR, name="output_var"),
                ParamSpec(STR, optional=True, name="flags"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("user_column", STR, "username"),
        ModParamSpec("domain_column", STR, "domain"),
        ModParamSpec("alias_user_column", STR, "alias_username"),
        ModParamSpec("alias_domain_column", STR, "alias_domain"),
        ModParamSpec("use_domain", INT, 0),
        ModParamSpec("domain_prefix", STR),
        ModParamSpec("append_branches", INT, 0),
    ],
)
