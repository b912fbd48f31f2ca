"""domainpolicy: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "domainpolicy",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("dp_can_connect", (), None, frozenset({REQUEST})),
        FunctionSpec("dp_apply_policy", (), None, frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("dp_table", STR),
        ModParamSpec("dp_col_rule", STR),
        ModParamSpec("dp_col_type", STR),
        ModParamSpec("dp_col_att", STR),
        ModParamSpec("dp_col_val", STR),
        ModParamSpec("port_override_avp", STR),
        ModParamSpec("transport_override_avp", STR),
        ModParamSpec("domain_prefix_avp", STR),
        ModParamSpec("domain_suffix_avp", STR),
        ModParamSpec("domain_replacement_avp", STR),
        ModParamSpec("send_socket_avp", STR),
    ],
)
