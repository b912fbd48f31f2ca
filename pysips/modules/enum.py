"""enum: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import ANY, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "enum",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "enum_query",
            (
                ParamSpec(STR, optional=True, name="suffix"),
                ParamSpec(STR, optional=True, name="service"),
                ParamSpec(STR, optional=True, name="number"),
            ),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "i_enum_query",
            (ParamSpec(STR, optional=True, name="suffix"), ParamSpec(STR, optional=True, name="service")),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "isn_query",
            (ParamSpec(STR, optional=True, name="suffix"), ParamSpec(STR, optional=True, name="service")),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "is_from_user_enum",
            (ParamSpec(STR, optional=True, name="suffix"), ParamSpec(STR, optional=True, name="service")),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "enum_pv_query",
            (
                ParamSpec(ANY, name="pvar"),
                ParamSpec(ANY, optional=True, name="suffix"),
                ParamSpec(ANY, optional=True, name="service"),
            ),
            None,
            frozenset({REQUEST}),
        ),
    ],
    params=[
        ModParamSpec("domain_suffix", STR, "e164.arpa."),
        ModParamSpec("tel_uri_params", STR, ""),
        ModParamSpec("branchlabel", STR, "i"),
        ModParamSpec("i_enum_suffix", STR, "e164.arpa."),
        ModParamSpec("bl_algorithm", STR, "cc"),
        ModParamSpec("isn_suffix", STR, "freenum.org."),
    ],
)
