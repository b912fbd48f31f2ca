"""mangler: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, ONREPLY, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "mangler",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "sdp_mangle_ip",
            (ParamSpec(STR, name="pattern"), ParamSpec(STR, name="newip")),
            None,
            frozenset({REQUEST, ONREPLY}),
        ),
        FunctionSpec(
            "sdp_mangle_port", (ParamSpec(INT, name="offset"),), None, frozenset({REQUEST, ONREPLY})
        ),
        FunctionSpec(
            "encode_contact",
            (ParamSpec(STR, name="encoding_prefix"), ParamSpec(STR, name="public_ip")),
            None,
            frozenset({REQUEST, ONREPLY}),
        ),
        FunctionSpec("decode_contact", (), None, frozenset({REQUEST})),
        FunctionSpec("decode_contact_header", (), None, frozenset({REQUEST, ONREPLY})),
    ],
    params=[
        ModParamSpec("contact_flds_separator", STR),
    ],
)
