"""cachedb_redis: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "cachedb_redis",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("cachedb_url", STR, None, repeatable=True),
        ModParamSpec("connect_timeout", INT),
        ModParamSpec("query_timeout", INT),
        ModParamSpec("shutdown_on_error", INT, 0),
        ModParamSpec("use_tls", INT, 0),
    ],
)
