"""uac_auth: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "uac_auth",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("credential", STR, None, repeatable=True),
        ModParamSpec("auth_username_avp", STR),
        ModParamSpec("auth_realm_avp", STR),
        ModParamSpec("auth_password_avp", STR),
    ],
)
