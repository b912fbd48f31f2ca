"""uac_redirect: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import FAILURE, INT, REGEX, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "uac_redirect",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "set_deny_filter",
            (ParamSpec(REGEX, name="filter"), ParamSpec(STR, name="flags")),
            None,
            frozenset({FAILURE}),
        ),
        FunctionSpec(
            "set_accept_filter",
            (ParamSpec(REGEX, name="filter"), ParamSpec(STR, name="flags")),
            None,
            frozenset({FAILURE}),
        ),
        FunctionSpec(
            "get_redirects",
            (
                ParamSpec(INT, optional=True, name="max_total"),
                ParamSpec(INT, optional=True, name="max_branch"),
            ),
            None,
            frozenset({FAILURE}),
        ),
    ],
    params=[
        ModParamSpec("deny_filter", STR),
        ModParamSpec("accept_filter", STR),
        ModParamSpec("default_filter", STR),
        ModParamSpec("acc_function", STR, "acc_log_request"),
        ModParamSpec("acc_db_table", STR, "acc"),
    ],
)
