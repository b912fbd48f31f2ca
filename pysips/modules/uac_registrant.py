"""uac_registrant: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "uac_registrant",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("hash_size", INT, 1),
        ModParamSpec("default_expires", INT, 3600),
        ModParamSpec("timer_interval", INT, 100),
        ModParamSpec("db_url", STR),
        ModParamSpec("table_name", STR),
        ModParamSpec("registrar_column", STR),
        ModParamSpec("proxy_column", STR),
        ModParamSpec("aor_column", STR),
        ModParamSpec("third_party_registrant_column", STR),
        ModParamSpec("username_column", STR),
        ModParamSpec("password_column", STR),
        ModParamSpec("binding_URI_column", STR),
        ModParamSpec("binding_params_column", STR),
        ModParamSpec("expiry_column", STR),
        ModParamSpec("forced_socket_column", STR),
        ModParamSpec("enable_clustering", INT, 0),
        ModParamSpec("cluster_shtag_column", STR),
        ModParamSpec("state_column", STR),
    ],
)
