"""sms: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import ANY, INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "sms",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "sms_send_msg_to_net", (ParamSpec(ANY, name="network_name"),), None, frozenset({REQUEST})
        ),
        FunctionSpec("sms_send_msg", (), None, frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("networks", STR),
        ModParamSpec("modems", STR),
        ModParamSpec("links", STR),
        ModParamSpec("default_net", STR),
        ModParamSpec("max_sms_parts", INT),
        ModParamSpec("domain", STR),
        ModParamSpec("use_contact", INT, 0),
        ModParamSpec("sms_report_type", INT),
    ],
)
