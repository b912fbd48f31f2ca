"""tls_wolfssl: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import ALL_ROUTES, FunctionSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "tls_wolfssl",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("load_tls_wolfssl", (), None, ALL_ROUTES),
    ],
    params=[],
)
