"""userblacklist: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import FAILURE, INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "userblacklist",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "check_user_blacklist",
            (
                ParamSpec(STR, name="user"),
                ParamSpec(STR, name="domain"),
                ParamSpec(STR, optional=True, name="number"),
                ParamSpec(STR, optional=True, name="table"),
            ),
            None,
            frozenset({REQUEST, FAILURE}),
        ),
        FunctionSpec("check_blacklist", (ParamSpec(STR, name="table"),), None, frozenset({REQUEST, FAILURE})),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "userblacklist"),
        ModParamSpec("use_domain", INT, 0),
    ],
)
