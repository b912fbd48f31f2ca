"""uac: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    BRANCH,
    FAILURE,
    INT,
    REQUEST,
    STR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "uac",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "uac_replace_from",
            (
                ParamSpec(STR, optional=True, name="display"),
                ParamSpec(STR, optional=True, name="uriuac_replace_todisplay"),
            ),
            None,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
        FunctionSpec("uac_restore_from", (), None, frozenset({REQUEST, FAILURE, BRANCH})),
        FunctionSpec(
            "uac_replace_to",
            (ParamSpec(STR, optional=True, name="display"), ParamSpec(STR, optional=True, name="uri")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
        FunctionSpec("uac_restore_to", (), None, frozenset({REQUEST, FAILURE, BRANCH})),
        FunctionSpec(
            "uac_auth", (ParamSpec(STR, optional=True),), None, frozenset({REQUEST, FAILURE, BRANCH})
        ),
    ],
    params=[
        ModParamSpec("rr_store_param", STR, "vsf"),
        ModParamSpec("from_restore_mode", STR),
        ModParamSpec("from_passwd", STR, ""),
        ModParamSpec("credential", STR, None, repeatable=True),
        ModParamSpec("auth_username_avp", STR),
        ModParamSpec("auth_realm_avp", STR),
        ModParamSpec("auth_password_avp", STR),
        ModParamSpec("rr_from_store_param", STR, "vsf"),
        ModParamSpec("rr_to_store_param", STR, "vst"),
        ModParamSpec("restore_mode", STR),
        ModParamSpec("restore_passwd", STR, ""),
        ModParamSpec("force_dialog", INT, 0),
    ],
)
