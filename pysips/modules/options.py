"""options: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "options",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("options_reply", (), None, frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("accept", STR),
        ModParamSpec("accept_encoding", STR),
        ModParamSpec("accept_language", STR),
        ModParamSpec("support", STR),
    ],
)
