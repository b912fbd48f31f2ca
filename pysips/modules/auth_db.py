"""auth_db: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    FAILURE,
    INT,
    LOCAL,
    REQUEST,
    STR,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "auth_db",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "www_authorize",
            (ParamSpec(STR, name="realm"), ParamSpec(STR, name="table")),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "proxy_authorize",
            (ParamSpec(STR, name="realm"), ParamSpec(STR, name="table")),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "db_does_uri_exist",
            # 3.x takes (uri, table); 2.x scripts call the uri module's db_does_uri_exist() with no parameter
            (ParamSpec(STR, optional=True, name="uri"), ParamSpec(STR, optional=True, name="table")),
            None,
            frozenset({REQUEST, FAILURE, LOCAL}),
        ),
        FunctionSpec("db_is_to_authorized", (ParamSpec(STR, name="table"),), None, frozenset({REQUEST})),
        FunctionSpec("db_is_from_authorized", (ParamSpec(STR, name="table"),), None, frozenset({REQUEST})),
        FunctionSpec(
            "db_get_auth_id",
            (
                ParamSpec(STR, name="table"),
                ParamSpec(STR, name="uri"),
                ParamSpec(VAR, name="auth"),
                ParamSpec(VAR, name="realm"),
            ),
            None,
            frozenset({REQUEST, FAILURE, LOCAL}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("user_column", STR),
        ModParamSpec("domain_column", STR),
        ModParamSpec("password_column", STR),
        ModParamSpec("password_column_2", STR),
        ModParamSpec("calculate_ha1", INT, 0),
        ModParamSpec("use_domain", INT, 0),
        ModParamSpec("load_credentials", STR),
        ModParamSpec("skip_version_check", INT, 0),
        ModParamSpec("hash_column_sha256", STR),
        ModParamSpec("hash_column_sha512t256", STR),
        ModParamSpec("uri_user_column", STR, "username"),
        ModParamSpec("uri_domain_column", STR, "domain"),
        ModParamSpec("uri_uriuser_column", STR, "uri_user"),
    ],
)
