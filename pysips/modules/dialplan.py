"""dialplan: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

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
    "dialplan",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "dp_translate",
            (
                ParamSpec(INT, name="id"),
                ParamSpec(STR, optional=True, name="input"),
                ParamSpec(VAR, optional=True, name="out_var"),
                ParamSpec(VAR, optional=True, name="attrs_var"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            None,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("table_name", STR),
        ModParamSpec("dpid_col", STR),
        ModParamSpec("pr_col", STR),
        ModParamSpec("match_op_col", STR),
        ModParamSpec("match_exp_col", STR),
        ModParamSpec("match_len_col", STR),
        ModParamSpec("subst_exp_col", STR),
        ModParamSpec("repl_exp_col", STR),
        ModParamSpec("attrs_col", STR),
        ModParamSpec("attrs_pvar", STR),
        ModParamSpec("attribute_pvar", STR),
        ModParamSpec("fetch_rows", INT, 1000),
        ModParamSpec("dsabled_col", STR),
        ModParamSpec("match_flags_col", STR),
        ModParamSpec("disabled_col", STR),
        ModParamSpec("partition", STR, None, repeatable=True),
        ModParamSpec("timerec_col", STR),
    ],
)
