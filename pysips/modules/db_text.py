"""db_text: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "db_text",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("db_mode", INT, 0),
    ],
)
