"""proto_tls: the TLS transport's modparams (``socket=tls:...`` listeners are pysips.net.TLSTransport).

``tls_handshake_timeout`` (ms) bounds each connection's handshake; certificates and verification come from
tls_mgm (pysips/modules/tls_mgm.py). The other parameters are accepted and have no effect: sends never block
(``tls_send_timeout``), CRLF keep-alives are always answered, tracing is not done."""

from __future__ import annotations

from pysips.modules import INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec
from pysips.modules.tls_mgm import is_peer_verified

MODULE = ModuleSpec.build(
    "proto_tls",
    doc="TLS transport parameters (tls_handshake_timeout); certificates come from tls_mgm",
    functions=[
        FunctionSpec("is_peer_verified", (), is_peer_verified, frozenset({REQUEST})),
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
