"""nat_traversal: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "nat_traversal",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("nat_keepalive", (), None, frozenset({REQUEST})),
        FunctionSpec("fix_contact", (), None, frozenset({REQUEST, ONREPLY, BRANCH, LOCAL})),
        FunctionSpec(
            "client_nat_test",
            (ParamSpec(INT, name="type"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
    ],
    params=[
        ModParamSpec("keepalive_interval", INT, 60),
        ModParamSpec("keepalive_method", STR, "NOTIFY"),
        ModParamSpec("keepalive_from", STR, "NOTIFY"),
        ModParamSpec("keepalive_extra_headers", STR, "NOTIFY"),
        ModParamSpec("keepalive_state_file", STR, "keepalive_state"),
        ModParamSpec("cluster_id", INT, 0),
        ModParamSpec("cluster_sharing_tag", STR),
    ],
)
