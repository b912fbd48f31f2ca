"""sst: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import ANY, INT, ONREPLY, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "sst",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "sstCheckMin",
            (ParamSpec(INT, optional=True, name="send_reply_flag"),),
            None,
            frozenset({REQUEST, ONREPLY}),
        ),
    ],
    params=[
        ModParamSpec("enable_stats", INT, 1),
        ModParamSpec("min_se", INT, 90),
        ModParamSpec("timeout_avp", STR),
        ModParamSpec("reject_to_small", INT, 1),
        ModParamSpec("sst_flag", ANY, 0),
        ModParamSpec("sst_interval", INT, 0),
    ],
)
