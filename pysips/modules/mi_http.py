"""mi_http: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "mi_http",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("mi_http_root", STR, "mi"),
        ModParamSpec("mi_http_method", INT, 0),
        ModParamSpec("trace_destination", STR),
        ModParamSpec("trace_bwlist", STR),
        ModParamSpec("root", STR, "mi"),
        ModParamSpec("pretty_printing", INT),
    ],
)
