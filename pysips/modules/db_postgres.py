"""db_postgres: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "db_postgres",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("exec_query_threshold", INT, 0),
        ModParamSpec("max_db_queries", INT, 2),
        ModParamSpec("timeout", INT),
        ModParamSpec("use_tls", INT, 0),
    ],
)
