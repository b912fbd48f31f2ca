"""xcap: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "xcap",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("xcap_table", STR, "xcap"),
        ModParamSpec("integrated_xcap_server", INT, 0),
    ],
)
