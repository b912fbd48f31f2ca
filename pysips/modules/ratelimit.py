"""ratelimit: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    ANY,
    BRANCH,
    ERROR,
    EVENT,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STR,
    TIMER,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "ratelimit",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "rl_check",
            (
                ParamSpec(STR, optional=True, name="name"),
                ParamSpec(INT, optional=True, name="limit"),
                ParamSpec(STR, optional=True, name="algorithm"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, ERROR, LOCAL, TIMER, EVENT}),
        ),
        FunctionSpec(
            "rl_dec_count",
            (ParamSpec(STR, name="name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, ERROR, LOCAL, TIMER, EVENT}),
        ),
        FunctionSpec(
            "rl_reset_count",
            (ParamSpec(STR, name="name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, ERROR, LOCAL, TIMER, EVENT}),
        ),
        FunctionSpec("rl_check_pipe", (ParamSpec(ANY),), None, frozenset({REQUEST, LOCAL})),
        FunctionSpec(
            "rl_drop",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            None,
            frozenset({REQUEST, LOCAL}),
        ),
    ],
    params=[
        ModParamSpec("timer_interval", INT),
        ModParamSpec("queue", STR, None, repeatable=True),
        ModParamSpec("pipe", STR, None, repeatable=True),
        ModParamSpec("reply_code", INT, 503),
        ModParamSpec("reply_reason", STR, "Server Unavailable"),
        ModParamSpec("expire_time", INT),
        ModParamSpec("hash_size", INT),
        ModParamSpec("default_algorithm", STR, "TAILDROP"),
        ModParamSpec("cachedb_url", STR),
        ModParamSpec("db_prefix", STR, "rl_pipe_"),
        ModParamSpec("repl_buffer_threshold", INT),
        ModParamSpec("repl_timer_interval", INT),
        ModParamSpec("repl_timer_expire", INT),
        ModParamSpec("accept_pipes_from", INT, 0),
        ModParamSpec("replicate_pipes_to", INT, 0),
        ModParamSpec("accept_pipes_timeout", INT, 10),
        ModParamSpec("repl_pipes_auth_check", INT, 0),
        ModParamSpec("window_size", INT, 10),
        ModParamSpec("slot_period", INT, 200),
        ModParamSpec("pipe_replication_cluster", INT, 0),
        ModParamSpec("limit_per_interval", INT, 0),
    ],
)
