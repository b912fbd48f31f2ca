"""presence_xml: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "presence_xml",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("xcap_table", STR, "xcap"),
        ModParamSpec("force_active", INT, 0),
        ModParamSpec("pidf_manipulation", INT, 0),
        ModParamSpec("integrated_xcap_server", INT, 0),
        ModParamSpec("xcap_server", STR, None, repeatable=True),
        ModParamSpec("pres_rules_auid", STR),
        ModParamSpec("pres_rules_filename", STR),
        ModParamSpec("generate_offline_body", INT, 1),
    ],
)
