"""db_flatstore: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "db_flatstore",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("flush", INT, 1),
        ModParamSpec("delimiter", STR, "|"),
        ModParamSpec("suffix", STR),
        ModParamSpec("prefix", STR),
        ModParamSpec("single_file", INT, 0),
    ],
)
