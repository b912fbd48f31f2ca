"""proto_ws: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "proto_ws",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("ws_port", INT),
        ModParamSpec("ws_max_msg_chunks", INT),
        ModParamSpec("ws_send_timeout", INT, 100),
        ModParamSpec("ws_resource", STR, "/"),
        ModParamSpec("ws_handshake_timeout", INT, 100),
        ModParamSpec("trace_destination", STR),
        ModParamSpec("trace_on", INT, 0),
        ModParamSpec("trace_filter_route", STR),
        ModParamSpec("require_origin", INT, 1),
    ],
)
