"""load_balancer: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STR,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "load_balancer",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "lb_start",
            (
                ParamSpec(INT, name="grp"),
                ParamSpec(STR, name="resources"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(VAR, optional=True, name="attrs"),
            ),
            None,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
        FunctionSpec(
            "load_balance",
            (
                ParamSpec(INT, name="grp"),
                ParamSpec(STR, name="resources"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(VAR, optional=True, name="attrs"),
            ),
            None,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
        FunctionSpec(
            "lb_start_or_next",
            (
                ParamSpec(INT, name="grp"),
                ParamSpec(STR, name="resources"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(VAR, optional=True, name="attrs"),
            ),
            None,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
        FunctionSpec(
            "lb_next",
            (ParamSpec(VAR, optional=True, name="attrs"),),
            None,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
        FunctionSpec("lb_reset", (), None, frozenset({REQUEST, FAILURE, BRANCH})),
        FunctionSpec("lb_is_started", (), None, frozenset({REQUEST, FAILURE, BRANCH})),
        FunctionSpec("lb_disable_dst", (), None, frozenset({REQUEST, FAILURE, BRANCH})),
        FunctionSpec(
            "lb_is_destination",
            (
                ParamSpec(STR, name="ip"),
                ParamSpec(INT, name="port"),
                ParamSpec(INT, optional=True, name="group"),
                ParamSpec(INT, optional=True, name="active"),
                ParamSpec(VAR, optional=True, name="attrs"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "lb_count_call",
            (
                ParamSpec(STR, name="ip"),
                ParamSpec(INT, name="port"),
                ParamSpec(INT, name="grp"),
                ParamSpec(STR, name="resources"),
                ParamSpec(INT, optional=True, name="undo"),
            ),
            None,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
        FunctionSpec("lb_disable", (), None, frozenset({REQUEST, FAILURE})),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR),
        ModParamSpec("probing_interval", INT, 30),
        ModParamSpec("probing_method", STR, "OPTIONS"),
        ModParamSpec("probing_from", STR, "sip:prober@localhost"),
        ModParamSpec("probing_reply_codes", STR),
        ModParamSpec("lb_define_blacklist", STR, None, repeatable=True),
        ModParamSpec("probing_verbose", INT, 0),
        ModParamSpec("accept_replicated_status", INT, 0),
        ModParamSpec("replicate_status_to", INT, 0),
        ModParamSpec("fetch_freeswitch_stats", INT),
        ModParamSpec("initial_freeswitch_load", INT, 1000),
        ModParamSpec("status_replication_cluster", INT, 0),
        ModParamSpec("cluster_id", INT, 0),
        ModParamSpec("cluster_sharing_tag", STR),
    ],
)
