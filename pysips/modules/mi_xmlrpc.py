"""mi_xmlrpc: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "mi_xmlrpc",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("port", INT, 0),
        ModParamSpec("log_file", STR),
        ModParamSpec("reply_option", INT, 0),
        ModParamSpec("buffer_size", INT),
        ModParamSpec("http_root", STR, "RPC2"),
        ModParamSpec("trace_destination", STR),
        ModParamSpec("trace_bwlist", STR),
    ],
)
