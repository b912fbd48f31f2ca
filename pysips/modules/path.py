"""path: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "path",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("add_path", (ParamSpec(STR, optional=True, name="user"),), None, frozenset({REQUEST})),
        FunctionSpec(
            "add_path_received", (ParamSpec(STR, optional=True, name="user"),), None, frozenset({REQUEST})
        ),
    ],
    params=[
        ModParamSpec("use_received", INT, 0),
        ModParamSpec("enable_double_path", INT, 1),
    ],
)
