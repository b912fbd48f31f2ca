"""pike: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "pike",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("pike_check_req", (), None, frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("sampling_time_unit", INT, 2),
        ModParamSpec("reqs_density_per_unit", INT, 30),
        ModParamSpec("remove_latency", INT, 120),
        ModParamSpec("pike_log_level", INT),
        ModParamSpec("check_route", STR),
    ],
)
