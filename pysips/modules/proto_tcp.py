"""proto_tcp: the TCP transport (2.x+); sockets come from ``listen``/``socket`` lines, handled by the server."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "proto_tcp",
    params=[
        ModParamSpec("tcp_port", INT, 5060),
        ModParamSpec("tcp_send_timeout", INT, 100),
        ModParamSpec("tcp_max_msg_chunks", INT, 32),
        ModParamSpec("tcp_crlf_pingpong", INT, 1),
        ModParamSpec("tcp_crlf_drop", INT, 0),
        ModParamSpec("tcp_async", INT, 1),
        ModParamSpec("tcp_async_max_postponed_chunks", INT, 32),
        ModParamSpec("tcp_async_local_connect_timeout", INT, 100),
        ModParamSpec("tcp_async_local_write_timeout", INT, 10),
        ModParamSpec("tcp_parallel_handling", INT, 0),
        ModParamSpec("trace_destination", STR),
        ModParamSpec("trace_on", INT, 0),
        ModParamSpec("trace_filter_route", STR),
    ],
)
