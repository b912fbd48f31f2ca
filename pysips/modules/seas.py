"""seas: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import ANY, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "seas",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("as_relay_t", (ParamSpec(ANY, name="Stringname"),), None, frozenset({REQUEST})),
        FunctionSpec("as_relay_sl", (ParamSpec(ANY),), None, frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("listen_sockets", STR),
        ModParamSpec("stats_socket", STR),
        ModParamSpec("jain_ping", STR),
        ModParamSpec("servlet_ping", STR),
        ModParamSpec("clusters", STR),
    ],
)
