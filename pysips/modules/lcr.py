"""lcr: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    ANY,
    FAILURE,
    INT,
    ONREPLY,
    REQUEST,
    STR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "lcr",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("load_gws", (ParamSpec(ANY, optional=True),), None, frozenset({REQUEST})),
        FunctionSpec("load_gws_from_grp", (ParamSpec(ANY),), None, frozenset({REQUEST})),
        FunctionSpec("next_gw", (), None, frozenset({REQUEST, FAILURE})),
        FunctionSpec(
            "from_gw", (ParamSpec(ANY, optional=True),), None, frozenset({REQUEST, FAILURE, ONREPLY})
        ),
        FunctionSpec("from_gw_grp", (ParamSpec(ANY),), None, frozenset({REQUEST, FAILURE, ONREPLY})),
        FunctionSpec("to_gw", (ParamSpec(ANY, optional=True),), None, frozenset({REQUEST, FAILURE})),
        FunctionSpec("load_contacts", (), None, frozenset({REQUEST})),
        FunctionSpec("next_contacts", (), None, frozenset({REQUEST, FAILURE})),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("gw_table", STR),
        ModParamSpec("gw_name_column", STR),
        ModParamSpec("grp_id_column", STR),
        ModParamSpec("ip_addr_column", STR),
        ModParamSpec("port_column", STR),
        ModParamSpec("uri_scheme_column", STR),
        ModParamSpec("transport_column", STR),
        ModParamSpec("strip_column", STR),
        ModParamSpec("tag_column", STR),
        ModParamSpec("flags_column", STR),
        ModParamSpec("lcr_table", STR),
        ModParamSpec("prefix_column", STR),
        ModParamSpec("from_uri_column", STR),
        ModParamSpec("priority_column", STR),
        ModParamSpec("fr_inv_timer_avp", STR),
        ModParamSpec("gw_uri_avp", STR),
        ModParamSpec("ruri_user_avp", STR),
        ModParamSpec("contact_avp", STR),
        ModParamSpec("rpid_avp", STR),
        ModParamSpec("flags_avp", STR),
        ModParamSpec("fr_inv_timer", INT),
        ModParamSpec("fr_inv_timer_next", INT),
        ModParamSpec("prefix_mode", INT),
    ],
)
