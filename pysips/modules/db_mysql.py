"""db_mysql: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "db_mysql",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("ping_interval", INT),
        ModParamSpec("timeout_interval", INT, 2),
        ModParamSpec("auto_reconnect", INT, 1),
        ModParamSpec("exec_query_threshold", INT, 0),
        ModParamSpec("max_db_retries", INT, 3),
        ModParamSpec("max_db_queries", INT, 2),
        ModParamSpec("tls_client_domain", STR),
        ModParamSpec("ps_max_col_size", INT, 1024),
        ModParamSpec("use_tls", INT),
    ],
)
