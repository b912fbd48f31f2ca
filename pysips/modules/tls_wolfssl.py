"""tls_wolfssl: the TLS library OpenSIPS's tls_mgm / proto_tls run on. pysips always uses Python's ssl module (OpenSSL),
so loading this module is accepted and changes nothing (tls_mgm's modparams configure TLS)."""

from __future__ import annotations

from pysips.modules import ModuleSpec

MODULE = ModuleSpec.build(
    "tls_wolfssl",
    doc="TLS backend: accepted, no effect (pysips uses Python's ssl module)",
    functions=[],
    params=[],
)
