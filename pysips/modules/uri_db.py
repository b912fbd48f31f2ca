"""uri_db: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, LOCAL, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "uri_db",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("check_to", (), None, frozenset({REQUEST})),
        FunctionSpec("check_from", (), None, frozenset({REQUEST})),
        FunctionSpec("does_uri_exist", (), None, frozenset({REQUEST, LOCAL})),
        # 1.x-2.x spellings (uri_db exported both until it was merged into uri in 2.x)
        FunctionSpec("db_check_to", (), None, frozenset({REQUEST})),
        FunctionSpec("db_check_from", (), None, frozenset({REQUEST})),
        FunctionSpec("db_does_uri_exist", (), None, frozenset({REQUEST, LOCAL})),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR),
        ModParamSpec("user_column", STR),
        ModParamSpec("domain_column", STR),
        ModParamSpec("uriuser_column", STR),
        ModParamSpec("use_uri_table", INT, 0),
        ModParamSpec("use_domain", INT, 0),
    ],
)
