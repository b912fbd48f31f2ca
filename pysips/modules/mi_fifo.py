"""mi_fifo: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "mi_fifo",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("fifo_name", STR, "/tmp/opensips_fifo"),
        ModParamSpec("fifo_mode", INT, 0),
        ModParamSpec("fifo_group", STR),
        ModParamSpec("fifo_user", STR),
        ModParamSpec("reply_dir", STR),
        ModParamSpec("reply_indent", STR),
        ModParamSpec("trace_destination", STR),
        ModParamSpec("trace_bwlist", STR),
        ModParamSpec("pretty_printing", INT),
    ],
)
