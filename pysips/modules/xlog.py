"""xlog: the 1.x/2.x module that provided ``xlog()``/``xdbg()``.

Since 3.0 they are core; pysips compiles them as statements in every version, so this module only exists to accept
``loadmodule "xlog.so"`` and its modparams.
"""

from __future__ import annotations

from pysips.modules import INT, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "xlog",
    doc="xlog()/xdbg() are compiled by the script compiler; this module only carries the 1.x/2.x modparams",
    params=[
        ModParamSpec("buf_size", INT, 4096),
        ModParamSpec("force_color", INT, 0),
    ],
)
