"""mi_datagram: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "mi_datagram",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("children_count", INT),
        ModParamSpec("socket_name", STR),
        ModParamSpec("socket_timeout", INT, 2000),
        ModParamSpec("unix_socket_mode", INT, 0),
        ModParamSpec("unix_socket_group", STR),
        ModParamSpec("unix_socket_user", STR),
        ModParamSpec("reply_indent", STR),
        ModParamSpec("trace_destination", STR),
        ModParamSpec("trace_bwlist", STR),
        ModParamSpec("pretty_printing", INT),
    ],
)
