"""gflags: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import ALL_ROUTES, INT, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "gflags",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("set_gflag", (ParamSpec(INT, name="flag"),), None, ALL_ROUTES),
        FunctionSpec("reset_gflag", (ParamSpec(INT, name="flag"),), None, ALL_ROUTES),
        FunctionSpec("is_gflag", (ParamSpec(INT, name="flag"),), None, ALL_ROUTES),
    ],
    params=[
        ModParamSpec("initial", INT, 0),
    ],
)
