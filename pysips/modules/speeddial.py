"""speeddial: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "speeddial",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "sd_lookup",
            (ParamSpec(STR, name="table"), ParamSpec(STR, optional=True, name="owner")),
            None,
            frozenset({REQUEST}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("user_column", STR, "username"),
        ModParamSpec("domain_column", STR, "domain"),
        ModParamSpec("sd_user_column", STR, "sd_username"),
        ModParamSpec("sd_domain_column", STR, "sd_domain"),
        ModParamSpec("new_uri_column", STR, "new_uri"),
        ModParamSpec("use_domain", INT, 0),
        ModParamSpec("domain_prefix", STR),
    ],
)
