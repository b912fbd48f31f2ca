"""httpd: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "httpd",
    doc="declarations only: no function is implemented yet",
    functions=[],
    params=[
        ModParamSpec("port", INT, 8888),
        ModParamSpec("ip", STR),
        ModParamSpec("buf_size", INT),
        ModParamSpec("post_buf_size", INT),
        ModParamSpec("tls_cert_file", STR),
        ModParamSpec("tls_key_file", STR),
        ModParamSpec("tls_ciphers", STR, "SECURE256:+SECURE192:-VERS-ALL:+VERS-TLS1.2"),
    ],
)
