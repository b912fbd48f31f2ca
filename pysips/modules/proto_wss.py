"""proto_wss: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "proto_wss",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("wss_port", INT),
        ModParamSpec("wss_max_msg_chunks", INT),
        ModParamSpec("wss_resource", STR, "/"),
        ModParamSpec("wss_handshake_timeout", INT, 100),
        ModParamSpec("trace_destination", STR),
        ModParamSpec("trace_on", INT, 0),
        ModParamSpec("trace_filter_route", STR),
        ModParamSpec("cert_check_on_conn_reusage", INT, 0),
        ModParamSpec("wss_send_timeout", INT, 100),
        ModParamSpec("require_origin", INT, 1),
        ModParamSpec("wss_tls_handshake_timeout", INT, 100),
    ],
)
