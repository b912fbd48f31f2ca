"""rest_client: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import ALL_ROUTES, INT, STR, VAR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "rest_client",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "rest_get",
            (
                ParamSpec(STR, name="url"),
                ParamSpec(VAR, name="body_pv"),
                ParamSpec(VAR, optional=True, name="ctype_pv"),
                ParamSpec(VAR, optional=True, name="retcode_pv"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rest_post",
            (
                ParamSpec(STR, name="url"),
                ParamSpec(STR, name="send_body"),
                ParamSpec(STR, optional=True, name="send_ctype"),
                ParamSpec(VAR, name="recv_body_pv"),
                ParamSpec(VAR, optional=True, name="recv_ctype_pv"),
                ParamSpec(VAR, optional=True, name="retcode_pv"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rest_put",
            (
                ParamSpec(STR, name="url"),
                ParamSpec(STR, name="send_body"),
                ParamSpec(STR, optional=True, name="send_ctype"),
                ParamSpec(VAR, name="recv_body_pv"),
                ParamSpec(VAR, optional=True, name="recv_ctype_pv"),
                ParamSpec(VAR, optional=True, name="retcode_pv"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec("rest_append_hf", (ParamSpec(STR, name="txt"),), None, ALL_ROUTES),
        FunctionSpec("rest_init_client_tls", (ParamSpec(STR, name="tls_client_domain"),), None, ALL_ROUTES),
    ],
    params=[
        ModParamSpec("connection_timeout", INT, 20),
        ModParamSpec("curl_timeout", INT, 20),
        ModParamSpec("ssl_capath", STR),
        ModParamSpec("ssl_verifypeer", INT, 1),
        ModParamSpec("ssl_verifyhost", INT, 1),
        ModParamSpec("connect_poll_interval", INT, 20),
        ModParamSpec("max_async_transfers", INT, 100),
        ModParamSpec("enable_expect_100", INT),
        ModParamSpec("max_transfer_size", INT, 10240),
        ModParamSpec("curl_http_version", INT),
        ModParamSpec("no_concurrent_connects", INT),
        ModParamSpec("curl_conn_lifetime", INT),
    ],
)
