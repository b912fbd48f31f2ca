"""auth: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

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
    "auth",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "www_challenge",
            (
                ParamSpec(STR, name="realm"),
                ParamSpec(STR, optional=True, name="qop"),
                ParamSpec(STR, optional=True, name="algorithms"),
            ),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "proxy_challenge",
            (
                ParamSpec(STR, name="realm"),
                ParamSpec(STR, optional=True, name="qop"),
                ParamSpec(STR, optional=True, name="algorithms"),
            ),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec("pv_www_authorize", (ParamSpec(STR, name="realm"),), None, frozenset({REQUEST})),
        FunctionSpec("pv_proxy_authorize", (ParamSpec(STR, name="realm"),), None, frozenset({REQUEST})),
        FunctionSpec("consume_credentials", (), None, frozenset({REQUEST})),
        FunctionSpec("is_rpid_user_e164", (), None, frozenset({REQUEST})),
        FunctionSpec(
            "append_rpid_hf",
            (ParamSpec(STR, optional=True, name="prefix"), ParamSpec(STR, optional=True, name="suffix")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
    ],
    params=[
        ModParamSpec("secret", STR),
        ModParamSpec("nonce_expire", INT, 30),
        ModParamSpec("rpid_prefix", STR),
        ModParamSpec("rpid_suffix", STR),
        ModParamSpec("realm_prefix", STR),
        ModParamSpec("rpid_avp", STR),
        ModParamSpec("username_spec", STR),
        ModParamSpec("password_spec", STR),
        ModParamSpec("calculate_ha1", INT, 0),
        ModParamSpec("disable_nonce_check", INT, 0),
    ],
)
