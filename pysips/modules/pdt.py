"""pdt: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import ANY, FAILURE, INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "pdt",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "prefix2domain",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            None,
            frozenset({REQUEST, FAILURE}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "pdt"),
        ModParamSpec("sdomain_column", STR, "sdomain"),
        ModParamSpec("prefix_column", STR, "prefix"),
        ModParamSpec("domain_column", STR, "domain"),
        ModParamSpec("prefix", STR, ""),
        ModParamSpec("char_list", STR, "0123456789"),
        ModParamSpec("fetch_rows", INT, 1000),
        ModParamSpec("check_domain", INT, 1),
    ],
)
