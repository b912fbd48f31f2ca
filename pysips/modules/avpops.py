"""avpops: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    ALL_ROUTES,
    ANY,
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
    "avpops",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "avp_db_query",
            (
                ParamSpec(STR, name="query"),
                ParamSpec(STR, optional=True, name="res_col_avps"),
                ParamSpec(INT, optional=True, name="db_id"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "avp_print",
            (),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_db_load",
            (
                ParamSpec(STR, name="source"),
                ParamSpec(STR, name="name"),
                ParamSpec(INT, optional=True, name="db_id"),
                ParamSpec(STR, optional=True, name="prefix"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_db_delete",
            (
                ParamSpec(STR, name="source"),
                ParamSpec(STR, name="name"),
                ParamSpec(INT, optional=True, name="db_id"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_db_store",
            (
                ParamSpec(STR, name="source"),
                ParamSpec(STR, name="name"),
                ParamSpec(INT, optional=True, name="db_id"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_delete",
            (ParamSpec(STR, name="name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_copy",
            (ParamSpec(STR, name="from_avp"), ParamSpec(STR, name="to_avp")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_shuffle",
            (ParamSpec(STR, name="name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_pushto",
            (ParamSpec(STR, name="destination"), ParamSpec(STR, name="name")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_check",
            (ParamSpec(STR, name="name"), ParamSpec(STR, name="op_value")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_op",
            (ParamSpec(STR, name="name"), ParamSpec(STR, name="op_value")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_subst",
            (ParamSpec(STR, name="avps"), ParamSpec(STR, name="subst")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "is_avp_set",
            (ParamSpec(STR, name="name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
        FunctionSpec(
            "avp_insert",
            (ParamSpec(ANY, name="avp_name"), ParamSpec(ANY, name="value"), ParamSpec(ANY, name="index")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR, None, repeatable=True),
        ModParamSpec("avp_url", STR),
        ModParamSpec("avp_table", STR, "usr_preferences"),
        ModParamSpec("use_domain", INT, 0),
        ModParamSpec("uuid_column", STR, "uuid"),
        ModParamSpec("attribute_column", STR, "attribute"),
        ModParamSpec("value_column", STR, "value"),
        ModParamSpec("type_column", STR, "type"),
        ModParamSpec("username_column", STR, "username"),
        ModParamSpec("domain_column", STR, "domain"),
        ModParamSpec("db_scheme", STR, None, repeatable=True),
        ModParamSpec("buf_size", INT, 1024),
    ],
)
