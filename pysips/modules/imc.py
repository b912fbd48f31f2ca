"""imc: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "imc",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("imc_manager", (), None, frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("hash_size", INT, 4),
        ModParamSpec("imc_cmd_start_char", STR),
        ModParamSpec("rooms_table", STR, "imc_rooms"),
        ModParamSpec("members_table", STR, "imc_members"),
        ModParamSpec("outbound_proxy", STR),
    ],
)
