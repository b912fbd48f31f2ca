"""group: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    ANY,
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    REQUEST,
    STR,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "group",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "aaa_is_user_in",
            (ParamSpec(STR, name="uri"), ParamSpec(STR, name="group")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "db_is_user_in",
            (ParamSpec(STR, name="uri"), ParamSpec(STR, name="group")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "db_get_user_group",
            (ParamSpec(STR, name="uri"), ParamSpec(VAR, name="output_avp")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "is_user_in", (ParamSpec(ANY), ParamSpec(ANY)), None, frozenset({REQUEST, FAILURE, BRANCH, LOCAL})
        ),
        FunctionSpec(
            "get_user_group",
            (ParamSpec(ANY), ParamSpec(ANY)),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("table", STR),
        ModParamSpec("user_column", STR),
        ModParamSpec("domain_column", STR),
        ModParamSpec("group_column", STR),
        ModParamSpec("use_domain", INT, 0),
        ModParamSpec("re_table", STR),
        ModParamSpec("re_exp_column", STR),
        ModParamSpec("re_gid_column", STR),
        ModParamSpec("multiple_gid", INT, 1),
        ModParamSpec("aaa_url", STR),
    ],
)
