"""b2b_entities: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables, and the
MI command b2be_list (the dialogs of the b2b engine, started by b2b_logic)."""

from __future__ import annotations

from typing import Any

from pysips.modules import EVENT, INT, REQUEST, STR, VAR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec


def mi_b2be_list(core: Any, params: dict) -> dict:
    engine = getattr(core, "b2b", None)
    return {"Entities": engine.list_entities() if engine is not None else []}


MODULE = ModuleSpec.build(
    "b2b_entities",
    doc="declarations only (the ua_session_* functions are not implemented); MI b2be_list",
    mi_commands={"b2be_list": mi_b2be_list},
    functions=[
        FunctionSpec(
            "ua_session_server_init",
            (ParamSpec(VAR, optional=True, name="key"), ParamSpec(STR, optional=True, name="flags")),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "ua_session_update",
            (
                ParamSpec(STR, name="key"),
                ParamSpec(STR, name="method"),
                ParamSpec(STR, optional=True, name="body"),
                ParamSpec(STR, optional=True, name="extra_headers"),
                ParamSpec(STR, optional=True, name="content_type"),
            ),
            None,
            frozenset({REQUEST, EVENT}),
        ),
        FunctionSpec(
            "ua_session_reply",
            (
                ParamSpec(STR, name="key"),
                ParamSpec(STR, name="method"),
                ParamSpec(INT, name="code"),
                ParamSpec(STR, optional=True, name="reason"),
                ParamSpec(STR, optional=True, name="body"),
                ParamSpec(STR, optional=True, name="extra_headers"),
                ParamSpec(STR, optional=True, name="content_type"),
            ),
            None,
            frozenset({REQUEST, EVENT}),
        ),
        FunctionSpec(
            "ua_session_terminate",
            (ParamSpec(STR, name="key"), ParamSpec(STR, optional=True, name="extra_headers")),
            None,
            frozenset({REQUEST}),
        ),
    ],
    params=[
        ModParamSpec("server_address", STR),
        ModParamSpec("server_hsize", INT, 9),
        ModParamSpec("client_hsize", INT, 9),
        ModParamSpec("script_req_route", STR),
        ModParamSpec("script_reply_route", STR),
        ModParamSpec("replication_mode", INT, 0),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "b2b_entities"),
        ModParamSpec("db_mode", INT, 2),
        ModParamSpec("update_period", INT, 100),
        ModParamSpec("b2b_key_prefix", STR, "B2B"),
        ModParamSpec("cachedb_url", STR),
        ModParamSpec("cachedb_key_prefix", STR, "b2be$"),
        ModParamSpec("cluster_id", INT),
        ModParamSpec("passthru_prack", INT, 0),
        ModParamSpec("advertised_contact", STR),
        ModParamSpec("ua_default_timeout", INT),
    ],
)
