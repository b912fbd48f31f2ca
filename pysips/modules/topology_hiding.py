"""topology_hiding: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "topology_hiding",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("topology_hiding", (ParamSpec(STR, optional=True),), None, frozenset({REQUEST})),
        FunctionSpec(
            "topology_hiding_match",
            (ParamSpec(STR, optional=True, name="dlg_match_mode"),),
            None,
            frozenset({REQUEST}),
        ),
    ],
    params=[
        ModParamSpec("force_dialog", INT, 0),
        ModParamSpec("th_passed_contact_uri_params", STR),
        ModParamSpec("th_passed_contact_params", STR),
        ModParamSpec("th_callid_passwd", STR, "OpenSIPS"),
        ModParamSpec("th_callid_prefix", STR, "DLGCH_"),
        ModParamSpec("th_contact_encode_passwd", STR, "ToPoCtPaSS"),
        ModParamSpec("th_contact_encode_param", STR, "thinfo"),
        ModParamSpec("th_contact_encode_scheme", STR, "base64"),
    ],
)
