"""proto_tls: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "proto_tls",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("is_peer_verified", (), None, frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("tls_port", INT),
        ModParamSpec("tls_handshake_timeout", INT, 100),
        ModParamSpec("tls_send_timeout", INT, 100),
        ModParamSpec("client_domain_avp", STR),
        ModParamSpec("server_domain", STR, None, repeatable=True),
        ModParamSpec("client_domain", STR, None, repeatable=True),
        ModParamSpec("tls_method", STR, None, repeatable=True),
        ModParamSpec("verify_cert", STR, None, repeatable=True),
        ModParamSpec("require_cert", STR, None, repeatable=True),
        ModParamSpec("certificate", STR, None, repeatable=True),
        ModParamSpec("private_key", STR, None, repeatable=True),
        ModParamSpec("ca_list", STR, None, repeatable=True),
        ModParamSpec("ca_dir", STR, None, repeatable=True),
        ModParamSpec("ciphers_list", STR, None, repeatable=True),
        ModParamSpec("dh_params", STR, None, repeatable=True),
        ModParamSpec("ec_curve", STR, None, repeatable=True),
        ModParamSpec("tls_crlf_pingpong", INT, 1),
        ModParamSpec("tls_crlf_drop", INT, 0),
        ModParamSpec("tls_max_msg_chunks", INT),
        ModParamSpec("trace_destination", STR),
        ModParamSpec("trace_on", INT, 0),
        ModParamSpec("trace_filter_route", STR),
        ModParamSpec("cert_check_on_conn_reusage", INT, 0),
        ModParamSpec("tls_async", INT, 1),
        ModParamSpec("tls_async_max_postponed_chunks", INT, 32),
        ModParamSpec("tls_async_local_connect_timeout", INT, 100),
        ModParamSpec("tls_async_handshake_timeout", INT, 10),
    ],
)
